// Disclosure presets, table-driven: suppression thresholds, rounding (nearest and midpoint-6), the two
// totals rules, secondary suppression, rates and means, and policy resolution.

import { describe, expect, it } from 'vitest';
import {
  applyToColumn,
  applyToCount,
  applyToMean,
  applyToRate,
  describePolicy,
  DISCLOSURE_POLICIES,
  possibleCounts,
  resolveDisclosurePolicy,
  roundingIsOff,
  type DisclosurePolicy,
} from '../../../warehouse/disclosure/policy.ts';

const { hes, opensafely, ons } = DISCLOSURE_POLICIES;
const S = { value: null, suppressed: true };
const S2 = { value: null, suppressed: true, secondary: true };
const v = (value: number) => ({ value, suppressed: false });
const hesMidpoint = resolveDisclosurePolicy('hes', { rounding: 'midpoint6' });
const osMidpoint = resolveDisclosurePolicy('opensafely', { rounding: 'midpoint6' });
const hesOff = resolveDisclosurePolicy('hes', { roundingBase: 1 });
const onsOff = resolveDisclosurePolicy('ons', { roundingBase: 1 });
const osOff = resolveDisclosurePolicy('opensafely', { roundingBase: 1 });

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
    { description: 'midpoint-6: HES keeps zero', policy: hesMidpoint, n: 0, expected: v(0) },
    { description: 'midpoint-6: 7 is still suppressed', policy: hesMidpoint, n: 7, expected: S },
    { description: 'midpoint-6: 8 → 9', policy: hesMidpoint, n: 8, expected: v(9) },
    { description: 'midpoint-6: 12 → 9', policy: hesMidpoint, n: 12, expected: v(9) },
    { description: 'midpoint-6: 13 → 15', policy: hesMidpoint, n: 13, expected: v(15) },
    { description: 'midpoint-6: 18 → 15', policy: hesMidpoint, n: 18, expected: v(15) },
    { description: 'midpoint-6: 1234 → 1233', policy: hesMidpoint, n: 1234, expected: v(1233) },
    { description: 'midpoint-6 without redaction: 1 → 3', policy: resolveDisclosurePolicy('opensafely', { rounding: 'midpoint6', threshold: 0, suppressZero: false }), n: 1, expected: v(3) },
    { description: 'even base rounds halves up: 15 → 20', policy: resolveDisclosurePolicy('hes', { roundingBase: 10 }), n: 15, expected: v(20) },
    { description: 'even base: 14 → 10', policy: resolveDisclosurePolicy('hes', { roundingBase: 10 }), n: 14, expected: v(10) },
    { description: 'largest safe count', policy: hes, n: Number.MAX_SAFE_INTEGER, expected: v(Number.MAX_SAFE_INTEGER - 1) },
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
    {
      description: 'midpoint-6, HES totals: the true total 28 gets midpoint-6 rounding',
      policy: hesMidpoint,
      counts: [3, 12, 13],
      cells: [S, v(9), v(15)],
      total: v(27),
    },
    {
      description: 'midpoint-6, OpenSAFELY totals: the sum of the published cells',
      policy: osMidpoint,
      counts: [3, 12, 13],
      cells: [S, v(9), v(15)],
      total: v(24),
    },
    {
      description: 'rounding off: one suppressed cell and an exact total → the smallest other cell is suppressed too',
      policy: hesOff,
      counts: [3, 10],
      cells: [S, S2],
      total: v(13),
    },
    {
      description: 'rounding off: the smallest published cell is taken first',
      policy: hesOff,
      counts: [30, 3, 12, 20],
      cells: [v(30), S, S2, v(20)],
      total: v(65),
    },
    {
      description: 'rounding off: published zeros are never taken (a hidden zero adds no cover)',
      policy: hesOff,
      counts: [3, 0, 0, 0, 50],
      cells: [S, v(0), v(0), v(0), S2],
      total: v(53),
    },
    {
      // 1 + 8 = 9: with 8 hidden the only split of 9 into 1..7 and 0-or-≥8 is 1 + 8, so the total goes too.
      description: 'rounding off: the total is suppressed when hiding every cell is not enough',
      policy: hesOff,
      counts: [1, 8],
      cells: [S, S2],
      total: S2,
    },
    {
      description: 'rounding off: two suppressed cells that can still vary need no more',
      policy: hesOff,
      counts: [4, 5, 20],
      cells: [S, S, v(20)],
      total: v(29),
    },
    {
      description: 'rounding off: two suppressed cells pinned by the total (1 + 1 = 2) need a third',
      policy: hesOff,
      counts: [1, 1, 20],
      cells: [S, S, S2],
      total: v(22),
    },
    {
      description: 'rounding off: two suppressed cells whose sum is itself a small number (3 + 2 = 5) need a third',
      policy: hesOff,
      counts: [3, 2, 20],
      cells: [S, S, S2],
      total: v(25),
    },
    {
      description: 'rounding off, ONS: a suppressed zero is protected too',
      policy: onsOff,
      counts: [0, 20],
      cells: [S, S2],
      total: v(20),
    },
    {
      description: 'rounding off with sum-of-rounded totals: the total reveals nothing, no secondary suppression',
      policy: osOff,
      counts: [3, 10],
      cells: [S, v(10)],
      total: v(10),
    },
    {
      // *, 10, 10 and a total of 15: the bands 8..12 and 13..17 leave the first cell exactly 1.
      description: 'HES with rounding: [1, 8, 8] would give the 1 away, so one 8 is suppressed too',
      policy: hes,
      counts: [1, 8, 8],
      cells: [S, S2, v(10)],
      total: v(15),
    },
    {
      // Both 9s hidden but a total of 20 (18..22) means both are 9.
      description: 'ONS with rounding: [9, 9] would give both away, so the total is suppressed',
      policy: ons,
      counts: [9, 9],
      cells: [S, S],
      total: S2,
    },
  ];
  it.each(cases)('$description', ({ policy, counts, cells, total }) => {
    expect(applyToColumn(policy, counts)).toEqual({ cells, total });
  });
});

