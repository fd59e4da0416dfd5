// Where everything carelake writes lives. Every path is derived here from the lake root and an
// identity (source, dataset, run), so no other module invents a path of its own. The layout is
// documented in README.md ("Lake layout").

import { join, resolve } from 'node:path';
import { runLogFile } from './logger.ts';

export interface RawPartIdentity {
  source: string;
  dataset: string;
  loadDate: string; // YYYY-MM-DD
  runId: string;
  part: number;
}

export class LakeLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get rawDir(): string {
    return join(this.root, 'raw');
  }
  get quarantineDir(): string {
    return join(this.root, 'quarantine');
  }
  get serving(): string {
    return join(this.root, 'serving');
  }
  get logs(): string {
    return join(this.root, 'logs');
  }
  get secrets(): string {
    return join(this.root, 'secrets');
  }
  /** Scratch space on the lake's own filesystem, so finished files can be renamed into place atomically. */
  get tmp(): string {
    return join(this.root, 'tmp');
  }
  get warehouse(): string {
    return join(this.root, 'warehouse.duckdb');
  }
  /** Held by whoever writes the warehouse: a build, or a terminology load. */
  get warehouseLock(): string {
    return join(this.root, 'locks', 'warehouse.lock');
  }
  /** Held while a source runs, by whichever process runs it (the scheduler or the CLI). */
  sourceLock(source: string): string {
    return join(this.root, 'locks', `source-${source}.lock`);
  }
  /** Held by the one `carelake schedule` process a lake may have (PID inside; a dead PID's lock is taken over). */
  get schedulerLock(): string {
    return join(this.root, 'locks', 'scheduler.lock');
  }
  /** One run's log lines, as also written to logs/carelake.log. */
  runLog(runId: string): string {
    return runLogFile(this.logs, runId);
  }
  get ledger(): string {
    return join(this.root, 'ops.sqlite');
  }
  get lockFile(): string {
    return join(this.root, 'lake.lock');
  }
  /** The governed-access audit trail (warehouse/audit): append-only, hash-chained JSON Lines. */
  get auditDir(): string {
    return join(this.root, 'audit');
  }
  get auditLog(): string {
    return join(this.auditDir, 'audit.jsonl');
  }
  /** Seq and hash of the last audit entry, replaced atomically after each append: a cut tail shows. */
  get auditHead(): string {
    return join(this.auditDir, 'audit.head.json');
  }
  /** Held for the few milliseconds an append (or a verify's snapshot) takes. */
  get auditLock(): string {
    return join(this.auditDir, 'audit.lock');
  }
  /** The file naming the serving database readers should open; replaced atomically on publish. */
  get servingPointer(): string {
    return join(this.serving, 'current.json');
  }

  rawSourceDir(source: string): string {
    return join(this.rawDir, source);
  }

  rawDatasetDir(source: string, dataset: string): string {
    return join(this.rawDir, source, dataset);
  }

  /** `raw/<source>/<dataset>/load_date=YYYY-MM-DD/<run_id>-<n>.parquet` */
  rawPart(id: RawPartIdentity): string {
    return join(this.rawDatasetDir(id.source, id.dataset), `load_date=${id.loadDate}`, `${id.runId}-${id.part}.parquet`);
  }

  /** Glob over every landed part of a dataset, for read_parquet(…, hive_partitioning = true). */
  rawGlob(source: string, dataset: string): string {
    return join(this.rawDatasetDir(source, dataset), '*', '*.parquet');
  }

  /**
   * `index/<source>/<name>.duckdb`: a lookup a connector derives from the source's raw parts (e.g.
   * the keys of landed HL7 messages). A cache: deleting it only costs a rebuild.
   */
  indexFile(source: string, name: string): string {
    return join(this.root, 'index', source, `${name}.duckdb`);
  }

  quarantineRunDir(source: string, runId: string): string {
    return join(this.quarantineDir, source, runId);
  }

  servingFile(role: string, releaseId: string): string {
    return join(this.serving, `${role}-${releaseId}.duckdb`);
  }
}
