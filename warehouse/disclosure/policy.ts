// Small-number suppression and rounding for aggregate outputs (shared/specs/governance.md, "Disclosure
// control"). A policy is a named, configurable object rather than code per regime, so a report can say
// exactly which rule it applied. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';

export type DisclosureScheme = 'hes' | 'opensafely' | 'ons';

/**
 * `from-unrounded`: the total is computed from the true counts and then suppressed/rounded like any
 * other count (HES). `sum-of-rounded`: the total is the sum of the published cells, so nothing can be
 * back-calculated from it (OpenSAFELY).
 */
export type TotalsRule = 'from-unrounded' | 'sum-of-rounded';

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
}

export interface DisclosedCount {
  value: number | null;
  suppressed: boolean;
}

export interface DisclosedColumn {
  cells: DisclosedCount[];
  total: DisclosedCount;
}

export const DISCLOSURE_POLICIES: Readonly<Record<DisclosureScheme, Readonly<DisclosurePolicy>>> = Object.freeze({
  hes: Object.freeze({ scheme: 'hes', threshold: 7, roundingBase: 5, totals: 'from-unrounded', suppressZero: false }),
  opensafely: Object.freeze({ scheme: 'opensafely', threshold: 7, roundingBase: 5, totals: 'sum-of-rounded', suppressZero: true }),
  ons: Object.freeze({ scheme: 'ons', threshold: 9, roundingBase: 5, totals: 'from-unrounded', suppressZero: true }),
});

/** HES is the default for commissioners (governance spec). */
export const DEFAULT_DISCLOSURE_POLICY: Readonly<DisclosurePolicy> = DISCLOSURE_POLICIES.hes;

const SCHEME_LABELS: Record<DisclosureScheme, string> = {
  hes: 'NHS Digital HES',
  opensafely: 'OpenSAFELY',
  ons: 'ONS',
};

/** Suppresses or rounds one count. Throws on anything that is not a non-negative whole number. */
export function applyToCount(policy: DisclosurePolicy, n: number): DisclosedCount {
  checkPolicy(policy);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CarelakeError({
      code: 'disclosure.not-a-count',
      kind: 'runtime',
      message: 'Disclosure control was given a value that is not a count (a non-negative whole number)',
      hint: 'apply the policy only to count columns',
    });
  }
  if (n === 0) return policy.suppressZero ? { value: null, suppressed: true } : { value: 0, suppressed: false };
  if (n <= policy.threshold) return { value: null, suppressed: true };
  return { value: roundTo(n, policy.roundingBase), suppressed: false };
}

/** Applies the policy to each cell of a column and computes its total by the policy's totals rule. */
export function applyToColumn(policy: DisclosurePolicy, counts: readonly number[]): DisclosedColumn {
  const cells = counts.map((n) => applyToCount(policy, n));
  return { cells, total: totalsRules[policy.totals](policy, counts, cells) };
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

/** One sentence for readers of a published table, e.g. under an HTML report. */
export function describePolicy(policy: DisclosurePolicy): string {
  const low = policy.suppressZero ? 0 : 1;
  const suppressed = `counts from ${low} to ${policy.threshold} are suppressed`;
  const rounded = policy.roundingBase > 1 ? `other counts are rounded to the nearest ${policy.roundingBase}` : 'other counts are not rounded';
  const totals =
    policy.totals === 'from-unrounded'
      ? 'totals are calculated from unrounded counts and then rounded'
      : 'totals are the sum of the rounded counts';
  return `${SCHEME_LABELS[policy.scheme]} rules: ${suppressed}; ${rounded}; ${totals}.`;
}

function roundTo(n: number, base: number): number {
  return Math.round(n / base) * base;
}

function checkPolicy(policy: DisclosurePolicy): void {
  if (!Number.isSafeInteger(policy.threshold) || policy.threshold < 0 || !Number.isSafeInteger(policy.roundingBase) || policy.roundingBase < 1) {
    throw new CarelakeError({
      code: 'disclosure.invalid-policy',
      kind: 'config',
      message: `The disclosure policy '${policy.scheme}' needs a whole threshold ≥ 0 and a whole rounding base ≥ 1`,
    });
  }
}
