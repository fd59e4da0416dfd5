// Sends one alert to the configured webhook: a JSON POST, retried with exponential backoff, each attempt
// limited in time, and signed when a shared secret is configured.
//
// The body (schema `alert/v1`):
//   { "alert_id": "a20261121T134501Z-1a2b3c", "kind": "run-failed" | "freshness-error" |
//     "quarantine-threshold" | "reconciliation-mismatch", "severity": "critical" | "warning",
//     "source": "demo-esr", "run_id": "r…" | null, "summary": "<one sentence>", "details": { …figures },
//     "raised_at": "<ISO instant>", "lake": "<the lake folder's name, never its path>", "carelake": "alert/v1" }
// An alert may arrive more than once (an answer lost after the receiver acted on it is retried), so
// receivers should treat `alert_id` as an idempotency key.
//
// Signing, when `alerts.webhook.secretEnv` names an environment variable holding a secret:
//   X-Carelake-Timestamp: <Unix seconds when this attempt was sent>
//   X-Carelake-Signature: sha256=<lower-case hex HMAC-SHA256, keyed with the secret, of the UTF-8
//                          bytes of "<timestamp>.<raw request body>">
// The timestamp is inside the signed material so a captured request cannot be replayed later: a
// receiver recomputes the HMAC over the header value, a dot and the body exactly as received, compares
// in constant time, and rejects timestamps more than a few minutes old. Each retry is signed afresh.
// A configured secret that is missing from the environment stops delivery: an unsigned alert would be
// refused by a receiver that checks, or worse, accepted by one that should.
//
// Retried: network errors, timeouts, HTTP 5xx and 429 (waiting at least a Retry-After, capped). Not
// retried: other 4xx and redirects (a signed POST is not re-sent to wherever a 3xx points). Errors
// name the status or the failure, never the URL (chat webhooks carry their token in the path) or the secret.

import { createHmac } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import type { CarelakeConfig } from '../../core/config.ts';
import { retryAfterMs } from '../fhir-bulk/retryAfter.ts';
import type { AlertKind, AlertRecord } from '../ledger/ledger.ts';

export const ALERT_SCHEMA = 'alert/v1';
export const SIGNATURE_HEADER = 'X-Carelake-Signature';
export const TIMESTAMP_HEADER = 'X-Carelake-Timestamp';

/** The longest a Retry-After is honoured for; a server asking for more gets the cap, then a retry. */
export const MAX_RETRY_AFTER_MS = 60_000;
const DEFAULT_MIN_TIMEOUT_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

export interface AlertPayload {
  alert_id: string;
  kind: AlertKind;
  severity: AlertRecord['severity'];
  source: string;
  run_id: string | null;
  summary: string;
  details: Record<string, unknown>;
  raised_at: string;
  lake: string;
  carelake: typeof ALERT_SCHEMA;
}

export type WebhookSettings = NonNullable<CarelakeConfig['alerts']['webhook']>;

export interface AttemptFailure {
  /** 1-based. */
  attempt: number;
  /** Safe to log: a status or a failure kind. */
  error: string;
  willRetry: boolean;
}

export interface WebhookDeps {
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  onAttemptFailed?: (failure: AttemptFailure) => void;
  /** The first backoff wait (doubling after each retry); tests shorten it. Default 1 s. */
  minTimeoutMs?: number;
  now?: () => Date;
}

export interface WebhookOutcome {
  delivered: boolean;
  /** Requests sent (0 when delivery could not start). */
  attempts: number;
  /** Why the last attempt failed; null when delivered. */
  error: string | null;
}

/** `sha256=<hex>` for a body sent at `timestamp` (Unix seconds, as sent in X-Carelake-Timestamp). */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** An attempt that may succeed if tried again, with how long the server asked us to wait. */
class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
    this.name = 'RetryableFailure';
  }
}

export async function deliverWebhook(payload: AlertPayload, settings: WebhookSettings, deps: WebhookDeps): Promise<WebhookOutcome> {
  const send = deps.fetch ?? fetch;
  const now = deps.now ?? (() => new Date());
  let secret: string | null = null;
  if (settings.secretEnv !== undefined) {
    secret = deps.env[settings.secretEnv] ?? '';
    if (secret === '') {
      return { delivered: false, attempts: 0, error: `alerts.webhook.secretEnv names ${settings.secretEnv}, which is not set; alerts are not sent unsigned` };
    }
  }
  const body = JSON.stringify(payload);
  let attempts = 0;

  const attempt = async (): Promise<void> => {
    attempts++;
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'carelake-alerts' };
    if (secret !== null) {
      const timestamp = String(Math.floor(now().getTime() / 1000));
      headers[TIMESTAMP_HEADER] = timestamp;
      headers[SIGNATURE_HEADER] = webhookSignature(secret, timestamp, body);
    }
    let response: Response;
    try {
      response = await send(settings.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(settings.timeoutSeconds * 1000) });
    } catch (err) {
      throw new RetryableFailure(describeFetchFailure(err, settings.timeoutSeconds), null);
    }
    // The receiver's answer is not read: it is not needed, and echoing it could leak whatever it holds.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return;
    const failure = `the webhook answered HTTP ${response.status}`;
    if (response.status === 429 || response.status >= 500) {
      throw new RetryableFailure(failure, retryAfterMs(response.headers.get('retry-after'), now().getTime()));
    }
    throw new AbortError(response.status >= 300 && response.status < 400 ? `${failure} (a redirect, which is not followed)` : failure);
  };

  try {
    await pRetry(attempt, {
      retries: settings.retries,
      factor: 2,
      minTimeout: deps.minTimeoutMs ?? DEFAULT_MIN_TIMEOUT_MS,
      maxTimeout: MAX_BACKOFF_MS,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        deps.onAttemptFailed?.({ attempt: attemptNumber, error: error.message, willRetry: retriesLeft > 0 });
        // p-retry's own backoff follows this wait, so the server gets at least the time it asked for.
        if (retriesLeft > 0 && error instanceof RetryableFailure && error.retryAfterMs !== null && error.retryAfterMs > 0) {
          await sleep(Math.min(error.retryAfterMs, MAX_RETRY_AFTER_MS));
        }
      },
    });
    return { delivered: true, attempts, error: null };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    // p-retry skips onFailedAttempt for a failure it does not retry; report it the same way.
    if (!(err instanceof RetryableFailure)) deps.onAttemptFailed?.({ attempt: attempts, error, willRetry: false });
    return { delivered: false, attempts, error };
  }
}

// fetch reports a timeout as a TimeoutError and anything on the wire as TypeError('fetch failed') with
// the system error as its cause; only the error code is kept (the cause's message names the address).
function describeFetchFailure(err: unknown, timeoutSeconds: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `the webhook did not answer within ${timeoutSeconds} s`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  return `the webhook could not be reached${code ? ` (${code})` : ''}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
