// The analyst query path on a real DuckDB file opened the way the serving layer opens it (read-only,
// SERVING_CONNECTION_SETTINGS): row limit, time limit with interrupt, user-safe errors, the three result
// formats round-tripped through independent readers, and the engine refusing files/ATTACH/COPY even
// when the statement check is bypassed.

import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { tableFromIPC, Type } from 'apache-arrow';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { runQuery, type QueryLimits, type QueryResult } from '../../../warehouse/query/queryRunner.ts';
import { encodeResult, RESULT_CONTENT_TYPES, writeResult, type ResultFormat } from '../../../warehouse/query/resultFormats.ts';
import { checkStatement, closeStatementParser, type StatementCheck } from '../../../warehouse/query/statementCheck.ts';
import { SERVING_CONNECTION_SETTINGS } from '../../../warehouse/serving/servingReader.ts';

const ROWS = 5000;
/** Minutes of work for DuckDB: only an interrupt ends it within the test. */
const ENDLESS_AGGREGATE = 'SELECT count(*) FROM range(1000000000) a, range(1000000) b';
const ENDLESS_ROWS = 'SELECT a.range AS x FROM range(1000000000) a, range(1000000) b';

let dir: string;
let servingFile: string;
let db: DuckDb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carelake-query-'));
  servingFile = join(dir, 'analyst.duckdb');
  const build = await DuckDb.open(servingFile);
  await build.run(`
    CREATE TABLE encounters AS
    SELECT range AS id, 'tok' || (range % 97) AS patient_token, ['north', 'south', 'east'][1 + range % 3] AS region,
           DATE '2024-01-01' + (range % 366)::INTEGER AS started, (range % 50) * 1.25 AS cost
    FROM range(${ROWS})`);
  build.close();
  await writeFile(join(dir, 'outside.csv'), 'secret\nvalue\n');
  db = await DuckDb.open(servingFile, { readOnly: true, settings: { ...SERVING_CONNECTION_SETTINGS } });
});

afterAll(async () => {
  db.close();
  await closeStatementParser();
  await rm(dir, { recursive: true, force: true });
});

const LIMITS: QueryLimits = { maxRows: 10_000, timeoutMs: 10_000 };

async function run(sql: string, limits: Partial<QueryLimits> = {}): Promise<QueryResult> {
  return runQuery(db, await checkStatement(sql), { ...LIMITS, ...limits });
}

async function bytes(result: QueryResult, format: ResultFormat, options = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of encodeResult(result, format, options)) parts.push(part);
  return Buffer.concat(parts);
}

async function failure(work: Promise<unknown>): Promise<CarelakeError> {
  const error = await work.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(CarelakeError);
  return error as CarelakeError;
}

/** A StatementCheck that never went through checkStatement: what a bug in the check would hand over. */
function unchecked(sql: string): StatementCheck {
  return { sql, aggregate: false, countColumns: [], countColumnsExact: true };
}

describe('row limit', () => {
  it.each([
    { maxRows: 10, rowCount: 10, truncated: true },
    { maxRows: 2048, rowCount: 2048, truncated: true }, // exactly one DuckDB chunk
    { maxRows: 2049, rowCount: 2049, truncated: true },
    { maxRows: ROWS - 1, rowCount: ROWS - 1, truncated: true },
    { maxRows: ROWS, rowCount: ROWS, truncated: false },
    { maxRows: ROWS + 1, rowCount: ROWS, truncated: false },
    { maxRows: 0, rowCount: 0, truncated: true },
  ])('maxRows $maxRows of $rowCount', async ({ maxRows, rowCount, truncated }) => {
    const result = await run('SELECT id FROM encounters ORDER BY id', { maxRows });
    const ids: unknown[] = [];
    for await (const rows of result) {
      expect(rows.length).toBeLessThanOrEqual(maxRows);
      ids.push(...rows.map((row) => row[0]));
    }
    expect(ids).toHaveLength(rowCount);
    expect(ids.slice(0, 3)).toEqual([0n, 1n, 2n].slice(0, Math.min(3, rowCount)));
    expect(result.rowCount).toBe(rowCount);
    expect(result.truncated).toBe(truncated);
    await result.closed;
  });

  it('says truncated:false for an empty result', async () => {
    const body = JSON.parse((await bytes(await run('SELECT id FROM encounters WHERE id < 0'), 'json')).toString());
    expect(body).toEqual({ columns: [{ name: 'id', type: 'BIGINT' }], rows: [], rowCount: 0, truncated: false });
  });

  it('stops the query when the reader stops early', async () => {
    const result = await run(ENDLESS_ROWS);
    for await (const rows of result) {
      expect(rows.length).toBeGreaterThan(0);
      break;
    }
    await result.closed;
    expect(await db.scalar('SELECT 1 + 1')).toBe(2);
  });
});

