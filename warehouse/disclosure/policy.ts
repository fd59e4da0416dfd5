// Small-number suppression and rounding for aggregate outputs (shared/specs/governance.md, "Disclosure
// control"). A policy is a named, configurable object rather than code per regime, so a report can say
// exactly which rule it applied. Suppressing a cell only helps if it cannot be worked back out from a
// total, so columns are checked against an interval attacker (what the published values, their rounding
// bands and the total allow) and further cells are suppressed (secondary suppression) until no suppressed
// count can be pinned down; with rounding turned off that is the usual case. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';

export type DisclosureScheme = 'hes' | 'opensafely' | 'ons';

/**
 * `from-unrounded`: the total is computed from the true counts and then suppressed/rounded like any
 * other count (HES). `sum-of-rounded`: the total is the sum of the published cells, so nothing can be
 * back-calculated from it (OpenSAFELY).
 */
export type TotalsRule = 'from-unrounded' | 'sum-of-rounded';

/**
 * `nearest`: round to the nearest multiple of `roundingBase`, halves up (base 1 = rounding off).
 * `midpoint6`: OpenSAFELY's optional "midpoint 6" rounding, `ceil(x/6)*6 − 3` for x > 0 (1–6 → 3,
 * 7–12 → 9, …); `roundingBase` is ignored (a resolved policy carries 6).
 */
export type RoundingRule = 'nearest' | 'midpoint6';

export interface DisclosurePolicy {
  scheme: DisclosureScheme;
  /** Counts from 1 (or 0, see `suppressZero`) up to and including this value are suppressed. */
  threshold: number;
  /** Published counts are rounded to the nearest multiple of this; 1 turns rounding off. */
  roundingBase: number;
  totals: TotalsRule;
  /**
   * Whether a zero count is suppressed too. HES publishes zeros; the OpenSAFELY ("≤ 7") and ONS
   * ("< 10") rules as written cover zero, so those presets suppress it.
   */
  suppressZero: boolean;
  rounding: RoundingRule;
}

/** Fields a deployment may change on top of a preset. */
export type DisclosurePolicyOverrides = Partial<Omit<DisclosurePolicy, 'scheme'>>;

/** A published statistic: `null` with `suppressed: false` means missing, not hidden. */
export interface DisclosedValue {
  value: number | null;
  suppressed: boolean;
}

export interface DisclosedCount extends DisclosedValue {
  /**
   * Present (true) on a cell that was publishable on its own but is suppressed so that another
   * suppressed cell cannot be worked out from the total (complementary / secondary suppression).
   */
  secondary?: boolean;
}

export interface DisclosedColumn {
  cells: DisclosedCount[];
  total: DisclosedCount;
}

export const DISCLOSURE_POLICIES: Readonly<Record<DisclosureScheme, Readonly<DisclosurePolicy>>> = Object.freeze({
  hes: Object.freeze({ scheme: 'hes', threshold: 7, roundingBase: 5, totals: 'from-unrounded', suppressZero: false, rounding: 'nearest' }),
  opensafely: Object.freeze({ scheme: 'opensafely', threshold: 7, roundingBase: 5, totals: 'sum-of-rounded', suppressZero: true, rounding: 'nearest' }),
  ons: Object.freeze({ scheme: 'ons', threshold: 9, roundingBase: 5, totals: 'from-unrounded', suppressZero: true, rounding: 'nearest' }),
});

/** HES is the default for commissioners (governance spec). */
export const DEFAULT_DISCLOSURE_POLICY: Readonly<DisclosurePolicy> = DISCLOSURE_POLICIES.hes;

const SCHEME_LABELS: Record<DisclosureScheme, string> = {
  hes: 'NHS Digital HES',
  opensafely: 'OpenSAFELY',
  ons: 'ONS',
};

/** The policy's name for people, e.g. `NHS Digital HES`. */
export function policyLabel(policy: DisclosurePolicy): string {
  return SCHEME_LABELS[policy.scheme];
}

const OVERRIDE_KEYS: readonly (keyof DisclosurePolicyOverrides)[] = ['threshold', 'roundingBase', 'totals', 'suppressZero', 'rounding'];
const TOTALS_RULES: readonly TotalsRule[] = ['from-unrounded', 'sum-of-rounded'];
const ROUNDING_RULES: readonly RoundingRule[] = ['nearest', 'midpoint6'];
/** Frozen policies already checked, so per-cell calls do not re-validate. */
const validated = new WeakSet<object>();

