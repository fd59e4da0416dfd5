// Disclosure presets, table-driven: suppression thresholds, rounding and the two totals rules.

import { describe, expect, it } from 'vitest';
import { applyToColumn, applyToCount, describePolicy, DISCLOSURE_POLICIES, type DisclosurePolicy } from '../../../warehouse/disclosure/policy.ts';

const { hes, opensafely, ons } = DISCLOSURE_POLICIES;
const S = { value: null, suppressed: true };
const v = (value: number) => ({ value, suppressed: false });

describe('applyToCount', () => {
  const cases: { description: string; policy: DisclosurePolicy; n: number; expected: { value: number | null; suppressed: boolean } }[] = [
    { description: 'HES keeps zero', policy: hes, n: 0, expected: v(0) },
    { description: 'HES suppresses 1', policy: hes, n: 1, expected: S },
    { description: 'HES suppresses 7', policy: hes, n: 7, expected: S },
    { description: 'HES rounds 8 to 10', policy: hes, n: 8, expected: v(10) },
    { description: 'HES rounds 12 to 10', policy: hes, n: 12, expected: v(10) },
    { description: 'HES rounds 13 to 15', policy: hes, n: 13, expected: v(15) },
    { description: 'HES keeps 100', policy: hes, n: 100, expected: v(100) },
    { description: 'HES rounds 1234 to 1235', policy: hes, n: 1234, expected: v(1235) },
    { description: 'OpenSAFELY redacts zero', policy: opensafely, n: 0, expected: S },
    { description: 'OpenSAFELY redacts 7', policy: opensafely, n: 7, expected: S },
    { description: 'OpenSAFELY rounds 8 to 10', policy: opensafely, n: 8, expected: v(10) },
    { description: 'ONS suppresses 9', policy: ons, n: 9, expected: S },
    { description: 'ONS rounds 10', policy: ons, n: 10, expected: v(10) },
    { description: 'ONS rounds 11 to 10', policy: ons, n: 11, expected: v(10) },
    { description: 'ONS suppresses zero', policy: ons, n: 0, expected: S },
    { description: 'rounding off (base 1)', policy: { ...hes, roundingBase: 1 }, n: 13, expected: v(13) },
  ];
  it.each(cases)('$description', ({ policy, n, expected }) => expect(applyToCount(policy, n)).toEqual(expected));

  const invalid = [
    { description: 'negative', n: -1 },
    { description: 'fraction', n: 2.5 },
    { description: 'NaN', n: Number.NaN },
  ];
  it.each(invalid)('refuses a value that is not a count ($description)', ({ n }) => {
    expect(() => applyToCount(hes, n)).toThrow(/not a count/);
  });

  it('refuses an invalid policy', () => {
    expect(() => applyToCount({ ...hes, roundingBase: 0 }, 10)).toThrow(/rounding base/);
  });
});

describe('applyToColumn', () => {
  const cases: { description: string; policy: DisclosurePolicy; counts: number[]; cells: { value: number | null; suppressed: boolean }[]; total: { value: number | null; suppressed: boolean } }[] = [
    {
      description: 'HES total from unrounded counts, then rounded',
      policy: hes,
      counts: [3, 12, 13],
      cells: [S, v(10), v(15)],
      // 28 → 30, not 10 + 15 = 25.
      total: v(30),
    },
    {
      description: 'OpenSAFELY total is the sum of rounded cells',
      policy: opensafely,
      counts: [3, 12, 13],
      cells: [S, v(10), v(15)],
      total: v(25),
    },
    {
      description: 'HES total of small cells can itself be publishable',
      policy: hes,
      counts: [4, 5],
      cells: [S, S],
      total: v(10),
    },
    {
      description: 'HES total that is itself small is suppressed',
      policy: hes,
      counts: [2, 3],
      cells: [S, S],
      total: S,
    },
    {
      description: 'OpenSAFELY total built only from redacted cells is redacted',
      policy: opensafely,
      counts: [4, 5],
      cells: [S, S],
      total: S,
    },
    {
      description: 'ONS total from unrounded counts',
      policy: ons,
      counts: [9, 21, 22],
      cells: [S, v(20), v(20)],
      total: v(50),
    },
    { description: 'empty column (HES)', policy: hes, counts: [], cells: [], total: v(0) },
  ];
  it.each(cases)('$description', ({ policy, counts, cells, total }) => {
    expect(applyToColumn(policy, counts)).toEqual({ cells, total });
  });
});

describe('describePolicy', () => {
  const cases = [
    { description: 'HES', policy: hes, includes: ['HES', 'from 1 to 7', 'nearest 5', 'unrounded'] },
    { description: 'OpenSAFELY', policy: opensafely, includes: ['OpenSAFELY', 'from 0 to 7', 'sum of the rounded'] },
    { description: 'ONS', policy: ons, includes: ['ONS', 'from 0 to 9'] },
  ];
  it.each(cases)('$description', ({ policy, includes }) => {
    for (const text of includes) expect(describePolicy(policy)).toContain(text);
  });
});
