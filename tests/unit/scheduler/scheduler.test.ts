// The scheduler's decisions under fake timers: the clock changes, overlap protection, catch-up,
// retries, `after:` builds and stopping. Runs are recorded in a real SQLite ledger; only the work of a
// run (landing, building) is replaced, by an attempt that records itself and does what the test asks.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../core/config.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger, type RunRecord } from '../../../pipelines/ledger/ledger.ts';
import type { AttemptRequest, ExecuteAttempt } from '../../../pipelines/scheduler/jobAttempt.ts';
import { Scheduler, type SchedulerAlerts } from '../../../pipelines/scheduler/scheduler.ts';

interface Attempt {
  job: string;
  trigger: string;
  at: string;
  runId: string;
  attempt: number;
  retryOf: string | null;
}

let dir: string;
let ledger: Ledger;
let scheduler: Scheduler | null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-scheduler-'));
  ledger = Ledger.open(join(dir, 'ops.sqlite'));
  scheduler = null;
});

afterEach(async () => {
  const stopping = scheduler?.stop(0);
  // A run the test left going ends on the fake clock.
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(600_000);
  await stopping;
  vi.useRealTimers();
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(yaml: string) {
  return parseConfig(yaml, { file: null, baseDir: dir });
}

/** An attempt that records itself in the ledger, then behaves as `work` says (default: succeeds at once). */
function recordingAttempts(work: (request: AttemptRequest, signal: AbortSignal) => Promise<Partial<RunRecord> | void> = async () => {}): { attempts: Attempt[]; execute: ExecuteAttempt } {
  const attempts: Attempt[] = [];
  const execute: ExecuteAttempt = async (request, signal) => {
    attempts.push({ job: request.job.name, trigger: request.trigger, at: new Date().toISOString(), runId: request.runId, attempt: request.origin.attempt ?? 1, retryOf: request.origin.retry_of ?? null });
    ledger.startRun({ ...request.origin, run_id: request.runId, source: request.job.name, kind: 'test', trigger: request.trigger, started_at: new Date().toISOString() });
    let status: RunRecord['status'] = 'succeeded';
    let error: string | null = null;
    try {
      const outcome = await work(request, signal);
      if (outcome?.status) status = outcome.status;
    } catch (err) {
      status = 'failed';
      error = (err as Error).message;
      ledger.finishRun(request.runId, { status, finished_at: new Date().toISOString(), files_seen: 0, files_skipped: 0, error });
      throw err;
    }
    return ledger.finishRun(request.runId, { status, finished_at: new Date().toISOString(), files_seen: 0, files_skipped: 0, error });
  };
  return { attempts, execute };
}

function startScheduler(yaml: string, execute: ExecuteAttempt, alerts?: SchedulerAlerts): Scheduler {
  const parsed = config(yaml);
  // Run requests are not under test here; polling for them every 2 s of a fake week is slow.
  parsed.scheduler.requestPollSeconds = 3600;
  scheduler = new Scheduler({ config: parsed, ledger, logger: createLogger(null), execute, alerts });
  scheduler.start();
  return scheduler;
}

const SOURCE = (name: string, extra = '') => `  - { name: ${name}, kind: hl7v2, path: ./in/${name}/*.hl7${extra} }`;

describe('cron times across the clock changes (Europe/London)', () => {
  it('runs a 01:30 job once on the spring-forward day, at 02:00 BST, the first time after the gap', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-28T12:00:00Z') });
    const { attempts, execute } = recordingAttempts();
    startScheduler(`sources:\n${SOURCE('pas', ', schedule: "30 1 * * *"')}`, execute);
    await vi.advanceTimersByTimeAsync(3 * 86_400_000);
    expect(attempts.map((a) => a.at)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    expect(ledger.ticks({ job: 'pas' }).every((t) => t.outcome === 'queued')).toBe(true);
  });

  it('runs a 01:30 job once on the autumn day, when 01:30 happens twice', async () => {
    vi.useFakeTimers({ now: new Date('2026-10-24T12:00:00Z') });
    const { attempts, execute } = recordingAttempts();
    startScheduler(`sources:\n${SOURCE('pas', ', schedule: "30 1 * * *"')}`, execute);
    await vi.advanceTimersByTimeAsync(3 * 86_400_000);
    // 01:30 BST (00:30Z) runs; 01:30 GMT an hour later does not.
    expect(attempts.map((a) => a.at)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });

  it('runs an hourly job every real hour through the autumn change (25 runs that day)', async () => {
    vi.useFakeTimers({ now: new Date('2026-10-24T22:59:59Z') });
    const { attempts, execute } = recordingAttempts();
    startScheduler(`sources:\n${SOURCE('pas', ', schedule: "0 * * * *"')}`, execute);
    await vi.advanceTimersByTimeAsync(25 * 3_600_000);
    // 2026-10-25 local runs 00:00 BST (23:00Z on the 24th) … 23:00 GMT (23:00Z on the 25th): 25 hours.
    expect(attempts).toHaveLength(25);
    expect(new Set(attempts.map((a) => a.at)).size).toBe(25);
  });

  it('reads cron times in the configured zone, not the machine’s', async () => {
    vi.useFakeTimers({ now: new Date('2026-07-01T00:00:00Z') });
    const { attempts, execute } = recordingAttempts();
    startScheduler(`scheduler: { timezone: America/New_York }\nsources:\n${SOURCE('pas', ', schedule: "0 6 * * *"')}`, execute);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(attempts.map((a) => a.at)).toEqual(['2026-07-01T10:00:00.000Z']);
  });
});

describe('overlap protection', () => {
  it('skips and records ticks while the last run is still going, then runs again', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:30Z') });
    // Each run takes 150 s: the run of 10:01 is still going at 10:02 and 10:03.
    const { attempts, execute } = recordingAttempts(() => new Promise((resolve) => setTimeout(resolve, 150_000)));
    startScheduler(`sources:\n${SOURCE('pas', ', schedule: "* * * * *"')}`, execute);
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(attempts.map((a) => a.at)).toEqual(['2026-11-21T10:01:00.000Z', '2026-11-21T10:04:00.000Z']);
    const ticks = ledger.ticks({ job: 'pas' }).reverse();
    expect(ticks.map((t) => [t.scheduled_for.slice(11, 16), t.outcome])).toEqual([
      ['10:01', 'queued'],
      ['10:02', 'skipped'],
      ['10:03', 'skipped'],
      ['10:04', 'queued'],
    ]);
    expect(ticks[1]!.reason).toBe(`run ${attempts[0]!.runId} is still going`);
    expect(ticks[0]!.run_id).toBe(attempts[0]!.runId);
    expect(ledger.run(attempts[0]!.runId)?.scheduled_for).toBe('2026-11-21T10:01:00.000Z');
  });

  it('bounds runs across all jobs by scheduler.concurrency', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    let going = 0;
    let most = 0;
    const { execute } = recordingAttempts(async () => {
      most = Math.max(most, ++going);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      going--;
    });
    const s = startScheduler(`scheduler: { concurrency: 2 }\nsources:\n${['a', 'b', 'c', 'd'].map((n) => SOURCE(n)).join('\n')}`, execute);
    await Promise.all([vi.advanceTimersByTimeAsync(5000), ...['a', 'b', 'c', 'd'].map((n) => s.submit(n, { trigger: 'manual' }))]);
    expect(most).toBe(2);
    expect(ledger.runs().filter((r) => r.status === 'succeeded')).toHaveLength(4);
  });
});

describe('missed ticks', () => {
  const yaml = (catchUp: boolean) => `scheduler: { catchUp: ${catchUp} }\nsources:\n${SOURCE('esr', ', schedule: "30 6 * * *"')}`;

  function ranTwoDaysAgo(): void {
    ledger.startRun({ run_id: 'r-old', source: 'esr', kind: 'esr', trigger: 'schedule', started_at: '2026-11-19T06:30:00.000Z' });
    ledger.finishRun('r-old', { status: 'succeeded', finished_at: '2026-11-19T06:31:00.000Z', files_seen: 0, files_skipped: 0, error: null });
  }

  it('does not catch up a tick missed while the scheduler was down, and records that it did not', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    ranTwoDaysAgo();
    const { attempts, execute } = recordingAttempts();
    startScheduler(yaml(false), execute);
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts).toEqual([]);
    expect(ledger.ticks({ job: 'esr' })).toMatchObject([{ outcome: 'skipped', scheduled_for: '2026-11-21T06:30:00.000Z', reason: 'missed while the scheduler was not running (catchUp is off)' }]);
  });

  it('catches up once (not once per missed tick) with catchUp: true', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    ranTwoDaysAgo();
    const { attempts, execute } = recordingAttempts();
    startScheduler(yaml(true), execute);
    await vi.advanceTimersByTimeAsync(1000);
    expect(attempts.map((a) => a.trigger)).toEqual(['catch-up']);
    expect(ledger.run(attempts[0]!.runId)?.scheduled_for).toBe('2026-11-21T06:30:00.000Z');
  });
});

