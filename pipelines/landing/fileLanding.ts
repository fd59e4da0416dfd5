// Lands one source file: records are appended into an in-memory DuckDB buffer per dataset, written out
// as Parquet parts in lake/tmp/ every PART_ROWS rows (so memory stays flat however large the file),
// and only on commit recorded in the ledger and renamed into raw/. Until then nothing is visible in
// the lake; `abort()` or a whole-file quarantine leaves raw/ untouched.
//
// Crash safety: ledger intent (file `landing` + part paths) → rename parts → ledger `landed`.
// `recoverLandings()` completes or undoes an intent a crash left behind.

import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDb, type ColumnType, type RowAppender } from '../../core/duckdb.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { quoteIdent, quoteLiteral } from '../../core/sql.ts';
import type { FileLandingPlan, FileStatus, Ledger, PartRecord, QuarantineRecord } from '../ledger/ledger.ts';
import { quarantineFile, QuarantineWriter, type RejectedRecord } from './quarantineStore.ts';
import { originalColumnOf, type RawDatasetSchema, type RawRecordValues } from './rawDataset.ts';

/** Rows per Parquet part: large enough for good row groups, small enough to keep memory flat. */
export const PART_ROWS = 250_000;

/**
 * Rows per Parquet row group. Raw rows carry their whole original record (a FHIR resource is often
 * over 1 KB), and the writer holds a row group in memory, so DuckDB's default of 122,880 rows would
 * cost hundreds of MB per writer (measured: 8,192 rows keeps a 211 MB file's landing under 500 MB).
 */
const ROW_GROUP_ROWS = 8_192;

export interface SourceFile {
  /** Path or URL, as recorded in lineage and the ledger. */
  location: string;
  bytes: number;
  sha256: string;
  /** Where the bytes are on this machine (for quarantining the whole file), if they are. */
  localPath: string | null;
  /**
   * Whether the bytes hold 0x1e (ASCII record separator), noted while hashing so fast paths that
   * split on it need not read the file again. Undefined when not checked.
   */
  hasRecordSeparator?: boolean;
}

/** A count a file declares (trailer, manifest) that disagreed with what was read. */
export interface Reconciliation {
  what: string;
  declared: number | null;
  actual: number;
}

export interface FileOutcome {
  location: string;
  status: Exclude<FileStatus, 'landing'>;
  recordsIn: number;
  recordsLanded: number;
  recordsQuarantined: number;
  /** Records the source's own filter chose not to land (not an error). */
  recordsFiltered: number;
  parts: PartRecord[];
  reconciliation: Reconciliation[];
}

export interface LandingContext {
  layout: LakeLayout;
  ledger: Ledger;
  buffer: DuckDb;
  source: string;
  runId: string;
  loadDate: string;
  ingestedAt: string;
  /** Shared across the run's files so part numbers never repeat within a run and dataset. */
  nextPart(dataset: string): number;
  /** Unique buffer table names within the run's DuckDB. */
  nextTable(): string;
}

interface DatasetBuffer {
  schema: RawDatasetSchema;
  table: string;
  appender: RowAppender | null;
  rows: number;
  parts: { tmp: string; final: string; rows: number }[];
}

export class FileLanding {
  private readonly buffers = new Map<string, DatasetBuffer>();
  private readonly rejects: QuarantineWriter;
  private readonly rejectIndex: QuarantineRecord[] = [];
  private landed = 0;
  private filtered = 0;
  private wholeFile: { reason: string; field: string | null; recordsIn: number } | null = null;
  private done = false;

  constructor(
    private readonly ctx: LandingContext,
    readonly file: SourceFile,
  ) {
    this.rejects = new QuarantineWriter(ctx.layout.quarantineRunDir(ctx.source, ctx.runId), file.location);
  }

  get recordsLanded(): number {
    return this.landed;
  }
  get recordsQuarantined(): number {
    return this.rejects.rejected;
  }