/**
 * A preset with a deployment's overrides, checked and frozen. With `rounding: 'midpoint6'` the rounding
 * base is 6 (any other explicit base is refused as contradictory). Refuses policies that would leak by
 * construction: a suppressed range of a single value (a `*` would then state the count) and a policy
 * that neither suppresses nor rounds.
 */
export function resolveDisclosurePolicy(scheme: DisclosureScheme, overrides: DisclosurePolicyOverrides = {}): Readonly<DisclosurePolicy> {
  if (typeof scheme !== 'string' || !Object.hasOwn(DISCLOSURE_POLICIES, scheme)) {
    throw new CarelakeError({
      code: 'disclosure.unknown-scheme',
      kind: 'config',
      message: 'Unknown disclosure scheme',
      hint: `use one of ${Object.keys(DISCLOSURE_POLICIES).join(', ')}`,
    });
  }
  const problems: string[] = [];
  const given = (overrides ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(OVERRIDE_KEYS as readonly string[]).includes(key)) problems.push(`'${key}' is not a disclosure policy setting`);
  }
  const merged: DisclosurePolicy = { ...DISCLOSURE_POLICIES[scheme] };
  for (const key of OVERRIDE_KEYS) {
    if (given[key] !== undefined) (merged as unknown as Record<string, unknown>)[key] = given[key];
  }
  if (merged.rounding === 'midpoint6') {
    if (given.roundingBase !== undefined && given.roundingBase !== 6) problems.push('midpoint-6 rounding has no other rounding base than 6');
    merged.roundingBase = 6;
  }
  problems.push(...policyProblems(merged));
  if (problems.length > 0) throw invalidPolicy(scheme, problems);
  const policy = Object.freeze(merged);
  validated.add(policy);
  return policy;
}

/** Throws a `disclosure.invalid-policy` error unless the policy is usable (see `resolveDisclosurePolicy`). */
export function assertDisclosurePolicy(policy: DisclosurePolicy): void {
  if (validated.has(policy)) return;
  const problems = policyProblems(policy);
  if (problems.length > 0) throw invalidPolicy(String(policy?.scheme), problems);
  // Only frozen objects can be remembered: a mutable one could change after the check.
  if (Object.isFrozen(policy)) validated.add(policy);
}

/** True when the policy publishes exact counts, so secondary suppression must protect totals. */
export function roundingIsOff(policy: DisclosurePolicy): boolean {
  return policy.rounding === 'nearest' && policy.roundingBase === 1;
}

/** Suppresses or rounds one count. Throws on anything that is not a non-negative whole number. */
export function applyToCount(policy: DisclosurePolicy, n: number): DisclosedCount {
  assertDisclosurePolicy(policy);
  assertCount(n);
  if (isInSuppressedRange(policy, n)) return { value: null, suppressed: true };
  return { value: roundCount(policy, n), suppressed: false };
}

/**
 * Applies the policy to each cell of a column (a group summed by the published total) and computes the
 * total by the policy's totals rule. Then, while any suppressed cell (or a suppressed total, or the
 * combined count of the suppressed cells when that is a small number) could be pinned to one value from
 * what is published, suppresses the smallest published non-zero cell, marking it `secondary`; when no
 * such cell is left, the total. With the presets' rounding this rarely triggers (HES [1, 8, 8], ONS
 * [9, 9]); with rounding off (base 1) it does whenever a cell is suppressed and the total is published. Throws `disclosure.column-not-protectable` in the one case no suppression
 * can fix (e.g. HES: exactly `threshold` groups of 1 and a suppressed total).
 */
export function applyToColumn(policy: DisclosurePolicy, counts: readonly number[]): DisclosedColumn {
  assertDisclosurePolicy(policy);
  const cells = counts.map((n) => applyToCount(policy, n));
  let total = totalsRules[policy.totals](policy, counts, cells);
  while (!columnIsProtected(policy, cells, total)) {
    const next = nextSecondaryCell(counts, cells);
    if (next !== undefined) {
      cells[next] = { value: null, suppressed: true, secondary: true };
      total = totalsRules[policy.totals](policy, counts, cells);
    } else if (!total.suppressed && policy.totals === 'from-unrounded') {
      total = { value: null, suppressed: true, secondary: true };
    } else {
      throw new CarelakeError({
        code: 'disclosure.column-not-protectable',
        kind: 'runtime',
        message: `A column cannot be published under the '${policy.scheme}' disclosure policy: even with every cell and the total suppressed, a suppressed count could be worked out`,
        hint: 'merge the small groups into a larger one, or withhold this column',
      });
    }
  }
  return { cells, total };
}

