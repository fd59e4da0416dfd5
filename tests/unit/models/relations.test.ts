// Relation naming: dbt's default schema and alias naming, and dbt-duckdb's external_location rules.

import { describe, expect, it } from 'vitest';
import { externalRelation, generateAliasName, generateSchemaName, pythonFormat } from '../../../transforms/models/relations.ts';

describe('generateSchemaName (dbt default)', () => {
  const cases = [
    { description: 'no custom schema uses the target schema', custom: null, target: 'main', expected: 'main' },
    { description: 'a custom schema is appended to the target schema', custom: 'curated', target: 'main', expected: 'main_curated' },
    { description: 'the custom schema is trimmed', custom: ' curated ', target: 'dev', expected: 'dev_curated' },
    { description: 'a blank custom schema counts as none', custom: '  ', target: 'main', expected: 'main' },
  ];
  it.each(cases)('$description', ({ custom, target, expected }) => {
    expect(generateSchemaName(custom, target)).toBe(expected);
  });
});

describe('generateAliasName (dbt default)', () => {
  const cases = [
    { description: 'no alias uses the model name', alias: null, expected: 'stg_patient' },
    { description: 'an alias replaces the model name', alias: 'patient', expected: 'patient' },
  ];
  it.each(cases)('$description', ({ alias, expected }) => {
    expect(generateAliasName(alias, 'stg_patient')).toBe(expected);
  });
});

describe('pythonFormat (str.format subset used by dbt-duckdb)', () => {
  const fields = { name: 'assignments', identifier: 'assignments_v2', schema: 'esr', database: null, root: '/lake' };
  const cases = [
    { description: 'fills {name}', template: '/lake/{name}.parquet', expected: '/lake/assignments.parquet' },
    { description: 'fills {identifier} and {schema}', template: '{schema}/{identifier}', expected: 'esr/assignments_v2' },
    { description: 'fills a meta key', template: '{root}/raw/{name}', expected: '/lake/raw/assignments' },
    { description: 'renders None for a null field', template: '{database}', expected: 'None' },
    { description: 'turns {{ and }} into braces', template: "read_json('{name}', columns={{'a': 'INT'}})", expected: "read_json('assignments', columns={'a': 'INT'})" },
    { description: 'leaves text without placeholders alone', template: "read_parquet('/x/*.parquet')", expected: "read_parquet('/x/*.parquet')" },
  ];
  it.each(cases)('$description', ({ template, expected }) => {
    expect(pythonFormat(template, fields)).toBe(expected);
  });

  const errors = [
    { description: 'an unknown key', template: '{nope}', message: "'{nope}' names nothing" },
    { description: 'a format spec', template: '{name:>10}', message: 'is not a supported placeholder' },
    { description: 'a positional field', template: '{0}', message: 'is not a supported placeholder' },
    { description: 'an unclosed brace', template: '/lake/{name', message: 'is never closed' },
    { description: 'a lone closing brace', template: '/lake/}', message: "a single '}'" },
  ];
  it.each(errors)('refuses $description', ({ template, message }) => {
    expect(() => pythonFormat(template, fields)).toThrow(message);
  });
});

describe('externalRelation (dbt-duckdb quoting)', () => {
  const cases = [
    { description: 'a path is single-quoted', location: '/lake/a.parquet', expected: "'/lake/a.parquet'" },
    { description: 'a glob is single-quoted', location: '/lake/raw/esr/a/*/*.parquet', expected: "'/lake/raw/esr/a/*/*.parquet'" },
    { description: 'a function call is used as written', location: "read_parquet('/lake/*/*.parquet', hive_partitioning = true)", expected: "read_parquet('/lake/*/*.parquet', hive_partitioning = true)" },
    { description: 'an already quoted string is used as written', location: "'/lake/a.csv'", expected: "'/lake/a.csv'" },
    { description: 'a quote inside a path is escaped', location: "/lake/o'brien.parquet", expected: "'/lake/o''brien.parquet'" },
  ];
  it.each(cases)('$description', ({ location, expected }) => {
    expect(externalRelation(location)).toBe(expected);
  });
});
