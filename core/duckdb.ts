// The one module that opens DuckDB and runs SQL; everything else asks it. It translates DuckDB's
// errors once, naming the step and the SQL, and turns "file is locked" into a message a person can act on.

import { DuckDBDateValue, DuckDBInstance, DuckDBTimestampTZValue, DuckDBTimestampValue, LIST, StatementType, VARCHAR, type DuckDBAppender, type DuckDBConnection, type DuckDBResult, type DuckDBScalarFunction, type DuckDBValue } from '@duckdb/node-api';
import { CarelakeError } from './errors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Row = Record<string, Json>;
export type Params = DuckDBValue[] | Record<string, DuckDBValue>;

export interface OpenOptions {
  readOnly?: boolean;
  /** DuckDB settings applied at open, e.g. { threads: '2', memory_limit: '2GB' }. */
  settings?: Record<string, string>;
}

export class DuckDb {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** False for a handle from `connect()`: closing it leaves the database open. */
    private readonly ownsInstance = true,
  ) {}

  /** Opens a database file (or ':memory:'). A file held by another writer gives a clear `duckdb.locked` error. */
  static async open(path: string, options: OpenOptions = {}): Promise<DuckDb> {
    const config: Record<string, string> = { ...options.settings };
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    // Extensions cannot be downloaded here, and a served file must never try to.
    config.autoinstall_known_extensions = 'false';
    config.autoload_known_extensions = 'false';
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (err) {
      throw openError(path, err);
    }
    try {
      const connection = await instance.connect();
      return new DuckDb(path, instance, connection);
    } catch (err) {
      instance.closeSync();
      throw wrapDuckDbError(`connect to ${path}`, '', err);
    }
  }

  async run(sql: string, params?: Params, step = 'run SQL'): Promise<void> {
    try {
      await this.connection.run(sql, params);
    } catch (err) {
      throw wrapDuckDbError(step, sql, err);
    }
  }

  /** All rows as JSON-safe objects (BIGINT as string where it exceeds 2^53, dates as ISO text). */
  async all(sql: string, params?: Params, step = 'query'): Promise<Row[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql, params);
      return reader.getRowObjectsJson() as Row[];
    } catch (err) {
      throw wrapDuckDbError(step, sql, err);
    }
  }

  /** Column names, their DuckDB types (e.g. BIGINT, DATE) and rows as arrays, for tabular output. */
  async table(sql: string, params?: Params, step = 'query'): Promise<{ columns: string[]; types: string[]; rows: Json[][] }> {
    try {
      const reader = await this.connection.runAndReadAll(sql, params);
      return { columns: reader.columnNames(), types: reader.columnTypes().map((t) => t.toString()), rows: reader.getRowsJson() as Json[][] };
    } catch (err) {
      throw wrapDuckDbError(step, sql, err);
    }
  }

  /** Rows in batches as DuckDB produces them, so a large result never sits in memory whole. */
  async *stream(sql: string, params?: Params, step = 'query'): AsyncGenerator<Row[]> {
    let result;
    try {
      result = await this.connection.stream(sql, params);
    } catch (err) {
      throw wrapDuckDbError(step, sql, err);
    }
    try {
      for await (const rows of result.yieldRowObjectJson()) yield rows as Row[];
    } catch (err) {
      throw wrapDuckDbError(step, sql, err);
    }
  }

  /**
   * Streams exactly ONE statement, as DuckDB's own parser counts them: several are refused before any
   * runs (`stream` above, like the driver's, would run all but the last first). With `selectOnly`, a
   * statement DuckDB does not classify as SELECT is refused after preparing (binding) and before it
   * runs. Returns the raw result so the caller decides how many chunks to fetch.
   */
  async streamOne(sql: string, options: { selectOnly?: boolean } = {}, step = 'query'): Promise<DuckDBResult> {
    let prepared;
    try {
      const extracted = await this.connection.extractStatements(sql);
      if (extracted.count !== 1) {
        throw new CarelakeError({
          code: 'duckdb.statement-count',
          kind: 'runtime',
          message: `DuckDB failed to ${step}: expected exactly one SQL statement, found ${extracted.count}`,
        });
      }
      prepared = await extracted.prepare(0);
    } catch (err) {
      throw err instanceof CarelakeError ? err : wrapDuckDbError(step, sql, err);
    }
    try {
      if (options.selectOnly && prepared.statementType !== StatementType.SELECT) {
        throw new CarelakeError({
          code: 'duckdb.statement-type',
          kind: 'runtime',
          message: `DuckDB failed to ${step}: only a SELECT statement may run here, not a ${StatementType[prepared.statementType] ?? 'different'} statement`,
        });
      }
      return await prepared.stream();
    } catch (err) {
      throw err instanceof CarelakeError ? err : wrapDuckDbError(step, sql, err);
    } finally {
      // The streaming result keeps what it needs; the prepared statement can go.
      prepared.destroySync();
    }
  }

  /**
   * Asks DuckDB to stop the statement running on this connection; a no-op when idle. A blocking
   * query then fails with "INTERRUPT Error", but a streaming result interrupted between fetches may
   * simply end early, so a caller that interrupts must remember that it did.
   */
  interrupt(): void {
    this.connection.interrupt();
  }

  async scalar(sql: string, params?: Params, step = 'query'): Promise<Json> {
    const rows = await this.table(sql, params, step);
    return rows.rows[0]?.[0] ?? null;
  }

  /** `catalog` lets a caller append to a connection-local table (`temp`) rather than one in the file. */
  async appender(table: string, schema?: string, catalog?: string): Promise<DuckDBAppender> {
    try {
      return await this.connection.createAppender(table, schema ?? null, catalog ?? null);
    } catch (err) {
      const where = [catalog, schema, table].filter((part) => part !== undefined).join('.');
      throw wrapDuckDbError(`open appender on ${where}`, '', err);
    }
  }

  /** A typed appender for bulk loads: one call per row, values checked against the declared column types. */
  async rowAppender(table: string, types: readonly ColumnType[], schema?: string, catalog?: string): Promise<RowAppender> {
    return new RowAppender(await this.appender(table, schema, catalog), types);
  }

  /**
   * Adds a scalar function to this connection's catalog only: it is never written to the database
   * file, so whatever the function closes over (e.g. a key) stays in this process.
   */
  registerScalarFunction(fn: DuckDBScalarFunction): void {
    try {
      this.connection.registerScalarFunction(fn);
    } catch (err) {
      throw wrapDuckDbError('register a scalar function', '', err);
    }
  }

  /**
   * Another connection to the same open database, for running statements in parallel (each connection
   * has its own transaction). Functions registered on any connection are visible to all of them.
   * Close it before the handle it came from.
   */
  async connect(): Promise<DuckDb> {
    try {
      return new DuckDb(this.path, this.instance, await this.instance.connect(), false);
    } catch (err) {
      throw wrapDuckDbError(`connect to ${this.path}`, '', err);
    }
  }

  close(): void {
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

/** Opens, hands the database to `work`, and always closes. */
export async function withDuckDb<T>(path: string, options: OpenOptions, work: (db: DuckDb) => Promise<T>): Promise<T> {
  const db = await DuckDb.open(path, options);
  try {
    return await work(db);
  } finally {
    db.close();
  }
}

export function wrapDuckDbError(step: string, sql: string, err: unknown): CarelakeError {
  const detail = scrubValues(err instanceof Error ? err.message : String(err));
  const firstLine = sql.trim().split('\n')[0] ?? '';
  return new CarelakeError({
    code: 'duckdb.error',
    kind: 'runtime',
    message: `DuckDB failed to ${step}: ${detail}${firstLine ? ` [SQL: ${firstLine.slice(0, 160)}]` : ''}`,
    cause: err,
  });
}

/**
 * DuckDB quotes the offending value in errors about data ("Could not convert string '9434765919' to
 * INT32", "invalid date field format: \"…\"", "Duplicate key \"id: …\"", "…Input: \"{…}\""). Those values
 * can be identifiers, and error messages reach logs, so in the error classes that concern data every
 * quoted string is cut out, once, here. Binder and catalog errors keep their quotes: they name tables.
 */
export function scrubValues(message: string): string {
  const concernsData = /^(Conversion|Invalid Input|Constraint|Out of Range) Error/i.test(message);
  const scrubbed = concernsData ? message.replace(/'(?:[^']|'')*'/g, "'…'").replace(/"(?:[^"\\]|\\.)*"/g, '"…"') : message;
  return scrubbed.replace(/(Input:|input:) .*$/gm, '$1 …');
}

