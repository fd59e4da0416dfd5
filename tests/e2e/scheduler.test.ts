// `carelake schedule` as a real process over a real lake: one scheduler per lake, graceful shutdown in
// the middle of a run (the run stops at a file boundary, is recorded interrupted, and the next run
// lands the rest, none twice), a run requested through the ledger (as the runs page does), a failing
// source retried and alerted to a webhook receiver on loopback, and `runs` / `logs` / `rerun`.

import { createServer, type IncomingMessage } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LakeLayout } from '../../core/lake.ts';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import { webhookSignature } from '../../pipelines/ops/webhookDelivery.ts';
import { carelakeCli } from '../support/carelakeCli.ts';
import { startSchedulerProcess, waitFor, type SchedulerProcess } from '../support/schedulerProcess.ts';

const FILES = 40;
const msh = (id: string) => `MSH|^~\\&|PAS|RX1|CARELAKE|QCL|20260101120000||ADT^A01^ADT_A01|${id}|P|2.4`;

function writeHl7Files(folder: string, count: number): void {
  mkdirSync(folder, { recursive: true });
  for (let f = 0; f < count; f++) {
    const messages = Array.from({ length: 20 }, (_, m) => [msh(`F${f}M${m}`), `PID|1||${f * 100 + m}^^^RX1^MR||DOE^JOHN||19700101|M`, 'PV1|1|I'].join('\r'));
    writeFileSync(join(folder, `feed-${String(f).padStart(3, '0')}.hl7`), messages.join('\r') + '\r');
  }
}

let root: string;
let layout: LakeLayout;
let processes: SchedulerProcess[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'carelake-schedule-'));
  layout = new LakeLayout(join(root, 'lake'));
  processes = [];
});

