// The rows of a view compiled in json mode as JSON-native values: each cell arrives as JSON text from
// DuckDB's `to_json` and is parsed once, so booleans, integers, decimals (0.95), strings, arrays and
// null keep their JSON types, and an empty collection `[]` stays distinct from null. This is the only
// per-row work done in JavaScript; every FHIRPath step ran in DuckDB. Pure.

import type { Json } from '../../core/duckdb.ts';

export interface ViewResult {
  columns: string[];
  rows: Record<string, Json>[];
}

export function viewRows(table: { columns: readonly string[]; rows: readonly (readonly Json[])[] }): ViewResult {
  const { columns } = table;
  const rows = table.rows.map((cells) => {
    const row: Record<string, Json> = {};
    for (let i = 0; i < columns.length; i++) {
      const cell = cells[i] ?? null;
      row[columns[i]!] = typeof cell === 'string' ? (JSON.parse(cell) as Json) : cell;
    }
    return row;
  });
  return { columns: [...columns], rows };
}
