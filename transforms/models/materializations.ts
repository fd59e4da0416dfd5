// How a compiled node becomes a relation, looked up by name in a registry — never a switch. Each
// materializer only generates SQL (`MaterializationStep`s); execute.ts runs the steps for one node in
// one transaction, so a failed rebuild leaves the previous relation in place. Adding a name to
// MATERIALIZATIONS without a registry entry is a compile error. Pure: no I/O.
//
// - view, table: CREATE OR REPLACE.
// - incremental (dbt-duckdb semantics): a full build when the table is missing, is a view, or
//   --full-refresh is given; otherwise the new rows go to a temp table, rows with the same `unique_key`
//   are deleted from the target (`delete+insert`; plain append without a key), and the target's columns
//   are inserted from the temp table (`on_schema_change: ignore`; `fail` stops when the columns differ).
// - ephemeral: nothing is built; consumers inline it as a CTE (ephemeral.ts).
// - external (dbt-duckdb): COPY … TO a Parquet/CSV/JSON file (a Hive-partitioned folder with
//   `partition_by`), then a view over the files, so `ref()` reads them.
// - seed: a table from the seed's CSV (its SQL comes from seeds.ts).
// - linkage: patient linkage over the model's records (transforms/linkage/linkageMaterialization.ts).
//   Linkage iterates (EM, label propagation), so it is the one materializer that runs its own
//   statements, through `execute`, on the connection and inside the transaction execute.ts gives it.

import type { DuckDb } from '../../core/duckdb.ts';
import { qualified, quoteIdent, quoteLiteral } from '../../core/sql.ts';
import { LinkageConfigError, materializeLinkage } from '../linkage/linkageMaterialization.ts';

export const MATERIALIZATIONS = ['view', 'table', 'incremental', 'ephemeral', 'external', 'seed', 'linkage'] as const;
export type Materialization = (typeof MATERIALIZATIONS)[number];

/** What the database already holds under a model's name. */
export type RelationType = 'view' | 'table';

export interface MaterializeInput {
  schema: string;
  identifier: string;
  /** The model's compiled SELECT. */
  sql: string;
  /** The kind of relation already under this name, or null when there is none. */
  existing: RelationType | null;
  /** The existing table's columns, in order (incremental only; empty otherwise). */
  existingColumns: readonly string[];
  fullRefresh: boolean;
  /** The model's config beyond the built-in keys (`unique_key`, `location`, `options`, …). */
  config: Readonly<Record<string, unknown>>;
  /** Where external models go when they set no `location` (dbt-duckdb's `external_root`), absolute. */
  externalRoot: string;
}

export interface MaterializationStep {
  /** What the step does, for error messages: `create table "main"."dim_patient"`. */
  label: string;
  sql: string;
  /** The statement reports the rows it wrote (DuckDB's CREATE TABLE AS, INSERT and COPY return a Count). */
  reportsRows: boolean;
}

export interface ExecuteContext {
  now: Date;
  /** Milliseconds since the epoch. */
  clock: () => number;
}

export interface Materializer {
  /** What ends up in the database under the model's name; null when nothing does (ephemeral). */
  readonly relationType: RelationType | null;
  steps(input: MaterializeInput): MaterializationStep[];
  /** Runs the build itself instead of `steps` (only where SQL steps cannot express it); returns the rows written. */
  execute?(db: DuckDb, input: MaterializeInput, context: ExecuteContext): Promise<number | null>;
}

/** A problem with a model's materialization config, found before anything runs. */
export class MaterializationConfigError extends Error {}

/** A different kind of relation under the same name must go first (DuckDB will not replace across kinds). */
function dropOther(input: MaterializeInput, keep: RelationType): MaterializationStep[] {
  if (input.existing === null || input.existing === keep) return [];
  const kind = input.existing === 'view' ? 'VIEW' : 'TABLE';
  const relation = qualified(input.schema, input.identifier);
  return [{ label: `drop ${input.existing} ${relation}`, sql: `DROP ${kind} ${relation}`, reportsRows: false }];
}

/**
 * The model's SELECT as a parenthesised body. It goes on its own lines so a trailing `-- comment`
 * cannot swallow the closing parenthesis; a trailing `;` (harmless in a file, fatal inside `AS (…)`) is
 * dropped.
 */
