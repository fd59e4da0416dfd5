// Fellegi–Sunter parameter estimation by expectation maximisation over agreement-pattern counts: SQL
// groups the blocked pairs by their gamma vector, and this loop runs over those few thousand
// patterns, not the millions of pairs. As in Splink, u stays fixed at its random-sampling estimate and
// comparisons on the blocking rule's own fields are left out (every pair agrees on them, so they say
// nothing about which pairs match). Arrays are indexed by gamma value (0 = else); -1 is a missing value.
// Pure: no I/O.

export interface PatternCount {
  /** One gamma per comparison. */
  gammas: readonly number[];
  count: number;
}

export interface EmInput {
  patterns: readonly PatternCount[];
  /** u[c][gamma]: P(level | non-match), fixed. */
  u: readonly (readonly number[])[];
  /** Starting m[c][gamma]: P(level | match). */
  m: readonly (readonly number[])[];
  /** Which comparisons are estimated; the others are ignored in this session. */
  free: readonly boolean[];
  lambda: number;
  maxIterations?: number;
  /** Stop when no m or lambda moves by more than this. */
  tolerance?: number;
}

export interface EmResult {
  m: number[][];
  lambda: number;
  iterations: number;
  converged: boolean;
  /** The largest change in the last iteration. */
  lastChange: number;
}

/** Keeps log-weights finite: a level never seen among matches or non-matches is rare, not impossible. */
export const PROBABILITY_FLOOR = 1e-9;

export function expectationMaximisation(input: EmInput): EmResult {
  const maxIterations = input.maxIterations ?? 100;
  const tolerance = input.tolerance ?? 1e-5;
  const comparisons = input.u.length;
  let m = input.m.map((levels) => [...levels]);
  let lambda = input.lambda;
  let lastChange = Infinity;
  let iterations = 0;
  while (iterations < maxIterations && lastChange > tolerance) {
    iterations++;
    const mCounts = m.map((levels) => levels.map(() => 0));
    let matches = 0;
    let total = 0;
    for (const pattern of input.patterns) {
      let pm = lambda;
      let pu = 1 - lambda;
      for (let c = 0; c < comparisons; c++) {
        const g = pattern.gammas[c]!;
        if (!input.free[c] || g < 0) continue;
        pm *= m[c]![g]!;
        pu *= input.u[c]![g]!;
      }
      const posterior = pm + pu === 0 ? 0 : pm / (pm + pu);
      const weight = posterior * pattern.count;
      matches += weight;
      total += pattern.count;
      for (let c = 0; c < comparisons; c++) {
        const g = pattern.gammas[c]!;
        if (input.free[c] && g >= 0) mCounts[c]![g]! += weight;
      }
    }
    const next = mCounts.map((levels, c) => {
      if (!input.free[c]) return m[c]!;
      const sum = levels.reduce((a, b) => a + b, 0);
      return sum === 0 ? m[c]! : levels.map((v) => Math.max(v / sum, PROBABILITY_FLOOR));
    });
    const nextLambda = total === 0 ? lambda : Math.min(Math.max(matches / total, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR);
    lastChange = Math.abs(nextLambda - lambda);
    for (let c = 0; c < comparisons; c++) {
      for (let g = 0; g < next[c]!.length; g++) lastChange = Math.max(lastChange, Math.abs(next[c]![g]! - m[c]![g]!));
    }
    m = next;
    lambda = nextLambda;
  }
  return { m, lambda, iterations, converged: lastChange <= tolerance, lastChange };
}

/**
 * Starting m for a comparison with levels 0…top: most matches agree exactly, a few at each weaker
 * level, and few fall to "else". EM moves them; the start only needs the right order.
 */
export function initialM(top: number): number[] {
  if (top === 1) return [0.05, 0.95];
  const levels = Array.from({ length: top + 1 }, () => 0);
  levels[top] = 0.85;
  levels[0] = 0.05;
  for (let g = 1; g < top; g++) levels[g] = 0.1 / (top - 1);
  return levels;
}

/** λ over all pairs from the expected matches among the blocked ones: a fixed point of Σ n·P(match | λ) = λ·T. */
export function probabilityTwoRandomRecordsMatch(
  patterns: readonly PatternCount[],
  m: readonly (readonly number[])[],
  u: readonly (readonly number[])[],
  totalPairs: number,
  start: number,
): number {
  const bayesFactors = patterns.map((p) => {
    let bf = 1;
    for (let c = 0; c < m.length; c++) {
      const g = p.gammas[c]!;
      if (g >= 0) bf *= m[c]![g]! / u[c]![g]!;
    }
    return bf;
  });
  let lambda = Math.min(Math.max(start, 1 / totalPairs), 0.5);
  for (let i = 0; i < 200; i++) {
    let expected = 0;
    patterns.forEach((p, k) => {
      const odds = (lambda / (1 - lambda)) * bayesFactors[k]!;
      expected += p.count * (odds / (1 + odds));
    });
    const next = Math.min(Math.max(expected / totalPairs, PROBABILITY_FLOOR / totalPairs), 0.5);
    if (Math.abs(next - lambda) <= lambda * 1e-6) return next;
    lambda = next;
  }
  return lambda;
}
