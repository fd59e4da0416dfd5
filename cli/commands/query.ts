// `carelake query "<sql>"`: the engineer's view of the warehouse catalog (raw views, curated tables,
// ops.*), opened read-only for the length of one query.

import { existsSync } from 'node:fs';
import { withDuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export async function queryCommand(ctx: CommandContext, sql: string, format: 'table' | 'json', out: Console): Promise<void> {
  if (!existsSync(ctx.layout.warehouse)) {
    throw new CarelakeError({ code: 'query.no-warehouse', kind: 'runtime', message: `There is no warehouse yet at ${ctx.layout.warehouse}`, hint: 'run `carelake build` first' });
  }
  const result = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) => db.table(sql, undefined, 'run your query'));
  if (format === 'json') out.info(JSON.stringify(result));
  else out.info(`${formatTable(result.columns, result.rows)}\n(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
}