  /** Appends one input record. `record` is its position (line number or byte offset) in the file. */
  async append(schema: RawDatasetSchema, record: number, original: string, values: RawRecordValues): Promise<void> {
    await this.appendRow(schema, record, original, values);
    this.landed++;
  }

  /**
   * Appends a row derived from a record already counted by `append` (e.g. one segment of a landed HL7
   * message), so record counts stay counts of input records.
   */
  async appendDerived(schema: RawDatasetSchema, record: number, original: string, values: RawRecordValues): Promise<void> {
    await this.appendRow(schema, record, original, values);
  }

  private async appendRow(schema: RawDatasetSchema, record: number, original: string, values: RawRecordValues): Promise<void> {
    const buffer = this.buffers.get(schema.dataset) ?? (await this.openBuffer(schema));
    buffer.appender ??= await this.ctx.buffer.rowAppender(buffer.table, bufferTypes(schema));
    buffer.appender.appendRow(originalColumnOf(schema) === null ? [BigInt(record), ...values] : [BigInt(record), ...values, original]);
    buffer.rows++;
    if (buffer.rows >= PART_ROWS) await this.flush(buffer);
  }

  /**
   * Lands rows straight from a DuckDB query, for inputs DuckDB reads faster than JavaScript can.
   * `rowsSql` yields `_record`, the schema's columns and its original-text column; `statusSql` is an
   * expression over those columns giving 'ok' or a problem status. Every row is written once to a
   * temporary Parquet file; when all are 'ok' (the usual case) that file is the part. Otherwise rows
   * with a `countOnly` status are counted, the other problems are handed to `onProblem` in record
   * order (the caller decides the reason and quarantines them), and the ok rows are rewritten, Parquet
   * to Parquet. Memory stays flat: nothing is held per status, unlike a partitioned COPY.
   */
  async landQuery(
    schema: RawDatasetSchema,
    rowsSql: string,
    statusSql: string,
    onProblem: (row: { record: number; original: string; status: string }) => Promise<void>,
    options: { countOnly?: readonly string[] } = {},
  ): Promise<{ landed: number; counted: Record<string, number> }> {
    const { layout, source, runId, loadDate, buffer: db } = this.ctx;
    const buffer = this.buffers.get(schema.dataset) ?? (await this.openBuffer(schema));
    const dir = join(layout.tmp, runId, source, schema.dataset, `query-${this.ctx.nextTable()}`);
    await mkdir(dir, { recursive: true });
    const all = join(dir, 'all.parquet');
    await db.run(
      `COPY (SELECT ${this.lineageSelect(schema)} FROM (${rowsSql})) TO ${quoteLiteral(all)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
      undefined,
      `land ${source}/${schema.dataset} from a query`,
    );
    const statuses = new Map<string, number>();
    for (const row of await db.all(`SELECT (${statusSql}) AS status, count(*)::BIGINT::VARCHAR AS n FROM read_parquet(${quoteLiteral(all)}) GROUP BY 1`)) {
      statuses.set(String(row.status), Number(row.n));
    }
    const counted: Record<string, number> = {};
    let part = all;
    if ([...statuses.keys()].some((s) => s !== 'ok')) {
      const quiet = ['ok', ...(options.countOnly ?? [])];
      for (const s of options.countOnly ?? []) if (statuses.has(s)) counted[s] = statuses.get(s)!;
      const original = quoteIdent(originalColumnOf(schema) ?? '_raw');
      for await (const rows of db.stream(
        `SELECT _record::VARCHAR AS record, ${original} AS original, status FROM (SELECT *, (${statusSql}) AS status FROM read_parquet(${quoteLiteral(all)})) WHERE status NOT IN (${quiet.map(quoteLiteral).join(', ')}) ORDER BY _record`,
      )) {
        for (const row of rows) await onProblem({ record: Number(row.record), original: String(row.original ?? ''), status: String(row.status) });
      }
      part = join(dir, 'ok.parquet');
      await db.run(
        `COPY (SELECT * FROM read_parquet(${quoteLiteral(all)}) WHERE (${statusSql}) = 'ok') TO ${quoteLiteral(part)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
        undefined,
        `keep the landed rows of ${source}/${schema.dataset}`,
      );
      await rm(all, { force: true });
    }
    // The part counts only once every problem row was handed over, so a failure above lands nothing.
    const landed = statuses.get('ok') ?? 0;
    if (landed > 0) {
      const n = this.ctx.nextPart(schema.dataset);
      buffer.parts.push({ tmp: part, final: layout.rawPart({ source, dataset: schema.dataset, loadDate, runId, part: n }), rows: landed });
    } else {
      await rm(part, { force: true });
    }
    this.landed += landed;
    return { landed, counted };
  }