describe('time limit', () => {
  it('interrupts a long blocking query with query.timeout, and the database still works afterwards', async () => {
    const started = Date.now();
    const error = await failure(run(ENDLESS_AGGREGATE, { timeoutMs: 300 }));
    expect(error.code).toBe('query.timeout');
    expect(error.kind).toBe('runtime');
    expect(error.message).toMatch(/time limit of 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The serving handle, and a new query on it, are unaffected.
    expect(await db.scalar('SELECT count(*)::INTEGER FROM encounters')).toBe(ROWS);
    const again = await run('SELECT count(*) AS n FROM encounters');
    expect(JSON.parse((await bytes(again, 'json')).toString()).rows).toEqual([[ROWS]]);
  });

  it('reports a timeout while rows stream, never a silently short result', async () => {
    // DuckDB 1.5.6 can end an interrupted streaming result as if it were complete; the runner must not.
    const result = await run(ENDLESS_ROWS, { maxRows: 1_000_000_000, timeoutMs: 1_000 });
    const error = await failure(
      (async () => {
        for await (const rows of result) expect(rows.length).toBeGreaterThan(0);
      })(),
    );
    expect(error.code).toBe('query.timeout');
    await result.closed;
    expect(await db.scalar('SELECT 42')).toBe(42);
  });

  it('a slow reader runs into the limit too, and an encoder fails instead of ending cleanly', async () => {
    const result = await run('SELECT id FROM encounters', { maxRows: ROWS, timeoutMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const error = await failure(bytes(result, 'json'));
    expect(error.code).toBe('query.timeout');
  });

  it('stops with query.cancelled when the signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await failure(run(ENDLESS_AGGREGATE, { signal: controller.signal }));
    expect(error.code).toBe('query.cancelled');
    expect(await db.scalar('SELECT 7')).toBe(7);
  });
});

describe('errors a user may see', () => {
  it('names a missing table without giving away the lake', async () => {
    const error = await failure(run('SELECT * FROM no_such_table'));
    expect(error.code).toBe('query.failed');
    expect(error.message).toMatch(/no_such_table does not exist/);
    expect(error.message).not.toContain(dir);
    expect(JSON.stringify(error.toJSON())).not.toContain(dir);
  });

  it('hides the file path the engine names when it refuses a file', async () => {
    const csv = join(dir, 'outside.csv');
    const error = await failure(runQuery(db, unchecked(`SELECT * FROM read_csv(${quoteLiteral(csv)})`), LIMITS));
    expect(error.code).toBe('query.failed');
    expect(error.message).toMatch(/Permission Error/);
    expect(error.message).not.toContain(dir);
    expect(error.message).not.toContain('outside.csv');
  });

  it('scrubs data values out of conversion errors', async () => {
    const error = await failure(run(`SELECT CAST(patient_token AS INTEGER) FROM encounters`));
    expect(error.code).toBe('query.failed');
    expect(error.message).toMatch(/Conversion Error/);
    expect(error.message).not.toMatch(/tok\d/);
  });
});

describe('formats', () => {
  const TYPED = `
    SELECT * FROM (VALUES
      (1, 42::BIGINT, 9007199254740993::BIGINT, 170141183460469231731687303715884105727::HUGEINT, 12.345::DECIMAL(9,3),
       123456789012345678.91::DECIMAL(38,2), 2.5::DOUBLE, true, DATE '2024-02-29', TIMESTAMP '2024-02-29 13:45:01.123456',
       TIMESTAMPTZ '2024-02-29 13:45:01+00', 'plain', [1, 2], {'a': 1, 'b': 'x'}),
      (2, NULL, -9007199254740993::BIGINT, -1::HUGEINT, -0.5::DECIMAL(9,3),
       NULL, 'NaN'::DOUBLE, false, DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59.5',
       NULL, 'a,"quoted"\nline', [], NULL),
      (3, 0::BIGINT, 0::BIGINT, 0::HUGEINT, 0::DECIMAL(9,3),
       0::DECIMAL(38,2), -1.25::DOUBLE, NULL, NULL, NULL,
       NULL, '=HYPERLINK("http://x")', NULL, {'a': NULL, 'b': NULL}),
      (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL)
    ) v(n, big, unsafe_big, huge, dec, wide_dec, dbl, flag, day, ts, tstz, txt, list, struct)
    ORDER BY n`;

  const COLUMNS = [
    { name: 'n', type: 'INTEGER' },
    { name: 'big', type: 'BIGINT' },
    { name: 'unsafe_big', type: 'BIGINT' },
    { name: 'huge', type: 'HUGEINT' },
    { name: 'dec', type: 'DECIMAL(9,3)' },
    { name: 'wide_dec', type: 'DECIMAL(38,2)' },
    { name: 'dbl', type: 'DOUBLE' },
    { name: 'flag', type: 'BOOLEAN' },
    { name: 'day', type: 'DATE' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'tstz', type: 'TIMESTAMP WITH TIME ZONE' },
    { name: 'txt', type: 'VARCHAR' },
    { name: 'list', type: 'INTEGER[]' },
    { name: 'struct', type: 'STRUCT("a" INTEGER, "b" VARCHAR)' },
  ];

  it('has the content types the API sends', () => {
    expect(RESULT_CONTENT_TYPES).toEqual({ json: 'application/json', csv: 'text/csv; charset=utf-8', arrow: 'application/vnd.apache.arrow.stream' });
  });

  it('json: columns, rows with safe numbers and ISO dates, rowCount, truncated', async () => {
    const body = JSON.parse((await bytes(await run(TYPED), 'json')).toString());
    expect(body.columns).toEqual(COLUMNS);
    expect(body.rows).toEqual([
      [1, 42, '9007199254740993', '170141183460469231731687303715884105727', 12.345, '123456789012345678.91', 2.5, true, '2024-02-29', '2024-02-29T13:45:01.123456', '2024-02-29T13:45:01Z', 'plain', [1, 2], { a: 1, b: 'x' }],
      [2, null, '-9007199254740993', -1, -0.5, null, 'NaN', false, '1969-12-31', '1969-12-31T23:59:59.5', null, 'a,"quoted"\nline', [], null],
      [3, 0, 0, 0, 0, '0.00', -1.25, null, null, null, null, '=HYPERLINK("http://x")', null, { a: null, b: null }],
      [4, null, null, null, null, null, null, null, null, null, null, '', null, null],
    ]);
    expect(body.rowCount).toBe(4);
    expect(body.truncated).toBe(false);
  });

  it('json: reports truncation', async () => {
    const body = JSON.parse((await bytes(await run('SELECT id FROM encounters ORDER BY id', { maxRows: 3 }), 'json')).toString());
    expect(body).toEqual({ columns: [{ name: 'id', type: 'BIGINT' }], rows: [[0], [1], [2]], rowCount: 3, truncated: true });
  });

  it('csv: RFC 4180 with CRLF, quoting, NULL vs empty, and the formula guard on text', async () => {
    const text = (await bytes(await run(TYPED), 'csv')).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')[0]).toBe(COLUMNS.map((c) => c.name).join(','));
    const records = parse(text, { record_delimiter: '\r\n' }) as string[][];
    expect(records).toEqual([
      COLUMNS.map((c) => c.name),
      ['1', '42', '9007199254740993', '170141183460469231731687303715884105727', '12.345', '123456789012345678.91', '2.5', 'true', '2024-02-29', '2024-02-29T13:45:01.123456', '2024-02-29T13:45:01Z', 'plain', '[1,2]', '{"a":1,"b":"x"}'],
      ['2', '', '-9007199254740993', '-1', '-0.500', '', 'NaN', 'false', '1969-12-31', '1969-12-31T23:59:59.5', '', 'a,"quoted"\nline', '[]', ''],
      ['3', '0', '0', '0', '0.000', '0.00', '-1.25', '', '', '', '', `'=HYPERLINK("http://x")`, '', '{"a":null,"b":null}'],
      ['4', '', '', '', '', '', '', '', '', '', '', '', '', ''],
    ]);
    // NULL is an empty unquoted field, '' an empty quoted one; numbers are never guarded (-0.500, -1.25).
    expect(text.split('\r\n')[4]).toBe('4,,,,,,,,,,,"",,');
    const unguarded = (await bytes(await run(TYPED), 'csv', { csvFormulaGuard: false })).toString('utf8');
    expect((parse(unguarded, { record_delimiter: '\r\n' }) as string[][])[3]![11]).toBe('=HYPERLINK("http://x")');
  });

  it('csv: guards a header that looks like a formula', async () => {
    const text = (await bytes(await run(`SELECT 1 AS "=1+1", 2 AS "@x", 3 AS plain`), 'csv')).toString('utf8');
    expect(text).toBe(`'=1+1,'@x,plain\r\n1,2,3\r\n`);
  });

  it('arrow: IPC stream that apache-arrow reads back with the mapped types and values', async () => {
    const table = tableFromIPC(await bytes(await run(TYPED), 'arrow'));
    expect(table.numRows).toBe(4);
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, { id: f.type.typeId, text: String(f.type), duckdb: f.metadata.get('duckdb_type') }]));
    expect(types).toMatchObject({
      n: { id: Type.Int, text: 'Int32', duckdb: 'INTEGER' },
      big: { id: Type.Int, text: 'Int64' },
      unsafe_big: { id: Type.Int, text: 'Int64' },
      huge: { id: Type.Utf8 },
      dec: { id: Type.Float, text: 'Float64', duckdb: 'DECIMAL(9,3)' },
      wide_dec: { id: Type.Utf8, duckdb: 'DECIMAL(38,2)' },
      dbl: { id: Type.Float, text: 'Float64' },
      flag: { id: Type.Bool },
      day: { id: Type.Date, text: 'Date32<DAY>' },
      ts: { id: Type.Timestamp, text: 'Timestamp<MICROSECOND>' },
      tstz: { id: Type.Timestamp, text: 'Timestamp<MICROSECOND, UTC>' },
      txt: { id: Type.Utf8 },
      list: { id: Type.Utf8, duckdb: 'INTEGER[]' },
      struct: { id: Type.Utf8 },
    });
    const column = (name: string): unknown[] => table.getChild(name)!.toArray() as unknown[];
    expect([...column('n')]).toEqual([1, 2, 3, 4]);
    expect([...(table.getChild('big')!.toArray() as BigInt64Array)]).toEqual([42n, 0n, 0n, 0n]);
    expect(table.getChild('big')!.get(1)).toBeNull();
    expect(table.getChild('unsafe_big')!.get(0)).toBe(9007199254740993n);
    expect(table.getChild('unsafe_big')!.get(1)).toBe(-9007199254740993n);
    expect(table.getChild('huge')!.get(0)).toBe('170141183460469231731687303715884105727');
    expect(table.getChild('dec')!.get(0)).toBe(12.345);
    expect(table.getChild('dec')!.get(1)).toBe(-0.5);
    expect(table.getChild('wide_dec')!.get(0)).toBe('123456789012345678.91');
    expect(Number.isNaN(table.getChild('dbl')!.get(1))).toBe(true);
    expect([0, 1, 2, 3].map((i) => table.getChild('flag')!.get(i))).toEqual([true, false, null, null]);
    expect(table.getChild('day')!.get(0)).toBe(Date.UTC(2024, 1, 29));
    expect(table.getChild('day')!.get(1)).toBe(Date.UTC(1969, 11, 31));
    // Arrow JS reads timestamps as (fractional) milliseconds; the stored value keeps the microseconds.
    expect(table.getChild('ts')!.get(0)).toBe(Date.UTC(2024, 1, 29, 13, 45, 1, 123) + 0.456);
    expect(table.getChild('ts')!.data[0]!.values[0]).toBe(BigInt(Date.UTC(2024, 1, 29, 13, 45, 1)) * 1000n + 123456n);
    expect(table.getChild('ts')!.get(1)).toBe(Date.UTC(1969, 11, 31, 23, 59, 59, 500));
    expect(table.getChild('tstz')!.get(0)).toBe(Date.UTC(2024, 1, 29, 13, 45, 1));
    expect([0, 1, 2, 3].map((i) => table.getChild('txt')!.get(i))).toEqual(['plain', 'a,"quoted"\nline', '=HYPERLINK("http://x")', '']);
    expect([0, 1].map((i) => table.getChild('list')!.get(i))).toEqual(['[1,2]', '[]']);
    expect(table.getChild('struct')!.get(0)).toBe('{"a":1,"b":"x"}');
    expect(table.getChild('struct')!.get(1)).toBeNull();
  });

  it('arrow: one record batch per chunk, and a schema-only stream for no rows', async () => {
    const table = tableFromIPC(await bytes(await run('SELECT id, region FROM encounters ORDER BY id', { maxRows: ROWS }), 'arrow'));
    expect(table.numRows).toBe(ROWS);
    expect(table.batches.length).toBe(Math.ceil(ROWS / 2048));
    expect(table.getChild('id')!.get(ROWS - 1)).toBe(BigInt(ROWS - 1));
    expect(table.getChild('region')!.get(4)).toBe('south');
    const empty = tableFromIPC(await bytes(await run('SELECT id, region FROM encounters WHERE false'), 'arrow'));
    expect(empty.numRows).toBe(0);
    expect(empty.schema.fields.map((f) => f.name)).toEqual(['id', 'region']);
  });

  it('writeResult streams into a Writable', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    await writeResult(await run('SELECT region, count(*) AS n FROM encounters GROUP BY region ORDER BY region'), 'json', out);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({
      columns: [
        { name: 'region', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
      ],
      rows: [
        ['east', 1666],
        ['north', 1667],
        ['south', 1667],
      ],
      rowCount: 3,
      truncated: false,
    });
  });
});