export function selectBody(sql: string): string {
  return `(\n${sql.replace(/[\s;]+$/, '')}\n)`;
}

const view: Materializer = {
  relationType: 'view',
  steps(input) {
    const relation = qualified(input.schema, input.identifier);
    return [
      ...dropOther(input, 'view'),
      { label: `create view ${relation}`, sql: `CREATE OR REPLACE VIEW ${relation} AS ${selectBody(input.sql)}`, reportsRows: false },
    ];
  },
};

// CREATE OR REPLACE TABLE inside the model's transaction is dbt's "build under a temp name, then swap"
// in one statement: readers see the old table until COMMIT, and a failure rolls back to it.
const table: Materializer = {
  relationType: 'table',
  steps(input) {
    const relation = qualified(input.schema, input.identifier);
    return [
      ...dropOther(input, 'table'),
      { label: `create table ${relation}`, sql: `CREATE OR REPLACE TABLE ${relation} AS ${selectBody(input.sql)}`, reportsRows: true },
    ];
  },
};

/** `unique_key` as a list of column names (dbt accepts a string or a list). */
export function uniqueKeyColumns(config: Readonly<Record<string, unknown>>): string[] {
  const key = config.unique_key;
  if (key === undefined || key === null) return [];
  const keys = typeof key === 'string' ? [key] : Array.isArray(key) ? key : null;
  if (keys === null || keys.length === 0 || !keys.every((k) => typeof k === 'string' && k !== '')) {
    throw new MaterializationConfigError("unique_key must be a column name or a list of column names, e.g. unique_key='encounter_id'");
  }
  return keys as string[];
}

const ON_SCHEMA_CHANGE = ['ignore', 'fail'] as const;

function onSchemaChange(config: Readonly<Record<string, unknown>>): (typeof ON_SCHEMA_CHANGE)[number] {
  const value = config.on_schema_change ?? 'ignore';
  if (typeof value === 'string' && (ON_SCHEMA_CHANGE as readonly string[]).includes(value)) return value as (typeof ON_SCHEMA_CHANGE)[number];
  throw new MaterializationConfigError(`on_schema_change must be one of ${ON_SCHEMA_CHANGE.join(', ')} (carelake does not add or sync columns)`);
}

function incrementalStrategy(config: Readonly<Record<string, unknown>>): 'append' | 'delete+insert' {
  const strategy = config.incremental_strategy;
  if (strategy === undefined || strategy === null) return uniqueKeyColumns(config).length > 0 ? 'delete+insert' : 'append';
  if (strategy === 'append' || strategy === 'delete+insert') return strategy;
  throw new MaterializationConfigError(`incremental_strategy '${String(strategy)}' is not supported; use append or delete+insert`);
}

const incremental: Materializer = {
  relationType: 'table',
  steps(input) {
    const strategy = incrementalStrategy(input.config);
    const keys = uniqueKeyColumns(input.config);
    const schemaChange = onSchemaChange(input.config);
    if (input.existing !== 'table' || input.fullRefresh) return table.steps(input);

    const relation = qualified(input.schema, input.identifier);
    const temp = quoteIdent(`${input.identifier}__dbt_tmp`);
    const columns = input.existingColumns.map(quoteIdent).join(', ');
    const steps: MaterializationStep[] = [
      { label: `create the new rows of ${relation}`, sql: `CREATE OR REPLACE TEMP TABLE ${temp} AS ${selectBody(input.sql)}`, reportsRows: false },
    ];
    if (schemaChange === 'fail') {
      const expected = input.existingColumns.map((c) => quoteLiteral(c.toLowerCase())).join(', ');
      const message = quoteLiteral(`The columns of ${relation}'s new rows differ from the table's; on_schema_change is fail (run with --full-refresh to rebuild)`);
      steps.push({
        label: `compare the columns of ${relation}`,
        sql: `SELECT CASE WHEN (SELECT list(lower(column_name) ORDER BY column_index) FROM duckdb_columns() WHERE table_name = ${quoteLiteral(`${input.identifier}__dbt_tmp`)} AND database_name = 'temp') IS DISTINCT FROM [${expected}] THEN error(${message}) END`,
        reportsRows: false,
      });
    }
    if (strategy === 'delete+insert' && keys.length > 0) {
      const match = keys.map((k) => `${relation}.${quoteIdent(k)} = ${temp}.${quoteIdent(k)}`).join(' AND ');
      steps.push({ label: `delete replaced rows from ${relation}`, sql: `DELETE FROM ${relation} USING ${temp} WHERE ${match}`, reportsRows: false });
    }
    steps.push(
      { label: `insert new rows into ${relation}`, sql: `INSERT INTO ${relation} (${columns}) SELECT ${columns} FROM ${temp}`, reportsRows: true },
      { label: `drop ${temp}`, sql: `DROP TABLE ${temp}`, reportsRows: false },
    );
    return steps;
  },
};

