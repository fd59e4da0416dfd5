// dbt's generic data tests as SQL: `not_null`, `unique`, `accepted_values` and `relationships`, each a
// query returning the failing rows (dbt's own macros, written here as functions because carelake does
// not ship dbt's internal macro package), with the test's `where` config applied to the model first,
// plus dbt's naming of test nodes (`not_null_stg_patient_patient_id`) and the wrapper that turns
// failing rows into a failure count. A test fails when its query returns rows. Pure: no I/O.

import { createHash } from 'node:crypto';
import { quoteLiteral } from '../../core/sql.ts';

export const GENERIC_TESTS = ['not_null', 'unique', 'accepted_values', 'relationships'] as const;
export type GenericTestName = (typeof GENERIC_TESTS)[number];

export function isGenericTest(name: string): name is GenericTestName {
  return (GENERIC_TESTS as readonly string[]).includes(name);
}

export interface GenericTestInput {
  test: GenericTestName;
  /** The relation under test (a model, seed or source). */
  relation: string;
  /** The column (or SQL expression, as dbt allows) under test. */
  column: string;
  /** `accepted_values`: the allowed values; `quote: false` leaves them unquoted. */
  values?: readonly unknown[];
  quote?: boolean;
  /** `relationships`: the parent relation and its field. */
  to?: string;
  field?: string;
  /** The `where` config: only rows matching it are tested. */
  where?: string | null;
}

/** The failing-rows query, in the shape of dbt's default test macros. */
export function genericTestSql(input: GenericTestInput): string {
  const model = input.where ? `(select * from ${input.relation} where ${input.where}) dbt_subquery` : input.relation;
  const column = input.column;
  switch (input.test) {
    case 'not_null':
      return `select ${column}\nfrom ${model}\nwhere ${column} is null`;
    case 'unique':
      return `select ${column} as unique_field, count(*) as n_records\nfrom ${model}\nwhere ${column} is not null\ngroup by ${column}\nhaving count(*) > 1`;
    case 'accepted_values': {
      const quote = input.quote ?? true;
      const values = (input.values ?? []).map((v) => (quote ? quoteLiteral(String(v)) : String(v))).join(', ');
      return [
        'with all_values as (',
        `    select ${column} as value_field, count(*) as n_records`,
        `    from ${model}`,
        `    group by ${column}`,
        ')',
        'select * from all_values',
        `where value_field not in (${values})`,
      ].join('\n');
    }
    case 'relationships':
      return [
        'with child as (',
        `    select ${column} as from_field`,
        `    from ${model}`,
        `    where ${column} is not null`,
        '),',
        'parent as (',
        `    select ${input.field ?? ''} as to_field`,
        `    from ${input.to ?? ''}`,
        ')',
        'select from_field',
        'from child',
        'left join parent on child.from_field = parent.to_field',
        'where parent.to_field is null',
      ].join('\n');
  }
}

/** Wraps a failing-rows query (generic or singular) so it returns one row: the number of failures. */
export function failureCountSql(testSql: string): string {
  return `select count(*) as failures from (\n${testSql.replace(/[\s;]+$/, '')}\n) dbt_internal_test`;
}

/**
 * dbt's generated test name: `<test>_<model>_<column>` plus the arguments that tell instances apart,
 * non-word characters folded to `_`; names over 63 characters are shortened with a hash, as dbt does,
 * so they stay readable in logs.
 */
export function genericTestName(test: string, attachedTo: string, column: string | null, args: Readonly<Record<string, unknown>>): string {
  const parts = [test, attachedTo];
  if (column !== null) parts.push(column);
  const suffix = Object.keys(args)
    .sort()
    .map((key) => flatten(args[key]))
    .filter((text) => text !== '');
  const full = [parts.join('_'), ...suffix].join('__').replace(/[^A-Za-z0-9_]+/g, '_');
  if (full.length <= 63) return full;
  return `${full.slice(0, 30)}_${createHash('md5').update(full).digest('hex')}`;
}

/** A short stable hash that tells apart two tests that generate the same name. */
export function testHash(text: string): string {
  return createHash('md5').update(text).digest('hex').slice(0, 10);
}

function flatten(value: unknown): string {
  if (Array.isArray(value)) return value.map(flatten).join('__');
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
