// Runs one checked analyst statement on a serving database with a row limit and a time limit.
//
// Why it looks like this:
// - Each query gets its own connection (`db.connect()`) to the serving instance: a DuckDB connection
//   runs one statement at a time, a new statement invalidates a streaming result, and an interrupt
//   stops whatever runs on the connection, so sharing one connection between requests would let one
//   analyst's query cut off or cancel another's. The engine settings (enable_external_access=false,
//   lock_configuration) are database-wide, so they hold on every such connection (tested). Closing the
//   connection afterwards also drops anything connection-local (temp objects, variables).
// - The statement is run through `DuckDb.streamOne(…, { selectOnly: true })`: DuckDB counts the
//   statements again and refuses anything its planner does not call SELECT, so even a statement check
//   bug cannot run a second statement or a non-SELECT here.
// - Rows are fetched one DuckDB chunk (≤ 2048 rows) at a time and handed on as they come; at most
//   maxRows rows are ever converted to JS values, and one more chunk is peeked (never converted) only
//   to learn whether the result was cut off.
// - The time limit is wall-clock from the start of `runQuery` to the last row handed over (a slow
//   reader uses it up too, which also bounds how long a connection can be held). On expiry the
//   connection is interrupted. DuckDB 1.5.6 reports an interrupt of a blocking query as
//   "INTERRUPT Error", but a streaming result interrupted between fetches can just END (tested), so
//   the runner keeps its own timed-out flag and never mistakes an interrupted result for a complete one.
// - DuckDB's messages become `query.failed` errors a user can be shown: values scrubbed as in
//   core/duckdb.ts, and file paths (the engine names the file it refused) removed.

