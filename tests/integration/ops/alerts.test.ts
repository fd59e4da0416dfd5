// Alerts end to end: a real ledger in a temp folder, a real log file, and a real HTTP receiver on
// loopback that checks signatures the way a receiver should (HMAC over "<timestamp>.<body>").

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CarelakeConfig } from '../../../core/config.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import type { AlertDraft } from '../../../pipelines/ops/alertRules.ts';
import { Alerter } from '../../../pipelines/ops/alerter.ts';

const SECRET = 'whsec-test-3f9a7c1e5b-never-log-me';
const SECRET_ENV = 'CARELAKE_TEST_ALERT_SECRET';
/** Chat webhooks carry a token in the path; it must stay out of the log too. */
const HOOK_PATH = '/hooks/T000-path-token-b7e2';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

type Answer = { status: number; headers?: Record<string, string> } | 'hang' | 'verify';

/** A webhook receiver answering from a script (the last answer repeats). `verify` checks the signature. */
class Receiver {
  readonly requests: Received[] = [];
  private constructor(
    private readonly server: Server,
    private readonly script: Answer[],
  ) {}

  static async start(script: Answer[]): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server, script);
    server.on('request', (req, res) => receiver.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${HOOK_PATH}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.requests.push({ headers: req.headers, body, at: performance.now() });
      const answer = this.script[Math.min(this.requests.length, this.script.length) - 1]!;
      if (answer === 'hang') return;
      if (answer === 'verify') {
        res.writeHead(signatureIsValid(req.headers, body) ? 204 : 401).end();
        return;
      }
      res.writeHead(answer.status, answer.headers).end('{"ok":false}');
    });
  }
}

