// Disclosure control, property-based: for random columns and every preset (plus midpoint-6 and rounding
// off), nothing in the suppressed range is published, published counts sit on the rounding lattice, rates
// follow their counts, sum-of-rounded totals add up — and no suppressed cell can be worked back out of the
// total. The last is checked by an attacker that knows nothing of policy.ts's interval arithmetic: it
// enumerates every bounded table consistent with what was published (using only `applyToCount` to decide
// what each published value, `*` and total allow) and counts the values each suppressed cell can still
// take. The same attacker is shown to break the naive per-cell column when rounding is off, so the check
// can fail.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyToColumn,
  applyToCount,
  applyToRate,
  DISCLOSURE_POLICIES,
  resolveDisclosurePolicy,
  type DisclosedColumn,
  type DisclosedCount,
  type DisclosurePolicy,
} from '../../../warehouse/disclosure/policy.ts';

/** True counts are drawn from 0..40; the attacker searches 0..60 per cell (enough room either side). */
const MAX_COUNT = 40;
const BOUND = 60;
const NUM_RUNS = 200;
const EXHAUSTIVE_MAX = 14;

const policies: { name: string; policy: DisclosurePolicy }[] = [
  { name: 'HES', policy: DISCLOSURE_POLICIES.hes },
  { name: 'OpenSAFELY', policy: DISCLOSURE_POLICIES.opensafely },
  { name: 'ONS', policy: DISCLOSURE_POLICIES.ons },
  { name: 'HES with midpoint-6', policy: resolveDisclosurePolicy('hes', { rounding: 'midpoint6' }) },
  { name: 'OpenSAFELY with midpoint-6', policy: resolveDisclosurePolicy('opensafely', { rounding: 'midpoint6' }) },
  { name: 'HES, rounding off (secondary suppression)', policy: resolveDisclosurePolicy('hes', { roundingBase: 1 }) },
  { name: 'ONS, rounding off (secondary suppression)', policy: resolveDisclosurePolicy('ons', { roundingBase: 1 }) },
  { name: 'OpenSAFELY, rounding off', policy: resolveDisclosurePolicy('opensafely', { roundingBase: 1 }) },
];

// Small counts are where disclosure control acts, so half the cells are drawn from 0..10.
const count = fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: MAX_COUNT }));
const column = fc.array(count, { minLength: 1, maxLength: 5 });

const inSuppressedRange = (policy: DisclosurePolicy, n: number): boolean => n <= policy.threshold && (n > 0 || policy.suppressZero);
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Every true count in 0..bound that `cell` could stand for, judged by `applyToCount` alone. */
function candidates(policy: DisclosurePolicy, cell: DisclosedCount, bound: number): number[] {
  const out: number[] = [];
  for (let x = 0; x <= bound; x++) {
    const alone = applyToCount(policy, x);
    // A secondary cell is marked as such, so the attacker knows it was publishable on its own.
    const fits = cell.suppressed ? alone.suppressed === (cell.secondary !== true) : !alone.suppressed && alone.value === cell.value;
    if (fits) out.push(x);
  }
  return out;
}

interface Attack {
  /** Per suppressed cell index: the distinct true values it can take (stops counting at 2). */
  cells: Map<number, Set<number>>;
  /** When the total is suppressed: the values it can take (stops at 2). */
  total: Set<number> | undefined;
  /** The distinct values the suppressed cells' combined count can take (stops at 2). */
  hiddenSum: Set<number>;
  /** Whether the true table was among the consistent ones (it must be). */
  truthConsistent: boolean;
}

/**
 * Every table of cells in 0..BOUND consistent with the published column: each cell within what its
 * published value (or `*`) allows, and — for a from-unrounded total — the table's sum within what the
 * published total allows. A sum-of-rounded total is a function of the published cells, so it adds
 * nothing. Stops early once every suppressed cell (and the total, and the hidden sum) has two values.
 */
