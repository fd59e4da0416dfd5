// The run ledger: what ran, what landed, what was quarantined, and each source's watermarks.
// SQLite in WAL mode because the scheduler, the CLI and the server are separate processes that read
// and write run state at once, which a DuckDB file (one writer process) cannot offer. Each warehouse
// build copies these tables into the `ops` schema for reporting.
//
// Landing is write-ahead: a file is first recorded as `landing` with the parts it will produce, then
// the parts are renamed into raw/, then it is marked `landed`. `recover()` finishes or undoes any file
// left `landing` by a crash, so a file is never half-recorded and never landed twice.

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** `retried`: this attempt failed and the scheduler tried again (a later attempt has retry_of = the first attempt). */
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'interrupted' | 'retried';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'partial', 'failed', 'interrupted', 'retried'];
/** What started a run: a person at the CLI, a cron tick, `start`, a backfill, a re-run, upstream sources
 *  landing (`dependency`), a tick missed while the scheduler was down (`catch-up`), or the runs page (`request`). */
export type RunTrigger = 'manual' | 'schedule' | 'start' | 'backfill' | 'rerun' | 'dependency' | 'catch-up' | 'request';
export type FileStatus = 'landing' | 'landed' | 'quarantined';

export interface RunRecord {
  run_id: string;
  source: string;
  kind: string;
  trigger: RunTrigger;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  records_in: number;
  records_landed: number;
  records_quarantined: number;
  /** Records a source's own filter chose not to land; in = landed + quarantined + filtered. */
  records_filtered: number;
  files_seen: number;
  files_landed: number;
  files_skipped: number;
  error: string | null;
  /** 1 for a first attempt; 2, 3, … for the scheduler's retries of it. */
  attempt: number;
  /** The first attempt's run id, on a retry. */
  retry_of: string | null;
  /** The run this one re-runs (`carelake rerun`). */
  rerun_of: string | null;
  /** A backfill's window (ISO instants), when the run was limited to one. */
  window_from: string | null;
  window_to: string | null;
  /** The cron time the run was for, when a schedule started it. */
  scheduled_for: string | null;
}

/** Extra facts about how a run started, recorded with it. */
export type RunOrigin = Partial<Pick<RunRecord, 'attempt' | 'retry_of' | 'rerun_of' | 'window_from' | 'window_to' | 'scheduled_for'>>;

export type TickOutcome = 'queued' | 'skipped' | 'catch-up';

/** A cron tick of a scheduled job and what came of it: a run queued, or skipped (the last one still going). */
export interface ScheduleTick {
  job: string;
  scheduled_for: string;
  fired_at: string;
  outcome: TickOutcome;
  run_id: string | null;
  reason: string | null;
}

export type RunRequestKind = 'run' | 'backfill' | 'rerun';
export type RunRequestStatus = 'pending' | 'taken' | 'done' | 'failed' | 'cancelled';

/** A run asked for from the runs page; the scheduler process takes it and runs it. */
export interface RunRequest {
  request_id: number;
  job: string;
  kind: RunRequestKind;
  window_from: string | null;
  window_to: string | null;
  rerun_of: string | null;
  requested_by: string;
  requested_at: string;
  status: RunRequestStatus;
  taken_at: string | null;
  run_id: string | null;
  error: string | null;
}

export type AlertKind = 'run-failed' | 'freshness-error' | 'quarantine-threshold' | 'reconciliation-mismatch';
export type AlertDelivery = 'log-only' | 'pending' | 'delivered' | 'failed';

export interface AlertRecord {
  alert_id: string;
  kind: AlertKind;
  severity: 'warning' | 'critical';
  source: string;
  run_id: string | null;
  summary: string;
  /** JSON: the figures behind the alert. */
  details: string | null;
  raised_at: string;
  delivery: AlertDelivery;
  attempts: number;
  delivered_at: string | null;
  delivery_error: string | null;
}

export type FreshnessState = 'pass' | 'warn' | 'error';

/** A source's freshness when last checked, kept so an alert is raised on the change into error, not at every check. */
export interface FreshnessRecord {
  source: string;
  status: FreshnessState;
  checked_at: string;
  newest_landed_at: string | null;
  /** Whole seconds. */
  age_seconds: number | null;
}

