// Runs the column data tests a property file declares (`not_null`, `unique`, `accepted_values`, in
// dbt's shapes) against models already built in a DuckDB database. carelake's runner does not run data
// tests yet; until it does, this keeps the declared tests honest in the model suites. Not a test file.

import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { DuckDb } from '../../../core/duckdb.ts';
import { quoteIdent, quoteLiteral } from '../../../core/sql.ts';

export interface DataTestResult {
  /** `<test>(<model>.<column>)`, e.g. `unique(workforce_assignment.assignment_key)`. */
  name: string;
  failures: number;
}

type Spec = Record<string, unknown>;

const isSpec = (value: unknown): value is Spec => value !== null && typeof value === 'object' && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The failing-rows query of one test, or null for a test this helper does not know. */
function failingRowsSql(relation: string, column: string, test: unknown): { kind: string; sql: string } | null {
  const col = quoteIdent(column);
  if (test === 'not_null') return { kind: 'not_null', sql: `SELECT 1 FROM ${relation} WHERE ${col} IS NULL` };
  if (test === 'unique') return { kind: 'unique', sql: `SELECT ${col} FROM ${relation} WHERE ${col} IS NOT NULL GROUP BY ${col} HAVING count(*) > 1` };
  if (isSpec(test) && 'accepted_values' in test) {
    const config = test['accepted_values'];
    // dbt ≥ 1.10 puts arguments under `arguments:`; earlier versions at the top level.
    const args = isSpec(config) && isSpec(config['arguments']) ? config['arguments'] : config;
    const values = isSpec(args) ? list(args['values']).map(String) : [];
    return { kind: 'accepted_values', sql: `SELECT 1 FROM ${relation} WHERE ${col} IS NOT NULL AND ${col} NOT IN (${values.map(quoteLiteral).join(', ')})` };
  }
  return null;
}

/** Every declared column test of `models` in `propertyFile`, run against the schema each model was built in. */
export async function runColumnDataTests(db: DuckDb, propertyFile: string, models: readonly string[]): Promise<DataTestResult[]> {
  const doc: unknown = parse(await readFile(propertyFile, 'utf8'));
  const results: DataTestResult[] = [];
  for (const model of isSpec(doc) ? list(doc['models']).filter(isSpec) : []) {
    const name = String(model['name']);
    if (!models.includes(name)) continue;
    const schema = await db.scalar(`SELECT table_schema FROM information_schema.tables WHERE table_name = ?`, [name]);
    if (typeof schema !== 'string') throw new Error(`model ${name} was not built`);
    const relation = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    for (const column of list(model['columns']).filter(isSpec)) {
      const columnName = String(column['name']);
      for (const test of [...list(column['data_tests']), ...list(column['tests'])]) {
        const check = failingRowsSql(relation, columnName, test);
        if (check === null) throw new Error(`unknown data test on ${name}.${columnName}: ${JSON.stringify(test)}`);
        const failures = Number(await db.scalar(`SELECT count(*) FROM (${check.sql})`));
        results.push({ name: `${check.kind}(${name}.${columnName})`, failures });
      }
    }
  }
  return results;
}
