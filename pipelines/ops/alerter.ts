// Raises the scheduler's alerts: each is written to the log (always), kept in the ledger's `alerts`
// table (what the runs page and `ops.alerts` show), and sent to the webhook when one is configured.
// Webhook delivery runs in the background so a slow receiver never holds up a run; the ledger row goes
// from `pending` to `delivered` or `failed` when it ends, and `flush()` lets a stopping scheduler wait
// for deliveries still in flight. The webhook URL is logged by host only: chat webhooks carry their
// token in the path.

import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { CarelakeConfig } from '../../core/config.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { AlertRecord, Ledger } from '../ledger/ledger.ts';
import { alertsForFreshness, alertsForRun, type AlertDraft } from './alertRules.ts';
import type { FreshnessChange } from './sourceFreshness.ts';
import { ALERT_SCHEMA, deliverWebhook, type AlertPayload, type WebhookDeps, type WebhookSettings } from './webhookDelivery.ts';

export interface AlerterOptions {
  ledger: Ledger;
  logger: Logger;
  config: CarelakeConfig['alerts'];
  /** The lake folder's name, sent with each alert so a receiver serving several lakes can tell them apart. */
  lakeName: string;
  /** Where `alerts.webhook.secretEnv` is looked up (process.env in the scheduler). */
  env: Readonly<Record<string, string | undefined>>;
  clock?: () => Date;
  /** The webhook's transport and first backoff wait; tests shorten the wait. */
  webhook?: Pick<WebhookDeps, 'fetch' | 'minTimeoutMs'>;
}

/** Alert ids sort by time and stay unique across processes: `a20261121T134501Z-1a2b3c` (as run ids do). */
export function newAlertId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `a${stamp}-${randomBytes(3).toString('hex')}`;
}

export class Alerter {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: AlerterOptions) {}

  /** Logs and records one alert, and starts sending it to the webhook if there is one. */
  raise(draft: AlertDraft): AlertRecord {
    const { ledger, logger, config } = this.options;
    const raisedAt = this.now();
    const alert: AlertRecord = {
      alert_id: newAlertId(raisedAt),
      kind: draft.kind,
      severity: draft.severity,
      source: draft.source,
      run_id: draft.run_id,
      summary: draft.summary,
      details: JSON.stringify(draft.details),
      raised_at: raisedAt.toISOString(),
      delivery: config.webhook ? 'pending' : 'log-only',
      attempts: 0,
      delivered_at: null,
      delivery_error: null,
    };
    // Logged before it is recorded, so an alert still reaches the log if the ledger write fails.
    const fields = { alert_id: alert.alert_id, kind: alert.kind, severity: alert.severity, source: alert.source, run_id: alert.run_id, details: draft.details };
    if (alert.severity === 'critical') logger.error({ alert: fields }, `alert: ${alert.summary}`);
    else logger.warn({ alert: fields }, `alert: ${alert.summary}`);
    ledger.recordAlert(alert);
    if (config.webhook) this.track(this.deliver(alert, draft, config.webhook));
    return alert;
  }

  /** The alerts a finished run calls for (call it after the run is final: after `markRetried`, if it will be retried). */
  raiseForRun(runId: string): AlertRecord[] {
    const { ledger, config } = this.options;
    const run = ledger.run(runId);
    if (!run) {
      throw new CarelakeError({ code: 'alerts.unknown-run', kind: 'internal', message: `Cannot raise alerts for run ${runId}: the ledger has no such run` });
    }
    return alertsForRun(run, ledger.filesOfRun(runId), { quarantineRate: config.quarantineRate }).map((d) => this.raise(d));
  }

  /** Alerts for the sources that went into freshness error (`checkFreshness(...).changes`). */
  raiseForFreshness(changes: readonly FreshnessChange[]): AlertRecord[] {
    return alertsForFreshness(changes).map((d) => this.raise(d));
  }

  /** Resolves when every webhook delivery in flight (including ones started meanwhile) has ended. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private now(): Date {
    return (this.options.clock ?? (() => new Date()))();
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Never rejects: a failed delivery is an outcome to record, not an error for the scheduler. */
  private async deliver(alert: AlertRecord, draft: AlertDraft, settings: WebhookSettings): Promise<void> {
    const { ledger, logger } = this.options;
    const log = { alert_id: alert.alert_id, webhook_host: hostOf(settings.url) };
    const payload: AlertPayload = {
      alert_id: alert.alert_id,
      kind: alert.kind,
      severity: alert.severity,
      source: alert.source,
      run_id: alert.run_id,
      summary: alert.summary,
      details: draft.details,
      raised_at: alert.raised_at,
      lake: basename(this.options.lakeName),
      carelake: ALERT_SCHEMA,
    };
    try {
      const outcome = await deliverWebhook(payload, settings, {
        ...this.options.webhook,
        env: this.options.env,
        now: () => this.now(),
        onAttemptFailed: (f) => logger.warn({ ...log, attempt: f.attempt, will_retry: f.willRetry, error: f.error }, 'alert webhook attempt failed'),
      });
      if (outcome.delivered) logger.info({ ...log, attempts: outcome.attempts }, 'alert delivered to the webhook');
      else logger.error({ ...log, attempts: outcome.attempts, error: outcome.error }, 'alert could not be delivered to the webhook');
      ledger.updateAlertDelivery(alert.alert_id, {
        delivery: outcome.delivered ? 'delivered' : 'failed',
        attempts: outcome.attempts,
        delivered_at: outcome.delivered ? this.now().toISOString() : null,
        delivery_error: outcome.error,
      });
    } catch (err) {
      // Only the ledger write can land here (e.g. closed before flush()); the alert itself is in the log.
      logger.error({ ...log, err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'alert delivery outcome could not be recorded');
    }
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unreadable URL)';
  }
}
