import { describe, expect, it } from 'vitest';
import { AffinePermutation, Random } from '../../../synthetic/random.ts';

const draw = (r: Random, n: number) => Array.from({ length: n }, () => r.uint32());

describe('Random.derive', () => {
  const cases = [
    { description: 'same seed and labels repeat the stream', a: [1, 'person', 7] as const, b: [1, 'person', 7] as const, same: true },
    { description: 'another seed changes it', a: [1, 'person', 7] as const, b: [2, 'person', 7] as const, same: false },
    { description: 'another index changes it', a: [1, 'person', 7] as const, b: [1, 'person', 8] as const, same: false },
    { description: 'another label changes it', a: [1, 'person', 7] as const, b: [1, 'staff', 7] as const, same: false },
    { description: 'indexes past 2^32 stay distinct', a: [1, 'x', 1] as const, b: [1, 'x', 2 ** 32 + 1] as const, same: false },
    { description: 'negative seeds work', a: [-5, 'x'] as const, b: [-5, 'x'] as const, same: true },
  ];
  it.each(cases)('$description', ({ a, b, same }) => {
    const [sa, ...la] = a;
    const [sb, ...lb] = b;
    const x = draw(Random.derive(sa, ...la), 8);
    const y = draw(Random.derive(sb, ...lb), 8);
    if (same) expect(y).toEqual(x);
    else expect(y).not.toEqual(x);
  });

  it('keeps helpers within their ranges', () => {
    const r = Random.derive(42, 'ranges');
    for (let i = 0; i < 2000; i++) {
      const n = r.next();
      expect(n >= 0 && n < 1).toBe(true);
      const k = r.int(3, 9);
      expect(Number.isInteger(k) && k >= 3 && k <= 9).toBe(true);
    }
    expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(() => r.pick([])).toThrow(RangeError);
  });

  it('makes normal() centred on its mean with roughly the asked spread', () => {
    const r = Random.derive(3, 'normal');
    const xs = Array.from({ length: 20_000 }, () => r.normal(10, 2));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean - 10)).toBeLessThan(0.1);
    expect(Math.abs(sd - 2)).toBeLessThan(0.1);
  });
});

describe('AffinePermutation', () => {
  const cases = [
    { description: 'a power of ten', modulus: 1000 },
    { description: 'a prime', modulus: 997 },
    { description: 'a highly composite number', modulus: 720 },
  ];
  it.each(cases)('is a bijection on $description', ({ modulus }) => {
    const p = new AffinePermutation(modulus, Random.derive(1, 'perm', modulus));
    const seen = new Set(Array.from({ length: modulus }, (_, i) => p.at(i)));
    expect(seen.size).toBe(modulus);
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(modulus - 1);
  });

  it('stays exact for large indexes', () => {
    const p = new AffinePermutation(100_000_000, Random.derive(9, 'big'));
    const values = [99_999_999, 99_999_998, 12_345_678].map((i) => p.at(i));
    for (const v of values) expect(Number.isInteger(v) && v >= 0 && v < 100_000_000).toBe(true);
    expect(new Set(values).size).toBe(3);
  });
});