describe('applyToColumn refusals', () => {
  it('refuses a column no suppression can protect (HES: seven groups of 1 and a suppressed total)', () => {
    expect(() => applyToColumn(hes, [1, 1, 1, 1, 1, 1, 1])).toThrow(expect.objectContaining({ code: 'disclosure.column-not-protectable' }));
    // Six groups of 1 can still be 1 or 2 each.
    expect(applyToColumn(hes, [1, 1, 1, 1, 1, 1]).total).toEqual(S);
  });

  it('refuses a cell that is not a count', () => {
    expect(() => applyToColumn(hesOff, [3, -1])).toThrow(/not a count/);
  });
});

describe('applyToRate and applyToMean', () => {
  it('suppresses a rate whose numerator is suppressed, primary or secondary', () => {
    expect(applyToRate(hes, { numerator: S, value: 0.25 })).toEqual(S);
    expect(applyToRate(hes, { numerator: S2, value: 0.25 })).toEqual(S);
    expect(applyToRate(hes, { numerator: v(10), value: 0.25 })).toEqual(v(0.25));
  });

  it('suppresses a rate whose denominator is suppressed', () => {
    expect(applyToRate(hes, { numerator: v(10), denominator: S, value: 0.25 })).toEqual(S);
    expect(applyToRate(hes, { numerator: v(10), denominator: v(40), value: 0.25 })).toEqual(v(0.25));
  });

  it('keeps a missing rate missing and refuses a non-finite one', () => {
    expect(applyToRate(hes, { numerator: v(0), value: null })).toEqual({ value: null, suppressed: false });
    expect(() => applyToRate(hes, { numerator: v(10), value: Number.POSITIVE_INFINITY })).toThrow(/not a finite number/);
  });

  const means = [
    { description: 'HES: a mean over 1 value is suppressed', policy: hes, n: 1, expected: S },
    { description: 'HES: a mean over 7 values is suppressed', policy: hes, n: 7, expected: S },
    { description: 'HES: a mean over 8 values is published unrounded', policy: hes, n: 8, expected: v(4.25) },
    { description: 'HES: no values, no mean', policy: hes, n: 0, value: null, expected: { value: null, suppressed: false } },
    { description: 'ONS: a mean over 9 values is suppressed', policy: ons, n: 9, expected: S },
    { description: 'OpenSAFELY: a mean over 0 values is redacted', policy: opensafely, n: 0, value: null, expected: S },
  ];
  it.each(means)('$description', ({ policy, n, value, expected }) => {
    expect(applyToMean(policy, { n, value: value === undefined ? 4.25 : value })).toEqual(expected);
  });

  it('refuses a mean over a number of values that is not a count', () => {
    expect(() => applyToMean(hes, { n: 2.5, value: 1 })).toThrow(/not a count/);
  });
});

