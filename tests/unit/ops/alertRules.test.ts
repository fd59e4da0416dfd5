import { describe, expect, it } from 'vitest';
import type { FileRecord, FreshnessState, RunRecord, RunStatus } from '../../../pipelines/ledger/ledger.ts';
import { alertsForFreshness, alertsForRun } from '../../../pipelines/ops/alertRules.ts';
import type { FreshnessChange } from '../../../pipelines/ops/sourceFreshness.ts';

const RULES = { quarantineRate: 0.01 };

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    run_id: 'r20261121T020000Z-aaaaaa',
    source: 'demo-esr',
    kind: 'esr',
    trigger: 'schedule',
    status: 'succeeded',
    started_at: '2026-11-21T02:00:00.000Z',
    finished_at: '2026-11-21T02:01:00.000Z',
    records_in: 1000,
    records_landed: 1000,
    records_quarantined: 0,
    records_filtered: 0,
    files_seen: 1,
    files_landed: 1,
    files_skipped: 0,
    error: null,
    attempt: 1,
    retry_of: null,
    rerun_of: null,
    window_from: null,
    window_to: null,
    scheduled_for: null,
    ...overrides,
  };
}

function file(overrides: Partial<FileRecord> = {}): FileRecord {
  return {
    source: 'demo-esr',
    location: 'GO_1_GO1_20261121.DAT',
    sha256: 'f'.repeat(64),
    bytes: 100,
    status: 'landed',
    run_id: 'r20261121T020000Z-aaaaaa',
    landed_at: '2026-11-21T02:00:30.000Z',
    records_in: 1000,
    records_landed: 1000,
    records_quarantined: 0,
    records_filtered: 0,
    reconciliation: null,
    ...overrides,
  };
}

describe('alertsForRun', () => {
  const cases: { description: string; run: RunRecord; files?: FileRecord[]; rate?: number; kinds: string[] }[] = [
    { description: 'a clean successful run raises nothing', run: run(), kinds: [] },
    { description: 'a final failure is critical', run: run({ status: 'failed', error: 'the folder is missing', records_in: 0, records_landed: 0 }), kinds: ['run-failed'] },
    { description: 'a retried attempt is not final and does not alert', run: run({ status: 'retried', error: 'timeout', records_in: 0, records_landed: 0 }), kinds: [] },
    { description: 'a failed retry (attempt 3) alerts', run: run({ status: 'failed', attempt: 3, retry_of: 'r1', error: 'timeout', records_in: 0 }), kinds: ['run-failed'] },
    ...(['succeeded', 'partial', 'interrupted', 'running'] as RunStatus[]).map((status) => ({
      description: `status ${status} is not a failure`,
      run: run({ status }),
      kinds: [] as string[],
    })),
    { description: 'quarantine exactly at the threshold does not alert', run: run({ records_in: 1000, records_quarantined: 10 }), kinds: [] },
    { description: 'quarantine at 3/300 (= 1%, exactly) does not alert', run: run({ records_in: 300, records_quarantined: 3 }), kinds: [] },
    { description: 'quarantine just above the threshold alerts', run: run({ records_in: 1000, records_quarantined: 11 }), kinds: ['quarantine-threshold'] },
    { description: 'a custom threshold is honoured', run: run({ records_in: 1000, records_quarantined: 11 }), rate: 0.05, kinds: [] },
    { description: 'a zero threshold alerts on one quarantined record', run: run({ records_in: 1000, records_quarantined: 1 }), rate: 0, kinds: ['quarantine-threshold'] },
    { description: 'zero records read has no rate and does not alert', run: run({ records_in: 0, records_landed: 0, records_quarantined: 0 }), rate: 0, kinds: [] },
    {
      description: 'a file with a reconciliation mismatch alerts',
      run: run(),
      files: [file(), file({ location: 'GO_2.DAT', sha256: 'e'.repeat(64), reconciliation: JSON.stringify([{ what: 'TRL record count in GO_2.DAT', declared: 12, actual: 11 }]) })],
      kinds: ['reconciliation-mismatch'],
    },
    { description: 'files without reconciliation do not alert', run: run(), files: [file(), file({ location: 'b', sha256: 'e'.repeat(64) })], kinds: [] },
    {
      description: 'a run that failed after quarantining too much raises both',
      run: run({ status: 'failed', error: 'disk full', records_in: 100, records_quarantined: 50 }),
      kinds: ['run-failed', 'quarantine-threshold'],
    },
    {
      description: 'a retried attempt still reports its data-quality findings',
      run: run({ status: 'retried', error: 'x', records_in: 100, records_quarantined: 50 }),
      kinds: ['quarantine-threshold'],
    },
  ];

  it.each(cases)('$description', ({ run: r, files = [], rate, kinds }) => {
    const alerts = alertsForRun(r, files, { quarantineRate: rate ?? RULES.quarantineRate });
    expect(alerts.map((a) => a.kind)).toEqual(kinds);
    for (const a of alerts) {
      expect(a.source).toBe(r.source);
      expect(a.run_id).toBe(r.run_id);
      expect(a.summary).toContain(r.source);
      expect(a.summary).toContain(r.run_id);
    }
  });

  it('sets severity by kind: critical for a failure, warning for data quality', () => {
    const alerts = alertsForRun(
      run({ status: 'failed', error: 'boom', records_in: 100, records_quarantined: 50 }),
      [file({ reconciliation: JSON.stringify([{ what: 'count', declared: 1, actual: 2 }]) })],
      RULES,
    );
    expect(Object.fromEntries(alerts.map((a) => [a.kind, a.severity]))).toEqual({
      'run-failed': 'critical',
      'quarantine-threshold': 'warning',
      'reconciliation-mismatch': 'warning',
    });
  });

  it('names the figures of a quarantine alert', () => {
    const [alert] = alertsForRun(run({ records_in: 200, records_quarantined: 7 }), [], RULES);
    expect(alert?.summary).toBe('Run r20261121T020000Z-aaaaaa of source demo-esr quarantined 7 of 200 records (3.5%), above the 1% threshold');
    expect(alert?.details).toEqual({ records_in: 200, records_quarantined: 7, rate: 0.035, threshold: 0.01 });
  });

  it('lists each mismatched file with its declared and actual counts', () => {
    const mismatch = { what: 'TRL record count in GO_2.DAT', declared: 12, actual: 11 };
    const [alert] = alertsForRun(run(), [file({ location: 'GO_2.DAT', reconciliation: JSON.stringify([mismatch]) })], RULES);
    expect(alert?.details).toEqual({ files: [{ location: 'GO_2.DAT', mismatches: [mismatch] }] });
    expect(alert?.summary).toContain('1 file whose declared counts disagree');
    expect(alert?.summary).toContain('declared 12, read 11');
  });

  it('still alerts on a reconciliation it cannot read, listing the file without figures', () => {
    const [alert] = alertsForRun(run(), [file({ reconciliation: '{not json' })], RULES);
    expect(alert?.kind).toBe('reconciliation-mismatch');
    expect(alert?.details).toEqual({ files: [{ location: 'GO_1_GO1_20261121.DAT', mismatches: [] }] });
  });

  it('cuts a long run error so the summary stays one readable line', () => {
    const [alert] = alertsForRun(run({ status: 'failed', error: 'x'.repeat(5000) }), [], RULES);
    expect(alert!.summary.length).toBeLessThan(450);
  });
});

