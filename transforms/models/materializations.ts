// How a compiled model becomes a relation, looked up by name in a registry — never a switch. Each
// materializer only generates SQL (`MaterializationStep`s); execute.ts runs the steps for one model in
// one transaction, so a failed rebuild leaves the previous relation in place. Adding a name to
// MATERIALIZATIONS without a registry entry is a compile error. Pure: no I/O.

import { qualified } from '../../core/sql.ts';

export const MATERIALIZATIONS = ['view', 'table'] as const;
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
}

export interface MaterializationStep {
  /** What the step does, for error messages: `create table "main"."dim_patient"`. */
  label: string;
  sql: string;
  /** The statement reports the rows it wrote (DuckDB's CREATE TABLE AS returns a Count). */
  reportsRows: boolean;
}

export interface Materializer {
  readonly relationType: RelationType;
  steps(input: MaterializeInput): MaterializationStep[];
}

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

export const materializations: Readonly<Record<Materialization, Materializer>> = { view, table };

export function isMaterialization(name: string): name is Materialization {
  return Object.hasOwn(materializations, name);
}
