// When the scheduler should raise an alert, decided from what the ledger already holds: a run's final
// failure, too many of a run's records quarantined, files whose declared counts (trailers, manifests,
// sequence numbers) disagree with what was read, and a source going stale. Pure: the caller reads the
// ledger and delivers the drafts (alerter.ts). Summaries name sources, runs, files and figures, never
// row values, so they are safe to log and to send out of the lake.

import type { AlertKind, AlertRecord, FileRecord, RunRecord } from '../ledger/ledger.ts';
import type { FreshnessChange } from './sourceFreshness.ts';
import type { FreshnessThreshold } from '../../transforms/models/freshness.ts';

export type AlertSeverity = AlertRecord['severity'];

/** An alert before it has an id, a time and a delivery. */
export interface AlertDraft {
  kind: AlertKind;
  severity: AlertSeverity;
  source: string;
  run_id: string | null;
  /** One sentence for a person: the source, the run and the figures. */
  summary: string;
  /** The figures behind the summary, for machines (stored as JSON, sent in the webhook payload). */
  details: Record<string, unknown>;
}

export interface AlertRules {
  /** Alert when records_quarantined / records_in is strictly greater than this. */
  quarantineRate: number;
}

/** Failures and stale sources need someone now; data-quality findings can wait for working hours. */
const SEVERITY: Record<AlertKind, AlertSeverity> = {
  'run-failed': 'critical',
  'freshness-error': 'critical',
  'quarantine-threshold': 'warning',
  'reconciliation-mismatch': 'warning',
};

/** Long run errors are cut so one alert stays one readable line. */
const MAX_ERROR_CHARS = 300;

/** The alerts a finished run calls for, given the files it recorded. */
export function alertsForRun(run: RunRecord, files: readonly FileRecord[], rules: AlertRules): AlertDraft[] {
  // A run still going has partial counts; judging it now would alert on figures that are about to change.
  if (run.status === 'running') return [];
  return [runFailedAlert(run), quarantineAlert(run, rules), reconciliationAlert(run, files)].filter((a): a is AlertDraft => a !== null);
}

/** The alerts for sources whose freshness changed into `error` (a source that stays in error alerts once). */
export function alertsForFreshness(changes: readonly FreshnessChange[]): AlertDraft[] {
  return changes.filter((c) => c.freshness.status === 'error' && c.previous !== 'error').map(freshnessAlert);
}

function draft(kind: AlertKind, fields: Omit<AlertDraft, 'kind' | 'severity'>): AlertDraft {
  return { kind, severity: SEVERITY[kind], ...fields };
}

// Only `failed` is final: a `retried` attempt is followed by another, and alerting on it would page
// someone for a failure the retry may already have recovered from.
function runFailedAlert(run: RunRecord): AlertDraft | null {
  if (run.status !== 'failed') return null;
  const error = run.error === null ? 'no error was recorded' : truncate(run.error, MAX_ERROR_CHARS);
  return draft('run-failed', {
    source: run.source,
    run_id: run.run_id,
    summary: `Run ${run.run_id} of source ${run.source} failed on attempt ${run.attempt}: ${error}`,
    details: {
      status: run.status,
      attempt: run.attempt,
      retry_of: run.retry_of,
      started_at: run.started_at,
      finished_at: run.finished_at,
      records_in: run.records_in,
      records_landed: run.records_landed,
      records_quarantined: run.records_quarantined,
      files_seen: run.files_seen,
      files_landed: run.files_landed,
      error: run.error === null ? null : truncate(run.error, MAX_ERROR_CHARS),
    },
  });
}

function quarantineAlert(run: RunRecord, rules: AlertRules): AlertDraft | null {
  // A run that read nothing has no rate; it is the freshness check's business, not this rule's.
  if (run.records_in <= 0) return null;
  // Dividing (rather than comparing q > rate × in) keeps the boundary exact: q/in and the configured
  // rate are both the nearest double to the same fraction when they are equal, so "at" never alerts.
  const rate = run.records_quarantined / run.records_in;
  if (!(rate > rules.quarantineRate)) return null;
  return draft('quarantine-threshold', {
    source: run.source,
    run_id: run.run_id,
    summary:
      `Run ${run.run_id} of source ${run.source} quarantined ${run.records_quarantined} of ${run.records_in} records ` +
      `(${percent(rate)}), above the ${percent(rules.quarantineRate)} threshold`,
    details: {
      records_in: run.records_in,
      records_quarantined: run.records_quarantined,
      rate,
      threshold: rules.quarantineRate,
    },
  });
}

/** One declared-vs-actual disagreement, as the landing records it (fileLanding.ts `Reconciliation`). */
interface Mismatch {
  what: string;
  declared: number | null;
  actual: number;
}

function reconciliationAlert(run: RunRecord, files: readonly FileRecord[]): AlertDraft | null {
  const mismatched = files
    .filter((f) => f.run_id === run.run_id && f.reconciliation !== null)
    .map((f) => ({ location: f.location, mismatches: parseMismatches(f.reconciliation!) }));
  if (mismatched.length === 0) return null;
  const first = mismatched.flatMap((f) => f.mismatches)[0];
  const example = first ? `; first: ${first.what}, declared ${first.declared ?? 'nothing'}, read ${first.actual}` : '';
  return draft('reconciliation-mismatch', {
    source: run.source,
    run_id: run.run_id,
    summary: `Run ${run.run_id} of source ${run.source} read ${plural(mismatched.length, 'file')} whose declared counts disagree with what was read${example}`,
    details: { files: mismatched },
  });
}

// The column is JSON written by the landing; it stays `unknown` until checked, and a mismatch that does
// not parse is still a mismatch (the file is listed with no figures) rather than a lost alert.
function parseMismatches(json: string): Mismatch[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.filter(isMismatch);
}

function isMismatch(value: unknown): value is Mismatch {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.what === 'string' && typeof v.actual === 'number' && (v.declared === null || typeof v.declared === 'number');
}

function freshnessAlert(change: FreshnessChange): AlertDraft {
  const { source, newestLandedAt, ageSeconds, rule } = change.freshness;
  const limit = rule?.error_after ? ` (error after ${threshold(rule.error_after)})` : '';
  const summary =
    newestLandedAt === null || ageSeconds === null
      ? `Source ${source} has never landed any records${limit}`
      : `Source ${source} is stale: it last landed records at ${newestLandedAt}, ${age(ageSeconds)} ago${limit}`;
  return draft('freshness-error', {
    source,
    run_id: null,
    summary,
    details: {
      status: change.freshness.status,
      previous: change.previous,
      newest_landed_at: newestLandedAt,
      age_seconds: ageSeconds,
      error_after: rule?.error_after ?? null,
      warn_after: rule?.warn_after ?? null,
    },
  });
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function threshold(t: FreshnessThreshold): string {
  return plural(t.count, t.period);
}

/** `2 days 3 hours`, `5 hours 12 minutes`, `40 minutes`: two units are plenty for a page. */
function age(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return hours > 0 ? `${plural(days, 'day')} ${plural(hours, 'hour')}` : plural(days, 'day');
  if (hours > 0) return minutes > 0 ? `${plural(hours, 'hour')} ${plural(minutes, 'minute')}` : plural(hours, 'hour');
  return plural(minutes, 'minute');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