describe('retries', () => {
  it('retries with backoff, marks the failed attempts retried, and keeps only the last as the final failure', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    const raised: string[] = [];
    const alerts: SchedulerAlerts = { raiseForRun: (id) => raised.push(id), raiseForFreshness: () => {}, flush: async () => {} };
    const { attempts, execute } = recordingAttempts(async () => {
      throw new CarelakeError({ code: 'sftp.connect', kind: 'runtime', message: 'connection refused' });
    });
    const s = startScheduler(`sources:\n${SOURCE('esr', ', retries: 2, backoff: { initialSeconds: 10, maxSeconds: 60 }')}`, execute, alerts);
    const done = s.submit('esr', { trigger: 'manual' });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    const run = await done;
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    // Exponential backoff with jitter: 10–20 s before the second attempt, 20–40 s before the third.
    const gaps = attempts.slice(1).map((a, i) => (Date.parse(a.at) - Date.parse(attempts[i]!.at)) / 1000);
    expect(gaps[0]).toBeGreaterThanOrEqual(10);
    expect(gaps[0]).toBeLessThanOrEqual(20);
    expect(gaps[1]).toBeGreaterThanOrEqual(20);
    expect(gaps[1]).toBeLessThanOrEqual(40);
    const first = attempts[0]!.runId;
    expect(attempts.map((a) => a.retryOf)).toEqual([null, first, first]);
    expect(ledger.runs({ source: 'esr' }).reverse().map((r) => r.status)).toEqual(['retried', 'retried', 'failed']);
    expect(run).toMatchObject({ status: 'failed', attempt: 3, retry_of: first, error: 'connection refused' });
    expect(raised).toEqual([attempts[2]!.runId]);
  });

  it('succeeds on a retry and does not retry a configuration error', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    let calls = 0;
    const { attempts, execute } = recordingAttempts(async (request) => {
      calls++;
      if (request.job.name === 'flaky' && calls === 1) throw new Error('ECONNRESET');
      if (request.job.name === 'misconfigured') throw new CarelakeError({ code: 'config.x', kind: 'config', message: 'no such key file' });
    });
    const s = startScheduler(`sources:\n${SOURCE('flaky', ', backoff: { initialSeconds: 1, maxSeconds: 1 }')}\n${SOURCE('misconfigured')}`, execute);
    const flaky = s.submit('flaky', { trigger: 'manual' });
    const misconfigured = s.submit('misconfigured', { trigger: 'manual' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await flaky)?.status).toBe('succeeded');
    expect((await misconfigured)?.status).toBe('failed');
    expect(attempts.filter((a) => a.job === 'misconfigured')).toHaveLength(1);
    expect(ledger.runs({ source: 'flaky' }).map((r) => r.status)).toEqual(['succeeded', 'retried']);
  });
});

