// The SQL-on-FHIR v2 ViewDefinitions in models/views/ built by the real project runner over handwritten
// FHIR R4 resources, written to Parquet in the raw layer's layout (one file per resource type, every
// version a row, `resource` as JSON text): exact values from the views (UK Core NHS number and its
// verification status, getReferenceKey() keys that join Condition to Patient, value[x] by ofType(),
// the latest version of a resource winning), the lineage columns on every row, a resource type with no
// landed files read as empty from its declared columns, the FHIR staging models on top, and the data
// tests of models/views/schema.yml passing under `build` (a dangling reference only warns).

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb, type Row } from '../../../core/duckdb.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import type { RunResults } from '../../../transforms/models/execute.ts';
import { runProject } from '../../../transforms/models/runProject.ts';
import { copyBundledProject } from '../../support/bundledProject.ts';

const NOW = new Date('2026-01-02T00:00:00.000Z');
const SOURCE = 'test-fhir';
const RUN_ID = 'r20260101T000000Z-test01';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const UK_CORE_VERIFICATION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
const CARE_CONNECT_VERIFICATION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-CareConnect-NHSNumberVerificationStatus-1';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const SNOMED = 'http://snomed.info/sct';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const LOINC = 'http://loinc.org';

type Resource = { resourceType: string; id: string; meta: { lastUpdated: string } } & Record<string, unknown>;

const verification = (url: string, code: string) => ({
  url,
  valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code }] },
});

// ---- fixture: synthetic resources, never real patients -------------------------------------------