/**
 * A rate (or proportion, percentage) next to its numerator: suppressed when the numerator is suppressed
 * (primary or secondary), or the denominator if given. Compute `value` from the published (rounded)
 * counts where the denominator is published too, otherwise rate × denominator gives back the unrounded
 * numerator. A `null` value stays missing.
 */
export function applyToRate(
  policy: DisclosurePolicy,
  rate: { numerator: DisclosedCount; denominator?: DisclosedCount; value: number | null },
): DisclosedValue {
  assertDisclosurePolicy(policy);
  if (rate.numerator.suppressed || rate.denominator?.suppressed === true) return { value: null, suppressed: true };
  return { value: checkStatistic(rate.value), suppressed: false };
}

/** A mean or median over `n` values: suppressed when n is in the suppressed range (HES: 1–7 → `*`). */
export function applyToMean(policy: DisclosurePolicy, mean: { n: number; value: number | null }): DisclosedValue {
  assertDisclosurePolicy(policy);
  assertCount(mean.n);
  if (isInSuppressedRange(policy, mean.n)) return { value: null, suppressed: true };
  return { value: checkStatistic(mean.value), suppressed: false };
}

/**
 * The true counts a published cell is consistent with, as sorted, disjoint, inclusive integer intervals
 * (`hi` may be Infinity): the rounding band of a published value, the suppressed range for a suppressed
 * cell, every publishable count for a secondary one. What an attacker knows about the cell on its own.
 */
export function possibleCounts(policy: DisclosurePolicy, cell: DisclosedCount): Intervals {
  assertDisclosurePolicy(policy);
  if (cell.suppressed) return cell.secondary === true ? publishableRange(policy) : suppressedRange(policy);
  if (cell.value === null) return EVERYTHING;
  const v = cell.value;
  let band: Interval;
  if (policy.rounding === 'midpoint6') band = v === 0 ? [0, 0] : [v - 2, v + 3];
  else band = [v - Math.floor(policy.roundingBase / 2), v + Math.ceil(policy.roundingBase / 2) - 1];
  return intersect(intersect([band], EVERYTHING), publishableRange(policy));
}

/** One sentence for readers of a published table, e.g. under an HTML report. */
export function describePolicy(policy: DisclosurePolicy): string {
  const range = suppressedRange(policy)[0];
  const suppressed = range ? `counts from ${range[0]} to ${range[1]} are suppressed` : 'no counts are suppressed';
  const rounded =
    policy.rounding === 'midpoint6'
      ? 'other counts are given midpoint-6 rounding (each becomes the middle of its band of six, e.g. 13–18 → 15)'
      : policy.roundingBase > 1
        ? `other counts are rounded to the nearest ${policy.roundingBase}`
        : 'other counts are not rounded';
  const totals =
    policy.totals === 'from-unrounded'
      ? `totals are calculated from unrounded counts and then ${policy.rounding === 'midpoint6' || policy.roundingBase > 1 ? 'rounded' : 'suppressed'} like any count`
      : policy.rounding === 'midpoint6' || policy.roundingBase > 1
        ? 'totals are the sum of the rounded counts'
        : 'totals are the sum of the published counts';
  const secondary =
    policy.totals === 'from-unrounded'
      ? roundingIsOff(policy)
        ? '; because counts are not rounded, in a table with a total further counts (or the total) are suppressed wherever a suppressed count could otherwise be worked out from it (secondary suppression)'
        : '; in a table with a total, further counts are suppressed wherever a suppressed count could still be worked out from it (secondary suppression)'
      : '';
  return `${SCHEME_LABELS[policy.scheme]} rules: ${suppressed}; ${rounded}; ${totals}${secondary}.`;
}