  /**
   * Lands the rows of a DuckDB query as one Parquet part, for connectors that stage records in the
   * landing's scratch database (see `db`). `rowsSql` yields `_record`, the schema's columns and its
   * original-text column (if any). Rows count as landed records unless `derived` (rows about records
   * counted elsewhere, like the segments of landed messages). Returns the rows written and the part's
   * temporary path, which stays readable until commit (e.g. to check later rows against it).
   */
  async landRows(schema: RawDatasetSchema, rowsSql: string, options: { derived?: boolean } = {}): Promise<{ rows: number; path: string | null }> {
    const { layout, source, runId, loadDate, buffer: db } = this.ctx;
    const buffer = this.buffers.get(schema.dataset) ?? (await this.openBuffer(schema));
    const n = this.ctx.nextPart(schema.dataset);
    const tmp = join(layout.tmp, runId, source, schema.dataset, `${n}.parquet`);
    await mkdir(dirname(tmp), { recursive: true });
    const written = await db.all(
      `COPY (SELECT ${this.lineageSelect(schema)} FROM (${rowsSql})) TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS}, RETURN_STATS)`,
      undefined,
      `land ${source}/${schema.dataset} rows`,
    );
    const rows = written.reduce((sum, row) => sum + Number(row.count ?? 0), 0);
    if (rows === 0) {
      await rm(tmp, { force: true });
      return { rows, path: null };
    }
    buffer.parts.push({ tmp, final: layout.rawPart({ source, dataset: schema.dataset, loadDate, runId, part: n }), rows });
    if (!options.derived) this.landed += rows;
    return { rows, path: tmp };
  }

  /** The landing's scratch DuckDB (in memory, one per landing slot), for staging rows in SQL. */
  get db(): DuckDb {
    return this.ctx.buffer;
  }

