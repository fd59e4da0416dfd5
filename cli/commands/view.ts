// `carelake view run --view v.json --resources r.json|r.ndjson` runs a SQL on FHIR ViewDefinition over
// resources in an in-memory DuckDB and prints `{"columns": [...], "rows": [...]}`; `carelake view sql
// --view v.json [--mode json|typed]` prints the SQL a view compiles to. An invalid view is a
// CarelakeError (kind compile), so the CLI exits non-zero with the path in the view and the reason.

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { withDuckDb } from '../../core/duckdb.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { quoteIdent } from '../../core/sql.ts';
import { compileViewDefinition, type ViewMode } from '../../transforms/sqlOnFhir/compileView.ts';
import { parseViewDefinition } from '../../transforms/sqlOnFhir/viewDefinition.ts';
import { runViewDefinition, type ViewResources } from '../../warehouse/sqlOnFhir/runViewDefinition.ts';
import type { Console } from '../console.ts';

export interface ViewRunOptions {
  /** Path of the ViewDefinition JSON file. */
  view: string;
  /** `.json` (an array, a Bundle or one resource) or `.ndjson` (one resource per line). */
  resources: string;
}

export interface ViewSqlOptions {
  view: string;
  mode?: ViewMode;
  /** The relation the SQL reads; defaults to the raw layer's table for the view's resource type. */
  from?: string;
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError(`read the ${what}`, path, err);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CarelakeError({
      code: 'sof.invalid_json',
      kind: 'parse',
      message: `The ${what} ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      location: { file: path },
      cause: err,
    });
  }
}

/** Resources from a `.json` file: a JSON array, a Bundle's entry resources, or a single resource. */
export function resourcesFromJson(document: unknown, path: string): unknown[] {
  if (Array.isArray(document)) return document;
  if (typeof document === 'object' && document !== null) {
    const record = document as { resourceType?: unknown; entry?: unknown };
    if (record.resourceType === 'Bundle') {
      const entries = Array.isArray(record.entry) ? record.entry : [];
      return entries.map((e: unknown) => (typeof e === 'object' && e !== null ? (e as { resource?: unknown }).resource : undefined)).filter((r) => r !== undefined);
    }
    if (typeof record.resourceType === 'string') return [document];
  }
  throw new CarelakeError({
    code: 'sof.invalid_resources',
    kind: 'parse',
    message: `The resources file ${path} holds neither a JSON array, a Bundle nor a FHIR resource`,
    location: { file: path },
    hint: 'use a .json file with an array or a Bundle, or an .ndjson file with one resource per line',
  });
}

async function loadResources(path: string): Promise<ViewResources> {
  const extension = extname(path).toLowerCase();
  if (extension === '.ndjson' || extension === '.jsonl') return { ndjsonFile: path };
  return resourcesFromJson(await readJsonFile(path, 'resources file'), path);
}

export async function viewRunCommand(options: ViewRunOptions, out: Console): Promise<void> {
  const view = await readJsonFile(options.view, 'ViewDefinition');
  // Validate before reading any resources: a bad view fails fast with its path in the view.
  parseViewDefinition(view, options.view);
  const resources = await loadResources(options.resources);
  const result = await withDuckDb(':memory:', {}, (db) => runViewDefinition(db, view, resources, { file: options.view }));
  out.info(JSON.stringify({ columns: result.columns, rows: result.rows }));
}

export async function viewSqlCommand(options: ViewSqlOptions, out: Console): Promise<void> {
  const view = await readJsonFile(options.view, 'ViewDefinition');
  const parsed = parseViewDefinition(view, options.view);
  const from = options.from ?? `${quoteIdent('raw')}.${quoteIdent(parsed.resource.toLowerCase())}`;
  const compiled = compileViewDefinition(view, { from, mode: options.mode ?? 'typed', file: options.view });
  out.info(`${compiled.sql};`);
}
