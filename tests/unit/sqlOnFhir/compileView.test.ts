// Compiled views run on a real in-memory DuckDB: typed-mode column types (declared, inferred, LISTs),
// pass-through lineage columns, filtering a mixed relation to the view's resource type, wrapping the
// SQL in CREATE TABLE AS, and a many-valued non-collection column failing at run time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { compileViewDefinition } from '../../../transforms/sqlOnFhir/compileView.ts';
import { runViewDefinition } from '../../../warehouse/sqlOnFhir/runViewDefinition.ts';

const resources = [
  {
    resourceType: 'Patient',
    id: 'p1',
    active: true,
    gender: 'female',
    birthDate: '1980-02',
    multipleBirthInteger: 2,
    name: [{ use: 'official', family: 'Ng', given: ['Ann', 'B'] }],
    generalPractitioner: [{ reference: 'Practitioner/gp1' }],
  },
  { resourceType: 'Patient', id: 'p2', active: false, name: [{ family: 'Okafor' }, { family: 'Ade' }] },
  { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' }, valueQuantity: { value: 7.25, unit: 'mmol/L' } },
];

const typedView = {
  resource: 'Patient',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()' },
        { name: 'active', path: 'active', type: 'boolean' },
        { name: 'births', path: 'multipleBirth.ofType(integer)' },
        { name: 'births_declared', path: 'multipleBirth.ofType(integer)', type: 'integer' },
        { name: 'birth_date', path: 'birthDate' },
        { name: 'has_name', path: 'name.exists()' },
        { name: 'name_count', path: 'name.count()' },
        { name: 'gp_key', path: 'generalPractitioner.getReferenceKey(Practitioner).first()' },
        { name: 'given', path: 'name.given.join(\' \')' },
        { name: 'families', path: 'name.family', collection: true },
        { name: 'first_name', path: 'name.first()' },
      ],
    },
  ],
};

const expectedTypes: [string, string][] = [
  ['id', 'VARCHAR'],
  ['active', 'BOOLEAN'],
  ['births', 'BIGINT'],
  ['births_declared', 'BIGINT'],
  ['birth_date', 'VARCHAR'],
  ['has_name', 'BOOLEAN'],
  ['name_count', 'BIGINT'],
  ['gp_key', 'VARCHAR'],
  ['given', 'VARCHAR'],
  ['families', 'VARCHAR[]'],
  ['first_name', 'VARCHAR'],
];

describe('compileViewDefinition on DuckDB', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
    await db.run(`CREATE TABLE raw_mixed (resource VARCHAR, _source VARCHAR, _record BIGINT)`);
    for (const [i, r] of resources.entries()) await db.run(`INSERT INTO raw_mixed VALUES ($1, 'src-a', $2)`, [JSON.stringify(r), i + 1]);
  });
  afterAll(() => db.close());

  it('gives typed-mode columns real SQL types, declared or inferred, and wraps in CREATE TABLE AS', async () => {
    const compiled = compileViewDefinition(typedView, { from: 'raw_mixed', mode: 'typed' });
    expect(compiled.columns.map((c) => [c.name, c.sqlType])).toEqual(expectedTypes);
    await db.run(`CREATE TABLE typed_patient AS (${compiled.sql})`);
    const described = await db.all(`SELECT column_name, column_type FROM (DESCRIBE typed_patient)`);
    expect(described.map((d) => [d['column_name'], d['column_type']])).toEqual(expectedTypes);
    const rows = await db.all(`SELECT * FROM typed_patient ORDER BY id`);
    expect(rows[0]).toMatchObject({ id: 'p1', active: true, births: '2', birth_date: '1980-02', has_name: true, name_count: '1', gp_key: 'gp1', given: 'Ann B', families: ['Ng'] });
    expect(JSON.parse(rows[0]!['first_name'] as string)).toEqual({ use: 'official', family: 'Ng', given: ['Ann', 'B'] });
    expect(rows[1]).toMatchObject({ id: 'p2', active: false, births: null, has_name: true, name_count: '2', gp_key: null, given: '', families: ['Okafor', 'Ade'] });
  });

  it('records the declared FHIR type, else the inferred one', () => {
    const compiled = compileViewDefinition(typedView, { from: 'raw_mixed', mode: 'typed' });
    const types = Object.fromEntries(compiled.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({ active: 'boolean', births: 'integer', birth_date: 'date', has_name: 'boolean', first_name: 'HumanName', families: 'string' });
  });

  it('copies pass-through columns unchanged onto every row, after the view columns', async () => {
    const view = { resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }] }, { forEach: 'name', column: [{ name: 'family', path: 'family' }] }] };
    const compiled = compileViewDefinition(view, { from: 'raw_mixed', mode: 'typed', passThrough: ['_source', '_record'] });
    const table = await db.table(`${compiled.sql} ORDER BY 1, 2`);
    expect(table.columns).toEqual(['id', 'family', '_source', '_record']);
    expect(table.rows).toEqual([
      ['p1', 'Ng', 'src-a', '1'],
      ['p2', 'Ade', 'src-a', '2'],
      ['p2', 'Okafor', 'src-a', '2'],
    ]);
  });

  it('keeps only resources of the view type from a mixed relation', async () => {
    const observations = await runViewDefinition(db, { resource: 'Observation', select: [{ column: [{ name: 'id', path: 'id' }, { name: 'v', path: 'value.ofType(Quantity).value' }] }] }, { relation: 'raw_mixed' });
    expect(observations.rows).toEqual([{ id: 'o1', v: 7.25 }]);
    const patients = await runViewDefinition(db, { resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }] }] }, resources);
    expect(patients.rows.map((r) => r['id']).sort()).toEqual(['p1', 'p2']);
  });

  it('refuses a pass-through column that clashes with a view column', () => {
    expect(() => compileViewDefinition({ resource: 'Patient', select: [{ column: [{ name: 'id', path: 'id' }] }] }, { from: 'raw_mixed', mode: 'typed', passThrough: ['id'] })).toThrow(/clashes/);
  });

  it('fails at run time, naming the column, when a non-collection column holds several values', async () => {
    const view = { resource: 'Patient', select: [{ column: [{ name: 'family', path: 'name.family' }] }] };
    const error = await runViewDefinition(db, view, resources).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CarelakeError);
    expect((error as CarelakeError).message).toMatch(/column family returned more than one value/);
  });
});