describe('the build after its sources', () => {
  const yaml = `scheduler: { build: { after: [gp, pas] } }\nsources:\n${SOURCE('gp')}\n${SOURCE('pas')}\n${SOURCE('esr')}`;

  it('builds once after the upstream sources that landed new data have all finished', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    const { attempts, execute } = recordingAttempts(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, request.job.name === 'gp' ? 1000 : 3000));
      // Pretend a file landed: the run's landed count comes from its files.
      if (request.job.kind === 'source') {
        ledger.recordIntent({
          file: { source: request.job.name, location: `${request.job.name}.hl7`, sha256: request.runId, bytes: 10, run_id: request.runId, records_in: 5, records_landed: 5, records_quarantined: 0, records_filtered: 0, reconciliation: null },
          parts: [],
          quarantine: [],
          status: 'landed',
          at: new Date().toISOString(),
        });
      }
    });
    const s = startScheduler(yaml, execute);
    await Promise.all([vi.advanceTimersByTimeAsync(60_000), s.submit('gp', { trigger: 'manual' }), s.submit('pas', { trigger: 'manual' }), s.submit('esr', { trigger: 'manual' })]);
    await vi.advanceTimersByTimeAsync(60_000);
    const builds = attempts.filter((a) => a.job === 'build');
    expect(builds.map((b) => b.trigger)).toEqual(['dependency']);
    // Not before pas (the slower upstream) finished.
    const pasEnd = ledger.runs({ source: 'pas' })[0]!.finished_at!;
    expect(Date.parse(builds[0]!.at)).toBeGreaterThanOrEqual(Date.parse(pasEnd));
  });

  it('does not build when the upstream runs landed nothing new, nor for a source it does not follow', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    const { attempts, execute } = recordingAttempts();
    const s = startScheduler(yaml, execute);
    await Promise.all([vi.advanceTimersByTimeAsync(10_000), s.submit('gp', { trigger: 'manual' }), s.submit('esr', { trigger: 'manual' })]);
    expect(attempts.filter((a) => a.job === 'build')).toEqual([]);
  });
});

describe('stopping', () => {
  it('lets a run in flight finish within the grace period and drops queued runs', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    const { attempts, execute } = recordingAttempts(() => new Promise((resolve) => setTimeout(resolve, 5000)));
    const s = startScheduler(`scheduler: { concurrency: 1 }\nsources:\n${SOURCE('a')}\n${SOURCE('b')}`, execute);
    const a = s.submit('a', { trigger: 'manual' });
    const b = s.submit('b', { trigger: 'manual' });
    await vi.advanceTimersByTimeAsync(1000);
    const stopped = s.stop(60_000);
    await vi.advanceTimersByTimeAsync(10_000);
    await stopped;
    expect((await a)?.status).toBe('succeeded');
    expect(await b).toBeNull();
    expect(attempts.map((x) => x.job)).toEqual(['a']);
  });

  it('tells a run still going after the grace period to stop; it ends interrupted', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-21T10:00:00Z') });
    const { execute } = recordingAttempts(
      (_request, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 'interrupted' }), { once: true })),
    );
    const s = startScheduler(`sources:\n${SOURCE('a')}`, execute);
    const a = s.submit('a', { trigger: 'manual' });
    await vi.advanceTimersByTimeAsync(1000);
    const stopped = s.stop(30_000);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(ledger.runs({ source: 'a' })[0]!.status).toBe('running');
    await vi.advanceTimersByTimeAsync(2000);
    await stopped;
    expect((await a)?.status).toBe('interrupted');
  });
});