const totalsRules: Record<TotalsRule, (policy: DisclosurePolicy, counts: readonly number[], cells: readonly DisclosedCount[]) => DisclosedCount> = {
  'from-unrounded': (policy, counts) => applyToCount(policy, counts.reduce((sum, n) => sum + n, 0)),
  'sum-of-rounded': (_policy, _counts, cells) => {
    const published = cells.reduce((sum, cell) => sum + (cell.value ?? 0), 0);
    // A total of zero over suppressed cells would state something the cells deliberately hide (that
    // the column is empty), so a total built only from redacted counts is redacted too.
    if (published === 0 && cells.some((cell) => cell.suppressed)) return { value: null, suppressed: true };
    return { value: published, suppressed: false };
  },
};

// ---- Rounding -------------------------------------------------------------------------------------
// Integer arithmetic only (remainders are exact for safe integers), so the SQL twin in disclosureSql.ts
// can do the same steps in BIGINT and agree exactly.

function roundCount(policy: DisclosurePolicy, n: number): number {
  if (policy.rounding === 'midpoint6') {
    if (n === 0) return 0;
    const r = n % 6;
    return (r === 0 ? n : n - r + 6) - 3;
  }
  const base = policy.roundingBase;
  const r = n % base;
  // Halves go up, as Math.round does for non-negative numbers.
  return 2 * r >= base ? n - r + base : n - r;
}

function isInSuppressedRange(policy: DisclosurePolicy, n: number): boolean {
  return n <= policy.threshold && (n > 0 || policy.suppressZero);
}

// ---- Interval attacker ----------------------------------------------------------------------------
// Each cell's true count lies in a union of integer intervals (`possibleCounts`); the true total lies in
// the total's. A suppressed cell is protected when, given every other cell's intervals and the total's,
// it can still take at least two values. Minkowski sums and differences of integer intervals are exact,
// so this is exactly the set a brute-force search over every consistent table finds (tested).

/** Inclusive integer interval; `hi` may be Infinity, `lo` -Infinity in intermediate results. */
export type Interval = readonly [number, number];
export type Intervals = readonly Interval[];

const EVERYTHING: Intervals = [[0, Number.POSITIVE_INFINITY]];
const ZERO: Intervals = [[0, 0]];

function suppressedRange(policy: DisclosurePolicy): Intervals {
  const low = policy.suppressZero ? 0 : 1;
  return policy.threshold >= low ? [[low, policy.threshold]] : [];
}

function publishableRange(policy: DisclosurePolicy): Intervals {
  const low = policy.suppressZero ? 0 : 1;
  if (policy.threshold < low) return EVERYTHING;
  return normalise([
    [0, low - 1],
    [policy.threshold + 1, Number.POSITIVE_INFINITY],
  ]);
}