const ephemeral: Materializer = {
  relationType: null,
  steps: () => [],
};

const EXTERNAL_FORMATS = ['parquet', 'csv', 'json'] as const;

export interface ExternalTarget {
  format: (typeof EXTERNAL_FORMATS)[number];
  /** Absolute path of the file, or of the folder when partitioned. */
  location: string;
  partitionBy: string[];
}

/** Where and how an external model is written; throws MaterializationConfigError on bad config. */
export function externalTarget(identifier: string, config: Readonly<Record<string, unknown>>, externalRoot: string): ExternalTarget {
  const format = config.format ?? 'parquet';
  if (typeof format !== 'string' || !(EXTERNAL_FORMATS as readonly string[]).includes(format)) {
    throw new MaterializationConfigError(`format must be one of ${EXTERNAL_FORMATS.join(', ')}`);
  }
  const options = config.options ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new MaterializationConfigError('options must be a mapping, e.g. {partition_by: load_date}');
  const raw = (options as Record<string, unknown>).partition_by;
  const partitionBy = raw === undefined ? [] : typeof raw === 'string' ? raw.split(',').map((c) => c.trim()) : Array.isArray(raw) ? raw.map(String) : null;
  if (partitionBy === null || partitionBy.some((c) => c === '')) throw new MaterializationConfigError('options.partition_by must be a column name or a list of column names');
  const location = config.location;
  if (location !== undefined && (typeof location !== 'string' || location === '')) throw new MaterializationConfigError('location must be a file or folder path');
  const path = typeof location === 'string' ? location : `${externalRoot.replace(/\/+$/, '')}/${identifier}${partitionBy.length > 0 ? '' : `.${format}`}`;
  return { format: format as ExternalTarget['format'], location: path, partitionBy };
}

const READERS: Readonly<Record<ExternalTarget['format'], string>> = { parquet: 'read_parquet', csv: 'read_csv_auto', json: 'read_json_auto' };

const external: Materializer = {
  relationType: 'view',
  steps(input) {
    const target = externalTarget(input.identifier, input.config, input.externalRoot);
    const relation = qualified(input.schema, input.identifier);
    const options = [`FORMAT ${target.format}`];
    if (target.partitionBy.length > 0) options.push(`PARTITION_BY (${target.partitionBy.map(quoteIdent).join(', ')})`, 'OVERWRITE true');
    const files = target.partitionBy.length > 0 ? `${target.location.replace(/\/+$/, '')}/**/*.${target.format}` : target.location;
    const read = `${READERS[target.format]}(${quoteLiteral(files)}${target.partitionBy.length > 0 ? ', hive_partitioning = true' : ''})`;
    return [
      { label: `write ${target.location}`, sql: `COPY ${selectBody(input.sql)} TO ${quoteLiteral(target.location)} (${options.join(', ')})`, reportsRows: true },
      ...dropOther(input, 'view'),
      { label: `create view ${relation} over ${target.location}`, sql: `CREATE OR REPLACE VIEW ${relation} AS SELECT * FROM ${read}`, reportsRows: false },
    ];
  },
};

const linkage: Materializer = {
  relationType: 'table',
  steps: () => [],
  async execute(db, input, context) {
    try {
      return await materializeLinkage(db, input, context.now, context.clock);
    } catch (err) {
      if (err instanceof LinkageConfigError) throw new MaterializationConfigError(err.message);
      throw err;
    }
  },
};

export const materializations: Readonly<Record<Materialization, Materializer>> = { view, table, incremental, ephemeral, external, seed: table, linkage };

export function isMaterialization(name: string): name is Materialization {
  return Object.hasOwn(materializations, name);
}
