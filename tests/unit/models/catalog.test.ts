// dbt's catalog.json from DuckDB's own information_schema (read from a real in-memory database), and
// carelake's lineage.json: sorted, stable, and only edges between known nodes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { catalogJson, DBT_CATALOG_SCHEMA, lineageJson, type CatalogColumnRow, type CatalogRelation } from '../../../transforms/models/catalog.ts';
import type { SelectableNode } from '../../../transforms/models/selectors.ts';

const COLUMNS_SQL = `
  select table_schema as "schema", table_name as "table", column_name as "column",
         ordinal_position as "index", data_type as "type", COLUMN_COMMENT as "comment"
  from information_schema.columns
  where table_schema not in ('information_schema', 'pg_catalog')`;

const RELATIONS: Record<string, CatalogRelation> = {
  'model.carelake.stg_patient': { schema: 'main_staging', identifier: 'stg_patient', resourceType: 'model', type: 'BASE TABLE' },
  'model.carelake.dim_patient': { schema: 'MAIN_CURATED', identifier: 'Dim_Patient', resourceType: 'model', type: 'VIEW' },
  'model.carelake.never_built': { schema: 'main', identifier: 'never_built', resourceType: 'model', type: 'BASE TABLE' },
  'seed.carelake.icd10_map': { schema: 'main', identifier: 'icd10_map', resourceType: 'seed', type: 'BASE TABLE' },
  'source.carelake.esr.assignments': { schema: 'raw', identifier: 'assignments', resourceType: 'source', type: 'BASE TABLE' },
};

describe('catalogJson (dbt target/catalog.json v1)', () => {
  let db: DuckDb;
  let rows: CatalogColumnRow[];
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
    await db.run(`create schema main_staging`);
    await db.run(`create schema main_curated`);
    await db.run(`create schema raw`);
    // Columns declared out of alphabetical order, so ordinal order is visible.
    await db.run(`create table main_staging.stg_patient (patient_key bigint, gender varchar, born date, loaded_at timestamp with time zone)`);
    await db.run(`comment on column main_staging.stg_patient.patient_key is 'Pseudonymous key'`);
    await db.run(`create view main_curated.dim_patient as select patient_key, gender from main_staging.stg_patient`);
    await db.run(`create table main.icd10_map (code varchar, description varchar)`);
    await db.run(`create table raw.assignments (assignment_id integer, "Grade" varchar)`);
    await db.run(`create table main.not_a_node (x integer)`);
    rows = (await db.all(COLUMNS_SQL)) as unknown as CatalogColumnRow[];
  });
  afterAll(() => db.close());

  const build = (extra: { errors?: string[]; database?: string | null } = {}) =>
    catalogJson({ columns: rows, relations: RELATIONS, generatedAt: new Date('2024-07-01T12:00:00.000Z'), invocationId: 'inv-1', database: 'dev', ...extra });

  it('writes dbt metadata', () => {
    expect(build().metadata).toEqual({ dbt_schema_version: DBT_CATALOG_SCHEMA, dbt_version: 'carelake', generated_at: '2024-07-01T12:00:00.000Z', invocation_id: 'inv-1', env: {} });
    expect(DBT_CATALOG_SCHEMA).toBe('https://schemas.getdbt.com/dbt/catalog/v1.json');
  });

  it('describes a table node in dbt shape, columns in ordinal order', () => {
    const table = build().nodes['model.carelake.stg_patient'];
    expect(table).toEqual({
      metadata: { type: 'BASE TABLE', schema: 'main_staging', name: 'stg_patient', database: 'dev', comment: null, owner: null },
      columns: {
        patient_key: { type: 'BIGINT', index: 1, name: 'patient_key', comment: 'Pseudonymous key' },
        gender: { type: 'VARCHAR', index: 2, name: 'gender', comment: null },
        born: { type: 'DATE', index: 3, name: 'born', comment: null },
        loaded_at: { type: 'TIMESTAMP WITH TIME ZONE', index: 4, name: 'loaded_at', comment: null },
      },
      stats: { has_stats: { id: 'has_stats', label: 'Has Stats?', value: false, include: false, description: 'Indicates whether there are statistics for this table' } },
      unique_id: 'model.carelake.stg_patient',
    });
    expect(Object.keys(table?.columns ?? {})).toEqual(['patient_key', 'gender', 'born', 'loaded_at']);
  });

  it('matches relations to tables ignoring case, and reports the names the database holds', () => {
    expect(build().nodes['model.carelake.dim_patient']?.metadata).toEqual({ type: 'VIEW', schema: 'main_curated', name: 'dim_patient', database: 'dev', comment: null, owner: null });
  });

  it('puts models and seeds under nodes and sources under sources, keyed and sorted by unique_id', () => {
    const catalog = build();
    expect(Object.keys(catalog.nodes)).toEqual(['model.carelake.dim_patient', 'model.carelake.stg_patient', 'seed.carelake.icd10_map']);
    expect(Object.keys(catalog.sources)).toEqual(['source.carelake.esr.assignments']);
    expect(Object.keys(catalog.sources['source.carelake.esr.assignments']?.columns ?? {})).toEqual(['assignment_id', 'Grade']);
  });

  it('leaves out a node whose relation is not in the database, and tables no node builds', () => {
    const catalog = build();
    expect(catalog.nodes['model.carelake.never_built']).toBeUndefined();
    expect(JSON.stringify(catalog)).not.toContain('not_a_node');
  });

  it('writes errors as null when there are none, and as a list when there are', () => {
    expect(build().errors).toBeNull();
    expect(build({ errors: [] }).errors).toBeNull();
    expect(build({ errors: ['Catalog Error: schema raw_x does not exist'] }).errors).toEqual(['Catalog Error: schema raw_x does not exist']);
  });

  it('writes a null database when none is given', () => {
    expect(build({ database: undefined }).nodes['seed.carelake.icd10_map']?.metadata.database).toBeNull();
  });

  it('accepts ordinal positions as bigint or text and a blank comment as none', () => {
    const catalog = catalogJson({
      columns: [
        { schema: 's', table: 't', column: 'b', index: '2', type: 'INTEGER', comment: '  ' },
        { schema: 's', table: 't', column: 'a', index: 1n, type: 'VARCHAR' },
      ],
      relations: { 'model.p.t': { schema: 's', identifier: 't', resourceType: 'model', type: 'VIEW' } },
      generatedAt: new Date(0),
      invocationId: 'x',
    });
    expect(catalog.nodes['model.p.t']?.columns).toEqual({ a: { type: 'VARCHAR', index: 1, name: 'a', comment: null }, b: { type: 'INTEGER', index: 2, name: 'b', comment: null } });
  });

  it('round-trips through JSON unchanged', () => {
    const catalog = build();
    expect(JSON.parse(JSON.stringify(catalog))).toEqual(catalog);
  });
});