function openError(path: string, err: unknown): CarelakeError {
  const detail = err instanceof Error ? err.message : String(err);
  if (/lock/i.test(detail)) {
    return new CarelakeError({
      code: 'duckdb.locked',
      kind: 'runtime',
      message: `The DuckDB file ${path} is open in another process`,
      location: { file: path },
      hint: 'wait for the running build or query to finish, or stop the other carelake process',
      cause: err,
    });
  }
  return new CarelakeError({
    code: 'duckdb.open',
    kind: 'runtime',
    message: `Cannot open DuckDB file ${path}: ${detail}`,
    location: { file: path },
    cause: err,
  });
}

export type ColumnType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP' | 'TIMESTAMPTZ' | 'VARCHAR[]';
export type CellValue = string | number | bigint | boolean | null | readonly string[];

const VARCHAR_LIST = LIST(VARCHAR);

type CellWriter = (appender: DuckDBAppender, value: CellValue) => void;

const cellWriters: Record<ColumnType, CellWriter> = {
  VARCHAR: (a, v) => a.appendVarchar(String(v)),
  BIGINT: (a, v) => a.appendBigInt(typeof v === 'bigint' ? v : BigInt(v as number)),
  INTEGER: (a, v) => a.appendInteger(Number(v)),
  DOUBLE: (a, v) => a.appendDouble(Number(v)),
  BOOLEAN: (a, v) => a.appendBoolean(Boolean(v)),
  // An ISO date, e.g. 2024-03-05.
  DATE: (a, v) => a.appendDate(new DuckDBDateValue(Date.parse(`${String(v)}T00:00:00Z`) / 86_400_000)),
  // A local date-time without offset, e.g. 2024-03-05T09:15:00 (read as written, no zone applied).
  TIMESTAMP: (a, v) => a.appendTimestamp(new DuckDBTimestampValue(BigInt(Date.parse(`${String(v)}Z`)) * 1000n)),
  // An ISO 8601 instant, e.g. 2024-03-05T09:15:00.000Z.
  TIMESTAMPTZ: (a, v) => a.appendTimestampTZ(new DuckDBTimestampTZValue(BigInt(Date.parse(String(v))) * 1000n)),
  'VARCHAR[]': (a, v) => a.appendList(v as readonly string[], VARCHAR_LIST),
};

export class RowAppender {
  private readonly writers: CellWriter[];

  constructor(
    private readonly appender: DuckDBAppender,
    readonly types: readonly ColumnType[],
  ) {
    this.writers = types.map((t) => cellWriters[t]);
  }

  appendRow(values: readonly CellValue[]): void {
    const { appender, writers } = this;
    for (let i = 0; i < writers.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) appender.appendNull();
      else writers[i]!(appender, v);
    }
    appender.endRow();
  }

  flush(): void {
    this.appender.flushSync();
  }

  close(): void {
    this.appender.closeSync();
  }
}
