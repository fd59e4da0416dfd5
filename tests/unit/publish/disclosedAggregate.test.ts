import { describe, expect, it } from 'vitest';
import { DISCLOSURE_POLICIES } from '../../../warehouse/disclosure/policy.ts';
import { disclose, disclosedColumns, type ServingAggregateSpec } from '../../../warehouse/publish/disclosedAggregate.ts';

const hes = DISCLOSURE_POLICIES.hes;
const opensafely = DISCLOSURE_POLICIES.opensafely;

const prevalence: ServingAggregateSpec = {
  dimensions: ['condition', 'practice'],
  declaredDimensions: [],
  counts: ['patients', 'registered'],
  measures: [],
  rates: [{ column: 'per_1000', numerator: 'patients', denominator: 'registered', per: 1000 }],
  totalsOver: 'practice',
};

/** [cell, group, patients, registered] for one condition at three practices. */
const rows = (patients: number[], registered: number[]) => patients.map((p, i) => [i + 1, '["asthma"]', p, registered[i]!]);

describe('disclosed aggregates', () => {
  it('names a flag beside every count, measure and rate, and the total flag when totals are asked for', () => {
    expect(disclosedColumns(prevalence)).toEqual([
      'condition', 'practice', 'is_total', 'patients', 'patients_suppressed', 'registered', 'registered_suppressed', 'per_1000', 'per_1000_suppressed',
    ]);
  });

  it('suppresses a second cell when the total and its siblings would give a suppressed one away (HES [1, 8, 8])', () => {
    const out = disclose(rows([1, 8, 8], [900, 1200, 1500]), prevalence, hes);
    const patients = out.map((r) => [r.values[0], r.values[1]]);
    // Without secondary suppression this would be *, 10, 10 and a total of 15, which pins the 1.
    expect(patients[0]).toEqual([null, true]);
    expect(patients.filter(([, suppressed]) => suppressed).length).toBeGreaterThanOrEqual(2);
    expect(out.map((r) => r.total)).toEqual([false, false, false, true]);
  });

  it('computes rates from the published counts and suppresses them with either count', () => {
    const out = disclose(rows([1, 23, 40], [900, 1200, 1500]), prevalence, hes);
    const rate = (i: number) => [out[i]!.values[4], out[i]!.values[5]];
    expect(rate(0)).toEqual([null, true]);
    // 25 published of 1200 published: 20.83 per 1,000, not the true 23/1200 = 19.17.
    expect(rate(1)).toEqual([20.83, false]);
    expect(out[3]!.values[0]).toBe(65); // HES total from unrounded: 64 → 65
  });

  it('makes sum-of-rounded totals the sum of the published cells (OpenSAFELY)', () => {
    const out = disclose(rows([12, 13, 31], [900, 1200, 1500]), prevalence, opensafely);
    const published = out.slice(0, 3).map((r) => r.values[0] as number);
    expect(out[3]!.values[0]).toBe(published.reduce((a, b) => a + b, 0));
  });

  it('suppresses a measure whenever the count it describes is, and adds up additive measures on totals', () => {
    const spec: ServingAggregateSpec = {
      dimensions: ['staff_group', 'organisation'],
      declaredDimensions: [],
      counts: ['headcount'],
      measures: [{ column: 'fte', of: 'headcount', additive: true }],
      rates: [],
      totalsOver: 'organisation',
    };
    const out = disclose([[1, 'g', 3, 2.4], [2, 'g', 40, 35.5], [3, 'g', 52, 47.1]], spec, hes);
    const fte = (published: (readonly unknown[])[]) => disclose(published, spec, hes).map((r) => [r.values[2], r.values[3]]);
    // [3, 40, 52] publishes *, 40, 50 and 95: the 3 keeps 7 possible values, so nothing else is hidden.
    // The FTE total, less the published FTEs, would give the 2.4 back, so it is suppressed with it.
    expect(fte([[1, 'g', 3, 2.4], [2, 'g', 40, 35.5], [3, 'g', 52, 47.1]])).toEqual([
      [null, true],
      [35.5, false],
      [47.1, false],
      [null, true],
    ]);
    expect(fte([[1, 'g', 12, 10.4], [2, 'g', 40, 35.5], [3, 'g', 52, 47.1]])).toEqual([
      [10.4, false],
      [35.5, false],
      [47.1, false],
      [93, false],
    ]);
  });

  it('withholds a whole group rather than publish one no suppression can protect', () => {
    const out = disclose(rows([1, 1, 1, 1, 1, 1, 1], [100, 100, 100, 100, 100, 100, 100]), prevalence, hes);
    expect(out.every((r) => r.values[0] === null && r.values[1] === true)).toBe(true);
  });
});