describe('lineageJson', () => {
  const node = (uniqueId: string, resourceType: SelectableNode['resourceType'], parents: string[], extra: Partial<SelectableNode> = {}): SelectableNode => ({
    uniqueId,
    resourceType,
    name: uniqueId.split('.').pop() as string,
    fqn: ['carelake', uniqueId.split('.').pop() as string],
    originalFilePath: `models/${uniqueId.split('.').pop()}.sql`,
    tags: [],
    parents,
    ...extra,
  });
  const nodes: SelectableNode[] = [
    node('model.carelake.fct_admissions', 'model', ['model.carelake.stg_patient', 'seed.carelake.icd10_map', 'model.carelake.stg_patient'], { materialized: 'incremental', tags: ['nightly', 'finance', 'nightly'] }),
    node('model.carelake.stg_patient', 'model', ['source.carelake.fhir.Patient'], { materialized: 'view' }),
    node('source.carelake.fhir.Patient', 'source', [], { originalFilePath: 'models/sources.yml' }),
    node('seed.carelake.icd10_map', 'seed', [], { materialized: 'seed', originalFilePath: 'seeds/icd10_map.csv' }),
    node('test.carelake.not_null_stg_patient_id.abc', 'test', ['model.carelake.stg_patient', 'model.carelake.disabled_model']),
  ];
  const lineage = lineageJson(nodes);

  it('lists nodes sorted by id, with their path, materialization and sorted unique tags', () => {
    expect(lineage.nodes).toEqual([
      { id: 'model.carelake.fct_admissions', name: 'fct_admissions', resource_type: 'model', path: 'models/fct_admissions.sql', materialized: 'incremental', tags: ['finance', 'nightly'] },
      { id: 'model.carelake.stg_patient', name: 'stg_patient', resource_type: 'model', path: 'models/stg_patient.sql', materialized: 'view', tags: [] },
      { id: 'seed.carelake.icd10_map', name: 'icd10_map', resource_type: 'seed', path: 'seeds/icd10_map.csv', materialized: 'seed', tags: [] },
      { id: 'source.carelake.fhir.Patient', name: 'Patient', resource_type: 'source', path: 'models/sources.yml', materialized: null, tags: [] },
      { id: 'test.carelake.not_null_stg_patient_id.abc', name: 'abc', resource_type: 'test', path: 'models/abc.sql', materialized: null, tags: [] },
    ]);
  });

  it('lists each parent → child edge once, sorted, leaving out parents that are not nodes', () => {
    expect(lineage.edges).toEqual([
      { from: 'model.carelake.stg_patient', to: 'model.carelake.fct_admissions' },
      { from: 'model.carelake.stg_patient', to: 'test.carelake.not_null_stg_patient_id.abc' },
      { from: 'seed.carelake.icd10_map', to: 'model.carelake.fct_admissions' },
      { from: 'source.carelake.fhir.Patient', to: 'model.carelake.stg_patient' },
    ]);
  });

  it('is the same whatever order the nodes come in', () => {
    expect(JSON.stringify(lineageJson([...nodes].reverse()))).toBe(JSON.stringify(lineage));
  });

  it('does not mutate its input', () => {
    const copy = structuredClone(nodes);
    lineageJson(copy);
    expect(copy).toEqual(nodes);
  });

  it('an empty project has an empty lineage', () => {
    expect(lineageJson([])).toEqual({ nodes: [], edges: [] });
  });
});
