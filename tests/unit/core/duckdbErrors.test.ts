import { describe, expect, it } from 'vitest';
import { withDuckDb } from '../../../core/duckdb.ts';

describe('DuckDB errors', () => {
  const cases = [
    { description: 'a failed cast does not echo the value', value: '9434765919X', sql: `SELECT CAST(v AS INTEGER) FROM t` },
    { description: 'a failed date parse does not echo the value', value: 'Jane Smith 1970', sql: `SELECT CAST(v AS DATE) FROM t` },
    { description: 'malformed JSON input is not echoed', value: '{"nhs": "9434765919"', sql: `SELECT json_extract(v, '$.nhs') FROM t` },
    { description: 'a duplicate key is not echoed', value: '9434765919', sql: `INSERT INTO t SELECT * FROM t` },
  ];
  it.each(cases)('$description', async ({ value, sql }) => {
    // The value comes from data, as it would in a model; the SQL text itself holds none.
    const error = await withDuckDb(':memory:', {}, async (db) => {
      await db.run(`CREATE TABLE t (v VARCHAR PRIMARY KEY)`);
      await db.run(`INSERT INTO t VALUES ($1)`, [value]);
      return db.run(sql).then(() => null, (e: unknown) => e as Error);
    });
    expect(error).toBeInstanceOf(Error);
    const rendered = `${error!.message}`;
    expect(rendered).toMatch(/DuckDB failed to run SQL/);
    expect(rendered).not.toContain(value);
    expect(rendered).not.toContain('9434765919');
  });
});
