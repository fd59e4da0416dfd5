// SQL-on-FHIR ViewDefinitions as models of a dbt project, on a real in-memory DuckDB over real Parquet
// in the raw layer's layout: a view is compiled to typed SQL over its resource type's source, keeps the
// latest version of each resource, carries lineage, is ref()-able and testable like any model, and an
// invalid view stops the project with the file and the place in the view. Also: a source with no files
// yet reads as empty when its columns are declared with data_type.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { runError, tinyProject, withRun } from './tinyProject.ts';

const RAW_COLUMNS = `
      - {name: id, data_type: varchar}
      - {name: resource_type, data_type: varchar}
      - {name: last_updated, data_type: varchar}
      - {name: resource, data_type: varchar}
      - {name: _source, data_type: varchar}
      - {name: _run_id, data_type: varchar}
      - {name: _file, data_type: varchar}
      - {name: _record, data_type: bigint}
      - {name: _ingested_at, data_type: timestamp}`;

const sources = (raw: string, typed: boolean) => `version: 2
sources:
  - name: fhir
    meta:
      external_location: "read_parquet('${raw}/{name}/*/*.parquet', hive_partitioning = true)"
    tables:
      - name: Patient
      - name: Immunization
${typed ? `        columns:${RAW_COLUMNS.replace(/\n {6}/g, '\n          ')}` : ''}
`;

const PATIENT_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patient_view',
  resource: 'Patient',
  status: 'active',
  select: [
    {
      column: [
        { name: 'patient_id', path: 'getResourceKey()', type: 'string' },
        { name: 'nhs_number', path: "identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number').value.first()", type: 'string' },
        { name: 'active', path: 'active', type: 'boolean' },
        { name: 'given', path: 'name.given', type: 'string', collection: true },
      ],
    },
  ],
};

const patient = (id: string, lastUpdated: string, nhs: string, active: boolean) => ({
  resourceType: 'Patient',
  id,
  meta: { lastUpdated },
  active,
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhs }],
  name: [{ given: ['Ada', 'May'], family: 'Smith' }],
});

/** Writes resources as one raw Parquet part: raw/<Type>/load_date=…/part.parquet. */
async function writeRaw(raw: string, type: string, resources: Record<string, unknown>[]): Promise<void> {
  const dir = join(raw, type, 'load_date=2026-01-01');
  await mkdir(dir, { recursive: true });
  const db = await DuckDb.open(':memory:');
  try {
    const rows = resources
      .map((r, i) => `(${quoteLiteral(String(r.id))}, ${quoteLiteral(type)}, ${quoteLiteral(String((r.meta as { lastUpdated: string }).lastUpdated))}, ${quoteLiteral(JSON.stringify(r))}, 'gp', 'run-1', 'export.ndjson', ${i + 1}, TIMESTAMP '2026-01-01 10:00:00')`)
      .join(', ');
    await db.run(
      `COPY (SELECT * FROM (VALUES ${rows}) t(id, resource_type, last_updated, resource, _source, _run_id, _file, _record, _ingested_at)) TO ${quoteLiteral(join(dir, 'part.parquet'))} (FORMAT parquet)`,
    );
  } finally {
    db.close();
  }
}

describe('ViewDefinitions as models', () => {
  it('compile to typed SQL over the latest version of each resource, with lineage, and feed ref() and tests', async () => {
    const scratch = await tinyProject({});
    try {
      const raw = join(scratch.dir, 'raw');
      await writeRaw(raw, 'Patient', [patient('p1', '2026-01-01T00:00:00Z', '9434765919', true), patient('p1', '2026-02-01T00:00:00Z', '9434765870', false), patient('p2', '2026-01-01T00:00:00Z', '9434765828', true)]);
      const files = {
        'models/sources.yml': sources(raw, true),
        'models/views/patient_view.json': JSON.stringify(PATIENT_VIEW),
        'models/views/views.yml': 'version: 2\nmodels:\n  - name: patient_view\n    columns:\n      - name: patient_id\n        data_tests: [unique, not_null]\n',
        'models/active_patients.sql': "select count(*) as n from {{ ref('patient_view') }} where active",
      };
      await withRun(files, { command: 'build' }, async ({ results, manifest }, db) => {
        expect(results.results.every((r) => r.status === 'success' || r.status === 'pass')).toBe(true);
        expect(await db.all('select patient_id, nhs_number, active, given, _source, _record from main.patient_view order by patient_id')).toEqual([
          { patient_id: 'p1', nhs_number: '9434765870', active: false, given: ['Ada', 'May'], _source: 'gp', _record: 2 },
          { patient_id: 'p2', nhs_number: '9434765828', active: true, given: ['Ada', 'May'], _source: 'gp', _record: 3 },
        ]);
        const types = await db.all("select column_name, data_type from information_schema.columns where table_name = 'patient_view' order by ordinal_position");
        expect(types.slice(0, 4)).toEqual([
          { column_name: 'patient_id', data_type: 'VARCHAR' },
          { column_name: 'nhs_number', data_type: 'VARCHAR' },
          { column_name: 'active', data_type: 'BOOLEAN' },
          { column_name: 'given', data_type: 'VARCHAR[]' },
        ]);
        expect(await db.scalar('select n::INTEGER from main.active_patients')).toBe(1);
        expect(manifest.nodes['model.carelake.patient_view']?.depends_on.nodes).toEqual(['source.carelake.fhir.Patient']);
      });
    } finally {
      await scratch.cleanup();
    }
  });

  it('an invalid view stops the project, naming the file and the place in the view', async () => {
    const bad = { ...PATIENT_VIEW, select: [{ unionAll: [{ column: [{ name: 'a', path: 'id' }] }, { column: [{ name: 'b', path: 'id' }] }] }] };
    const error = await runError({ 'models/sources.yml': sources('/nowhere', true), 'models/views/patient_view.json': JSON.stringify(bad) });
    const text = error.render();
    expect(text).toContain('models/views/patient_view.json');
    expect(text).toMatch(/unionAll/);
  });

  it('a source with no files reads as empty when its columns are typed, and is warned about when not', async () => {
    const immunizations = { resourceType: 'ViewDefinition', name: 'imm_view', resource: 'Immunization', select: [{ column: [{ name: 'id', path: 'getResourceKey()', type: 'string' }] }] };
    const scratch = await tinyProject({});
    try {
      const raw = join(scratch.dir, 'raw');
      await withRun({ 'models/sources.yml': sources(raw, true), 'models/views/imm_view.json': JSON.stringify(immunizations) }, {}, async ({ results }, db) => {
        expect(results.results[0]?.status).toBe('success');
        expect(await db.scalar('select count(*)::INTEGER from main.imm_view')).toBe(0);
      });
      await withRun({ 'models/sources.yml': sources(raw, false), 'models/views/imm_view.json': JSON.stringify(immunizations) }, {}, async ({ results, warnings }) => {
        expect(results.results[0]?.status).toBe('error');
        expect(warnings.map((w) => w.message).join('\n')).toContain("Source 'source.carelake.fhir.Immunization' has no files yet");
      });
    } finally {
      await scratch.cleanup();
    }
  });
});