describe('resolveDisclosurePolicy', () => {
  it('gives each preset, frozen', () => {
    for (const scheme of ['hes', 'opensafely', 'ons'] as const) {
      const policy = resolveDisclosurePolicy(scheme);
      expect(policy).toEqual(DISCLOSURE_POLICIES[scheme]);
      expect(Object.isFrozen(policy)).toBe(true);
    }
    expect(hes).toEqual({ scheme: 'hes', threshold: 7, roundingBase: 5, totals: 'from-unrounded', suppressZero: false, rounding: 'nearest' });
    expect(opensafely).toEqual({ scheme: 'opensafely', threshold: 7, roundingBase: 5, totals: 'sum-of-rounded', suppressZero: true, rounding: 'nearest' });
    expect(ons).toEqual({ scheme: 'ons', threshold: 9, roundingBase: 5, totals: 'from-unrounded', suppressZero: true, rounding: 'nearest' });
  });

  it('applies overrides; midpoint-6 carries the base 6', () => {
    expect(resolveDisclosurePolicy('hes', { threshold: 10, totals: 'sum-of-rounded' })).toMatchObject({ scheme: 'hes', threshold: 10, totals: 'sum-of-rounded', roundingBase: 5 });
    expect(osMidpoint).toMatchObject({ rounding: 'midpoint6', roundingBase: 6 });
    expect(resolveDisclosurePolicy('hes', { rounding: 'midpoint6', roundingBase: 6 }).roundingBase).toBe(6);
    expect(roundingIsOff(hesOff)).toBe(true);
    expect(roundingIsOff(hes)).toBe(false);
    expect(roundingIsOff(osMidpoint)).toBe(false);
  });

  const invalid: { description: string; scheme?: string; overrides: Record<string, unknown>; error: RegExp }[] = [
    { description: 'an unknown scheme', scheme: 'nhsx', overrides: {}, error: /Unknown disclosure scheme/ },
    { description: 'an unknown setting', overrides: { treshold: 5 }, error: /'treshold' is not a disclosure policy setting/ },
    { description: 'a fractional threshold', overrides: { threshold: 7.5 }, error: /whole threshold/ },
    { description: 'a rounding base of 0', overrides: { roundingBase: 0 }, error: /rounding base/ },
    { description: 'an unknown totals rule', overrides: { totals: 'sum' }, error: /totals rule/ },
    { description: 'an unknown rounding rule', overrides: { rounding: 'banker' }, error: /rounding must be/ },
    { description: 'suppressZero that is not a boolean', overrides: { suppressZero: 'yes' }, error: /suppressZero/ },
    { description: 'midpoint-6 with another base', overrides: { rounding: 'midpoint6', roundingBase: 5 }, error: /midpoint-6/ },
    { description: 'a suppressed range of one value (1..1)', overrides: { threshold: 1 }, error: /single value/ },
    { description: 'neither suppression nor rounding', overrides: { threshold: 0, roundingBase: 1 }, error: /neither suppresses nor rounds/ },
  ];
  it.each(invalid)('refuses $description', ({ scheme, overrides, error }) => {
    expect(() => resolveDisclosurePolicy((scheme ?? 'hes') as 'hes', overrides as never)).toThrow(error);
  });

  it('lets per-cell functions refuse a hand-built policy that would leak', () => {
    expect(() => applyToCount({ ...hes, threshold: 1 }, 10)).toThrow(/single value/);
  });
});

describe('possibleCounts', () => {
  // The intervals the column check reasons with must be exactly the counts applyToCount maps to the
  // same published cell — checked here against brute force for every count up to 400.
  const policies = [hes, opensafely, ons, hesMidpoint, osMidpoint, hesOff, onsOff, resolveDisclosurePolicy('hes', { roundingBase: 10 }), resolveDisclosurePolicy('hes', { roundingBase: 2 })];
  it.each(policies.map((policy) => ({ policy, name: describePolicy(policy) })))('$name', ({ policy }) => {
    const max = 400;
    const members = (intervals: readonly (readonly [number, number])[]): number[] =>
      Array.from({ length: max + 1 }, (_, n) => n).filter((n) => intervals.some(([lo, hi]) => lo <= n && n <= hi));
    const byCell = new Map<string, number[]>();
    for (let n = 0; n <= max; n++) {
      const key = JSON.stringify(applyToCount(policy, n));
      byCell.set(key, [...(byCell.get(key) ?? []), n]);
    }
    for (const [key, counts] of byCell) {
      // Counts near the search limit may belong to a band that continues past it.
      const expected = members(possibleCounts(policy, JSON.parse(key)));
      expect(expected.filter((n) => n < max - 6)).toEqual(counts.filter((n) => n < max - 6));
    }
    const publishable = Array.from({ length: max + 1 }, (_, n) => n).filter((n) => !applyToCount(policy, n).suppressed);
    expect(members(possibleCounts(policy, S2))).toEqual(publishable);
  });
});

describe('describePolicy', () => {
  const cases = [
    { description: 'HES', policy: hes, includes: ['HES', 'from 1 to 7', 'nearest 5', 'unrounded'] },
    { description: 'OpenSAFELY', policy: opensafely, includes: ['OpenSAFELY', 'from 0 to 7', 'sum of the rounded'] },
    { description: 'ONS', policy: ons, includes: ['ONS', 'from 0 to 9'] },
    { description: 'midpoint-6', policy: osMidpoint, includes: ['OpenSAFELY', 'midpoint-6', '13–18 → 15', 'sum of the rounded'] },
    { description: 'rounding off', policy: hesOff, includes: ['not rounded', 'secondary suppression'] },
    { description: 'rounding off, sum-of-rounded totals', policy: osOff, includes: ['not rounded', 'sum of the published counts'] },
  ];
  it.each(cases)('$description', ({ policy, includes }) => {
    for (const text of includes) expect(describePolicy(policy)).toContain(text);
  });
});