function attack(policy: DisclosurePolicy, counts: readonly number[], published: DisclosedColumn): Attack {
  const n = counts.length;
  const sets = published.cells.map((cell) => candidates(policy, cell, BOUND));
  const totalBound = n * BOUND;
  const totalOk: boolean[] =
    policy.totals === 'from-unrounded'
      ? (() => {
          const ok = new Array<boolean>(totalBound + 1).fill(false);
          for (const t of candidates(policy, published.total, totalBound)) ok[t] = true;
          return ok;
        })()
      : new Array<boolean>(totalBound + 1).fill(true);
  const minTotal = totalOk.indexOf(true);
  const maxTotal = totalOk.lastIndexOf(true);
  const minRest = new Array<number>(n + 1).fill(0);
  const maxRest = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    minRest[i] = minRest[i + 1]! + (sets[i]![0] ?? Number.POSITIVE_INFINITY);
    maxRest[i] = maxRest[i + 1]! + (sets[i]![sets[i]!.length - 1] ?? Number.NEGATIVE_INFINITY);
  }
  const result: Attack = {
    cells: new Map(published.cells.flatMap((cell, i) => (cell.suppressed ? [[i, new Set<number>()] as const] : []))),
    total: published.total.suppressed && policy.totals === 'from-unrounded' ? new Set() : undefined,
    hiddenSum: new Set(),
    truthConsistent: false,
  };
  const done = (): boolean =>
    result.truthConsistent &&
    [...result.cells.values()].every((s) => s.size >= 2) &&
    (result.total === undefined || result.total.size >= 2) &&
    (result.cells.size === 0 || result.hiddenSum.size >= 2);
  const vector = new Array<number>(n).fill(0);
  const search = (i: number, partial: number, hidden: number): boolean => {
    if (i === n) {
      if (!totalOk[partial]) return false;
      for (const [index, seen] of result.cells) if (seen.size < 2) seen.add(vector[index]!);
      if (result.total && result.total.size < 2) result.total.add(partial);
      if (result.hiddenSum.size < 2) result.hiddenSum.add(hidden);
      if (vector.every((x, k) => x === counts[k])) result.truthConsistent = true;
      return done();
    }
    for (const x of sets[i]!) {
      if (partial + x + minRest[i + 1]! > maxTotal) break;
      if (partial + x + maxRest[i + 1]! < minTotal) continue;
      vector[i] = x;
      if (search(i + 1, partial + x, hidden + (published.cells[i]!.suppressed ? x : 0))) return true;
    }
    return false;
  };
  search(0, 0, 0);
  return result;
}

/** Nothing suppressed can be pinned to one value, nor can the suppressed cells' combined count be a small number. */
function protectedFromTotals(policy: DisclosurePolicy, counts: readonly number[], published: DisclosedColumn): boolean {
  const found = attack(policy, counts, published);
  if (!found.truthConsistent) throw new Error('the published column is inconsistent with the true counts');
  if ([...found.cells.values()].some((values) => values.size < 2)) return false;
  if (found.total && found.total.size < 2) return false;
  const [onlySum] = found.hiddenSum;
  if (found.cells.size > 0 && found.hiddenSum.size === 1 && inSuppressedRange(policy, onlySum!)) return false;
  return true;
}

/** What a per-cell implementation publishes: no secondary suppression. */
function naiveColumn(policy: DisclosurePolicy, counts: readonly number[]): DisclosedColumn {
  const cells = counts.map((n) => applyToCount(policy, n));
  return { cells, total: applyToCount(policy, sum(counts)) };
}

function onLattice(policy: DisclosurePolicy, value: number): boolean {
  if (policy.rounding === 'midpoint6') return value === 0 || value % 6 === 3;
  return value % policy.roundingBase === 0;
}

