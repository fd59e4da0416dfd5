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

export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'interrupted';
export type RunTrigger = 'manual' | 'schedule' | 'start' | 'backfill';
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

  startRun(run: Pick<RunRecord, 'run_id' | 'source' | 'kind' | 'trigger' | 'started_at'>): void {
    this.db
      .prepare(`INSERT INTO runs (run_id, source, kind, trigger, status, started_at) VALUES (@run_id, @source, @kind, @trigger, 'running', @started_at)`)
      .run(run);
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

  /** The newest runs, optionally for one source. */
  runs(options: { source?: string; limit?: number } = {}): RunRecord[] {
    const limit = options.limit ?? 50;
    return options.source
      ? (this.db.prepare(`SELECT * FROM runs WHERE source = ? ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(options.source, limit) as RunRecord[])
      : (this.db.prepare(`SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(limit) as RunRecord[]);
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

  /** Runs left `running` by a process that died are marked interrupted. */
  markInterrupted(source: string, finishedAt: string): void {
    this.db.prepare(`UPDATE runs SET status = 'interrupted', finished_at = ?, error = 'the process ended before the run finished' WHERE source = ? AND status = 'running'`).run(finishedAt, source);
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

export const LEDGER_TABLES = ['runs', 'files', 'parts', 'watermarks', 'quarantine'] as const;
export type LedgerTable = (typeof LEDGER_TABLES)[number];