describe('alertsForFreshness', () => {
  const change = (status: FreshnessState, previous: FreshnessState | null, overrides: Partial<FreshnessChange['freshness']> = {}): FreshnessChange => ({
    freshness: {
      source: 'demo-hl7',
      rule: { warn_after: { count: 1, period: 'hour' }, error_after: { count: 6, period: 'hour' } },
      status,
      newestLandedAt: '2026-11-21T02:00:00.000Z',
      ageSeconds: 7 * 3600 + 5 * 60,
      ...overrides,
    },
    previous,
  });

  const cases: { description: string; changes: FreshnessChange[]; sources: string[] }[] = [
    { description: 'pass → error alerts', changes: [change('error', 'pass')], sources: ['demo-hl7'] },
    { description: 'warn → error alerts', changes: [change('error', 'warn')], sources: ['demo-hl7'] },
    { description: 'the first check finding error alerts', changes: [change('error', null)], sources: ['demo-hl7'] },
    { description: 'pass → warn does not alert', changes: [change('warn', 'pass')], sources: [] },
    { description: 'error → pass (recovery) does not alert', changes: [change('pass', 'error')], sources: [] },
    { description: 'error → error (no change) does not alert again', changes: [change('error', 'error')], sources: [] },
    {
      description: 'only the sources going into error alert',
      changes: [change('error', 'pass', { source: 'a' }), change('warn', 'pass', { source: 'b' }), change('error', 'warn', { source: 'c' })],
      sources: ['a', 'c'],
    },
  ];

  it.each(cases)('$description', ({ changes, sources }) => {
    const alerts = alertsForFreshness(changes);
    expect(alerts.map((a) => a.source)).toEqual(sources);
    for (const a of alerts) {
      expect(a).toMatchObject({ kind: 'freshness-error', severity: 'critical', run_id: null });
    }
  });

  it('says how old the newest landing is and what the limit was', () => {
    const [alert] = alertsForFreshness([change('error', 'warn')]);
    expect(alert?.summary).toBe('Source demo-hl7 is stale: it last landed records at 2026-11-21T02:00:00.000Z, 7 hours 5 minutes ago (error after 6 hours)');
    expect(alert?.details).toMatchObject({ status: 'error', previous: 'warn', age_seconds: 25500, error_after: { count: 6, period: 'hour' } });
  });

  it('says so when a source has never landed anything', () => {
    const [alert] = alertsForFreshness([change('error', null, { newestLandedAt: null, ageSeconds: null })]);
    expect(alert?.summary).toBe('Source demo-hl7 has never landed any records (error after 6 hours)');
  });
});