export interface FileRecord {
  source: string;
  location: string;
  sha256: string;
  bytes: number;
  status: FileStatus;
  run_id: string;
  landed_at: string | null;
  records_in: number;
  records_landed: number;
  records_quarantined: number;
  records_filtered: number;
  /** JSON: declared vs actual counts from trailers or manifests, when they disagree. */
  reconciliation: string | null;
}

export interface PartRecord {
  run_id: string;
  source: string;
  dataset: string;
  path: string;
  rows: number;
  file_sha256: string;
}

export interface QuarantineRecord {
  run_id: string;
  source: string;
  location: string;
  record: string;
  field: string | null;
  reason: string;
  stored_at: string;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (
     run_id TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, trigger TEXT NOT NULL,
     status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
     records_in INTEGER NOT NULL DEFAULT 0, records_landed INTEGER NOT NULL DEFAULT 0,
     records_quarantined INTEGER NOT NULL DEFAULT 0, files_seen INTEGER NOT NULL DEFAULT 0,
     files_landed INTEGER NOT NULL DEFAULT 0, files_skipped INTEGER NOT NULL DEFAULT 0, error TEXT);
   CREATE INDEX runs_by_source ON runs(source, started_at);
   CREATE TABLE files (
     source TEXT NOT NULL, location TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
     status TEXT NOT NULL, run_id TEXT NOT NULL, landed_at TEXT,
     records_in INTEGER NOT NULL DEFAULT 0, records_landed INTEGER NOT NULL DEFAULT 0,
     records_quarantined INTEGER NOT NULL DEFAULT 0, reconciliation TEXT,
     PRIMARY KEY (source, sha256));
   CREATE TABLE parts (
     run_id TEXT NOT NULL, source TEXT NOT NULL, dataset TEXT NOT NULL, path TEXT PRIMARY KEY,
     rows INTEGER NOT NULL, file_sha256 TEXT NOT NULL);
   CREATE INDEX parts_by_file ON parts(source, file_sha256);
   CREATE TABLE watermarks (
     source TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, run_id TEXT NOT NULL,
     PRIMARY KEY (source, key));
   CREATE TABLE quarantine (
     run_id TEXT NOT NULL, source TEXT NOT NULL, location TEXT NOT NULL, record TEXT NOT NULL,
     field TEXT, reason TEXT NOT NULL, stored_at TEXT NOT NULL);
   CREATE INDEX quarantine_by_run ON quarantine(run_id);`,
  // 2: remote sources look files up by URL (a Bulk Data job's output URLs are unique to the job).
  `CREATE INDEX files_by_location ON files(source, location);`,
  // 3: records a source's own filter chose not to land (Bulk Data _typeFilter re-applied locally):
  //    records_in = records_landed + records_quarantined + records_filtered.
  `ALTER TABLE files ADD COLUMN records_filtered INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE runs ADD COLUMN records_filtered INTEGER NOT NULL DEFAULT 0;`,
  // 4: the scheduler: attempts and their origin, cron ticks, run requests from the runs page, alerts,
  //    and each source's last known freshness.
  `ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE runs ADD COLUMN retry_of TEXT;
   ALTER TABLE runs ADD COLUMN rerun_of TEXT;
   ALTER TABLE runs ADD COLUMN window_from TEXT;
   ALTER TABLE runs ADD COLUMN window_to TEXT;
   ALTER TABLE runs ADD COLUMN scheduled_for TEXT;
   CREATE INDEX runs_by_status ON runs(status);
   CREATE TABLE schedule_ticks (
     job TEXT NOT NULL, scheduled_for TEXT NOT NULL, fired_at TEXT NOT NULL, outcome TEXT NOT NULL,
     run_id TEXT, reason TEXT);
   CREATE INDEX ticks_by_job ON schedule_ticks(job, fired_at);
   CREATE TABLE run_requests (
     request_id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, kind TEXT NOT NULL,
     window_from TEXT, window_to TEXT, rerun_of TEXT, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
     status TEXT NOT NULL, taken_at TEXT, run_id TEXT, error TEXT);
   CREATE INDEX requests_by_status ON run_requests(status);
   CREATE TABLE alerts (
     alert_id TEXT PRIMARY KEY, kind TEXT NOT NULL, severity TEXT NOT NULL, source TEXT NOT NULL, run_id TEXT,
     summary TEXT NOT NULL, details TEXT, raised_at TEXT NOT NULL, delivery TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, delivered_at TEXT, delivery_error TEXT);
   CREATE INDEX alerts_by_time ON alerts(raised_at);
   CREATE TABLE freshness (
     source TEXT PRIMARY KEY, status TEXT NOT NULL, checked_at TEXT NOT NULL, newest_landed_at TEXT, age_seconds INTEGER);`,
];

export interface FileLandingPlan {
  file: Omit<FileRecord, 'status' | 'landed_at'>;
  parts: PartRecord[];
  quarantine: QuarantineRecord[];
  /** The file's status once its parts are in raw/; recorded at once when it has no parts to move. */
  status: Exclude<FileStatus, 'landing'>;
  at: string;
}

export class Ledger {
  private constructor(private readonly db: Database.Database) {}

  static open(path: string): Ledger {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return new Ledger(db);
  }

  close(): void {
    this.db.close();
  }

  startRun(run: Pick<RunRecord, 'run_id' | 'source' | 'kind' | 'trigger' | 'started_at'> & RunOrigin): void {
    this.db
      .prepare(
        `INSERT INTO runs (run_id, source, kind, trigger, status, started_at, attempt, retry_of, rerun_of, window_from, window_to, scheduled_for)
         VALUES (@run_id, @source, @kind, @trigger, 'running', @started_at, @attempt, @retry_of, @rerun_of, @window_from, @window_to, @scheduled_for)`,
      )
      .run({ attempt: 1, retry_of: null, rerun_of: null, window_from: null, window_to: null, scheduled_for: null, ...run });
  }

  /** A failed attempt that the scheduler is about to try again. */
  markRetried(runId: string): void {
    this.db.prepare(`UPDATE runs SET status = 'retried' WHERE run_id = ? AND status = 'failed'`).run(runId);
  }

  /** The retry never happened (the scheduler stopped while waiting): the attempt is the final failure after all. */
  unmarkRetried(runId: string): void {
    this.db.prepare(`UPDATE runs SET status = 'failed' WHERE run_id = ? AND status = 'retried'`).run(runId);
  }

  finishRun(runId: string, outcome: { status: RunStatus; finished_at: string; files_seen: number; files_skipped: number; error: string | null }): RunRecord {
    // Record counts are summed from the files this run recorded, so runs and files always agree.
    this.db
      .prepare(
        `UPDATE runs SET status = @status, finished_at = @finished_at, error = @error,
           files_seen = @files_seen, files_skipped = @files_skipped,
           files_landed = (SELECT count(*) FROM files WHERE run_id = @run_id),
           records_in = (SELECT coalesce(sum(records_in), 0) FROM files WHERE run_id = @run_id),
           records_landed = (SELECT coalesce(sum(records_landed), 0) FROM files WHERE run_id = @run_id),
           records_quarantined = (SELECT coalesce(sum(records_quarantined), 0) FROM files WHERE run_id = @run_id),
           records_filtered = (SELECT coalesce(sum(records_filtered), 0) FROM files WHERE run_id = @run_id)
         WHERE run_id = @run_id`,
      )
      .run({ ...outcome, run_id: runId });
    return this.run(runId)!;
  }

  run(runId: string): RunRecord | undefined {
    return this.db.prepare(`SELECT * FROM runs WHERE run_id = ?`).get(runId) as RunRecord | undefined;
  }

  /** The newest runs, optionally of one source and/or with one status. */
  runs(options: { source?: string; status?: RunStatus; limit?: number } = {}): RunRecord[] {
    return this.db
      .prepare(
        `SELECT * FROM runs WHERE (@source IS NULL OR source = @source) AND (@status IS NULL OR status = @status)
         ORDER BY started_at DESC, rowid DESC LIMIT @limit`,
      )
      .all({ source: options.source ?? null, status: options.status ?? null, limit: options.limit ?? 50 }) as RunRecord[];
  }

  /** Runs still marked running (by any process). */
  runningRuns(): RunRecord[] {
    return this.db.prepare(`SELECT * FROM runs WHERE status = 'running' ORDER BY started_at`).all() as RunRecord[];
  }

  /** The newest time each source landed records (a file with records_landed > 0): what freshness is judged on. */
  newestLandings(): Map<string, string> {
    const rows = this.db.prepare(`SELECT source, max(landed_at) AS at FROM files WHERE records_landed > 0 AND landed_at IS NOT NULL GROUP BY source`).all() as { source: string; at: string }[];
    return new Map(rows.map((r) => [r.source, r.at]));
  }

  // ---- scheduler ticks -----------------------------------------------------------------------

  recordTick(tick: ScheduleTick): void {
    this.db
      .prepare(`INSERT INTO schedule_ticks (job, scheduled_for, fired_at, outcome, run_id, reason) VALUES (@job, @scheduled_for, @fired_at, @outcome, @run_id, @reason)`)
      .run(tick);
  }

  ticks(options: { job?: string; limit?: number } = {}): ScheduleTick[] {
    return this.db
      .prepare(`SELECT * FROM schedule_ticks WHERE (@job IS NULL OR job = @job) ORDER BY fired_at DESC, rowid DESC LIMIT @limit`)
      .all({ job: options.job ?? null, limit: options.limit ?? 50 }) as ScheduleTick[];
  }

  // ---- run requests (runs page → scheduler) -------------------------------------------------------

  requestRun(request: Pick<RunRequest, 'job' | 'kind' | 'requested_by' | 'requested_at'> & Partial<Pick<RunRequest, 'window_from' | 'window_to' | 'rerun_of'>>): RunRequest {
    const info = this.db
      .prepare(
        `INSERT INTO run_requests (job, kind, window_from, window_to, rerun_of, requested_by, requested_at, status)
         VALUES (@job, @kind, @window_from, @window_to, @rerun_of, @requested_by, @requested_at, 'pending')`,
      )
      .run({ window_from: null, window_to: null, rerun_of: null, ...request });
    return this.db.prepare(`SELECT * FROM run_requests WHERE request_id = ?`).get(info.lastInsertRowid) as RunRequest;
  }

  /** Takes the pending requests, oldest first, in one transaction, so two takers never take the same one. */
  takeRunRequests(takenAt: string): RunRequest[] {
    return this.db.transaction(() => {
      const pending = this.db.prepare(`SELECT * FROM run_requests WHERE status = 'pending' ORDER BY request_id`).all() as RunRequest[];
      const take = this.db.prepare(`UPDATE run_requests SET status = 'taken', taken_at = ? WHERE request_id = ?`);
      for (const r of pending) take.run(takenAt, r.request_id);
      return pending.map((r) => ({ ...r, status: 'taken' as const, taken_at: takenAt }));
    })();
  }

  updateRunRequest(requestId: number, outcome: { status: Exclude<RunRequestStatus, 'pending'>; run_id?: string | null; error?: string | null }): void {
    this.db
      .prepare(`UPDATE run_requests SET status = @status, run_id = coalesce(@run_id, run_id), error = @error WHERE request_id = @request_id`)
      .run({ request_id: requestId, status: outcome.status, run_id: outcome.run_id ?? null, error: outcome.error ?? null });
  }

  runRequest(requestId: number): RunRequest | undefined {
    return this.db.prepare(`SELECT * FROM run_requests WHERE request_id = ?`).get(requestId) as RunRequest | undefined;
  }

  runRequests(options: { status?: RunRequestStatus; limit?: number } = {}): RunRequest[] {
    return this.db
      .prepare(`SELECT * FROM run_requests WHERE (@status IS NULL OR status = @status) ORDER BY request_id DESC LIMIT @limit`)
      .all({ status: options.status ?? null, limit: options.limit ?? 50 }) as RunRequest[];
  }

  // ---- alerts and freshness -------------------------------------------------------------------------

  recordAlert(alert: AlertRecord): void {
    this.db
      .prepare(
        `INSERT INTO alerts (alert_id, kind, severity, source, run_id, summary, details, raised_at, delivery, attempts, delivered_at, delivery_error)
         VALUES (@alert_id, @kind, @severity, @source, @run_id, @summary, @details, @raised_at, @delivery, @attempts, @delivered_at, @delivery_error)`,
      )
      .run(alert);
  }

  updateAlertDelivery(alertId: string, delivery: Pick<AlertRecord, 'delivery' | 'attempts' | 'delivered_at' | 'delivery_error'>): void {
    this.db
      .prepare(`UPDATE alerts SET delivery = @delivery, attempts = @attempts, delivered_at = @delivered_at, delivery_error = @delivery_error WHERE alert_id = @alert_id`)
      .run({ ...delivery, alert_id: alertId });
  }

  alerts(options: { source?: string; limit?: number } = {}): AlertRecord[] {
    return this.db
      .prepare(`SELECT * FROM alerts WHERE (@source IS NULL OR source = @source) ORDER BY raised_at DESC, rowid DESC LIMIT @limit`)
      .all({ source: options.source ?? null, limit: options.limit ?? 50 }) as AlertRecord[];
  }

  /** Alerts by kind and delivery state, for metrics. */
  alertTotals(): { kind: AlertKind; delivery: AlertDelivery; alerts: number }[] {
    return this.db.prepare(`SELECT kind, delivery, count(*) AS alerts FROM alerts GROUP BY kind, delivery ORDER BY kind, delivery`).all() as { kind: AlertKind; delivery: AlertDelivery; alerts: number }[];
  }

  freshness(source: string): FreshnessRecord | undefined {
    return this.db.prepare(`SELECT * FROM freshness WHERE source = ?`).get(source) as FreshnessRecord | undefined;
  }

  freshnessAll(): FreshnessRecord[] {
    return this.db.prepare(`SELECT * FROM freshness ORDER BY source`).all() as FreshnessRecord[];
  }

  setFreshness(record: FreshnessRecord): void {
    this.db
      .prepare(
        `INSERT INTO freshness (source, status, checked_at, newest_landed_at, age_seconds) VALUES (@source, @status, @checked_at, @newest_landed_at, @age_seconds)
         ON CONFLICT (source) DO UPDATE SET status = excluded.status, checked_at = excluded.checked_at, newest_landed_at = excluded.newest_landed_at, age_seconds = excluded.age_seconds`,
      )
      .run({ ...record, age_seconds: record.age_seconds === null ? null : Math.round(record.age_seconds) });
  }

  /** Figures for metrics, summed in SQLite: runs by source and status, records by outcome, bytes, last success, durations. */
  runTotals(): { source: string; status: RunStatus; runs: number }[] {
    return this.db.prepare(`SELECT source, status, count(*) AS runs FROM runs GROUP BY source, status ORDER BY source, status`).all() as { source: string; status: RunStatus; runs: number }[];
  }

  recordTotals(): { source: string; landed: number; quarantined: number; filtered: number; bytes: number }[] {
    return this.db
      .prepare(
        `SELECT source, coalesce(sum(records_landed), 0) AS landed, coalesce(sum(records_quarantined), 0) AS quarantined,
                coalesce(sum(records_filtered), 0) AS filtered, coalesce(sum(bytes), 0) AS bytes
         FROM files WHERE status <> 'landing' GROUP BY source ORDER BY source`,
      )
      .all() as { source: string; landed: number; quarantined: number; filtered: number; bytes: number }[];
  }

  lastSuccesses(): { source: string; finished_at: string }[] {
    return this.db
      .prepare(`SELECT source, max(finished_at) AS finished_at FROM runs WHERE status IN ('succeeded', 'partial') AND finished_at IS NOT NULL GROUP BY source ORDER BY source`)
      .all() as { source: string; finished_at: string }[];
  }

  /** Finished runs' durations in seconds, per source (for the duration histogram). */
  runDurations(): { source: string; seconds: number }[] {
    return this.db
      .prepare(`SELECT source, (julianday(finished_at) - julianday(started_at)) * 86400.0 AS seconds FROM runs WHERE finished_at IS NOT NULL AND status <> 'running'`)
      .all() as { source: string; seconds: number }[];
  }

  /** The last run of each source. */
  lastRuns(): RunRecord[] {
    return this.db
      .prepare(`SELECT r.* FROM runs r WHERE r.rowid = (SELECT r2.rowid FROM runs r2 WHERE r2.source = r.source ORDER BY r2.started_at DESC, r2.rowid DESC LIMIT 1) ORDER BY r.source`)
      .all() as RunRecord[];
  }

  /** A file with these bytes already has a final outcome for this source: landing it again would duplicate. */
  fileOutcome(source: string, sha256: string): FileRecord | undefined {
    return this.db.prepare(`SELECT * FROM files WHERE source = ? AND sha256 = ? AND status <> 'landing'`).get(source, sha256) as FileRecord | undefined;
  }

  /** The files one run recorded (landed or quarantined). */
  filesOfRun(runId: string): FileRecord[] {
    return this.db.prepare(`SELECT * FROM files WHERE run_id = ? ORDER BY landed_at, location`).all(runId) as FileRecord[];
  }

  files(source: string): FileRecord[] {
    return this.db.prepare(`SELECT * FROM files WHERE source = ? ORDER BY landed_at, location`).all(source) as FileRecord[];
  }

  /**
   * Step 1 of landing: record the intent (file `landing`, its parts and rejects) in one transaction.
   * A file with no parts to move is final at once.
   */
  recordIntent(plan: FileLandingPlan): void {
    const final = plan.parts.length === 0;
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO files (source, location, sha256, bytes, status, run_id, landed_at, records_in, records_landed, records_quarantined, records_filtered, reconciliation)
           VALUES (@source, @location, @sha256, @bytes, @status, @run_id, @landed_at, @records_in, @records_landed, @records_quarantined, @records_filtered, @reconciliation)`,
        )
        .run({ ...plan.file, status: final ? plan.status : 'landing', landed_at: final ? plan.at : null });
      const part = this.db.prepare(`INSERT INTO parts (run_id, source, dataset, path, rows, file_sha256) VALUES (@run_id, @source, @dataset, @path, @rows, @file_sha256)`);
      for (const p of plan.parts) part.run(p);
      const q = this.db.prepare(
        `INSERT INTO quarantine (run_id, source, location, record, field, reason, stored_at) VALUES (@run_id, @source, @location, @record, @field, @reason, @stored_at)`,
      );
      for (const r of plan.quarantine) q.run(r);
    })();
  }

  /** Step 3 of landing, after the parts are in place. */
  markFinal(source: string, sha256: string, status: Exclude<FileStatus, 'landing'>, landedAt: string): void {
    this.db.prepare(`UPDATE files SET status = ?, landed_at = ? WHERE source = ? AND sha256 = ?`).run(status, landedAt, source, sha256);
  }

  /** Undoes a landing intent whose parts never all arrived, so the file lands again next time. */
  forgetIntent(source: string, sha256: string): void {
    this.db.transaction(() => {
      const runId = (this.db.prepare(`SELECT run_id FROM files WHERE source = ? AND sha256 = ?`).get(source, sha256) as { run_id: string } | undefined)?.run_id;
      const location = (this.db.prepare(`SELECT location FROM files WHERE source = ? AND sha256 = ?`).get(source, sha256) as { location: string } | undefined)?.location;
      this.db.prepare(`DELETE FROM parts WHERE source = ? AND file_sha256 = ?`).run(source, sha256);
      if (runId && location) this.db.prepare(`DELETE FROM quarantine WHERE run_id = ? AND source = ? AND location = ?`).run(runId, source, location);
      this.db.prepare(`DELETE FROM files WHERE source = ? AND sha256 = ?`).run(source, sha256);
    })();
  }

  pendingIntents(source: string): { file: FileRecord; parts: PartRecord[] }[] {
    const files = this.db.prepare(`SELECT * FROM files WHERE source = ? AND status = 'landing'`).all(source) as FileRecord[];
    return files.map((file) => ({
      file,
      parts: this.db.prepare(`SELECT * FROM parts WHERE source = ? AND file_sha256 = ?`).all(source, file.sha256) as PartRecord[],
    }));
  }

  /** One run that was cut off (its process stopped or died) is recorded interrupted, with why. */
  interruptRun(runId: string, finishedAt: string, why: string): void {
    const run = this.run(runId);
    if (run?.status !== 'running') return;
    this.finishRun(runId, { status: 'interrupted', finished_at: finishedAt, files_seen: run.files_seen, files_skipped: run.files_skipped, error: why });
  }

  /** Runs left `running` by a process that died are marked interrupted. */
  markInterrupted(source: string, finishedAt: string): void {
    this.db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = ?, error = 'the process ended before the run finished' WHERE source = ? AND status = 'running'`).run(finishedAt, source);
  }

  /** The first `limit` quarantined records of a run, and how many it has in all. */
  quarantineOfRun(runId: string, limit: number): { records: QuarantineRecord[]; total: number } {
    const total = (this.db.prepare(`SELECT count(*) AS n FROM quarantine WHERE run_id = ?`).get(runId) as { n: number }).n;
    const records = this.db.prepare(`SELECT * FROM quarantine WHERE run_id = ? ORDER BY rowid LIMIT ?`).all(runId, limit) as QuarantineRecord[];
    return { records, total };
  }

  /** A run's family: the first attempt and every retry of it, and runs that re-ran it, oldest first. */
  relatedRuns(run: Pick<RunRecord, 'run_id' | 'retry_of'>): RunRecord[] {
    const first = run.retry_of ?? run.run_id;
    return this.db
      .prepare(`SELECT * FROM runs WHERE run_id <> @id AND (run_id = @first OR retry_of = @first OR rerun_of = @id) ORDER BY started_at, rowid`)
      .all({ id: run.run_id, first }) as RunRecord[];
  }

  quarantine(options: { runId?: string; source?: string } = {}): QuarantineRecord[] {
    if (options.runId) return this.db.prepare(`SELECT * FROM quarantine WHERE run_id = ? ORDER BY rowid`).all(options.runId) as QuarantineRecord[];
    if (options.source) return this.db.prepare(`SELECT * FROM quarantine WHERE source = ? ORDER BY rowid`).all(options.source) as QuarantineRecord[];
    return this.db.prepare(`SELECT * FROM quarantine ORDER BY rowid`).all() as QuarantineRecord[];
  }

  parts(source?: string): PartRecord[] {
    return source
      ? (this.db.prepare(`SELECT * FROM parts WHERE source = ? ORDER BY path`).all(source) as PartRecord[])
      : (this.db.prepare(`SELECT * FROM parts ORDER BY path`).all() as PartRecord[]);
  }

  watermark(source: string, key: string): string | undefined {
    return (this.db.prepare(`SELECT value FROM watermarks WHERE source = ? AND key = ?`).get(source, key) as { value: string } | undefined)?.value;
  }

  deleteWatermark(source: string, key: string): void {
    this.db.prepare(`DELETE FROM watermarks WHERE source = ? AND key = ?`).run(source, key);
  }

  /** The final outcome of the file at this location (and of this size, if given), if any (URLs of one export job are unique). */
  fileAt(source: string, location: string, bytes?: number): FileRecord | undefined {
    if (bytes === undefined) return this.db.prepare(`SELECT * FROM files WHERE source = ? AND location = ? AND status <> 'landing'`).get(source, location) as FileRecord | undefined;
    return this.db.prepare(`SELECT * FROM files WHERE source = ? AND location = ? AND bytes = ? AND status <> 'landing'`).get(source, location, bytes) as FileRecord | undefined;
  }

  setWatermark(source: string, key: string, value: string, runId: string): void {
    this.db
      .prepare(`INSERT INTO watermarks (source, key, value, run_id) VALUES (?, ?, ?, ?) ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, run_id = excluded.run_id`)
      .run(source, key, value, runId);
  }

  /** A ledger table's columns with their SQLite types, for recreating it elsewhere. */
  columns(table: LedgerTable): { name: string; type: 'INTEGER' | 'TEXT' }[] {
    return (this.db.prepare(`SELECT name, type FROM pragma_table_info(?) ORDER BY cid`).all(table) as { name: string; type: string }[]).map((c) => ({
      name: c.name,
      type: c.type.toUpperCase() === 'INTEGER' ? 'INTEGER' : 'TEXT',
    }));
  }

  /** Every row of a ledger table, for copying into the warehouse's `ops` schema. */
  dump(table: LedgerTable): unknown[][] {
    return this.db.prepare(`SELECT * FROM ${table}`).raw(true).all() as unknown[][];
  }
}

export const LEDGER_TABLES = ['runs', 'files', 'parts', 'watermarks', 'quarantine', 'schedule_ticks', 'run_requests', 'alerts', 'freshness'] as const;
export type LedgerTable = (typeof LEDGER_TABLES)[number];
