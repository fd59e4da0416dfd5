// The analyst statement check: escape attempts are refused with a message naming what was refused,
// ordinary analyst SQL passes, and count/aggregate metadata is read off DuckDB's own parse tree.
// Real DuckDB (json_serialize_sql on a private in-memory connection), no mocks.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { checkStatement, closeStatementParser, statementHeads, type StatementCheck } from '../../../warehouse/query/statementCheck.ts';

let parserDb: DuckDb;

beforeAll(async () => {
  parserDb = await DuckDb.open(':memory:');
});
afterAll(async () => {
  parserDb.close();
  await closeStatementParser();
});

async function outcome(sql: string): Promise<StatementCheck | CarelakeError> {
  return checkStatement(sql, parserDb).catch((err: unknown) => {
    if (err instanceof CarelakeError) return err;
    throw err;
  });
}

async function refusal(sql: string): Promise<CarelakeError> {
  const result = await outcome(sql);
  if (!(result instanceof CarelakeError)) throw new Error(`expected a refusal, but it passed as ${JSON.stringify(result)}`);
  return result;
}

describe('checkStatement refuses escape attempts', () => {
  const refused: { description: string; sql: string; names: RegExp }[] = [
    // Reading files through table functions, whatever the spelling.
    { description: 'read_parquet of /etc/passwd', sql: `SELECT * FROM read_parquet('/etc/passwd')`, names: /table function read_parquet \(reads files\)/ },
    { description: 'READ_CSV_AUTO in capitals', sql: `SELECT * FROM READ_CSV_AUTO('/data/x.csv')`, names: /read_csv_auto/ },
    { description: 'mixed-case read_csv', sql: `SeLeCt * FrOm ReAd_CsV('/data/x.csv')`, names: /read_csv/ },
    { description: 'read_json', sql: `SELECT * FROM read_json('x.json')`, names: /read_json/ },
    { description: 'read_text', sql: `SELECT * FROM read_text('/etc/hostname')`, names: /read_text/ },
    { description: 'read_blob in a join', sql: `SELECT * FROM range(3) r, read_blob('/etc/passwd')`, names: /read_blob/ },
    { description: 'read_json in an explicit join', sql: `SELECT * FROM t JOIN read_json('x.json') j ON true`, names: /read_json/ },
    { description: 'parquet_metadata', sql: `SELECT * FROM parquet_metadata('x.parquet')`, names: /parquet_metadata/ },
    { description: 'glob', sql: `SELECT * FROM glob('*')`, names: /table function glob \(reads files\)/ },
    { description: 'sniff_csv', sql: `SELECT * FROM sniff_csv('x.csv')`, names: /sniff_csv/ },
    { description: 'iceberg_scan', sql: `SELECT * FROM iceberg_scan('s3://b/t')`, names: /iceberg_scan/ },
    { description: 'delta_scan', sql: `SELECT * FROM delta_scan('s3://b/t')`, names: /delta_scan/ },
    { description: 'a system-qualified read_csv', sql: `SELECT * FROM system.main.read_csv('x.csv')`, names: /read_csv/ },
    // Replacement scans: a quoted file path or URL used as a table name.
    { description: `FROM 'file.parquet'`, sql: `FROM 'file.parquet'`, names: /reading a file by name \("file\.parquet"\)/ },
    { description: `FROM "/etc/passwd"`, sql: `SELECT * FROM "/etc/passwd"`, names: /reading a file by name \("\/etc\/passwd"\)/ },
    { description: 'a glob pattern as a table', sql: `SELECT * FROM 'data/*.parquet'`, names: /reading a file by name/ },
    { description: 'a URL as a table', sql: `SELECT * FROM 'https://example.org/x.csv'`, names: /reading a file by name/ },
    { description: 'DESCRIBE of a file', sql: `DESCRIBE 'x.csv'`, names: /reading a file by name/ },
    // SQL run from a string.
    { description: 'query() running ATTACH', sql: `SELECT * FROM query('ATTACH ''/tmp/x.duckdb'' AS y')`, names: /table function query \(runs SQL given as a string\)/ },
    { description: 'query_table()', sql: `SELECT * FROM query_table('t')`, names: /query_table/ },
    { description: 'json_execute_serialized_sql', sql: `SELECT * FROM json_execute_serialized_sql('{}')`, names: /json_execute_serialized_sql/ },
    { description: 'query() inside LATERAL', sql: `SELECT * FROM t, LATERAL (SELECT * FROM query('SELECT 1'))`, names: /query/ },
    // Server state and settings.
    { description: 'getenv', sql: `SELECT getenv('HOME')`, names: /function getenv/ },
    { description: 'a quoted, upper-case GETENV', sql: `SELECT "GETENV"('HOME')`, names: /function getenv/ },
    { description: 'current_setting (reveals paths)', sql: `SELECT current_setting('temp_directory')`, names: /current_setting/ },
    { description: 'duckdb_settings()', sql: `SELECT * FROM duckdb_settings()`, names: /duckdb_settings/ },
    { description: 'duckdb_secrets()', sql: `SELECT * FROM duckdb_secrets()`, names: /duckdb_secrets/ },
    { description: 'duckdb_databases() (file paths)', sql: `SELECT * FROM duckdb_databases()`, names: /duckdb_databases/ },
    { description: 'which_secret', sql: `SELECT which_secret('s3://b/x', 's3')`, names: /which_secret/ },
    { description: 'pragma_ table functions', sql: `SELECT * FROM pragma_table_info('t')`, names: /pragma_table_info/ },
    { description: 'pg_catalog.pg_settings', sql: `SELECT * FROM pg_catalog.pg_settings`, names: /pg_catalog\.pg_settings/ },
    { description: 'SHOW DATABASES', sql: `SHOW DATABASES`, names: /SHOW DATABASES/ },
    { description: 'nextval', sql: `SELECT nextval('seq')`, names: /nextval/ },
    { description: 'sleep_ms (ignores interrupts)', sql: `SELECT sleep_ms(100000)`, names: /sleep_ms/ },
    // Hidden in CTEs, subqueries, lambdas, ORDER BY.
    { description: 'a CTE holding read_csv', sql: `WITH c AS (SELECT * FROM read_csv('x.csv')) SELECT * FROM c`, names: /read_csv/ },
    {
      description: 'read_text in a WHERE subquery',
      sql: `SELECT * FROM t WHERE id IN (SELECT length(content) FROM read_text('/etc/passwd'))`,
      names: /read_text/,
    },
    { description: 'read_text in a scalar subquery', sql: `SELECT (SELECT content FROM read_text('/etc/passwd')) AS x`, names: /read_text/ },
    { description: 'glob in ORDER BY', sql: `SELECT 1 FROM t ORDER BY (SELECT count(*) FROM glob('/*'))`, names: /glob/ },
    { description: 'read_csv inside an allowed table function', sql: `SELECT * FROM range((SELECT count(*) FROM read_csv('x.csv')))`, names: /read_csv/ },
    { description: 'getenv inside a lambda', sql: `SELECT list_transform(['HOME'], x -> getenv(x))`, names: /getenv/ },
    { description: 'current_setting in a python-style lambda', sql: `SELECT list_transform(['a'], lambda x: current_setting(x))`, names: /current_setting/ },
    { description: 'SUMMARIZE of read_csv', sql: `SUMMARIZE SELECT * FROM read_csv('x.csv')`, names: /read_csv/ },
    { description: 'DESCRIBE of read_text', sql: `DESCRIBE SELECT * FROM read_text('x')`, names: /read_text/ },
    // Other databases and schemas.
    { description: 'other_db.main.t', sql: `SELECT * FROM other_db.main.t`, names: /table other_db\.main\.t \(names another database\)/ },
    { description: 'other_db.t', sql: `SELECT * FROM other_db.t`, names: /table other_db\.t \(names schema other_db\)/ },
    { description: 'the temp catalog', sql: `SELECT * FROM temp.main.x`, names: /temp\.main\.x/ },
    { description: 'a macro from another database', sql: `SELECT other_db.main.m(1)`, names: /other_db\.main\.m/ },
    // More than one statement, however it is disguised.
    { description: 'a comment hiding a second statement', sql: `SELECT 1; /* */ ATTACH 'x' AS y`, names: /2 statements \(SELECT, ATTACH\)/ },
    { description: 'no space before the second statement', sql: `SELECT 1;ATTACH '/tmp/x.duckdb' AS y`, names: /2 statements \(SELECT, ATTACH\)/ },
    { description: 'a quoted semicolon then COPY', sql: `SELECT ';' ; COPY t TO 'x'`, names: /2 statements \(SELECT, COPY\)/ },
    { description: 'a line comment then DROP', sql: `SELECT 1 -- \n; DROP TABLE t`, names: /2 statements \(SELECT, DROP\)/ },
    { description: 'a dollar-quoted semicolon then DROP', sql: `SELECT $$;$$; DROP TABLE t`, names: /2 statements \(SELECT, DROP\)/ },
    { description: 'two SELECTs', sql: `SELECT 1; SELECT 2`, names: /2 statements/ },
    // Statements that are not SELECT.
    { description: 'COPY (SELECT …) TO a file', sql: `COPY (SELECT 1) TO '/tmp/x'`, names: /^Query refused: COPY statement/ },
    { description: 'ATTACH', sql: `ATTACH '/tmp/other.duckdb' AS other`, names: /^Query refused: ATTACH statement/ },
    { description: 'DETACH', sql: `DETACH other`, names: /^Query refused: DETACH statement/ },
    { description: 'EXPORT DATABASE', sql: `EXPORT DATABASE '/tmp/dump'`, names: /^Query refused: EXPORT statement/ },
    { description: 'PRAGMA', sql: `PRAGMA version`, names: /^Query refused: PRAGMA statement/ },
    { description: 'SET enable_external_access', sql: `SET enable_external_access = true`, names: /^Query refused: SET statement/ },
    { description: 'SET VARIABLE', sql: `SET VARIABLE x = 1`, names: /^Query refused: SET statement/ },
    { description: 'RESET', sql: `RESET threads`, names: /^Query refused: RESET statement/ },
    { description: 'INSTALL', sql: `INSTALL httpfs`, names: /^Query refused: INSTALL statement/ },
    { description: 'LOAD', sql: `LOAD httpfs`, names: /^Query refused: LOAD statement/ },
    // CALL is refused like every non-SELECT: SELECT version() gives the same answer.
    { description: 'CALL pragma_version()', sql: `CALL pragma_version()`, names: /^Query refused: CALL statement/ },
    { description: 'CREATE TABLE', sql: `CREATE TABLE x AS SELECT 1`, names: /^Query refused: CREATE statement/ },
    { description: 'CREATE MACRO', sql: `CREATE MACRO m() AS 1`, names: /^Query refused: CREATE statement/ },
    { description: 'INSERT', sql: `INSERT INTO t VALUES (1)`, names: /^Query refused: INSERT statement/ },
    { description: 'UPDATE', sql: `UPDATE t SET a = 1`, names: /^Query refused: UPDATE statement/ },
    { description: 'DELETE', sql: `DELETE FROM t`, names: /^Query refused: DELETE statement/ },
    { description: 'DROP', sql: `DROP TABLE t`, names: /^Query refused: DROP statement/ },
    { description: 'ALTER', sql: `ALTER TABLE t ADD COLUMN z INTEGER`, names: /^Query refused: ALTER statement/ },
    { description: 'USE', sql: `USE other`, names: /^Query refused: USE statement/ },
    { description: 'CHECKPOINT', sql: `CHECKPOINT`, names: /^Query refused: CHECKPOINT statement/ },
    { description: 'VACUUM', sql: `VACUUM`, names: /^Query refused: VACUUM statement/ },
    { description: 'EXPLAIN ANALYZE (runs the query)', sql: `EXPLAIN ANALYZE SELECT 1`, names: /^Query refused: EXPLAIN statement/ },
    { description: 'PREPARE', sql: `PREPARE p AS SELECT 1`, names: /^Query refused: PREPARE statement/ },
    { description: 'BEGIN', sql: `BEGIN TRANSACTION`, names: /^Query refused: BEGIN statement/ },
    { description: 'WITH … INSERT', sql: `WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x`, names: /not a read-only SELECT/ },
    // Things the check cannot see into, and odd inputs.
    { description: 'PIVOT (not serialisable, so not checkable)', sql: `SELECT * FROM (PIVOT t ON a USING sum(b))`, names: /PIVOT/ },
    { description: 'bind parameters', sql: `SELECT $1`, names: /query parameters/ },
    { description: 'an empty statement', sql: ``, names: /empty statement/ },
    { description: 'only a comment', sql: `-- nothing here`, names: /empty statement/ },
    { description: 'only semicolons', sql: ` ; ; `, names: /empty statement/ },
    { description: 'a NUL character', sql: `SELECT 1\0; ATTACH 'x' AS y`, names: /NUL/ },
    { description: 'a huge statement', sql: `SELECT ${'1 + '.repeat(40_000)}1`, names: /longer than/ },
  ];

  it.each(refused)('$description', async ({ sql, names }) => {
    const error = await refusal(sql);
    expect(error.code).toBe('query.refused');
    expect(error.kind).toBe('runtime');
    expect(error.message).toMatch(/^Query refused: /);
    expect(error.message).toMatch(names);
    expect(error.hint).toBeTruthy();
  });

  it.each([
    { description: 'unicode-escaped identifiers (DuckDB does not implement them)', sql: `SELECT U&"\\0067etenv"('HOME')` },
    { description: 'a misspelt keyword', sql: `SELEC 1` },
    { description: 'a bare table function name', sql: `read_parquet('/etc/passwd')` },
  ])('refuses what DuckDB cannot parse: $description', async ({ sql }) => {
    const error = await refusal(sql);
    expect(error.code).toBe('query.syntax');
    expect(error.kind).toBe('parse');
    expect(error.message).toMatch(/could not be parsed/);
  });
});