function signatureIsValid(headers: IncomingMessage['headers'], body: string): boolean {
  const timestamp = headers['x-carelake-timestamp'];
  const signature = headers['x-carelake-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const failedRunDraft: AlertDraft = {
  kind: 'run-failed',
  severity: 'critical',
  source: 'demo-esr',
  run_id: 'r20261121T020000Z-aaaaaa',
  summary: 'Run r20261121T020000Z-aaaaaa of source demo-esr failed on attempt 2: the folder is missing',
  details: { attempt: 2, records_in: 0 },
};

describe('alerts', () => {
  let dir: string;
  let ledger: Ledger;
  let receiver: Receiver | null;
  const env = { [SECRET_ENV]: SECRET };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-alerts-'));
    ledger = Ledger.open(join(dir, 'lake', 'ops.sqlite'));
    receiver = null;
  });
  afterEach(async () => {
    await receiver?.close();
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const logText = () => readFileSync(join(dir, 'logs', 'carelake.log'), 'utf8');

  function alerter(webhook: Partial<NonNullable<CarelakeConfig['alerts']['webhook']>> | null, options: { env?: Record<string, string> } = {}): Alerter {
    const config: CarelakeConfig['alerts'] = {
      quarantineRate: 0.01,
      ...(webhook ? { webhook: { url: receiver?.url ?? 'http://127.0.0.1:9/', retries: 5, timeoutSeconds: 5, ...webhook } } : {}),
    };
    return new Alerter({
      ledger,
      logger: createLogger(join(dir, 'logs'), 'info'),
      config,
      lakeName: join(dir, 'lake'),
      env: options.env ?? env,
      webhook: { minTimeoutMs: 5 },
    });
  }

  it('delivers a signed alert that the receiver verifies', async () => {
    receiver = await Receiver.start(['verify']);
    const a = alerter({ secretEnv: SECRET_ENV });
    const alert = a.raise(failedRunDraft);
    expect(ledger.alerts()[0]).toMatchObject({ alert_id: alert.alert_id, delivery: 'pending' });
    await a.flush();

    expect(receiver.requests).toHaveLength(1);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'delivered', attempts: 1, delivery_error: null });
    expect(ledger.alerts()[0]!.delivered_at).not.toBeNull();
    const request = receiver.requests[0]!;
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      alert_id: alert.alert_id,
      kind: 'run-failed',
      severity: 'critical',
      source: 'demo-esr',
      run_id: 'r20261121T020000Z-aaaaaa',
      summary: failedRunDraft.summary,
      details: { attempt: 2, records_in: 0 },
      raised_at: alert.raised_at,
      lake: 'lake',
      carelake: 'alert/v1',
    });
    expect(alert.alert_id).toMatch(/^a\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  });

  it('is refused by a verifying receiver when signed with another secret, and not retried', async () => {
    receiver = await Receiver.start(['verify']);
    const a = alerter({ secretEnv: SECRET_ENV }, { env: { [SECRET_ENV]: 'some-other-secret' } });
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'failed', attempts: 1, delivery_error: 'the webhook answered HTTP 401' });
  });

  it('retries after 500s and records the attempts', async () => {
    receiver = await Receiver.start([{ status: 500 }, { status: 500 }, { status: 200 }]);
    const a = alerter({});
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(3);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'delivered', attempts: 3, delivery_error: null });
    // Unsigned when no secret is configured.
    expect(receiver.requests[0]!.headers['x-carelake-signature']).toBeUndefined();
  });

  it('gives up after retries + 1 attempts and records why', async () => {
    receiver = await Receiver.start([{ status: 503 }]);
    const a = alerter({ retries: 3 });
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(4);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'failed', attempts: 4, delivered_at: null, delivery_error: 'the webhook answered HTTP 503' });
    expect(logText()).toContain('alert could not be delivered to the webhook');
  });

  it('does not retry a 400', async () => {
    receiver = await Receiver.start([{ status: 400 }, { status: 200 }]);
    const a = alerter({});
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'failed', attempts: 1, delivery_error: 'the webhook answered HTTP 400' });
  });

  it('retries a 429 after the Retry-After it was given', async () => {
    receiver = await Receiver.start([{ status: 429, headers: { 'Retry-After': '1' } }, { status: 200 }]);
    const a = alerter({});
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'delivered', attempts: 2 });
  });

  it('retries an attempt that times out', async () => {
    receiver = await Receiver.start(['hang', { status: 200 }]);
    const a = alerter({ timeoutSeconds: 0.3 });
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(2);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'delivered', attempts: 2 });
    expect(logText()).toContain('did not answer within 0.3 s');
  });

  it('retries when the receiver cannot be reached, then records the failure', async () => {
    // A port that was just free: nothing listens there.
    const closed = await Receiver.start([{ status: 200 }]);
    const url = closed.url;
    await closed.close();
    const a = alerter({ url, retries: 2 });
    a.raise(failedRunDraft);
    await a.flush();
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'failed', attempts: 3, delivery_error: 'the webhook could not be reached (ECONNREFUSED)' });
  });

  it('does not send unsigned when the secret variable is missing', async () => {
    receiver = await Receiver.start([{ status: 200 }]);
    const a = alerter({ secretEnv: SECRET_ENV }, { env: {} });
    a.raise(failedRunDraft);
    await a.flush();
    expect(receiver.requests).toHaveLength(0);
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'failed', attempts: 0 });
    expect(ledger.alerts()[0]!.delivery_error).toContain(SECRET_ENV);
  });

  it('never writes the secret or the webhook path to the log', async () => {
    receiver = await Receiver.start([{ status: 500 }, 'verify']);
    const a = alerter({ secretEnv: SECRET_ENV });
    a.raise(failedRunDraft);
    await a.flush();
    expect(ledger.alerts()[0]).toMatchObject({ delivery: 'delivered', attempts: 2 });
    const log = logText();
    // The log holds the alert and both attempts, so the checks below are looking at a real log.
    expect(log).toContain(failedRunDraft.summary);
    expect(log).toContain('alert webhook attempt failed');
    expect(log).toContain('alert delivered to the webhook');
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(HOOK_PATH);
    expect(JSON.stringify(ledger.alerts())).not.toContain(SECRET);
  });

  it('logs only when no webhook is configured, at error level for critical and warn for warning', async () => {
    const a = alerter(null);
    a.raise(failedRunDraft);
    a.raise({ ...failedRunDraft, kind: 'quarantine-threshold', severity: 'warning', summary: 'Run r1 of source demo-esr quarantined 50 of 100 records (50%), above the 1% threshold' });
    await a.flush();
    expect(ledger.alerts().map((r) => [r.kind, r.delivery, r.attempts])).toEqual(
      expect.arrayContaining([
        ['run-failed', 'log-only', 0],
        ['quarantine-threshold', 'log-only', 0],
      ]),
    );
    const lines = logText()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; alert?: { kind: string } });
    expect(lines.filter((l) => l.alert).map((l) => [l.alert!.kind, l.level])).toEqual([
      ['run-failed', 50],
      ['quarantine-threshold', 40],
    ]);
  });

  it('raises and delivers the alerts of a failed run read from the ledger', async () => {
    receiver = await Receiver.start([{ status: 200 }]);
    const runId = 'r20261121T020000Z-bbbbbb';
    ledger.startRun({ run_id: runId, source: 'demo-hl7', kind: 'hl7v2', trigger: 'schedule', started_at: '2026-11-21T02:00:00.000Z', attempt: 2, retry_of: 'r20261121T015500Z-cccccc' });
    ledger.recordIntent({
      file: { source: 'demo-hl7', location: 'inbox/a.hl7', sha256: 'a'.repeat(64), bytes: 10, run_id: runId, records_in: 10, records_landed: 0, records_quarantined: 10, records_filtered: 0, reconciliation: null },
      parts: [],
      quarantine: [],
      status: 'quarantined',
      at: '2026-11-21T02:00:10.000Z',
    });
    ledger.finishRun(runId, { status: 'failed', finished_at: '2026-11-21T02:01:00.000Z', files_seen: 1, files_skipped: 0, error: 'the inbox could not be read' });

    const a = alerter({});
    const raised = a.raiseForRun(runId);
    await a.flush();
    expect(raised.map((r) => r.kind)).toEqual(['run-failed', 'quarantine-threshold']);
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { kind: string }).kind).sort()).toEqual(['quarantine-threshold', 'run-failed']);
    expect(ledger.alerts().every((r) => r.delivery === 'delivered')).toBe(true);
    expect(() => a.raiseForRun('r-unknown')).toThrow(/no such run/);
  });
});
