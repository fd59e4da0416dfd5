// Runs a ViewDefinition over a set of resources and returns JSON-native rows — the path the
// conformance suite, the tests and `carelake view run` share. Resources (an array, an NDJSON file, or
// a relation already holding a `resource` column) go into a temporary table; the view is compiled in
// json mode against it and executed as one query; the table is dropped afterwards.

import type { DuckDb } from '../../core/duckdb.ts';
import { quoteIdent, quoteLiteral } from '../../core/sql.ts';
import { compileViewDefinition } from '../../transforms/sqlOnFhir/compileView.ts';
import { viewRows, type ViewResult } from '../../transforms/sqlOnFhir/viewRows.ts';

export type ViewResources = readonly unknown[] | { ndjsonFile: string } | { relation: string };

export interface RunViewOptions {
  /** The view's file, for error messages. */
  file?: string;
}

let tableCounter = 0;

export async function runViewDefinition(db: DuckDb, view: unknown, resources: ViewResources, options: RunViewOptions = {}): Promise<ViewResult> {
  if (!Array.isArray(resources) && 'relation' in resources) {
    const compiled = compileViewDefinition(view, { from: resources.relation, mode: 'json', file: options.file });
    return viewRows(await db.table(compiled.sql, undefined, `run view ${compiled.name}`));
  }
  // Compile first: an invalid view fails before any data is loaded.
  const table = quoteIdent(`sof_resources_${process.pid}_${++tableCounter}`);
  const compiled = compileViewDefinition(view, { from: `temp.main.${table}`, mode: 'json', file: options.file });
  await db.run(`CREATE TEMP TABLE ${table} (resource VARCHAR)`, undefined, 'create the resource table for a view');
  try {
    await loadResources(db, table, resources as readonly unknown[] | { ndjsonFile: string });
    return viewRows(await db.table(compiled.sql, undefined, `run view ${compiled.name}`));
  } finally {
    await db.run(`DROP TABLE IF EXISTS temp.main.${table}`, undefined, 'drop the resource table for a view');
  }
}

async function loadResources(db: DuckDb, table: string, resources: readonly unknown[] | { ndjsonFile: string }): Promise<void> {
  if (!Array.isArray(resources)) {
    const file = (resources as { ndjsonFile: string }).ndjsonFile;
    await db.run(`INSERT INTO temp.main.${table} SELECT json::VARCHAR FROM read_ndjson_objects(${quoteLiteral(file)})`, undefined, `read ${file}`);
    return;
  }
  const appender = await db.appender(table.slice(1, -1), 'main', 'temp');
  try {
    for (const resource of resources as readonly unknown[]) {
      appender.appendVarchar(JSON.stringify(resource));
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
