// Freshness of landing sources: dbt's thresholds (strictly older than) on the newest landing, and the
// ledger remembering the last verdict so a change is reported once.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../core/config.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { checkFreshness, evaluateFreshness } from '../../../pipelines/ops/sourceFreshness.ts';

const config = parseConfig(
  `sources:
  - { name: pas, kind: hl7v2, path: ./a, freshness: { warn_after: { count: 6, period: hour }, error_after: { count: 1, period: day } } }
  - { name: esr, kind: esr, path: ./b, freshness: { error_after: { count: 2, period: day } } }
  - { name: gp, kind: fhir-bulk-files, path: ./c }`,
  { file: null, baseDir: '/tmp' },
);
const now = new Date('2026-11-21T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();

describe('evaluateFreshness', () => {
  it.each([
    [1, 'pass'],
    [6, 'pass'], // exactly at warn_after is not older than it
    [6.01, 'warn'],
    [24, 'warn'],
    [24.01, 'error'],
  ])('a source that last landed %s hours ago is %s', (hours, status) => {
    const [pas] = evaluateFreshness(config.sources, new Map([['pas', hoursAgo(hours)]]), now);
    expect(pas).toMatchObject({ source: 'pas', status, ageSeconds: Math.round(hours * 3600) });
  });

  it('calls a source that never landed an error when it has error_after, and leaves a source without a rule unjudged', () => {
    const [pas, esr, gp] = evaluateFreshness(config.sources, new Map([['gp', hoursAgo(1000)]]), now);
    expect(pas).toMatchObject({ status: 'error', newestLandedAt: null, ageSeconds: null });
    expect(esr).toMatchObject({ status: 'error' });
    expect(gp).toMatchObject({ status: null, rule: null, ageSeconds: 3_600_000 });
  });
});

describe('checkFreshness', () => {
  let ledger: Ledger;
  beforeEach(() => {
    ledger = Ledger.open(join(mkdtempSync(join(tmpdir(), 'carelake-freshness-')), 'ops.sqlite'));
  });
  afterEach(() => ledger.close());

  const land = (source: string, at: string, records = 1) =>
    ledger.recordIntent({
      file: { source, location: `${source}-${at}`, sha256: `${source}-${at}`, bytes: 1, run_id: 'r1', records_in: records, records_landed: records, records_quarantined: 0, records_filtered: 0, reconciliation: null },
      parts: [],
      quarantine: [],
      status: 'landed',
      at,
    });

  it('reports each change of state once, and judges on files that landed records only', () => {
    land('pas', hoursAgo(30));
    land('pas', hoursAgo(1), 0); // a file with nothing in it does not make the source fresh
    land('esr', hoursAgo(1));
    const first = checkFreshness(config.sources, ledger, now);
    expect(first.changes.map((c) => [c.freshness.source, c.previous, c.freshness.status])).toEqual([
      ['pas', null, 'error'],
      ['esr', null, 'pass'],
    ]);
    expect(checkFreshness(config.sources, ledger, now).changes).toEqual([]);
    land('pas', hoursAgo(0.5));
    const recovered = checkFreshness(config.sources, ledger, now);
    expect(recovered.changes.map((c) => [c.freshness.source, c.previous, c.freshness.status])).toEqual([['pas', 'error', 'pass']]);
    expect(ledger.freshness('pas')).toMatchObject({ status: 'pass', age_seconds: 1800 });
  });
});