describe('checkStatement lets analyst queries through', () => {
  const allowed: { description: string; sql: string; normalised?: string }[] = [
    { description: 'a join', sql: `SELECT p.region, e.kind FROM patients p JOIN encounters e ON e.patient_token = p.patient_token` },
    { description: 'a USING join', sql: `SELECT * FROM patients JOIN encounters USING (patient_token)` },
    { description: 'a CTE', sql: `WITH recent AS (SELECT * FROM encounters WHERE started > DATE '2024-01-01') SELECT count(*) FROM recent` },
    { description: 'a recursive CTE', sql: `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r` },
    { description: 'window functions', sql: `SELECT id, row_number() OVER (PARTITION BY region ORDER BY id), lag(id) OVER w FROM patients WINDOW w AS (ORDER BY id)` },
    { description: 'QUALIFY', sql: `SELECT region, id FROM patients QUALIFY row_number() OVER (PARTITION BY region) = 1` },
    { description: 'GROUP BY with counts', sql: `SELECT region, count(*) AS n FROM patients GROUP BY region HAVING count(*) > 10 ORDER BY n DESC LIMIT 5` },
    { description: 'FROM range(10)', sql: `FROM range(10)` },
    { description: 'generate_series', sql: `SELECT * FROM generate_series(DATE '2024-01-01', DATE '2024-12-31', INTERVAL 1 MONTH)` },
    { description: 'unnest in FROM', sql: `SELECT * FROM unnest([1, 2, 3])` },
    { description: 'a system-qualified range', sql: `SELECT * FROM system.main.range(3)` },
    { description: 'a main-qualified table', sql: `SELECT * FROM main.patients` },
    { description: 'string literals naming ATTACH and read_parquet', sql: `SELECT 'ATTACH ''x'' AS y; SELECT * FROM read_parquet(1)' AS note, 'getenv' AS f` },
    { description: 'a column named like a function', sql: `SELECT "read_parquet", "query" FROM patients` },
    { description: 'comments', sql: `-- leading comment\nSELECT 1 /* inline; ATTACH */ AS x -- trailing`, normalised: `-- leading comment\nSELECT 1 /* inline; ATTACH */ AS x` },
    { description: 'a trailing semicolon', sql: `SELECT 1;`, normalised: `SELECT 1` },
    { description: 'a semicolon then a comment', sql: `  SELECT 1; -- done\n`, normalised: `SELECT 1` },
    { description: 'a quoted semicolon at the end', sql: `SELECT ';'`, normalised: `SELECT ';'` },
    { description: 'a quoted comment marker at the end', sql: `SELECT '--' AS x;`, normalised: `SELECT '--' AS x` },
    { description: 'lambdas', sql: `SELECT list_transform([1, 2], x -> x * 2), list_filter([1, 2], lambda x: x > 1)` },
    { description: 'UNION and VALUES', sql: `SELECT 1 AS a UNION ALL SELECT * FROM (VALUES (2), (3))` },
    { description: 'FROM-first syntax', sql: `FROM patients SELECT region` },
    { description: 'a unicode table name', sql: `SELECT * FROM "patiënts"` },
    { description: 'ROLLUP and GROUPING SETS', sql: `SELECT region, kind, count(*) FROM encounters GROUP BY ROLLUP (region, kind)` },
    { description: 'an ASOF join', sql: `SELECT * FROM readings r ASOF JOIN events e ON r.patient_token = e.patient_token AND r.at >= e.at` },
    { description: 'star EXCLUDE / REPLACE and COLUMNS', sql: `SELECT * EXCLUDE (id) REPLACE (upper(region) AS region), max(COLUMNS('cost.*')) FROM encounters GROUP BY ALL` },
    { description: 'sampling', sql: `SELECT * FROM encounters TABLESAMPLE 10% USING SAMPLE 100 ROWS` },
    { description: 'struct and list access', sql: `SELECT s.a, l[1], l[2:3], s['b'] FROM (SELECT {'a': 1, 'b': 2} AS s, [1, 2, 3] AS l)` },
    { description: 'SHOW TABLES', sql: `SHOW TABLES` },
    { description: 'DESCRIBE a table', sql: `DESCRIBE patients` },
    { description: 'SUMMARIZE a table', sql: `SUMMARIZE patients` },
    { description: 'information_schema', sql: `SELECT table_name, column_name FROM information_schema.columns` },
    { description: 'duckdb_tables()', sql: `SELECT table_name FROM duckdb_tables()` },
  ];

  it.each(allowed)('$description', async ({ sql, normalised }) => {
    const result = await outcome(sql);
    if (result instanceof CarelakeError) throw new Error(`refused: ${result.message}`);
    expect(result.sql).toBe(normalised ?? sql.trim());
  });

  it('parses on a shared private connection when none is given', async () => {
    await expect(checkStatement('SELECT 1;')).resolves.toMatchObject({ sql: 'SELECT 1' });
    await expect(checkStatement(`SELECT * FROM read_csv('x')`)).rejects.toMatchObject({ code: 'query.refused' });
    // Concurrent checks share the connection one at a time.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => checkStatement(`SELECT ${i};`)));
    expect(results.map((r) => r.sql)).toEqual(Array.from({ length: 20 }, (_, i) => `SELECT ${i}`));
  });
});

