// Expectation maximisation on synthetic agreement patterns whose true λ, m and u are known: the
// pattern counts are either the exact expected counts for N pairs or a sample drawn with a seeded PRNG
// written here. EM starts m from initialM with u fixed at the truth, and must find its way back.

import { describe, expect, it } from 'vitest';
import { expectationMaximisation, initialM, PROBABILITY_FLOOR, probabilityTwoRandomRecordsMatch, type PatternCount } from '../../../transforms/linkage/expectationMaximisation.ts';

interface Truth {
  lambda: number;
  /** m[c][gamma], u[c][gamma]: gamma 0 is "else". */
  m: number[][];
  u: number[][];
  /** Per comparison, the share of pairs with a value missing on one side (gamma -1), the same for matches and non-matches. */
  missing: number[];
}

/** Four comparisons of different shapes (3, 2, 4 and 2 levels); the last is missing on 10% of pairs. */
const TRUTH: Truth = {
  lambda: 0.2,
  m: [
    [0.05, 0.15, 0.8],
    [0.1, 0.9],
    [0.05, 0.05, 0.2, 0.7],
    [0.2, 0.8],
  ],
  u: [
    [0.9, 0.08, 0.02],
    [0.7, 0.3],
    [0.85, 0.1, 0.04, 0.01],
    [0.95, 0.05],
  ],
  missing: [0, 0, 0, 0.1],
};

const PAIRS = 100_000;

/** P(gamma) for a class (m or u) of comparison c, the missing share taken out first. */
function levelProbability(truth: Truth, probabilities: number[][], c: number, g: number): number {
  const missing = truth.missing[c]!;
  return g < 0 ? missing : (1 - missing) * probabilities[c]![g]!;
}

function allGammaVectors(truth: Truth): number[][] {
  let vectors: number[][] = [[]];
  truth.m.forEach((levels, c) => {
    const gammas = [...levels.keys(), ...(truth.missing[c]! > 0 ? [-1] : [])];
    vectors = vectors.flatMap((v) => gammas.map((g) => [...v, g]));
  });
  return vectors;
}

/** The exact expected count of each pattern among `pairs` pairs (fractional counts are fine for EM). */
function expectedPatterns(truth: Truth, pairs: number): PatternCount[] {
  return allGammaVectors(truth).map((gammas) => {
    let pm = truth.lambda;
    let pu = 1 - truth.lambda;
    gammas.forEach((g, c) => {
      pm *= levelProbability(truth, truth.m, c, g);
      pu *= levelProbability(truth, truth.u, c, g);
    });
    return { gammas, count: pairs * (pm + pu) };
  });
}

/** mulberry32: a small seeded PRNG, so the sampled case is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(random: () => number, probabilities: readonly number[]): number {
  let x = random();
  for (let g = 0; g < probabilities.length; g++) {
    x -= probabilities[g]!;
    if (x < 0) return g;
  }
  return probabilities.length - 1;
}

/** `pairs` pairs drawn one by one: match with probability λ, then each comparison's level. */
function sampledPatterns(truth: Truth, pairs: number, seed: number): PatternCount[] {
  const random = mulberry32(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < pairs; i++) {
    const probabilities = random() < truth.lambda ? truth.m : truth.u;
    const gammas = probabilities.map((levels, c) => (random() < truth.missing[c]! ? -1 : draw(random, levels)));
    const key = gammas.join(',');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => ({ gammas: key.split(',').map(Number), count }));
}

function expectClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((value, i) => expect(Math.abs(value - expected[i]!), `${what}[${i}] = ${value}, truth ${expected[i]}`).toBeLessThanOrEqual(tolerance));
}