function normalise(pieces: readonly Interval[]): Interval[] {
  const sorted = pieces.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function combine(a: Intervals, b: Intervals, f: (x: Interval, y: Interval) => Interval): Interval[] {
  const pieces: Interval[] = [];
  for (const x of a) for (const y of b) pieces.push(f(x, y));
  return normalise(pieces);
}

function intersect(a: Intervals, b: Intervals): Interval[] {
  return combine(a, b, (x, y) => [Math.max(x[0], y[0]), Math.min(x[1], y[1])]);
}

function add(a: Intervals, b: Intervals): Interval[] {
  return combine(a, b, (x, y) => [x[0] + y[0], x[1] + y[1]]);
}

/** { x − y : x ∈ a, y ∈ b } */
function subtract(a: Intervals, b: Intervals): Interval[] {
  return combine(a, b, (x, y) => [x[0] - y[1], x[1] - y[0]]);
}

function size(a: Intervals): number {
  return a.reduce((sum, [lo, hi]) => sum + (hi - lo + 1), 0);
}

function columnIsProtected(policy: DisclosurePolicy, cells: readonly DisclosedCount[], total: DisclosedCount): boolean {
  if (!cells.some((cell) => cell.suppressed) && !total.suppressed) return true;
  const sets = cells.map((cell) => possibleCounts(policy, cell));
  // A sum-of-rounded total is computed from the published cells, so it says nothing more.
  const totalSet = policy.totals === 'from-unrounded' ? possibleCounts(policy, total) : EVERYTHING;
  const prefix: Intervals[] = [ZERO];
  for (const set of sets) prefix.push(add(prefix[prefix.length - 1]!, set));
  const suffix: Intervals[] = new Array<Intervals>(sets.length + 1).fill(ZERO);
  for (let i = sets.length - 1; i >= 0; i--) suffix[i] = add(sets[i]!, suffix[i + 1]!);

  for (let i = 0; i < cells.length; i++) {
    if (!cells[i]!.suppressed) continue;
    const others = add(prefix[i]!, suffix[i + 1]!);
    if (size(intersect(sets[i]!, subtract(totalSet, others))) < 2) return false;
  }
  if (total.suppressed && policy.totals === 'from-unrounded' && size(intersect(totalSet, prefix[sets.length]!)) < 2) return false;

  // The suppressed cells together: if their combined count is pinned and is itself a suppressible
  // number, the table has published a small count for the union of those groups.
  let hidden: Intervals = ZERO;
  let shown: Intervals = ZERO;
  sets.forEach((set, i) => {
    if (cells[i]!.suppressed) hidden = add(hidden, set);
    else shown = add(shown, set);
  });
  const combined = intersect(hidden, subtract(totalSet, shown));
  if (size(combined) === 1 && isInSuppressedRange(policy, combined[0]![0])) return false;
  return true;
}

/**
 * The smallest published non-zero cell by true count (ties: first); undefined if none. Published zeros
 * are never taken: a hidden zero can only be 0 or above the threshold, which gives no cover that hiding
 * the non-zero cells and then the total does not already give (and a column of many zeros would make
 * the search quadratic for nothing).
 */
function nextSecondaryCell(counts: readonly number[], cells: readonly DisclosedCount[]): number | undefined {
  let best: number | undefined;
  for (let i = 0; i < cells.length; i++) {
    if (cells[i]!.suppressed || counts[i] === 0) continue;
    if (best === undefined || counts[i]! < counts[best]!) best = i;
  }
  return best;
}

// ---- Checks -----------------------------------------------------------------------------------------

function policyProblems(policy: DisclosurePolicy): string[] {
  if (typeof policy !== 'object' || policy === null) return ['it is not an object'];
  const problems: string[] = [];
  if (typeof policy.scheme !== 'string' || !Object.hasOwn(SCHEME_LABELS, policy.scheme)) problems.push(`the scheme must be one of ${Object.keys(SCHEME_LABELS).join(', ')}`);
  const thresholdOk = Number.isSafeInteger(policy.threshold) && policy.threshold >= 0;
  if (!thresholdOk) problems.push('it needs a whole threshold ≥ 0');
  if (!Number.isSafeInteger(policy.roundingBase) || policy.roundingBase < 1) problems.push('it needs a whole rounding base ≥ 1');
  if (!TOTALS_RULES.includes(policy.totals)) problems.push(`the totals rule must be one of ${TOTALS_RULES.join(', ')}`);
  if (typeof policy.suppressZero !== 'boolean') problems.push('suppressZero must be true or false');
  if (!ROUNDING_RULES.includes(policy.rounding)) problems.push(`rounding must be one of ${ROUNDING_RULES.join(', ')}`);
  if (problems.length > 0 || !thresholdOk) return problems;
  const range = suppressedRange(policy);
  if (range.length > 0 && size(range) < 2) problems.push('its suppressed range holds a single value, so a suppressed cell would still state its count');
  if (range.length === 0 && roundingIsOff(policy)) problems.push('it neither suppresses nor rounds anything');
  return problems;
}

function invalidPolicy(scheme: string, problems: readonly string[]): CarelakeError {
  return new CarelakeError({
    code: 'disclosure.invalid-policy',
    kind: 'config',
    message: `The disclosure policy '${scheme}' is invalid: ${problems.join('; ')}`,
    hint: 'start from a preset with resolveDisclosurePolicy and change only what the data owner agreed',
  });
}

function assertCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CarelakeError({
      code: 'disclosure.not-a-count',
      kind: 'runtime',
      message: 'Disclosure control was given a value that is not a count (a non-negative whole number)',
      hint: 'apply the policy only to count columns',
    });
  }
}

function checkStatistic(value: number | null): number | null {
  if (value === null || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new CarelakeError({
    code: 'disclosure.not-a-statistic',
    kind: 'runtime',
    message: 'Disclosure control was given a rate or mean that is not a finite number',
    hint: 'pass null for a missing value',
  });
}
