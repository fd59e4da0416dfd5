import { describe, expect, it } from 'vitest';
import { isValidNhsNumber, nhsCheckDigit, nhsNumberStatus } from '../../../transforms/identifiers/nhsNumber.ts';
import { Random } from '../../../synthetic/random.ts';
import { MrnAllocator, NHS_TEST_RANGE_CAPACITY, NhsNumberAllocator, niNumber, postcode, temporaryNumber, withWrongCheckDigit } from '../../../synthetic/ukIdentifiers.ts';

describe('NhsNumberAllocator', () => {
  it('issues distinct, Mod-11-valid numbers in the 999 test range', () => {
    const allocator = new NhsNumberAllocator(5);
    const numbers = Array.from({ length: 20_000 }, () => allocator.next());
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) {
      expect(n).toMatch(/^999\d{7}$/);
      expect(isValidNhsNumber(n)).toBe(true);
    }
  });

  it('declares its capacity correctly', () => {
    let valid = 0;
    for (let i = 0; i < 1_000_000; i++) if (nhsCheckDigit(`999${String(i).padStart(6, '0')}`) !== null) valid++;
    expect(NHS_TEST_RANGE_CAPACITY).toBe(valid);
  });

  it('gives null, without throwing, once a small injected capacity is used up', () => {
    const allocator = new NhsNumberAllocator(5, 7);
    const issued = Array.from({ length: 7 }, () => allocator.next());
    for (const n of issued) expect(isValidNhsNumber(n), String(n)).toBe(true);
    expect(new Set(issued).size).toBe(7);
    for (let i = 0; i < 100; i++) expect(allocator.next()).toBeNull();
    expect(allocator.issuedCount).toBe(7);
  });

  it('issues the same numbers, in the same order, whatever the capacity', () => {
    const full = new NhsNumberAllocator(9);
    const capped = new NhsNumberAllocator(9, 50);
    for (let i = 0; i < 50; i++) expect(capped.next()).toBe(full.next());
    expect(capped.next()).toBeNull();
    expect(full.next()).not.toBeNull();
  });

  it('gives null after the real 999 range is exhausted, never a reused or out-of-range number', () => {
    const allocator = new NhsNumberAllocator(3);
    let valid = 0;
    for (let i = 0; i < NHS_TEST_RANGE_CAPACITY; i++) {
      const n = allocator.next();
      // Cheap shape checks only: distinctness over the full range is the permutation's job (tested above on 20,000).
      if (n !== null && n.startsWith('999') && n.length === 10) valid++;
    }
    expect(valid).toBe(NHS_TEST_RANGE_CAPACITY);
    expect(allocator.next()).toBeNull();
    expect(allocator.next()).toBeNull();
  });
});

describe('identifier defects and shapes', () => {
  const random = Random.derive(1, 'ids');
  const nhs = new NhsNumberAllocator(1);
  const cases = [
    { description: 'a wrong check digit fails Mod-11', value: () => withWrongCheckDigit(nhs.next()!, random), check: (v: string) => expect(nhsNumberStatus(v)).toBe('invalid-check-digit') },
    { description: 'a temporary number is not an NHS number', value: () => temporaryNumber(random), check: (v: string) => expect(nhsNumberStatus(v)).toBe('malformed') },
    { description: 'postcodes have a valid inward code', value: () => postcode('LS1', random), check: (v: string) => expect(v).toMatch(/^LS1 \d[ABD-HJLNP-UW-Z]{2}$/) },
    { description: 'NI numbers use the never-issued QQ prefix', value: () => niNumber(123, random), check: (v: string) => expect(v).toMatch(/^QQ000123[A-D]$/) },
    { description: 'MRNs are the trust code and seven digits', value: () => new MrnAllocator(1, 'RX1').next(), check: (v: string) => expect(v).toMatch(/^RX1\d{7}$/) },
  ];
  it.each(cases)('$description', ({ value, check }) => {
    for (let i = 0; i < 200; i++) check(value());
  });

  it('never repeats an MRN', () => {
    const allocator = new MrnAllocator(3, 'RR8');
    const mrns = Array.from({ length: 50_000 }, () => allocator.next());
    expect(new Set(mrns).size).toBe(mrns.length);
  });
});