describe('expectationMaximisation recovers known parameters', () => {
  const cases = [
    { description: `exact expected pattern counts for ${PAIRS} pairs`, patterns: expectedPatterns(TRUTH, PAIRS) },
    { description: `${PAIRS} pairs sampled with a seeded PRNG`, patterns: sampledPatterns(TRUTH, PAIRS, 20240624) },
  ];

  it.each(cases)('$description', ({ patterns }) => {
    expect(patterns.reduce((sum, p) => sum + p.count, 0)).toBeCloseTo(PAIRS, 6);
    const start = TRUTH.m.map((levels) => initialM(levels.length - 1));
    const result = expectationMaximisation({ patterns, u: TRUTH.u, m: start, free: TRUTH.m.map(() => true), lambda: 0.3, maxIterations: 500 });
    expect(result.converged).toBe(true);
    expect(result.iterations).toBeLessThan(500);
    expect(result.lastChange).toBeLessThanOrEqual(1e-5);
    result.m.forEach((levels, c) => {
      expectClose(levels, TRUTH.m[c]!, 0.02, `m[${c}]`);
      expect(levels.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    });
    expect(Math.abs(result.lambda - TRUTH.lambda) / TRUTH.lambda).toBeLessThan(0.1);
  });

  it('on exact counts the truth is where it settles, to within the tolerance', () => {
    const result = expectationMaximisation({ patterns: expectedPatterns(TRUTH, PAIRS), u: TRUTH.u, m: TRUTH.m.map((l) => initialM(l.length - 1)), free: [true, true, true, true], lambda: 0.3, maxIterations: 1000, tolerance: 1e-9 });
    expect(result.converged).toBe(true);
    result.m.forEach((levels, c) => expectClose(levels, TRUTH.m[c]!, 1e-4, `m[${c}]`));
    expect(result.lambda).toBeCloseTo(TRUTH.lambda, 4);
  });

  it('starting at the truth, it stays there', () => {
    const result = expectationMaximisation({ patterns: expectedPatterns(TRUTH, PAIRS), u: TRUTH.u, m: TRUTH.m, free: [true, true, true, true], lambda: TRUTH.lambda });
    expect(result.converged).toBe(true);
    expect(result.iterations).toBeLessThanOrEqual(2);
    result.m.forEach((levels, c) => expectClose(levels, TRUTH.m[c]!, 1e-6, `m[${c}]`));
  });
});

describe('comparisons that are not free', () => {
  it('keep their starting m; the others are still recovered', () => {
    const start = TRUTH.m.map((levels, c) => (c === 1 ? [0.5, 0.5] : initialM(levels.length - 1)));
    const result = expectationMaximisation({ patterns: expectedPatterns(TRUTH, PAIRS), u: TRUTH.u, m: start, free: [true, false, true, true], lambda: 0.3, maxIterations: 500 });
    expect(result.converged).toBe(true);
    expect(result.m[1]).toEqual([0.5, 0.5]);
    for (const c of [0, 2, 3]) expectClose(result.m[c]!, TRUTH.m[c]!, 0.02, `m[${c}]`);
    expect(Math.abs(result.lambda - TRUTH.lambda) / TRUTH.lambda).toBeLessThan(0.1);
  });

  it('do not alias the caller’s arrays', () => {
    const start = TRUTH.m.map((levels) => initialM(levels.length - 1));
    const copy = start.map((l) => [...l]);
    expectationMaximisation({ patterns: expectedPatterns(TRUTH, PAIRS), u: TRUTH.u, m: start, free: [true, true, false, true], lambda: 0.3 });
    expect(start).toEqual(copy);
  });
});

describe('expectationMaximisation edge cases', () => {
  it('stops at maxIterations and says it did not converge', () => {
    const result = expectationMaximisation({ patterns: expectedPatterns(TRUTH, PAIRS), u: TRUTH.u, m: TRUTH.m.map((l) => initialM(l.length - 1)), free: [true, true, true, true], lambda: 0.3, maxIterations: 2 });
    expect(result.iterations).toBe(2);
    expect(result.converged).toBe(false);
    expect(result.lastChange).toBeGreaterThan(1e-5);
  });

  it('a level never seen keeps a floor probability, not zero', () => {
    // Comparison 0 never reaches level 1 in any pattern.
    const patterns: PatternCount[] = [
      { gammas: [2], count: 900 },
      { gammas: [0], count: 100 },
    ];
    const result = expectationMaximisation({ patterns, u: [[0.9, 0.08, 0.02]], m: [initialM(2)], free: [true], lambda: 0.5 });
    expect(result.m[0]![1]).toBe(PROBABILITY_FLOOR);
  });
});

describe('initialM', () => {
  const cases = [
    { description: 'two levels', top: 1, expected: [0.05, 0.95] },
    { description: 'three levels', top: 2, expected: [0.05, 0.1, 0.85] },
    { description: 'five levels', top: 4, expected: [0.05, 0.1 / 3, 0.1 / 3, 0.1 / 3, 0.85] },
  ];
  it.each(cases)('$description: most mass on the top level, summing to 1', ({ top, expected }) => {
    const m = initialM(top);
    expectClose(m, expected, 1e-12, 'm');
    expect(m.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('probabilityTwoRandomRecordsMatch', () => {
  it('recovers λ when the patterns cover all pairs', () => {
    const patterns = expectedPatterns(TRUTH, PAIRS);
    const lambda = probabilityTwoRandomRecordsMatch(patterns, TRUTH.m, TRUTH.u, PAIRS, 0.01);
    expect(Math.abs(lambda - TRUTH.lambda) / TRUTH.lambda).toBeLessThan(0.01);
  });

  it('recovers a small λ over all pairs from strongly separated blocked pairs', () => {
    // 1,000,000 pairs in all; blocking keeps all 2,000 true matches and 50,000 non-matches. With strong
    // evidence nearly every match scores near 1 and every non-match near 0.
    const strong: Truth = {
      lambda: 1,
      m: [
        [0.03, 0.02, 0.95],
        [0.05, 0.95],
        [0.02, 0.02, 0.06, 0.9],
      ],
      u: [
        [0.98, 0.015, 0.005],
        [0.99, 0.01],
        [0.97, 0.02, 0.009, 0.001],
      ],
      missing: [0, 0, 0],
    };
    const matches = 2_000;
    const totalPairs = 1_000_000;
    const fromMatches = expectedPatterns(strong, matches);
    const fromNonMatches = expectedPatterns({ ...strong, lambda: 0 }, 50_000);
    const blocked = fromMatches.map((p, i) => ({ gammas: p.gammas, count: p.count + fromNonMatches[i]!.count }));
    const lambda = probabilityTwoRandomRecordsMatch(blocked, strong.m, strong.u, totalPairs, 1e-6);
    expect(Math.abs(lambda - matches / totalPairs) / (matches / totalPairs)).toBeLessThan(0.05);
  });

  it('missing values (-1) carry no evidence', () => {
    const patterns: PatternCount[] = [{ gammas: [-1], count: 10 }];
    // With no evidence the posterior equals the prior: λ is a fixed point wherever it starts.
    expect(probabilityTwoRandomRecordsMatch(patterns, [[0.1, 0.9]], [[0.9, 0.1]], 10, 0.3)).toBeCloseTo(0.3, 6);
  });

  it('never goes above 0.5', () => {
    const patterns: PatternCount[] = [{ gammas: [1], count: 100 }];
    expect(probabilityTwoRandomRecordsMatch(patterns, [[0.01, 0.99]], [[0.99, 0.01]], 100, 0.4)).toBeLessThanOrEqual(0.5);
  });
});