const PATIENT_P1_OLD: Resource = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2025-01-01T00:00:00Z' },
  identifier: [{ system: NHS, value: '9434765919' }],
  name: [{ family: 'Oldname', given: ['Aoife'] }],
  gender: 'female',
  birthDate: '1980-03-14',
};
const PATIENT_P1: Resource = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { lastUpdated: '2025-06-01T00:00:00Z' },
  identifier: [
    { extension: [verification(UK_CORE_VERIFICATION, '01')], system: NHS, value: '9434765919' },
    { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'https://trust.example.nhs.uk/mrn', value: 'MRN0001', assigner: { identifier: { system: ODS, value: 'RX1' } } },
  ],
  name: [{ family: 'Testwright', given: ['Aoife', 'Mae'], prefix: ['Ms'] }],
  gender: 'female',
  birthDate: '1980-03-14',
  address: [{ postalCode: 'ls1 4ap' }],
  generalPractitioner: [{ reference: 'Organization/org1' }],
};
const PATIENT_P2: Resource = {
  resourceType: 'Patient',
  id: 'p2',
  meta: { lastUpdated: '2025-02-01T00:00:00Z' },
  identifier: [{ extension: [verification(CARE_CONNECT_VERIFICATION, '02')], system: NHS, value: '9990000018' }],
  name: [{ family: 'Samplesmith', given: ['Bilal'] }],
  gender: 'male',
  birthDate: '1975',
  deceasedDateTime: '2025-05-05T10:00:00Z',
};
const ORGANIZATION: Resource = {
  resourceType: 'Organization',
  id: 'org1',
  meta: { lastUpdated: '2025-01-01T00:00:00Z' },
  identifier: [{ system: ODS, value: 'B81001' }],
  active: true,
  name: 'Test Practice',
  type: [{ coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/organisation-role', code: '76', display: 'GP PRACTICE' }] }],
};
const PRACTITIONER: Resource = {
  resourceType: 'Practitioner',
  id: 'dr1',
  meta: { lastUpdated: '2025-01-01T00:00:00Z' },
  identifier: [{ system: 'https://fhir.hl7.org.uk/Id/gmp-number', value: 'G3000001' }],
  name: [{ family: 'Fixtureson', given: ['Ceri'], prefix: ['Dr'] }],
};
const ENCOUNTER: Resource = {
  resourceType: 'Encounter',
  id: 'e1',
  meta: { lastUpdated: '2025-06-02T00:00:00Z' },
  identifier: [
    { system: 'https://trust.example.nhs.uk/other', value: 'X1' },
    { type: { coding: [{ code: 'VN' }] }, system: 'https://trust.example.nhs.uk/visit', value: 'V100', assigner: { identifier: { value: 'RX1' } } },
  ],
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: 'Patient/p1' },
  participant: [{ individual: { reference: 'Practitioner/dr1' } }],
  period: { start: '2025-06-01T09:00:00Z', end: '2025-06-03T12:00:00Z' },
  location: [
    { location: { reference: 'Location/ward-a', display: 'Ward A' }, period: { start: '2025-06-01T09:00:00Z' } },
    { location: { reference: 'Location/ward-b' }, period: { start: '2025-06-02T09:00:00Z' } },
  ],
  serviceProvider: { reference: 'Organization/org1' },
};
const CONDITION_C1: Resource = {
  resourceType: 'Condition',
  id: 'c1',
  meta: { lastUpdated: '2025-06-01T00:00:00Z' },
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: {
    coding: [
      { system: SNOMED, code: '44054006', display: 'Diabetes mellitus type 2' },
      { system: ICD10, code: 'E11.9', display: 'Type 2 diabetes mellitus without complications' },
    ],
  },
  subject: { reference: 'Patient/p1' },
  encounter: { reference: 'Encounter/e1' },
  onsetDateTime: '2016-11-26T08:05:59Z',
  recordedDate: '2016-11-27',
};
const CONDITION_C2: Resource = {
  resourceType: 'Condition',
  id: 'c2',
  meta: { lastUpdated: '2025-06-01T00:00:00Z' },
  code: { coding: [{ system: ICD10, code: 'I10' }], text: 'Hypertension' },
  // A version-specific reference still keys to the Patient.
  subject: { reference: 'Patient/p2/_history/3' },
};
const OBSERVATION_O1: Resource = {
  resourceType: 'Observation',
  id: 'o1',
  meta: { lastUpdated: '2025-06-01T00:00:00Z' },
  status: 'final',
  code: { coding: [{ system: LOINC, code: '2160-0', display: 'Creatinine' }, { system: SNOMED, code: '1000731000000107' }] },
  subject: { reference: 'Patient/p1' },
  encounter: { reference: 'Encounter/e1' },
  effectiveDateTime: '2025-06-01T10:00:00Z',
  valueQuantity: { value: 86.5, unit: 'umol/L', system: 'http://unitsofmeasure.org', code: 'umol/L' },
  referenceRange: [{ low: { value: 59 }, high: { value: 104 } }],
};
const OBSERVATION_O2: Resource = {
  resourceType: 'Observation',
  id: 'o2',
  meta: { lastUpdated: '2025-06-01T00:00:00Z' },
  status: 'final',
  code: { coding: [{ system: SNOMED, code: '75367002', display: 'Blood pressure' }] },
  subject: { reference: 'Patient/p2' },
  component: [
    { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mm[Hg]' } },
    { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mm[Hg]' } },
  ],
};
const OBSERVATION_O3: Resource = {
  resourceType: 'Observation',
  id: 'o3',
  meta: { lastUpdated: '2025-06-01T00:00:00Z' },
  status: 'final',
  code: { coding: [{ system: SNOMED, code: '229819007', display: 'Tobacco use' }] },
  // A patient that was never exported: the relationships test warns, the build goes on.
  subject: { reference: 'Patient/ghost' },
  valueCodeableConcept: { coding: [{ system: SNOMED, code: '8517006', display: 'Ex-smoker' }] },
};
const PROCEDURE: Resource = {
  resourceType: 'Procedure',
  id: 'pr1',
  meta: { lastUpdated: '2025-06-02T00:00:00Z' },
  status: 'completed',
  code: { coding: [{ system: SNOMED, code: '80146002', display: 'Appendicectomy' }] },
  subject: { reference: 'Patient/p1' },
  performedDateTime: '2025-06-02T08:00:00Z',
};
const MEDICATION_REQUEST: Resource = {
  resourceType: 'MedicationRequest',
  id: 'mr1',
  meta: { lastUpdated: '2025-06-02T00:00:00Z' },
  status: 'active',
  intent: 'order',
  medicationCodeableConcept: { coding: [{ system: SNOMED, code: '42095711000001107', display: 'Metformin 500mg tablets' }] },
  subject: { reference: 'Patient/p1' },
  authoredOn: '2025-06-02',
};

/** Each resource type's raw rows in landing order; Immunization and AllergyIntolerance land nothing. */
const LANDED: Record<string, Resource[]> = {
  Patient: [PATIENT_P1_OLD, PATIENT_P2, PATIENT_P1],
  Organization: [ORGANIZATION],
  Practitioner: [PRACTITIONER],
  Encounter: [ENCOUNTER],
  Condition: [CONDITION_C1, CONDITION_C2],
  Observation: [OBSERVATION_O1, OBSERVATION_O2, OBSERVATION_O3],
  Procedure: [PROCEDURE],
  MedicationRequest: [MEDICATION_REQUEST],
};

const VIEWS = [
  'fhir_patient',
  'fhir_patient_identifier',
  'fhir_encounter',
  'fhir_encounter_identifier',
  'fhir_encounter_location',
  'fhir_condition',
  'fhir_observation',
  'fhir_observation_coding',
  'fhir_observation_component',
  'fhir_procedure',
  'fhir_medication_request',
  'fhir_immunization',
  'fhir_allergy_intolerance',
  'fhir_organization',
  'fhir_practitioner',
];

/** Writes each type's resources as `raw/<source>/<Type>/load_date=2026-01-01/part.parquet`, as landing does. */
async function writeRaw(db: DuckDb, rawRoot: string): Promise<void> {
  for (const [type, resources] of Object.entries(LANDED)) {
    const dir = join(rawRoot, SOURCE, type, 'load_date=2026-01-01');
    await mkdir(dir, { recursive: true });
    const rows = resources.map(
      (r, i) =>
        `(${quoteLiteral(r.id)}, ${quoteLiteral(r.resourceType)}, ${quoteLiteral(r.meta.lastUpdated)}, ${quoteLiteral(JSON.stringify(r))}, ` +
        `${quoteLiteral(RUN_ID)}, ${quoteLiteral(SOURCE)}, ${quoteLiteral(`${type}.ndjson`)}, ${i + 1}::BIGINT, TIMESTAMPTZ '2026-01-01 00:00:00+00')`,
    );
    await db.run(
      `COPY (SELECT * FROM (VALUES ${rows.join(', ')}) AS t(id, resource_type, last_updated, resource, _run_id, _source, _file, _record, _ingested_at))
       TO ${quoteLiteral(join(dir, 'part.parquet'))} (FORMAT parquet)`,
    );
  }
}

describe('SQL-on-FHIR views over raw FHIR Parquet', () => {
  let root: string;
  let db: DuckDb;
  let results: RunResults;
  const all = (sql: string): Promise<Row[]> => db.all(sql);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'carelake-fhir-views-'));
    const projectDir = join(root, 'project');
    await copyBundledProject(projectDir);
    db = await DuckDb.open(':memory:');
    await writeRaw(db, join(root, 'raw'));
    ({ results } = await runProject({
      projectDir,
      db,
      env: {},
      target: { name: 'dev', schema: 'main' },
      now: NOW,
      command: 'build',
      vars: { raw_root: join(root, 'raw'), fhir_source: SOURCE },
      select: [...VIEWS, 'stg_fhir_organization', 'stg_fhir_patient', 'stg_fhir_condition', 'stg_fhir_observation', 'stg_fhir_encounter'],
    }));
  }, 120_000);

  afterAll(async () => {
    db?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('builds every view and staging model, and every data test passes but the dangling reference, which warns', () => {
    const statuses = results.results.map((r) => ({ id: r.unique_id, status: r.status, failures: r.failures }));
    const models = statuses.filter((s) => s.id.startsWith('model.'));
    expect(models.map((m) => m.id).sort()).toEqual(
      [...VIEWS, 'stg_fhir_organization', 'stg_fhir_patient', 'stg_fhir_condition', 'stg_fhir_observation', 'stg_fhir_encounter'].map((n) => `model.carelake.${n}`).sort(),
    );
    expect(models.filter((m) => m.status !== 'success')).toEqual([]);
    const tests = statuses.filter((s) => s.id.startsWith('test.'));
    expect(tests.length).toBeGreaterThan(40);
    // dbt shortens the long relationships test name to a hash, so the warning is matched by its model: only
    // Observation o3's patient was never exported.
    expect(tests.filter((t) => t.status !== 'pass')).toEqual([{ id: expect.stringMatching(/^test\.carelake\.relationships_fhir_observation_/), status: 'warn', failures: 1 }]);
  });

  it('keeps the latest version of each resource, by meta.lastUpdated', async () => {
    expect(await all(`SELECT patient_id, family_name, given_names, last_updated FROM main_staging.fhir_patient ORDER BY patient_id`)).toEqual([
      { patient_id: 'p1', family_name: 'Testwright', given_names: ['Aoife', 'Mae'], last_updated: '2025-06-01T00:00:00Z' },
      { patient_id: 'p2', family_name: 'Samplesmith', given_names: ['Bilal'], last_updated: '2025-02-01T00:00:00Z' },
    ]);
  });

  it('reads the NHS number and its UK Core (or CareConnect) verification status', async () => {
    expect(await all(`SELECT patient_id, nhs_number, nhs_number_verification_status, mrn, mrn_assigner_code, practice_organization_id FROM main_staging.fhir_patient ORDER BY patient_id`)).toEqual([
      { patient_id: 'p1', nhs_number: '9434765919', nhs_number_verification_status: '01', mrn: 'MRN0001', mrn_assigner_code: 'RX1', practice_organization_id: 'org1' },
      { patient_id: 'p2', nhs_number: '9990000018', nhs_number_verification_status: '02', mrn: null, mrn_assigner_code: null, practice_organization_id: null },
    ]);
    expect(await all(`SELECT patient_id, identifier_index, system, value, type_code, assigner_code, verification_status FROM main_staging.fhir_patient_identifier ORDER BY patient_id, identifier_index`)).toEqual([
      { patient_id: 'p1', identifier_index: '0', system: NHS, value: '9434765919', type_code: null, assigner_code: null, verification_status: '01' },
      { patient_id: 'p1', identifier_index: '1', system: 'https://trust.example.nhs.uk/mrn', value: 'MRN0001', type_code: 'MR', assigner_code: 'RX1', verification_status: null },
      { patient_id: 'p2', identifier_index: '0', system: NHS, value: '9990000018', type_code: null, assigner_code: null, verification_status: '02' },
    ]);
  });

  it('gives typed columns: typed mode maps boolean, integer and decimal, and keeps dates as text', async () => {
    const types = Object.fromEntries(
      (await all(`SELECT column_name, column_type FROM (DESCRIBE main_staging.fhir_observation)`)).map((r) => [String(r['column_name']), String(r['column_type'])]),
    );
    expect(types).toMatchObject({
      observation_id: 'VARCHAR',
      value_quantity_value: 'DOUBLE',
      has_value_quantity: 'BOOLEAN',
      value_integer: 'BIGINT',
      effective_date_time: 'VARCHAR',
      _source: 'VARCHAR',
      _run_id: 'VARCHAR',
      _file: 'VARCHAR',
      _record: 'BIGINT',
    });
    const patient = Object.fromEntries((await all(`SELECT column_name, column_type FROM (DESCRIBE main_staging.fhir_patient)`)).map((r) => [String(r['column_name']), String(r['column_type'])]));
    expect(patient).toMatchObject({ given_names: 'VARCHAR[]', deceased_boolean: 'BOOLEAN', birth_date: 'VARCHAR' });
  });

  it('keys references with getReferenceKey(Patient), so conditions join their patients (a version-specific reference too)', async () => {
    expect(
      await all(
        `SELECT c.condition_id, p.nhs_number, c.code_system, c.code_code, c.snomed_code, c.icd10_code, c.icd10_display, c.encounter_id, c.clinical_status
         FROM main_staging.fhir_condition c JOIN main_staging.fhir_patient p ON p.patient_id = c.patient_id ORDER BY c.condition_id`,
      ),
    ).toEqual([
      { condition_id: 'c1', nhs_number: '9434765919', code_system: SNOMED, code_code: '44054006', snomed_code: '44054006', icd10_code: 'E11.9', icd10_display: 'Type 2 diabetes mellitus without complications', encounter_id: 'e1', clinical_status: 'active' },
      { condition_id: 'c2', nhs_number: '9990000018', code_system: ICD10, code_code: 'I10', snomed_code: null, icd10_code: 'I10', icd10_display: null, encounter_id: null, clinical_status: null },
    ]);
  });

  it('splits Observation.value[x] with ofType(): Quantity values and units, CodeableConcept codes, components', async () => {
    expect(
      await all(
        `SELECT observation_id, patient_id, loinc_code, snomed_code, has_value_quantity, value_quantity_value, value_quantity_unit, value_quantity_code,
                has_value_codeable_concept, value_codeable_concept_code, reference_range_low, reference_range_high
         FROM main_staging.fhir_observation ORDER BY observation_id`,
      ),
    ).toEqual([
      { observation_id: 'o1', patient_id: 'p1', loinc_code: '2160-0', snomed_code: '1000731000000107', has_value_quantity: true, value_quantity_value: 86.5, value_quantity_unit: 'umol/L', value_quantity_code: 'umol/L', has_value_codeable_concept: false, value_codeable_concept_code: null, reference_range_low: 59, reference_range_high: 104 },
      { observation_id: 'o2', patient_id: 'p2', loinc_code: null, snomed_code: '75367002', has_value_quantity: false, value_quantity_value: null, value_quantity_unit: null, value_quantity_code: null, has_value_codeable_concept: false, value_codeable_concept_code: null, reference_range_low: null, reference_range_high: null },
      { observation_id: 'o3', patient_id: 'ghost', loinc_code: null, snomed_code: '229819007', has_value_quantity: false, value_quantity_value: null, value_quantity_unit: null, value_quantity_code: null, has_value_codeable_concept: true, value_codeable_concept_code: '8517006', reference_range_low: null, reference_range_high: null },
    ]);
    expect(await all(`SELECT observation_id, component_index, code_code, value_quantity_value, value_quantity_unit FROM main_staging.fhir_observation_component ORDER BY component_index`)).toEqual([
      { observation_id: 'o2', component_index: '0', code_code: '8480-6', value_quantity_value: 120, value_quantity_unit: 'mm[Hg]' },
      { observation_id: 'o2', component_index: '1', code_code: '8462-4', value_quantity_value: 80, value_quantity_unit: 'mm[Hg]' },
    ]);
  });

  it('puts the raw lineage columns on every row of every view', async () => {
    for (const view of VIEWS) {
      const rows = await all(`SELECT _source, _run_id, _file, _record FROM main_staging.${view}`);
      for (const row of rows) {
        expect(row, view).toMatchObject({ _source: SOURCE, _run_id: RUN_ID });
        expect(String(row['_file']), view).toMatch(/\.ndjson$/);
        expect(String(row['_record']), view).toMatch(/^[1-9][0-9]*$/);
      }
    }
    // The latest Patient p1 is the third raw row of its file.
    expect(await all(`SELECT _file, _record FROM main_staging.fhir_patient WHERE patient_id = 'p1'`)).toEqual([{ _file: 'Patient.ndjson', _record: '3' }]);
  });

  it('reads the new resource types, and a type with no landed files as empty', async () => {
    expect(await all(`SELECT procedure_id, patient_id, status, snomed_code, performed_date_time FROM main_staging.fhir_procedure`)).toEqual([
      { procedure_id: 'pr1', patient_id: 'p1', status: 'completed', snomed_code: '80146002', performed_date_time: '2025-06-02T08:00:00Z' },
    ]);
    expect(await all(`SELECT medication_request_id, patient_id, status, intent, medication_snomed_code, authored_on FROM main_staging.fhir_medication_request`)).toEqual([
      { medication_request_id: 'mr1', patient_id: 'p1', status: 'active', intent: 'order', medication_snomed_code: '42095711000001107', authored_on: '2025-06-02' },
    ]);
    expect(await all(`SELECT count(*) AS n FROM main_staging.fhir_immunization`)).toEqual([{ n: '0' }]);
    expect(await all(`SELECT count(*) AS n FROM main_staging.fhir_allergy_intolerance`)).toEqual([{ n: '0' }]);
  });

  it('feeds the FHIR staging models their old shape through the views', async () => {
    expect(
      await all(
        `SELECT patient_id, identifiers, nhs_number_valid, nhs_number_verified, mrn_authority, postcode, practice_ods, birth_date::VARCHAR AS birth_date, deceased
         FROM main_staging.stg_fhir_patient ORDER BY patient_id`,
      ),
    ).toEqual([
      {
        patient_id: 'p1',
        identifiers: [
          { system: NHS, value: '9434765919', type_code: null, assigner: null },
          { system: 'https://trust.example.nhs.uk/mrn', value: 'MRN0001', type_code: 'MR', assigner: 'RX1' },
        ],
        nhs_number_valid: true,
        nhs_number_verified: true,
        mrn_authority: 'RX1',
        postcode: 'LS1 4AP',
        practice_ods: 'B81001',
        birth_date: '1980-03-14',
        deceased: null,
      },
      { patient_id: 'p2', identifiers: [{ system: NHS, value: '9990000018', type_code: null, assigner: null }], nhs_number_valid: true, nhs_number_verified: false, mrn_authority: null, postcode: null, practice_ods: null, birth_date: null, deceased: true },
    ]);
    expect(await all(`SELECT encounter_id, visit_number, visit_number_authority, location, [l.location FOR l IN locations] AS places, service_provider_ods FROM main_staging.stg_fhir_encounter`)).toEqual([
      { encounter_id: 'e1', visit_number: 'V100', visit_number_authority: 'RX1', location: 'ward-b', places: ['Ward A', 'ward-b'], service_provider_ods: 'B81001' },
    ]);
    expect(await all(`SELECT observation_id, value_type, value_number, unit, value_code, [c.code FOR c IN codings] AS codes FROM main_staging.stg_fhir_observation ORDER BY observation_id`)).toEqual([
      { observation_id: 'o1', value_type: 'Quantity', value_number: 86.5, unit: 'umol/L', value_code: null, codes: ['2160-0', '1000731000000107'] },
      { observation_id: 'o2', value_type: null, value_number: null, unit: null, value_code: null, codes: ['75367002'] },
      { observation_id: 'o3', value_type: 'CodeableConcept', value_number: null, unit: null, value_code: '8517006', codes: ['229819007'] },
    ]);
  });
});