describe.each(policies)('$name', ({ policy }) => {
  it('never publishes a count in the suppressed range', () => {
    fc.assert(
      fc.property(column, (counts) => {
        const { cells, total } = applyToColumn(policy, counts);
        cells.forEach((cell, i) => {
          if (inSuppressedRange(policy, counts[i]!)) expect(cell).toEqual({ value: null, suppressed: true });
        });
        if (policy.totals === 'from-unrounded' && inSuppressedRange(policy, sum(counts))) expect(total.value).toBeNull();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('reveals no suppressed cell through the total (brute force over every consistent table)', () => {
    fc.assert(
      fc.property(column, (counts) => protectedFromTotals(policy, counts, applyToColumn(policy, counts))),
      { numRuns: NUM_RUNS },
    );
  });

  it('publishes counts on the rounding lattice, suppressed cells as null, and suppresses rates of suppressed counts', () => {
    fc.assert(
      fc.property(column, fc.integer({ min: 1, max: 1000 }), (counts, denominator) => {
        const { cells, total } = applyToColumn(policy, counts);
        for (const cell of [...cells, ...(policy.totals === 'from-unrounded' ? [total] : [])]) {
          expect(cell.suppressed).toBe(cell.value === null);
          if (cell.value !== null) expect(onLattice(policy, cell.value)).toBe(true);
        }
        cells.forEach((cell, i) => {
          const rate = applyToRate(policy, { numerator: cell, value: counts[i]! / denominator });
          expect(rate.suppressed).toBe(cell.suppressed);
          if (cell.suppressed) expect(rate.value).toBeNull();
          // A share of the column total: suppressed when either the cell or the total is.
          const share = applyToRate(policy, { numerator: cell, denominator: total, value: sum(counts) === 0 ? null : counts[i]! / sum(counts) });
          expect(share.suppressed).toBe(cell.suppressed || total.suppressed);
          if (share.suppressed) expect(share.value).toBeNull();
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  // The leaks rounding leaves are rare (band edges next to the threshold), so random columns seldom
  // hit them: every column of 1–3 cells in 0..EXHAUSTIVE_MAX is checked as well.
  it(`reveals no suppressed cell through the total in any column of 1–3 cells in 0..${EXHAUSTIVE_MAX}`, () => {
    const leaks: number[][] = [];
    const visit = (counts: number[]): void => {
      if (counts.length > 0 && !protectedFromTotals(policy, counts, applyToColumn(policy, counts))) leaks.push(counts);
      if (counts.length < 3) for (let n = 0; n <= EXHAUSTIVE_MAX; n++) visit([...counts, n]);
    };
    visit([]);
    expect(leaks).toEqual([]);
  });

  if (policy.totals === 'sum-of-rounded') {
    it('gives a total equal to the sum of the published cells', () => {
      fc.assert(
        fc.property(column, (counts) => {
          const { cells, total } = applyToColumn(policy, counts);
          const published = sum(cells.map((cell) => cell.value ?? 0));
          if (total.suppressed) {
            expect(published).toBe(0);
            expect(cells.some((cell) => cell.suppressed)).toBe(true);
          } else {
            expect(total.value).toBe(published);
          }
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

describe('the brute-force check can fail', () => {
  const roundingOff = policies.filter(({ policy }) => policy.roundingBase === 1 && policy.totals === 'from-unrounded');
  it.each(roundingOff)('$name without secondary suppression: fast-check finds a suppressed cell the total reveals', ({ policy }) => {
    const run = fc.check(
      fc.property(column, (counts) => protectedFromTotals(policy, counts, naiveColumn(policy, counts))),
      { numRuns: 500, seed: 42 },
    );
    expect(run.failed).toBe(true);
    // The shrunk counterexample really leaks: with the exact total, the suppressed cells are pinned.
    const [counts] = run.counterexample!;
    expect(protectedFromTotals(policy, counts, naiveColumn(policy, counts))).toBe(false);
    expect(protectedFromTotals(policy, counts, applyToColumn(policy, counts))).toBe(true);
  });

  it('HES rounding off: [3, 10] with the exact total 13 gives the 3 away; secondary suppression hides it', () => {
    const policy = policies[5]!.policy;
    const naive = naiveColumn(policy, [3, 10]);
    expect(naive).toEqual({ cells: [{ value: null, suppressed: true }, { value: 10, suppressed: false }], total: { value: 13, suppressed: false } });
    expect(attack(policy, [3, 10], naive).cells.get(0)).toEqual(new Set([3]));
    const column = applyToColumn(policy, [3, 10]);
    expect(column.cells[1]).toEqual({ value: null, suppressed: true, secondary: true });
    expect(attack(policy, [3, 10], column).cells.get(0)!.size).toBe(2);
  });

  // Rounding alone is not always enough: the rounding band of a published 10 starts at 8 under HES
  // (7 is suppressed), so [1, 8, 8] → *, 10, 10, total 17 → 15 leaves the first cell exactly 1.
  it.each([
    { name: 'HES', policy: DISCLOSURE_POLICIES.hes, counts: [1, 8, 8], pinned: 1 },
    { name: 'ONS', policy: DISCLOSURE_POLICIES.ons, counts: [9, 9], pinned: 9 },
  ])('$name with rounding: the per-cell rule leaks $counts, applyToColumn does not', ({ policy, counts, pinned }) => {
    expect(attack(policy, counts, naiveColumn(policy, counts)).cells.get(0)).toEqual(new Set([pinned]));
    expect(protectedFromTotals(policy, counts, applyToColumn(policy, counts))).toBe(true);
  });
});