afterEach(async () => {
  for (const p of processes) {
    if (p.child.exitCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }
});

function config(extra: string): string {
  const file = join(root, 'carelake.yml');
  writeFileSync(file, `lake: ./lake\nsources:\n  - { name: pas, kind: hl7v2, path: "./in/*.hl7", retries: 0 }\n${extra}`);
  return file;
}

function start(file: string, env: Record<string, string> = {}): SchedulerProcess {
  const p = startSchedulerProcess(root, file, env);
  processes.push(p);
  return p;
}

function withLedger<T>(read: (ledger: Ledger) => T): T {
  const ledger = Ledger.open(layout.ledger);
  try {
    return read(ledger);
  } finally {
    ledger.close();
  }
}

const request = (job: string) => withLedger((l) => l.requestRun({ job, kind: 'run', requested_by: 'test', requested_at: new Date().toISOString() }));

describe('carelake schedule', () => {
  it('allows one scheduler per lake, naming the one running, and takes over the lock of one that died', async () => {
    const file = config('scheduler: { requestPollSeconds: 0.2 }\n');
    const first = start(file);
    await first.ready;
    const second = await carelakeCli(root, ['--config', file, 'schedule']);
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toContain(`process ${first.child.pid} has held`);
    expect(second.stderr).toContain('carelake schedule');

    // A scheduler killed outright leaves its lock; the next one sees the PID is gone and takes over.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(JSON.parse(readFileSync(layout.schedulerLock, 'utf8')).pid).toBe(first.child.pid);
    const third = start(file);
    await third.ready;
    expect(JSON.parse(readFileSync(layout.schedulerLock, 'utf8')).pid, third.output()).toBe(third.child.pid);
    third.child.kill('SIGTERM');
    expect(await third.exited, third.output()).toBe(0);
  }, 60_000);

  it('on SIGTERM stops a run at a file boundary, records it interrupted, and the next run lands the rest once', async () => {
    writeHl7Files(join(root, 'in'), FILES);
    const file = config('scheduler: { requestPollSeconds: 0.2, shutdownGraceSeconds: 0 }\n');
    const scheduler = start(file);
    await scheduler.ready;
    const { request_id } = request('pas');
    const runId = await waitFor('the requested run to land a file', () => {
      const taken = withLedger((l) => l.runRequests().find((r) => r.request_id === request_id));
      return taken?.run_id && withLedger((l) => l.filesOfRun(taken.run_id!).length) > 0 ? taken.run_id : null;
    });
    scheduler.child.kill('SIGTERM');
    expect(await scheduler.exited).toBe(0);

    const interrupted = withLedger((l) => l.run(runId))!;
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.error).toMatch(/stopped before it finished/);
    expect(interrupted.files_landed).toBeGreaterThan(0);
    expect(interrupted.files_landed).toBeLessThan(FILES);
    expect(withLedger((l) => l.runRequests().find((r) => r.request_id === request_id))?.status).toBe('done');

    // Started again, the scheduler's next run lands what is left, and no file twice.
    const again = start(file);
    await again.ready;
    const next = request('pas');
    const finished = await waitFor('the second run to finish', () => {
      const r = withLedger((l) => l.runRequests().find((x) => x.request_id === next.request_id));
      return r?.status === 'done' ? withLedger((l) => l.run(r.run_id!)) : null;
    });
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(finished.status).toBe('succeeded');
    expect(finished.files_landed).toBe(FILES - interrupted.files_landed);
    expect(finished.files_skipped).toBe(interrupted.files_landed);
    const files = withLedger((l) => l.files('pas'));
    expect(files).toHaveLength(FILES);
    expect(files.reduce((n, f) => n + f.records_landed, 0)).toBe(FILES * 20);
  }, 120_000);

  it('with a grace period, lets the run in flight finish before it exits', async () => {
    writeHl7Files(join(root, 'in'), FILES);
    const file = config('scheduler: { requestPollSeconds: 0.2, shutdownGraceSeconds: 120 }\n');
    const scheduler = start(file);
    await scheduler.ready;
    const { request_id } = request('pas');
    const runId = await waitFor('the run to be part-way through', () => {
      const id = withLedger((l) => l.runRequests().find((r) => r.request_id === request_id)?.run_id);
      return id && withLedger((l) => l.filesOfRun(id).length > 0 && l.run(id)?.status === 'running') ? id : null;
    });
    scheduler.child.kill('SIGTERM');
    expect(await scheduler.exited).toBe(0);
    const run = withLedger((l) => l.run(runId))!;
    expect(run.status).toBe('succeeded');
    expect(run.files_landed).toBe(FILES);
  }, 120_000);

  it('retries a failing source, then alerts its final failure to a signed webhook; runs, logs and rerun show and mend it', async () => {
    const received: { body: string; signature: string | undefined; timestamp: string | undefined }[] = [];
    const receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ body, signature: req.headers['x-carelake-signature'] as string | undefined, timestamp: req.headers['x-carelake-timestamp'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/carelake`;
    try {
      // The inbox folder does not exist yet: every attempt fails.
      const file = join(root, 'carelake.yml');
      writeFileSync(
        file,
        `lake: ./lake\nsources:\n  - { name: pas, kind: hl7v2, path: "./in/*.hl7", retries: 1, backoff: { initialSeconds: 0.2, maxSeconds: 0.2 } }\n` +
          `scheduler: { requestPollSeconds: 0.2 }\nalerts: { webhook: { url: "${url}", secretEnv: HOOK_SECRET } }\n`,
      );
      const scheduler = start(file, { HOOK_SECRET: 'a-shared-secret' });
      await scheduler.ready;
      request('pas');
      await waitFor('the alert to arrive', () => received.length > 0);
      scheduler.child.kill('SIGTERM');
      expect(await scheduler.exited).toBe(0);

      const runs = withLedger((l) => l.runs({ source: 'pas' })).reverse();
      expect(runs.map((r) => [r.attempt, r.status])).toEqual([
        [1, 'retried'],
        [2, 'failed'],
      ]);
      expect(runs[1]!.retry_of).toBe(runs[0]!.run_id);
      expect(runs[1]!.error).toContain('in');
      const [alert] = received;
      const payload = JSON.parse(alert!.body) as Record<string, unknown>;
      expect(payload).toMatchObject({ kind: 'run-failed', severity: 'critical', source: 'pas', run_id: runs[1]!.run_id, carelake: 'alert/v1' });
      expect(alert!.signature).toBe(webhookSignature('a-shared-secret', alert!.timestamp!, alert!.body));
      expect(withLedger((l) => l.alerts())[0]).toMatchObject({ kind: 'run-failed', delivery: 'delivered', attempts: 1 });
      expect(readFileSync(join(layout.logs, 'carelake.log'), 'utf8')).not.toContain('a-shared-secret');

      const listed = await carelakeCli(root, ['--config', file, 'runs', '--status', 'failed']);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(runs[1]!.run_id);
      expect(listed.stdout).not.toContain(runs[0]!.run_id);

      const logs = await carelakeCli(root, ['--config', file, 'logs', runs[1]!.run_id]);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toContain('run failed before it could start');
      expect(logs.stdout).not.toContain(runs[0]!.run_id);

      // The folder appears; a re-run of the failed run lands it and says what it re-ran.
      writeHl7Files(join(root, 'in'), 2);
      const rerun = await carelakeCli(root, ['--config', file, 'rerun', runs[1]!.run_id]);
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      const latest = withLedger((l) => l.runs({ source: 'pas' })[0])!;
      expect(latest).toMatchObject({ trigger: 'rerun', rerun_of: runs[1]!.run_id, status: 'succeeded', files_landed: 2, records_landed: 40 });
    } finally {
      receiver.close();
    }
  }, 120_000);
});
