// Where models and sources live in the database, with dbt's naming rules: the schema from dbt's default
// `generate_schema_name` (custom schema `curated` on target schema `main` → `main_curated`), the
// identifier from `alias` or the model name, and a source's relation either `"schema"."identifier"` or
// its dbt-duckdb `external_location` — Python `str.format` placeholders (`{name}`, `{identifier}`,
// `{schema}`, `{database}` and any meta key) filled in, then single-quoted unless it contains `(` (a
// function call such as `read_parquet('…', hive_partitioning = true)`) or is already quoted. Pure.

import { qualified, quoteIdent, quoteLiteral } from '../../core/sql.ts';

/** dbt's default generate_schema_name: no custom schema → target schema, else `<target>_<custom>`. */
export function generateSchemaName(customSchema: string | null, targetSchema: string): string {
  if (customSchema === null || customSchema.trim() === '') return targetSchema;
  return `${targetSchema}_${customSchema.trim()}`;
}

/** dbt's default generate_alias_name: the alias when set, else the model name. */
export function generateAliasName(alias: string | null, modelName: string): string {
  return alias === null || alias.trim() === '' ? modelName : alias.trim();
}

export function modelRelation(schema: string, identifier: string): string {
  return qualified(schema, identifier);
}

export class ExternalLocationError extends Error {}

/**
 * Python's `str.format(**fields)` for the subset dbt-duckdb users write: `{key}` and the `{{` / `}}`
 * escapes. Positional fields, conversions (`!r`), format specs and attribute access are refused rather
 * than guessed at, as is a key that is not in `fields` (Python raises KeyError).
 */
export function pythonFormat(template: string, fields: Readonly<Record<string, unknown>>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const char = template[i];
    const next = template[i + 1];
    if (char === '{' && next === '{') {
      out += '{';
      i += 2;
    } else if (char === '}' && next === '}') {
      out += '}';
      i += 2;
    } else if (char === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new ExternalLocationError(`an opening '{' at position ${i} is never closed (write '{{' for a literal brace)`);
      const key = template.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        throw new ExternalLocationError(`'{${key}}' is not a supported placeholder; use {name}, {identifier}, {schema} or a meta key`);
      }
      if (!(key in fields) || fields[key] === undefined) {
        throw new ExternalLocationError(`'{${key}}' names nothing; known placeholders are ${Object.keys(fields).map((k) => `{${k}}`).join(', ')}`);
      }
      const value = fields[key];
      out += value === null ? 'None' : typeof value === 'object' ? JSON.stringify(value) : String(value);
      i = end + 1;
    } else if (char === '}') {
      throw new ExternalLocationError(`a single '}' at position ${i} (write '}}' for a literal brace)`);
    } else {
      out += char;
      i += 1;
    }
  }
  return out;
}

/**
 * dbt-duckdb: a function call or an already quoted string is used as written; anything else is quoted.
 * (dbt-duckdb wraps it in quotes without escaping; quoteLiteral gives the same text for every path
 * without a quote in it, and valid SQL for the rest.)
 */
export function externalRelation(location: string): string {
  if (location.includes('(') || location.startsWith("'")) return location;
  return quoteLiteral(location);
}

export interface SourceIdentity {
  name: string;
  identifier: string;
  schema: string;
  database: string | null;
  effectiveMeta: Readonly<Record<string, unknown>>;
}

/** The fields dbt-duckdb passes to `external_location.format(...)`: identity first, then meta. */
export function externalLocationFields(source: SourceIdentity): Record<string, unknown> {
  return {
    name: source.name,
    identifier: source.identifier,
    schema: source.schema,
    database: source.database,
    ...source.effectiveMeta,
  };
}

/**
 * A source with no files yet, read as an empty relation of its declared columns (`data_type` in the
 * property file), so models over it build empty instead of failing; null when it declares no typed
 * columns (then there is no honest shape to give it).
 */
export function emptySourceRelation(columns: readonly { name: string; dataType: string | null }[]): string | null {
  const typed = columns.filter((c) => c.dataType !== null);
  if (typed.length === 0 || typed.length !== columns.length) return null;
  return `(select ${typed.map((c) => `cast(null as ${c.dataType}) as ${quoteIdent(c.name)}`).join(', ')} where false)`;
}
