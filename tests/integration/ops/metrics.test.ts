// GET /metrics scraped over loopback with an engineer's API key, against a ledger filled by really
// running an HL7 v2 source (and rows for failed runs, a build and an alert): the run figures match the
// ledger, are set afresh at each scrape (never doubled), include runs recorded after the server started
// (as the scheduler's would be), and request latencies are labelled by route pattern.

import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../core/config.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { acquireSchedulerLock } from '../../../pipelines/scheduler/schedulerLock.ts';
import { startGovernedServer, type GovernedServer } from '../../support/governedServer.ts';
import { makeOpsLake, OPS_CONFIG_YAML, type OpsLake } from './opsLake.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample with exactly these labels (undefined if there is none). */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('GET /metrics', () => {
  let lake: OpsLake;
  let server: GovernedServer;

  beforeAll(async () => {
    lake = await makeOpsLake();
    server = await startGovernedServer({ layout: lake.layout, operations: { config: lake.config } });
  });
  afterAll(async () => {
    await server?.close();
    lake?.close();
  });

  const scrape = async (): Promise<Sample[]> => {
    const response = await server.as('engineer', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };

  it('derives run, record, byte, duration and last-success figures from the ledger', async () => {
    const m = await scrape();
    const [first, second] = lake.pasRuns;
    expect(first.run.status).toBe('partial');
    expect(second.run.status).toBe('succeeded');
    const cases = [
      { description: 'a partial pas run', name: 'carelake_runs_total', labels: { source: 'pas', status: 'partial' }, expected: 1 },
      { description: 'a succeeded pas run', name: 'carelake_runs_total', labels: { source: 'pas', status: 'succeeded' }, expected: 1 },
      { description: 'the esr attempt that was retried', name: 'carelake_runs_total', labels: { source: 'esr', status: 'retried' }, expected: 1 },
      { description: 'the esr retry that failed', name: 'carelake_runs_total', labels: { source: 'esr', status: 'failed' }, expected: 1 },
      { description: 'the build', name: 'carelake_runs_total', labels: { source: 'build', status: 'succeeded' }, expected: 1 },
      { description: 'pas records landed', name: 'carelake_records_total', labels: { source: 'pas', outcome: 'landed' }, expected: first.run.records_landed + second.run.records_landed },
      { description: 'pas records quarantined', name: 'carelake_records_total', labels: { source: 'pas', outcome: 'quarantined' }, expected: 1 },
      { description: 'pas duplicates filtered', name: 'carelake_records_total', labels: { source: 'pas', outcome: 'filtered' }, expected: 1 },
      {
        description: 'pas bytes are the sizes of the two files',
        name: 'carelake_bytes_downloaded_total',
        labels: { source: 'pas' },
        expected: statSync(join(lake.root, 'in', 'feed-1.hl7')).size + statSync(join(lake.root, 'in', 'feed-2.hl7')).size,
      },
      { description: 'pas last success', name: 'carelake_last_success_timestamp_seconds', labels: { source: 'pas' }, expected: Date.parse(second.run.finished_at!) / 1000 },
      { description: 'build last success', name: 'carelake_last_success_timestamp_seconds', labels: { source: 'build' }, expected: Date.parse(lake.build.finished_at!) / 1000 },
      { description: 'esr has no success', name: 'carelake_last_success_timestamp_seconds', labels: { source: 'esr' }, expected: undefined },
      { description: 'two esr durations', name: 'carelake_run_duration_seconds_count', labels: { source: 'esr' }, expected: 2 },
      { description: 'esr durations sum (42 s + 3 s)', name: 'carelake_run_duration_seconds_sum', labels: { source: 'esr' }, expected: 45 },
      { description: 'only the 3 s attempt is within 5 s', name: 'carelake_run_duration_seconds_bucket', labels: { source: 'esr', le: '5' }, expected: 1 },
      { description: 'both are within 60 s', name: 'carelake_run_duration_seconds_bucket', labels: { source: 'esr', le: '60' }, expected: 2 },
      { description: 'the 6 h bucket exists', name: 'carelake_run_duration_seconds_bucket', labels: { source: 'build', le: '21600' }, expected: 1 },
      { description: 'pas landed moments ago: pass', name: 'carelake_source_freshness_status', labels: { source: 'pas' }, expected: 0 },
      { description: 'esr never landed: error', name: 'carelake_source_freshness_status', labels: { source: 'esr' }, expected: 2 },
      { description: 'esr has no age', name: 'carelake_source_freshness_age_seconds', labels: { source: 'esr' }, expected: undefined },
      { description: 'alerts by kind and delivery', name: 'carelake_alerts_total', labels: { kind: 'run-failed', delivery: 'log-only' }, expected: 1 },
      { description: 'no scheduler is running', name: 'carelake_scheduler_up', labels: {}, expected: 0 },
    ];
    for (const c of cases as { description: string; name: string; labels: Record<string, string>; expected: number | undefined }[]) {
      const value = valueOf(m, c.name, c.labels);
      if (c.expected === undefined) expect(value, c.description).toBeUndefined();
      else expect(value, c.description).toBeCloseTo(c.expected, 3);
    }
    expect(valueOf(m, 'carelake_source_freshness_age_seconds', { source: 'pas' })).toBeLessThan(120);
    // The process's own figures, in the same private registry.
    expect(valueOf(m, 'carelake_process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('sets ledger figures afresh at each scrape, including runs another process records meanwhile', async () => {
    const before = await scrape();
    const again = await scrape();
    for (const name of ['carelake_runs_total', 'carelake_records_total', 'carelake_run_duration_seconds_count', 'carelake_alerts_total']) {
      expect(again.filter((s) => s.name === name), name).toEqual(before.filter((s) => s.name === name));
    }
    // A run recorded after the server started (here through its own handle, as the scheduler would).
    const third = await lake.runPas('feed-3.hl7', 'MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01^ADT_A01|M9|P|2.4\rPID|1||126^^^RX1^MR\r');
    expect(third.run.status).toBe('succeeded');
    const after = await scrape();
    expect(valueOf(after, 'carelake_runs_total', { source: 'pas', status: 'succeeded' })).toBe(valueOf(before, 'carelake_runs_total', { source: 'pas', status: 'succeeded' })! + 1);
    expect(valueOf(after, 'carelake_records_total', { source: 'pas', outcome: 'landed' })).toBe(valueOf(before, 'carelake_records_total', { source: 'pas', outcome: 'landed' })! + 1);
    expect(valueOf(after, 'carelake_run_duration_seconds_count', { source: 'pas' })).toBe(3);
  });

  it('reports the scheduler up while a scheduler holds the lake lock', async () => {
    const lock = acquireSchedulerLock(lake.layout);
    try {
      expect(valueOf(await scrape(), 'carelake_scheduler_up')).toBe(1);
    } finally {
      lock.release();
    }
    expect(valueOf(await scrape(), 'carelake_scheduler_up')).toBe(0);
  });

  it('times requests by route pattern, method and status, never by raw URL', async () => {
    await fetch(`${server.base}/api/health`);
    await server.as('commissioner', '/api/reports/no-such-report-xyz');
    await server.as('engineer', '/no/such/path-abc');
    await fetch(`${server.base}/metrics`);
    // Each request is timed as its response is handed to the socket; one more round trip makes sure
    // the last of them has been.
    await fetch(`${server.base}/api/health`);
    const response = await server.as('engineer', '/metrics');
    const text = await response.text();
    const m = parseExposition(text);
    const cases = [
      { description: 'health before any release', labels: { route: '/api/health', method: 'GET', status: '503' } },
      { description: 'an unknown report', labels: { route: '/api/reports/*', method: 'GET', status: '404' } },
      { description: 'a path no route matches', labels: { route: 'unmatched', method: 'GET', status: '404' } },
      { description: 'the earlier scrapes', labels: { route: '/metrics', method: 'GET', status: '200' } },
      { description: 'a scrape refused at sign-in', labels: { route: '/metrics', method: 'GET', status: '401' } },
    ];
    for (const c of cases) {
      expect(valueOf(m, 'carelake_http_request_duration_seconds_count', c.labels), c.description).toBeGreaterThanOrEqual(1);
      expect(valueOf(m, 'carelake_http_request_duration_seconds_bucket', { ...c.labels, le: '+Inf' }), c.description).toBeGreaterThanOrEqual(1);
    }
    expect(text).not.toContain('no-such-report-xyz');
    expect(text).not.toContain('path-abc');
  });

  it('needs an engineer: 401 without a token, 403 for an analyst or commissioner', async () => {
    expect((await fetch(`${server.base}/metrics`)).status).toBe(401);
    expect((await server.as('analyst', '/metrics')).status).toBe(403);
    expect((await server.as('commissioner', '/metrics')).status).toBe(403);
  });
});

describe('GET /metrics on a lake with no ledger yet', () => {
  it('answers with no run figures, and does not create the ledger', async () => {
    const root = mkdtempSync(join(tmpdir(), 'carelake-ops-empty-'));
    const config = parseConfig(OPS_CONFIG_YAML, { file: join(root, 'carelake.yml'), baseDir: root });
    const layout = new LakeLayout(config.lake);
    const server = await startGovernedServer({ layout, operations: { config } });
    try {
      const response = await server.as('engineer', '/metrics');
      expect(response.status).toBe(200);
      const m = parseExposition(await response.text());
      expect(m.filter((s) => s.name.startsWith('carelake_runs_total') || s.name.startsWith('carelake_records_total') || s.name.startsWith('carelake_run_duration'))).toEqual([]);
      expect(valueOf(m, 'carelake_scheduler_up')).toBe(0);
      // Never landed, with a rule: error.
      expect(valueOf(m, 'carelake_source_freshness_status', { source: 'pas' })).toBe(2);
      expect(existsSync(layout.ledger)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