describe('the engine is the boundary even if the check is bypassed', () => {
  const outside = (): string => join(dir, 'outside.csv');

  it.each([
    { description: 'read_csv of a file', sql: () => `SELECT * FROM read_csv(${quoteLiteral(outside())})`, error: /Permission Error|disabled/ },
    { description: 'a file path as a table', sql: () => `SELECT * FROM ${quoteLiteral(outside())}`, error: /Permission Error|disabled/ },
    { description: 'ATTACH of another file', sql: () => `ATTACH ${quoteLiteral(join(dir, 'other.duckdb'))} AS other`, error: /Permission Error|disabled/ },
    { description: 'COPY to a file', sql: () => `COPY encounters TO ${quoteLiteral(join(dir, 'copied.csv'))}`, error: /Permission Error|disabled/ },
    { description: 'turning external access back on', sql: () => `SET enable_external_access = true`, error: /locked/ },
    { description: 'installing an extension', sql: () => `INSTALL httpfs`, error: /Permission Error|disabled/ },
  ])('on a per-query connection: $description', async ({ sql, error }) => {
    // The runner's connections come from db.connect(); the settings are database-wide, so they hold there too.
    const connection = await db.connect();
    try {
      const outcome = await connection.run(sql()).then(
        () => 'allowed',
        (err: unknown) => String((err as Error).message),
      );
      expect(outcome).toMatch(error);
    } finally {
      connection.close();
    }
    expect(existsSync(join(dir, 'copied.csv'))).toBe(false);
  });

  it('the runner itself refuses a second statement or a non-SELECT that slipped past the check', async () => {
    const two = await failure(runQuery(db, unchecked(`SELECT 1; COPY encounters TO ${quoteLiteral(join(dir, 'copied.csv'))}`), LIMITS));
    expect(two.code).toBe('query.refused');
    expect(two.message).toMatch(/exactly one SQL statement, found 2/);
    const copy = await failure(runQuery(db, unchecked(`COPY encounters TO ${quoteLiteral(join(dir, 'copied.csv'))}`), LIMITS));
    // Refused by the engine while binding, before the statement-type check; the path is not echoed.
    expect(copy.code).toBe('query.failed');
    expect(copy.message).toMatch(/Permission Error/);
    expect(copy.message).not.toContain(dir);
    const create = await failure(runQuery(db, unchecked(`CREATE TEMP TABLE x AS SELECT 1`), LIMITS));
    expect(create.code).toBe('query.refused');
    expect(create.message).toMatch(/only a SELECT statement may run here, not a CREATE statement/);
    expect(existsSync(join(dir, 'copied.csv'))).toBe(false);
  });
});