  /** A folder under lake/tmp for this file's scratch files; removed with the run's temporary files. */
  async scratchDir(): Promise<string> {
    const dir = join(this.ctx.layout.tmp, this.ctx.runId, this.ctx.source, `scratch-${this.ctx.nextTable()}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Counts records a source's own filter (e.g. `_typeFilter` re-applied locally) chose not to land. */
  recordFiltered(count = 1): void {
    this.filtered += count;
  }

  /** Whether a SQL predicate over `column` holds for this one record text, evaluated by the landing's DuckDB. */
  async matches(predicate: string, column: string, text: string): Promise<boolean> {
    return (await this.ctx.buffer.scalar(`SELECT ${predicate} FROM (SELECT ?::VARCHAR AS ${quoteIdent(column)})`, [text], 'evaluate a record filter')) === true;
  }

  /** Quarantines one record with the reason; the rest of the file goes on. */
  async reject(reject: RejectedRecord): Promise<void> {
    await this.rejects.write(reject);
    this.rejectIndex.push({
      run_id: this.ctx.runId,
      source: this.ctx.source,
      location: this.file.location,
      record: reject.record,
      field: reject.field ?? null,
      reason: reject.reason,
      stored_at: this.rejects.path,
    });
  }

  /**
   * Rejects the whole file (e.g. a trailer count that does not reconcile): nothing of it lands, and
   * all of its `recordsIn` records count as quarantined.
   */
  rejectWholeFile(reason: string, recordsIn: number, field: string | null = null): void {
    this.wholeFile = { reason, field, recordsIn };
  }

  async commit(reconciliation: Reconciliation[] = []): Promise<FileOutcome> {
    if (this.done) throw new Error('FileLanding.commit called twice');
    this.done = true;
    await this.rejects.close();
    const { ledger, source, runId, ingestedAt } = this.ctx;
    if (this.wholeFile) return this.commitWholeFileRejection(this.wholeFile, reconciliation);

    for (const buffer of this.buffers.values()) if (buffer.rows > 0) await this.flush(buffer);
    const parts: PartRecord[] = [...this.buffers.values()].flatMap((b) =>
      b.parts.map((p) => ({ run_id: runId, source, dataset: b.schema.dataset, path: p.final, rows: p.rows, file_sha256: this.file.sha256 })),
    );
    const quarantined = this.rejects.rejected;
    ledger.recordIntent({
      file: this.fileRecord(this.landed, quarantined, reconciliation, this.filtered),
      parts,
      quarantine: this.rejectIndex,
      status: 'landed',
      at: ingestedAt,
    });
    for (const buffer of this.buffers.values()) {
      for (const part of buffer.parts) {
        await mkdir(dirname(part.final), { recursive: true });
        await rename(part.tmp, part.final);
      }
    }
    if (parts.length > 0) ledger.markFinal(source, this.file.sha256, 'landed', ingestedAt);
    await this.dropBuffers();
    return {
      location: this.file.location,
      status: 'landed',
      recordsIn: this.landed + quarantined + this.filtered,
      recordsLanded: this.landed,
      recordsQuarantined: quarantined,
      recordsFiltered: this.filtered,
      parts,
      reconciliation,
    };
  }

  /** Leaves the lake as it was: temp parts and buffers removed, nothing recorded. */
  async abort(): Promise<void> {
    this.done = true;
    await this.rejects.close();
    await this.discardParts();
    await this.dropBuffers();
  }

  private async commitWholeFileRejection(whole: { reason: string; field: string | null; recordsIn: number }, reconciliation: Reconciliation[]): Promise<FileOutcome> {
    const { ledger, layout, source, runId, ingestedAt } = this.ctx;
    await this.discardParts();
    await this.dropBuffers();
    const stored = await quarantineFile(layout.quarantineRunDir(source, runId), this.file.location, this.file.localPath, {
      reason: whole.reason,
      field: whole.field,
      records: whole.recordsIn,
      reconciliation,
    });
    ledger.recordIntent({
      file: this.fileRecord(0, whole.recordsIn, reconciliation),
      parts: [],
      quarantine: [{ run_id: runId, source, location: this.file.location, record: '(whole file)', field: whole.field, reason: whole.reason, stored_at: stored }],
      status: 'quarantined',
      at: ingestedAt,
    });
    return {
      location: this.file.location,
      status: 'quarantined',
      recordsIn: whole.recordsIn,
      recordsLanded: 0,
      recordsQuarantined: whole.recordsIn,
      recordsFiltered: 0,
      parts: [],
      reconciliation,
    };
  }

  private fileRecord(landed: number, quarantined: number, reconciliation: Reconciliation[], filtered = 0): FileLandingPlan['file'] {
    return {
      source: this.ctx.source,
      location: this.file.location,
      sha256: this.file.sha256,
      bytes: this.file.bytes,
      run_id: this.ctx.runId,
      records_in: landed + quarantined + filtered,
      records_landed: landed,
      records_quarantined: quarantined,
      records_filtered: filtered,
      reconciliation: reconciliation.length ? JSON.stringify(reconciliation) : null,
    };
  }

  private async openBuffer(schema: RawDatasetSchema): Promise<DatasetBuffer> {
    const table = this.ctx.nextTable();
    const original = originalColumnOf(schema);
    const columns = [
      `_record BIGINT`,
      ...schema.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`),
      ...(original === null ? [] : [`${quoteIdent(original)} VARCHAR`]),
    ];
    await this.ctx.buffer.run(`CREATE TABLE ${quoteIdent(table)} (${columns.join(', ')})`, undefined, `create landing buffer for ${schema.dataset}`);
    const buffer: DatasetBuffer = { schema, table, appender: null, rows: 0, parts: [] };
    this.buffers.set(schema.dataset, buffer);
    return buffer;
  }

  /** Writes the buffered rows as one Parquet part in lake/tmp and empties the buffer. */
  private async flush(buffer: DatasetBuffer): Promise<void> {
    const { layout, source, runId, loadDate, ingestedAt } = this.ctx;
    buffer.appender?.close();
    buffer.appender = null;
    const part = this.ctx.nextPart(buffer.schema.dataset);
    const final = layout.rawPart({ source, dataset: buffer.schema.dataset, loadDate, runId, part });
    const tmp = join(layout.tmp, runId, source, buffer.schema.dataset, `${part}.parquet`);
    await mkdir(dirname(tmp), { recursive: true });
    await this.ctx.buffer.run(
      `COPY (SELECT ${this.lineageSelect(buffer.schema)} FROM ${quoteIdent(buffer.table)} ORDER BY _record) TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
      undefined,
      `write a Parquet part of ${source}/${buffer.schema.dataset}`,
    );
    await this.ctx.buffer.run(`DELETE FROM ${quoteIdent(buffer.table)}`);
    buffer.parts.push({ tmp, final, rows: buffer.rows });
    buffer.rows = 0;
  }

  /** The columns of a raw part, in order: the record's columns, its original text, then lineage. */
  private lineageSelect(schema: RawDatasetSchema): string {
    const { runId, source, ingestedAt } = this.ctx;
    const original = originalColumnOf(schema);
    return [
      ...schema.columns.map((c) => quoteIdent(c.name)),
      ...(original === null ? [] : [quoteIdent(original)]),
      `${quoteLiteral(runId)} AS _run_id`,
      `${quoteLiteral(source)} AS _source`,
      `${quoteLiteral(this.file.location)} AS _file`,
      `_record::BIGINT AS _record`,
      `TIMESTAMPTZ ${quoteLiteral(ingestedAt)} AS _ingested_at`,
    ].join(', ');
  }

  private async discardParts(): Promise<void> {
    for (const buffer of this.buffers.values()) {
      for (const part of buffer.parts) await rm(part.tmp, { force: true });
      buffer.parts = [];
    }
  }

  private async dropBuffers(): Promise<void> {
    for (const buffer of this.buffers.values()) {
      buffer.appender?.close();
      buffer.appender = null;
      await this.ctx.buffer.run(`DROP TABLE IF EXISTS ${quoteIdent(buffer.table)}`);
    }
    this.buffers.clear();
  }
}

function bufferTypes(schema: RawDatasetSchema): ColumnType[] {
  return ['BIGINT', ...schema.columns.map((c) => c.type), ...(originalColumnOf(schema) === null ? [] : ['VARCHAR' as const])];
}

/**
 * Finishes what a crash interrupted: an intent whose parts all reached raw/ is marked landed; one
 * whose parts did not is undone (parts that arrived are removed) so the file lands again.
 */
export async function recoverLandings(ledger: Ledger, source: string, now: string): Promise<{ completed: number; undone: number }> {
  let completed = 0;
  let undone = 0;
  for (const { file, parts } of ledger.pendingIntents(source)) {
    const present = await Promise.all(parts.map((p) => stat(p.path).then(() => true, () => false)));
    if (present.every(Boolean)) {
      ledger.markFinal(source, file.sha256, 'landed', now);
      completed++;
    } else {
      for (const [i, p] of parts.entries()) if (present[i]) await rm(p.path, { force: true });
      ledger.forgetIntent(source, file.sha256);
      undone++;
    }
  }
  ledger.markInterrupted(source, now);
  return { completed, undone };
}