describe('checkStatement reports aggregates and count columns', () => {
  const cases: { description: string; sql: string; aggregate: boolean; countColumns: number[]; exact?: boolean }[] = [
    {
      description: 'count(*), count(DISTINCT), count() with GROUP BY',
      sql: `SELECT region, count(*) AS n, count(DISTINCT patient_token) AS people, count() AS rows_ FROM encounters GROUP BY region`,
      aggregate: true,
      countColumns: [1, 2, 3],
    },
    { description: 'a bare count', sql: `SELECT count(*) FROM patients`, aggregate: true, countColumns: [0] },
    { description: 'count(x) under a cast', sql: `SELECT count(id)::INTEGER AS n FROM patients`, aggregate: true, countColumns: [0] },
    { description: 'count_if', sql: `SELECT region, count_if(age > 65) FROM patients GROUP BY ALL`, aggregate: true, countColumns: [1] },
    { description: 'a sum with GROUP BY ALL', sql: `SELECT region, sum(cost) FROM encounters GROUP BY ALL`, aggregate: true, countColumns: [] },
    { description: 'HAVING without aggregates in the list', sql: `SELECT region FROM patients GROUP BY region HAVING count(*) > 10`, aggregate: true, countColumns: [] },
    { description: 'an aggregate inside an expression', sql: `SELECT 100.0 * avg(age) AS pct FROM patients`, aggregate: true, countColumns: [] },
    { description: 'a window count (not an aggregate query)', sql: `SELECT id, count(*) OVER (PARTITION BY region) FROM patients`, aggregate: false, countColumns: [1] },
    { description: 'row-level rows', sql: `SELECT id, upper(region) FROM patients`, aggregate: false, countColumns: [] },
    {
      description: 'a UNION of counts',
      sql: `SELECT region, count(*) FROM patients GROUP BY region UNION ALL SELECT 'total', count(*) FROM patients`,
      aggregate: true,
      countColumns: [1],
    },
    { description: 'a count after *', sql: `SELECT *, count(*) OVER () FROM patients`, aggregate: false, countColumns: [], exact: false },
    { description: 'a count before *', sql: `SELECT count(*) OVER () AS n, * FROM patients`, aggregate: false, countColumns: [0] },
    // Only the outermost select list is read: counts made in a subquery or CTE are not traced.
    { description: 'a count in a scalar subquery', sql: `SELECT (SELECT count(*) FROM patients) AS n`, aggregate: false, countColumns: [] },
    { description: 'a count in a CTE', sql: `WITH c AS (SELECT count(*) AS n FROM patients) SELECT n FROM c`, aggregate: false, countColumns: [] },
  ];

  it.each(cases)('$description', async ({ sql, aggregate, countColumns, exact }) => {
    await expect(checkStatement(sql, parserDb)).resolves.toEqual({ sql, aggregate, countColumns, countColumnsExact: exact ?? true });
  });
});

describe('statementHeads (for refusal messages only)', () => {
  it('skips comments and quoted text when splitting statements', () => {
    expect(statementHeads(`/* a; */ select 1 -- b;\n; "x;y"; e'\\';'; $t$;$t$; attach 'z'`)).toEqual(['SELECT', 'identifier', 'literal', 'literal', 'ATTACH']);
  });
});