import type { DuckDBResult, DuckDBType, DuckDBTypeId, DuckDBValue } from '@duckdb/node-api';
import { scrubValues, type DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { StatementCheck } from './statementCheck.ts';

export interface QueryLimits {
  /** Rows handed over at most; more make `truncated` true. 0 returns the columns only. */
  maxRows: number;
  /** Wall-clock budget in milliseconds for running the query and handing over its rows. */
  timeoutMs: number;
  /** Aborting (e.g. the HTTP client went away) stops the query like a timeout, with `query.cancelled`. */
  signal?: AbortSignal;
}

export interface QueryColumn {
  name: string;
  /** DuckDB's name for the type, e.g. `BIGINT`, `DECIMAL(18,3)`, `VARCHAR[]`, `JSON`. */
  type: string;
  typeId: DuckDBTypeId;
  duckdbType: DuckDBType;
}

/** A batch of rows, each an array of DuckDB values in column order. */
export type QueryRows = readonly (readonly DuckDBValue[])[];

/** What the encoders in resultFormats.ts need; a QueryResult is one. */
export interface ResultSource extends AsyncIterable<QueryRows> {
  readonly columns: readonly QueryColumn[];
  /** Rows handed over so far; final once iteration has ended. */
  readonly rowCount: number;
  /** True once it is known that rows beyond maxRows were left out; final once iteration has ended. */
  readonly truncated: boolean;
}

export interface QueryResult extends ResultSource {
  readonly sql: string;
  /** Settles when the query's connection has been closed (after the rows are read, a failure, or close()). */
  readonly closed: Promise<void>;
  /** Stops the query and releases its connection; safe to call at any time, more than once. */
  close(): void;
}

/**
 * Starts `statement` on its own connection to `db` and waits for the first rows, so that a failing
 * statement (missing table, bad column, engine refusal, timeout before any row) rejects here, before
 * anything is sent to a client. Iterate the result once to get the rows.
 *
 * Errors: `query.failed` (DuckDB refused or failed; message safe to show), `query.timeout`,
 * `query.cancelled`, `query.refused` (DuckDB did not see exactly one SELECT), `query.limits` (bad limits).
 */
export async function runQuery(db: DuckDb, statement: StatementCheck, limits: QueryLimits): Promise<QueryResult> {
  checkLimits(limits);
  const run = new Run(db, statement.sql, limits);
  try {
    await run.start();
  } catch (err) {
    run.close();
    throw err;
  }
  return run;
}

function checkLimits(limits: QueryLimits): void {
  const ok = Number.isSafeInteger(limits.maxRows) && limits.maxRows >= 0 && Number.isFinite(limits.timeoutMs) && limits.timeoutMs > 0;
  if (!ok) {
    throw new CarelakeError({
      code: 'query.limits',
      kind: 'internal',
      message: `Invalid query limits: maxRows must be a whole number ≥ 0 and timeoutMs a number > 0`,
    });
  }
}

type Chunk = Awaited<ReturnType<DuckDBResult['fetchChunk']>>;

class Run implements QueryResult {
  columns: QueryColumn[] = [];
  rowCount = 0;
  truncated = false;
  readonly closed: Promise<void>;

  private connection: DuckDb | null = null;
  private result: DuckDBResult | null = null;
  private firstChunk: Chunk = null;
  private iterated = false;
  /** The DuckDB call in progress, so the connection is closed only once it has returned. */
  private inflight: Promise<unknown> = Promise.resolve();
  /** Set when the run is stopped early; every later step throws it. */
  private stopped: CarelakeError | null = null;
  private finished = false;
  private readonly stop: Promise<never>;
  private rejectStop!: (err: CarelakeError) => void;
  private resolveClosed!: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = (): void => this.halt(cancelledError());

  constructor(
    private readonly db: DuckDb,
    readonly sql: string,
    private readonly limits: QueryLimits,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.stop = new Promise<never>((_, reject) => (this.rejectStop = reject));
    this.stop.catch(() => undefined);
    this.timer = setTimeout(() => this.halt(timeoutError(limits.timeoutMs)), limits.timeoutMs);
    this.timer.unref();
    if (limits.signal?.aborted) this.halt(cancelledError());
    else limits.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async start(): Promise<void> {
    // Recorded as soon as it exists, so a run stopped while connecting still closes it.
    const connection = await this.step(
      this.db.connect().then((opened) => {
        this.connection = opened;
        return opened;
      }),
    );
    const result = await this.step(connection.streamOne(this.sql, { selectOnly: true }, 'run the query'));
    this.result = result;
    this.columns = Array.from({ length: result.columnCount }, (_, i) => {
      const duckdbType = result.columnType(i);
      return { name: result.columnName(i), type: duckdbType.alias ?? duckdbType.toString(), typeId: result.columnTypeId(i), duckdbType };
    });
    this.firstChunk = await this.fetch();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<QueryRows> {
    if (this.iterated) throw new CarelakeError({ code: 'query.reused', kind: 'internal', message: 'A query result can be read only once' });
    this.iterated = true;
    try {
      let chunk = this.firstChunk;
      this.firstChunk = null;
      let ended = false;
      for (;;) {
        if (!chunk || chunk.rowCount === 0) {
          ended = true;
          break;
        }
        const remaining = this.limits.maxRows - this.rowCount;
        const take = Math.min(remaining, chunk.rowCount);
        if (take > 0) {
          const rows: DuckDBValue[][] = [];
          for (let i = 0; i < take; i++) rows.push(chunk.getRowValues(i));
          this.rowCount += take;
          yield rows;
          if (this.stopped) throw this.stopped;
        }
        if (chunk.rowCount > take) {
          this.truncated = true;
          break;
        }
        chunk = await this.fetch();
        if (chunk && chunk.rowCount > 0 && this.rowCount >= this.limits.maxRows) {
          this.truncated = true;
          break;
        }
      }
      if (this.stopped) throw this.stopped;
      // A truncated result is still running in DuckDB (paused): it is interrupted before its connection closes.
      this.finish(ended);
    } finally {
      // Also when the consumer stops early (break, destroyed stream): stop the query, free the connection.
      this.finish(false);
    }
  }

  close(): void {
    this.halt(cancelledError());
  }

  /** Fetches the next chunk; an interrupted stream that merely "ends" still reports the timeout. */
  private async fetch(): Promise<Chunk> {
    const result = this.result!;
    const chunk = await this.step(result.fetchChunk());
    if (this.stopped) throw this.stopped;
    return chunk;
  }

  /** Awaits a DuckDB call, giving up at once when the run is stopped (the call is remembered and waited for before closing). */
  private async step<T>(work: Promise<T>): Promise<T> {
    if (this.stopped) throw this.stopped;
    this.inflight = work.catch(() => undefined);
    try {
      return await Promise.race([work, this.stop]);
    } catch (err) {
      throw this.stopped ?? userFacingError(err, this.db.path);
    }
  }

  /** Timeout, abort: interrupt DuckDB, make every pending and later step fail with `reason`, release the connection. */
  private halt(reason: CarelakeError): void {
    if (this.finished || this.stopped) return;
    this.stopped = reason;
    this.rejectStop(reason);
    this.finish(false);
  }

  /** `ended`: DuckDB said the result is complete, so there is nothing to interrupt. */
  private finish(ended: boolean): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.limits.signal?.removeEventListener('abort', this.onAbort);
    this.firstChunk = null;
    const connection = this.connection;
    if (!ended && connection) connection.interrupt();
    // Closing a connection while DuckDB is still working on it is not safe: wait for the call to return.
    void this.inflight.then(async () => {
      // A connect() that was still pending when the run stopped hands its connection over here.
      const late = this.connection;
      this.result = null;
      this.connection = null;
      if (late) {
        if (!ended) late.interrupt();
        late.close();
      }
      this.resolveClosed();
    });
  }
}

// ---- errors -------------------------------------------------------------------------------------

function timeoutError(timeoutMs: number): CarelakeError {
  return new CarelakeError({
    code: 'query.timeout',
    kind: 'runtime',
    message: `The query was stopped after the time limit of ${formatMs(timeoutMs)}`,
    hint: 'filter or aggregate in SQL so fewer rows are scanned or returned, or avoid large cross joins',
  });
}

function cancelledError(): CarelakeError {
  return new CarelakeError({ code: 'query.cancelled', kind: 'runtime', message: 'The query was cancelled' });
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * A DuckDB failure as a message an analyst may see: the engine's own words (so "Table with name x
 * does not exist! Did you mean y?" stays useful), with data values scrubbed (core/duckdb.ts) and file
 * paths removed. The raw error stays on `cause` for logs that may hold it.
 */
export function userFacingError(err: unknown, servingPath?: string): CarelakeError {
  if (err instanceof CarelakeError && err.code !== 'duckdb.error') {
    if (err.code === 'duckdb.statement-count' || err.code === 'duckdb.statement-type') {
      return new CarelakeError({ code: 'query.refused', kind: 'runtime', message: `Query refused: ${err.message.replace(/^DuckDB failed to [^:]*: /, '')}`, cause: err });
    }
    if (err.code.startsWith('query.')) return err;
  }
  const raw = rawMessage(err);
  return new CarelakeError({
    code: 'query.failed',
    kind: 'runtime',
    message: `The query failed: ${safeDuckDbMessage(raw, servingPath)}`,
    cause: err,
  });
}

function rawMessage(err: unknown): string {
  // wrapDuckDbError keeps DuckDB's own error as the cause; its message has no "[SQL: …]" suffix.
  const source = err instanceof CarelakeError && err.cause !== undefined ? err.cause : err;
  return source instanceof Error ? source.message : String(source);
}

/** Scrubs values like core/duckdb.ts, then paths: anything quoted that looks like a path, and the serving file wherever it appears. */
export function safeDuckDbMessage(message: string, servingPath?: string): string {
  let text = scrubValues(message.replace(/^Failed to [^:]*: /, ''));
  if (servingPath && servingPath !== ':memory:') {
    const dir = servingPath.replace(/[\\/][^\\/]*$/, '');
    text = text.split(servingPath).join('<serving file>');
    if (dir) text = text.split(dir).join('<serving directory>');
  }
  text = text.replace(/"(?:[^"\\]|\\.)*[\\/](?:[^"\\]|\\.)*"/g, '"<path>"').replace(/'(?:[^'\\]|\\.)*[\\/](?:[^'\\]|\\.)*'/g, "'<path>'");
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}
