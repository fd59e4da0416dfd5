// The curated HL7 v2 mapping end to end: messages landed by the real hl7v2 connector, then the bundled
// dbt project run on DuckDB, and exact values checked in the FHIR-aligned staging models.
// - A handcrafted feed (hl7StagingFixture.ts) pins down every rule: encounter lifecycles (A01, A02,
//   A03, A13, A11, A04; several visits on one day), merges, results of every value type, diagnoses,
//   deaths, NHS number checks and a message whose delimiters are all non-default. Two more messages,
//   built here (PROCEDURE_FILES), carry procedures (PR1): OPCS-4 and SNOMED CT in PR1-3, and one
//   v2.2 PR1 with its coding method in PR1-2 and its text in PR1-4.
// - The shared corpus of real samples (../shared/data/hl7v2) lands whole, beside a small synthetic FHIR
//   export, and chosen UK and international messages are checked, as is the promise that each FHIR
//   and HL7 staging pair unions by name with the same columns and types.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceConfig, type SourceConfig } from '../../../core/config.ts';
import { DuckDb, type Row } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../../../pipelines/runs/runSource.ts';
import { generateDemoSources } from '../../../synthetic/generate.ts';
import { runProject } from '../../../transforms/models/runProject.ts';
import { ensureTerminologySchema } from '../../../transforms/terminology/mapRegistry.ts';
import { Pseudonymiser } from '../../../transforms/pseudonymisation/pseudonymiser.ts';
import { registerPseudonymFunction } from '../../../transforms/pseudonymisation/pseudonymSqlFunction.ts';
import { copyLedger } from '../../../warehouse/build/warehouseBuild.ts';
import { describeWithShared } from '../../sharedData.ts';
import { copyBundledProject } from '../../support/bundledProject.ts';
import { FIXTURE_FILES } from './hl7StagingFixture.ts';

const logger = createLogger(null);
const NOW = new Date('2026-01-01T00:00:00.000Z');

const HL7_MODELS = [
  'stg_hl7_message',
  'stg_hl7_segment',
  'stg_hl7_pid',
  'stg_hl7_pv1',
  'stg_hl7_patient_merge',
  'stg_hl7_patient',
  'stg_hl7_encounter',
  'stg_hl7_diagnostic_report',
  'stg_hl7_observation',
  'stg_hl7_condition',
  'stg_hl7_procedure',
  // stg_procedure with what it reads: the FHIR side is empty here (no FHIR source landed).
  '+stg_procedure',
];

/** Segment `id` of the fixture message whose MSH-10 is `controlId`, exactly as the feed sent it. */
function fixtureSegment(controlId: string, id: string): string {
  let current: string | undefined;
  for (const text of Object.values(FIXTURE_FILES)) {
    for (const segment of text.split('\r')) {
      if (segment.startsWith('MSH')) current = segment.split(segment[3] ?? '|')[9];
      else if (current === controlId && segment.startsWith(`${id}${segment[3] ?? '|'}`)) return segment;
    }
  }
  throw new Error(`no ${id} in fixture message ${controlId}`);
}

/** A message in the feed's usual form (sending PAS at RXX, delimiters `|^~\&`), CR-terminated. */
function hl7Message(type: string, controlId: string, time: string, version: string, segments: string[]): string {
  return [`MSH|^~\\&|PAS|RXX|CARELAKE|QCL|${time}||${type}|${controlId}|P|${version}|||AL|NE||8859/1`, ...segments].join('\r') + '\r';
}

/**
 * Procedures, landed beside the fixture feed. Each message repeats the PID and PV1 the feed last sent
 * for its visit, so patients and encounters stay as the fixture makes them (an A08 changes no status).
 * - C040, v2.4: clinical coding of P1's stay V1 after the cancelled discharge, OPCS-4 with its time (GMT)
 *   and SNOMED CT without one.
 * - C041, v2.2: P2's outpatient visit V3 (BST) coded the old way, method in PR1-2 and text in PR1-4.
 */
const PROCEDURE_FILES: Record<string, string> = {
  'adt-4.hl7': [
    hl7Message('ADT^A08^ADT_A01', 'C040', '20240316090000', '2.4', [
      'EVN|A08|20240316090000',
      fixtureSegment('C004', 'PID'),
      fixtureSegment('C004', 'PV1'),
      'PR1|1||H22.9^Diagnostic endoscopic examination of colon^OPCS4||20240312143000|D',
      'PR1|2||80146002^Appendicectomy^SCT',
    ]),
    hl7Message('ADT^A08', 'C041', '20240402090000', '2.2', [
      'EVN|A08|20240402090000',
      fixtureSegment('C013', 'PID'),
      fixtureSegment('C013', 'PV1'),
      'PR1|1|OPCS-4|U19.2|24 hour ambulatory electrocardiography|20240401101500',
    ]),
  ].join(''),
};

interface BuiltLake {
  db: DuckDb;
  /** Messages the hl7v2 source landed. */
  landed: number;
  cleanup(): Promise<void>;
}

/**
 * Lands `sources` into a new lake, copies the bundled dbt project beside it (so target/ is written
 * there, not into the repository) and runs `select` (every model when absent) into an in-memory DuckDB.
 */
async function buildLake(root: string, sources: SourceConfig[], vars: Record<string, string>, select?: string[]): Promise<BuiltLake> {
  const layout = new LakeLayout(join(root, 'lake'));
  const ledger = Ledger.open(layout.ledger);
  let landed = 0;
  try {
    for (const source of sources) {
      const summary = await runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
      if (source.kind === 'hl7v2') landed += summary.run.records_landed;
    }
  } finally {
    ledger.close();
  }
  const projectDir = join(root, 'project');
  await copyBundledProject(projectDir);
  const db = await DuckDb.open(':memory:');
  // The ESR models tokenise identifiers with `pseudonym()`, which the warehouse build registers.
  registerPseudonymFunction(db, new Pseudonymiser(Buffer.alloc(32, 1)));
  // The marts map codes through terminology.*, which the warehouse build creates (with no maps here).
  await ensureTerminologySchema(db);
  // The aggregates read the run ledger as ops.*, which the warehouse build copies before the models.
  const ledgerCopy = Ledger.open(layout.ledger);
  try {
    await copyLedger(db, ledgerCopy);
  } finally {
    ledgerCopy.close();
  }
  const project = { projectDir, db, env: {}, target: { name: 'dev', schema: 'main' }, now: NOW, vars: { raw_root: layout.rawDir, ...vars } };
  // Seeds first (the aggregates read seeds/long_term_conditions.csv), then the models.
  const seeded = await runProject({ ...project, command: 'seed' });
  const { results } = await runProject({ ...project, ...(select ? { select } : {}) });
  const failed = [...seeded.results.results, ...results.results]
    .filter((r) => r.status !== 'success')
    .map((r) => `${r.unique_id}: ${r.message ?? r.status}`);
  expect(failed).toEqual([]);
  return { db, landed, cleanup: async () => db.close() };
}

function hl7Source(name: string, path: string): SourceConfig {
  return sourceConfig.parse({ name, kind: 'hl7v2', path, timezone: 'Europe/London' });
}

describe('HL7 v2 staging models on a handcrafted feed', () => {
  let root: string;
  let lake: BuiltLake;
  const all = (sql: string) => lake.db.all(sql);
  /** The rows of a query keyed by the first column. */
  const byKey = async (sql: string): Promise<Record<string, Row>> =>
    Object.fromEntries((await all(sql)).map((row) => [String(Object.values(row)[0]), row]));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'carelake-hl7-staging-'));
    await mkdir(join(root, 'in'));
    for (const [name, text] of Object.entries({ ...FIXTURE_FILES, ...PROCEDURE_FILES })) await writeFile(join(root, 'in', name), text, 'latin1');
    lake = await buildLake(root, [hl7Source('pas', join(root, 'in', '*.hl7'))], { hl7_source: 'pas' }, HL7_MODELS);
  });
  afterAll(async () => {
    await lake?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('stages every landed message once, with its event and EVN times in the feed zone', async () => {
    // The fixture's 15 and the 2 procedure messages.
    expect(lake.landed).toBe(17);
    expect(await all(`SELECT count(*)::INTEGER AS n, count(DISTINCT message_key)::INTEGER AS keys FROM main_staging.stg_hl7_message`)).toEqual([{ n: 17, keys: 17 }]);
    expect(
      await all(`SELECT control_id, event, delimiters, strftime(event_recorded_at, '%Y-%m-%dT%H:%M:%SZ') AS recorded, strftime(event_occurred_at, '%Y-%m-%dT%H:%M:%SZ') AS occurred
                 FROM main_staging.stg_hl7_message WHERE control_id IN ('C002', 'C023') ORDER BY control_id`),
    ).toEqual([
      { control_id: 'C002', event: 'ADT^A02', delimiters: '|^~\\&', recorded: '2024-03-11T08:59:00Z', occurred: '2024-03-11T08:55:00Z' },
      { control_id: 'C023', event: 'ADT^A28', delimiters: '!@*$%', recorded: '2024-03-22T09:00:00Z', occurred: null },
    ]);
  });

  it('keeps one patient per identity, latest demographics first, with NHS number checks, GP and death', async () => {
    const patients = await byKey(`SELECT mrn, mrn_authority, nhs_number, nhs_number_valid, nhs_number_verification_status, nhs_number_verified,
        family_name, given_name, given_names, name_prefix, birth_date::VARCHAR AS birth_date, sex, postcode, practice_ods, gp_code,
        deceased, strftime(deceased_at, '%Y-%m-%dT%H:%M:%SZ') AS deceased_at, identifiers
      FROM main_staging.stg_hl7_patient ORDER BY mrn`);
    expect(Object.keys(patients)).toEqual(['M001', 'M002', 'M004', 'M005', 'M009']);
    expect(patients.M001).toEqual({
      mrn: 'M001',
      mrn_authority: 'RXX',
      nhs_number: '9434765919',
      nhs_number_valid: true,
      nhs_number_verification_status: '01',
      nhs_number_verified: true,
      family_name: 'SMITH&JONES',
      given_name: 'Sian',
      given_names: ['Sian', 'Mary'],
      name_prefix: 'Ms',
      birth_date: '1980-02-15',
      sex: 'female',
      postcode: 'LS1 4AP',
      practice_ods: 'B82001',
      gp_code: 'G1234567',
      deceased: null,
      deceased_at: null,
      identifiers: [
        { system: null, value: 'M001', type_code: 'MR', assigner: 'RXX' },
        { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919', type_code: 'NH', assigner: 'NHS' },
      ],
    });
    expect(patients.M002).toMatchObject({ nhs_number: '9434765918', nhs_number_valid: false, nhs_number_verification_status: '02', nhs_number_verified: false, sex: 'male' });
    // Non-default delimiters: `$F$` is that message's field separator; the NHS number's spaces are dropped.
    expect(patients.M004).toMatchObject({
      family_name: 'O!NEILL',
      given_name: 'Ann',
      nhs_number: '9434765919',
      nhs_number_valid: true,
      nhs_number_verification_status: '02',
      postcode: 'LS6 2DQ',
      birth_date: '1990-07-04',
    });
    expect(patients.M005).toMatchObject({ deceased: true, deceased_at: '2024-03-20T15:30:00Z' });
  });

  it('records the A40 merge once per retired identifier and points the retired identity at its survivor', async () => {
    const merges = await all(`SELECT retired_identifier, retired_identifier_type, retired_identifier_assigner, retired_identifier_system,
        surviving_mrn, surviving_nhs_number, strftime(merged_at, '%Y-%m-%dT%H:%M:%SZ') AS merged_at, trigger_event,
        surviving_patient_id = (SELECT patient_id FROM main_staging.stg_hl7_patient WHERE mrn = 'M001') AS survivor_is_m001
      FROM main_staging.stg_hl7_patient_merge ORDER BY retired_identifier`);
    expect(merges).toEqual([
      {
        retired_identifier: '9876543210',
        retired_identifier_type: 'NH',
        retired_identifier_assigner: 'NHS',
        retired_identifier_system: 'https://fhir.nhs.uk/Id/nhs-number',
        surviving_mrn: 'M001',
        surviving_nhs_number: '9434765919',
        merged_at: '2024-03-19T10:50:00Z',
        trigger_event: 'A40',
        survivor_is_m001: true,
      },
      {
        retired_identifier: 'M009',
        retired_identifier_type: 'MR',
        retired_identifier_assigner: 'RXX',
        retired_identifier_system: null,
        surviving_mrn: 'M001',
        surviving_nhs_number: '9434765919',
        merged_at: '2024-03-19T10:50:00Z',
        trigger_event: 'A40',
        survivor_is_m001: true,
      },
    ]);
    expect(
      await all(`SELECT p.mrn, s.mrn AS replaced_by FROM main_staging.stg_hl7_patient p JOIN main_staging.stg_hl7_patient s ON s.patient_id = p.replaced_by_patient_id`),
    ).toEqual([{ mrn: 'M009', replaced_by: 'M001' }]);
  });

  it('folds ADT events into encounters: transfers, a cancelled discharge, a cancelled admission, several visits on one day', async () => {
    const encounters = await byKey(`SELECT visit_number, visit_number_authority, class_code, class_system, status,
        strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') AS period_start, strftime(period_end, '%Y-%m-%dT%H:%M:%SZ') AS period_end,
        location, location_site, [l.location FOR l IN locations] AS moves, admit_source_code, discharge_disposition_code, service_provider_ods,
        patient_id = (SELECT patient_id FROM main_staging.stg_hl7_patient WHERE mrn = CASE WHEN visit_number = 'V1' THEN 'M001' ELSE 'M002' END) AS right_patient
      FROM main_staging.stg_hl7_encounter ORDER BY visit_number`);
    expect(encounters).toEqual({
      // Discharged on the 15th, then the discharge was cancelled (A13): in progress again, no end.
      V1: {
        visit_number: 'V1',
        visit_number_authority: 'RXX',
        class_code: 'IMP',
        class_system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
        status: 'in-progress',
        period_start: '2024-03-10T08:30:00Z',
        period_end: null,
        location: 'WARD2/BAY3/BED4',
        location_site: 'RXX01',
        moves: ['WARD1/BAY1/BED1', 'WARD2/BAY3/BED4'],
        admit_source_code: '19',
        discharge_disposition_code: '01',
        service_provider_ods: 'RXX',
        right_patient: true,
      },
      // Admitted and cancelled (A11) half an hour later: kept, as cancelled.
      V2: expect.objectContaining({ class_code: 'IMP', status: 'cancelled', period_start: '2024-04-01T08:00:00Z', period_end: null, right_patient: true }),
      // The same day: an outpatient visit and an ED attendance, each its own encounter (times in BST).
      V3: expect.objectContaining({ class_code: 'AMB', status: 'finished', period_start: '2024-04-01T09:00:00Z', period_end: '2024-04-01T09:45:00Z', location: 'OPD2', right_patient: true }),
      V4: expect.objectContaining({ class_code: 'EMER', status: 'finished', period_start: '2024-04-01T13:00:00Z', period_end: '2024-04-01T17:00:00Z', location: 'ED/MAJ', right_patient: true }),
    });
  });

  it('reads each result by its value type, with its report, patient and visit', async () => {
    const results = await byKey(`SELECT o.code, o.code_system, o.display, o.codings, o.value_type, o.value_comparator, o.value_number, o.value_separator, o.value_number_2,
        o.unit, o.value_string, o.value_code_system, o.value_code, o.value_display, o.reference_range, o.reference_low, o.reference_high,
        o.interpretation_code, o.status, strftime(o.effective_at, '%Y-%m-%dT%H:%M:%SZ') AS effective_at, strftime(o.issued_at, '%Y-%m-%dT%H:%M:%SZ') AS issued_at,
        r.filler_order_number, e.visit_number, p.mrn
      FROM main_staging.stg_hl7_observation o
      JOIN main_staging.stg_hl7_diagnostic_report r USING (diagnostic_report_id)
      JOIN main_staging.stg_hl7_encounter e ON e.encounter_id = o.encounter_id
      JOIN main_staging.stg_hl7_patient p ON p.patient_id = o.patient_id`);
    expect(Object.keys(results).sort()).toEqual(['COMM', 'COVID', 'CRP', 'EGFR', 'HB', 'REP', 'TITRE']);
    const common = { filler_order_number: 'RXXL1', visit_number: 'V1', mrn: 'M001', issued_at: '2024-03-12T10:00:00Z' };
    expect(results.HB).toEqual({
      ...common,
      code: 'HB',
      code_system: 'L',
      display: 'Haemoglobin',
      codings: [
        { system: 'L', code: 'HB', display: 'Haemoglobin' },
        { system: 'http://snomed.info/sct', code: '1022431000000105', display: 'Haemoglobin estimation' },
      ],
      value_type: 'Quantity',
      value_comparator: null,
      value_number: 135,
      value_separator: null,
      value_number_2: null,
      unit: 'g/L',
      value_string: null,
      value_code_system: null,
      value_code: null,
      value_display: null,
      reference_range: '115-165',
      reference_low: 115,
      reference_high: 165,
      interpretation_code: 'N',
      status: 'final',
      effective_at: '2024-03-12T07:15:00Z',
    });
    // No OBX-14: the report's OBR-7.
    expect(results.CRP).toMatchObject({ value_type: 'Quantity', value_comparator: '<', value_number: 5, unit: 'mg/L', reference_high: 5, reference_low: null, effective_at: '2024-03-12T07:00:00Z' });
    expect(results.COMM).toMatchObject({ value_type: 'string', value_string: 'Haemolysed & repeat', status: 'preliminary' });
    expect(results.COVID).toMatchObject({ value_type: 'CodeableConcept', value_code_system: 'http://snomed.info/sct', value_code: '260373001', value_display: 'Detected', interpretation_code: 'A', status: 'corrected' });
    expect(results.EGFR).toMatchObject({ value_type: 'Quantity', value_comparator: '>', value_number: 90, value_separator: null, unit: 'mL/min/1.73m2', reference_low: 60 });
    expect(results.TITRE).toMatchObject({ value_type: 'Ratio', value_comparator: null, value_number: 1, value_separator: ':', value_number_2: 128 });
    expect(results.REP).toMatchObject({ value_type: 'string', value_string: 'Line one\nLine two\nLine three', status: 'cancelled' });

    expect(
      await all(`SELECT code, code_system, display, status, category, placer_order_number, strftime(effective_at, '%Y-%m-%dT%H:%M:%SZ') AS effective_at FROM main_staging.stg_hl7_diagnostic_report`),
    ).toEqual([{ code: 'FBC', code_system: 'L', display: 'Full blood count', status: 'final', category: 'HM', placer_order_number: 'RXXP1', effective_at: '2024-03-12T07:00:00Z' }]);
  });

  it('reads DG1 diagnoses with ICD-10 in FHIR form, linked to the visit', async () => {
    expect(
      await all(`SELECT c.code, c.icd10_code, c.code_system, c.display, c.source_system, c.diagnosis_type, c.category,
          strftime(c.onset_at, '%Y-%m-%dT%H:%M:%SZ') AS onset_at, c.onset_date::VARCHAR AS onset_date, e.visit_number
        FROM main_staging.stg_hl7_condition c JOIN main_staging.stg_hl7_encounter e USING (encounter_id) ORDER BY onset_at, code`),
    ).toEqual([
      { code: 'J18.9', icd10_code: 'J18.9', code_system: 'http://hl7.org/fhir/sid/icd-10', display: 'Pneumonia, unspecified', source_system: 'I10', diagnosis_type: 'A', category: 'encounter-diagnosis', onset_at: '2024-03-10T08:30:00Z', onset_date: '2024-03-10', visit_number: 'V1' },
      { code: 'E11X', icd10_code: 'E11', code_system: 'http://hl7.org/fhir/sid/icd-10', display: 'Type 2 diabetes mellitus', source_system: 'I10', diagnosis_type: 'F', category: 'encounter-diagnosis', onset_at: '2024-03-15T12:00:00Z', onset_date: '2024-03-15', visit_number: 'V1' },
      { code: 'J189', icd10_code: 'J18.9', code_system: 'http://hl7.org/fhir/sid/icd-10', display: 'Pneumonia, unspecified', source_system: 'I10', diagnosis_type: 'F', category: 'encounter-diagnosis', onset_at: '2024-03-15T12:00:00Z', onset_date: '2024-03-15', visit_number: 'V1' },
    ]);
  });

  it('reads PR1 procedures: OPCS-4 and SNOMED CT in PR1-3, the pre-v2.3 form in PR1-2/PR1-4, linked to the visit', async () => {
    const procedures = await all(`SELECT m.control_id, pr.code, pr.display, pr.code_system, pr.snomed_code, pr.snomed_display, pr.status, pr.category,
        strftime(pr.performed_at, '%Y-%m-%dT%H:%M:%SZ') AS performed_at, pr.performed_end_at, pr.performer_practitioner_id,
        strftime(pr.last_updated, '%Y-%m-%dT%H:%M:%SZ') AS last_updated, pa.mrn, e.visit_number
      FROM main_staging.stg_hl7_procedure pr
      JOIN main_staging.stg_hl7_message m ON m._file = pr._file AND m._record = pr._record
      LEFT JOIN main_staging.stg_hl7_patient pa ON pa.patient_id = pr.patient_id
      LEFT JOIN main_staging.stg_hl7_encounter e ON e.encounter_id = pr.encounter_id
      ORDER BY m.control_id, pr.code`);
    const common = { status: 'completed', category: null, performed_end_at: null, performer_practitioner_id: null };
    expect(procedures).toEqual([
      // PR1-5 sent in GMT (March); the SNOMED CT procedure has no time.
      {
        ...common,
        control_id: 'C040',
        code: '80146002',
        display: 'Appendicectomy',
        code_system: 'http://snomed.info/sct',
        snomed_code: '80146002',
        snomed_display: 'Appendicectomy',
        performed_at: null,
        last_updated: '2024-03-16T09:00:00Z',
        mrn: 'M001',
        visit_number: 'V1',
      },
      {
        ...common,
        control_id: 'C040',
        code: 'H22.9',
        display: 'Diagnostic endoscopic examination of colon',
        code_system: 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4',
        snomed_code: null,
        snomed_display: null,
        performed_at: '2024-03-12T14:30:00Z',
        last_updated: '2024-03-16T09:00:00Z',
        mrn: 'M001',
        visit_number: 'V1',
      },
      // v2.2: `OPCS-4` in PR1-2, the bare code in PR1-3, the text in PR1-4; PR1-5 in BST.
      {
        ...common,
        control_id: 'C041',
        code: 'U19.2',
        display: '24 hour ambulatory electrocardiography',
        code_system: 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4',
        snomed_code: null,
        snomed_display: null,
        performed_at: '2024-04-01T09:15:00Z',
        last_updated: '2024-04-02T08:00:00Z',
        mrn: 'M002',
        visit_number: 'V3',
      },
    ]);
    // One id per PR1 segment.
    expect(await all(`SELECT count(*)::INTEGER AS n, count(DISTINCT procedure_id)::INTEGER AS ids FROM main_staging.stg_hl7_procedure`)).toEqual([{ n: 3, ids: 3 }]);

    // The union: every HL7 procedure once, as source_kind 'hl7', named stably, with its patient's NHS number.
    expect(
      await all(`SELECT u.source_kind, u.code, u.code_system, u.display, u.snomed_code, strftime(u.performed_at, '%Y-%m-%dT%H:%M:%SZ') AS performed_at, u.nhs_number,
          u.source_record_id = 'hl7/pas/Procedure/' || pr.procedure_id AS named_by_id,
          u.patient_record_id = 'hl7/pas/Patient/' || pr.patient_id AS patient_named,
          u.encounter_id IS NOT DISTINCT FROM pr.encounter_id AS same_encounter
        FROM main_staging.stg_procedure u JOIN main_staging.stg_hl7_procedure pr USING (procedure_id) ORDER BY u.code`),
    ).toEqual([
      { source_kind: 'hl7', code: '80146002', code_system: 'http://snomed.info/sct', display: 'Appendicectomy', snomed_code: '80146002', performed_at: null, nhs_number: '9434765919', named_by_id: true, patient_named: true, same_encounter: true },
      { source_kind: 'hl7', code: 'H22.9', code_system: 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4', display: 'Diagnostic endoscopic examination of colon', snomed_code: null, performed_at: '2024-03-12T14:30:00Z', nhs_number: '9434765919', named_by_id: true, patient_named: true, same_encounter: true },
      { source_kind: 'hl7', code: 'U19.2', code_system: 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4', display: '24 hour ambulatory electrocardiography', snomed_code: null, performed_at: '2024-04-01T09:15:00Z', nhs_number: '9434765918', named_by_id: true, patient_named: true, same_encounter: true },
    ]);
    expect(await all(`SELECT source_kind, count(*)::INTEGER AS n FROM main_staging.stg_procedure GROUP BY source_kind`)).toEqual([{ source_kind: 'hl7', n: 3 }]);
  });
});

describeWithShared('HL7 v2 staging models on the shared corpus of real samples', (shared) => {
  let root: string;
  let lake: BuiltLake;
  const all = (sql: string) => lake.db.all(sql);
  const file = (name: string) => `_file LIKE '%/${name}'`;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'carelake-hl7-corpus-'));
    await generateDemoSources({ patients: 25, seed: 5, outDir: join(root, 'demo') });
    const sources = [
      sourceConfig.parse({ name: 'gp', kind: 'fhir-bulk-files', path: join(root, 'demo', 'fhir') }),
      sourceConfig.parse({ name: 'esr', kind: 'esr', path: join(root, 'demo', 'esr') }),
      hl7Source('corpus', join(shared, 'data/hl7v2/**/*.hl7')),
    ];
    lake = await buildLake(root, sources, { fhir_source: 'gp', hl7_source: 'corpus', esr_source: 'esr' });
  }, 120_000);
  afterAll(async () => {
    await lake?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('stages every landed message', async () => {
    expect(lake.landed).toBeGreaterThan(200);
    expect(await lake.db.scalar(`SELECT count(*)::INTEGER FROM main_staging.stg_hl7_message`)).toBe(lake.landed);
  });

  it('gives each FHIR and HL7 staging pair the same columns and types, so they union by name', async () => {
    const columns = await all(`SELECT table_name, list(column_name || ' ' || data_type ORDER BY ordinal_position) AS columns
      FROM information_schema.columns WHERE table_schema = 'main_staging' GROUP BY table_name`);
    const shape = new Map(columns.map((r) => [r.table_name, r.columns]));
    for (const kind of ['patient', 'encounter', 'condition', 'observation', 'procedure']) {
      expect(shape.get(`stg_hl7_${kind}`), kind).toEqual(shape.get(`stg_fhir_${kind}`));
      const union = await all(`DESCRIBE SELECT * FROM main_staging.stg_fhir_${kind} UNION ALL BY NAME SELECT * FROM main_staging.stg_hl7_${kind}`);
      expect(union.map((c) => `${c.column_name} ${c.column_type}`), kind).toEqual(shape.get(`stg_fhir_${kind}`));
    }
  });

  it('reads the ITK ADT samples: NHS number, its check, sex as coded by the NHS, GP practice and GP', async () => {
    expect(
      await all(`SELECT nhs_number, nhs_number_valid, nhs_number_verification_status, mrn, family_name, given_name, name_prefix,
          birth_date::VARCHAR AS birth_date, sex, postcode, practice_ods, gp_code
        FROM main_staging.stg_hl7_pid WHERE ${file('virtually-healthcare-itk/A01_example.hl7')}`),
    ).toEqual([
      {
        nhs_number: '3333333333',
        nhs_number_valid: true,
        // PID-32 there is `ED`, which is not an NHS number status.
        nhs_number_verification_status: null,
        mrn: null,
        family_name: 'SMITH',
        given_name: 'FREDRICA',
        name_prefix: 'MRS',
        birth_date: '1965-12-13',
        sex: 'female',
        postcode: 'YO32 5TT',
        practice_ods: 'Y06601',
        gp_code: 'G5612908',
      },
    ]);
    // The A31 sends a thirteenth month: no birth date rather than a wrong one.
    expect(await all(`SELECT birth_date FROM main_staging.stg_hl7_pid WHERE ${file('virtually-healthcare-itk/A31_example.hl7')}`)).toEqual([{ birth_date: null }]);
    // One identity for all eight ITK messages (keyed by the NHS number, the only identifier sent),
    // with the demographics of the latest ADT message, the A08.
    expect(
      await all(`SELECT nhs_number, birth_date::VARCHAR AS birth_date, replaced_by_patient_id FROM main_staging.stg_hl7_patient WHERE nhs_number = '3333333333'`),
    ).toEqual([{ nhs_number: '3333333333', birth_date: '1965-12-27', replaced_by_patient_id: null }]);
  });

  it('reads an MRN with its ODS authority beside the NHS number (Manchester ORU)', async () => {
    expect(
      await all(`SELECT mrn, mrn_authority, nhs_number, nhs_number_valid, identifiers FROM main_staging.stg_hl7_pid WHERE ${file('nw-gmsa/MFT_ORU_R01_PDF.hl7')}`),
    ).toEqual([
      {
        mrn: '633',
        mrn_authority: 'R0A',
        nhs_number: '9449305552',
        nhs_number_valid: true,
        identifiers: [
          { system: null, value: '633', type_code: 'MR', assigner: 'R0A' },
          { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9449305552', type_code: 'NH', assigner: 'NHS' },
        ],
      },
    ]);
  });

  it('records the ITK A40 merge: the retired local id now belongs to the NHS-numbered survivor', async () => {
    expect(
      await all(`SELECT retired_identifier, retired_identifier_assigner, surviving_identifier, surviving_nhs_number, strftime(merged_at, '%Y-%m-%dT%H:%M:%SZ') AS merged_at
        FROM main_staging.stg_hl7_patient_merge WHERE ${file('virtually-healthcare-itk/A40_Example.hl7')}`),
    ).toEqual([{ retired_identifier: '22789', retired_identifier_assigner: 'LOCALID', surviving_identifier: '3333333333', surviving_nhs_number: '3333333333', merged_at: '2010-01-25T12:13:00Z' }]);
  });

  it('reads the ITK encounters: admitted (times in BST), discharged, pre-admitted', async () => {
    expect(
      await all(`SELECT visit_number, class_code, status, strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') AS period_start, strftime(period_end, '%Y-%m-%dT%H:%M:%SZ') AS period_end,
          location, location_site, service_provider_ods
        FROM main_staging.stg_hl7_encounter WHERE visit_number IN ('2139', 'YOR123456', '4532') ORDER BY visit_number`),
    ).toEqual([
      { visit_number: '2139', class_code: 'IMP', status: 'in-progress', period_start: '2010-10-20T16:16:00Z', period_end: null, location: 'RCB/OBS1/BAY2-6', location_site: 'RCB55', service_provider_ods: 'RCB' },
      { visit_number: '4532', class_code: 'AMB', status: 'planned', period_start: null, period_end: null, location: 'RCB/MATWRD', location_site: null, service_provider_ods: 'RCB' },
      { visit_number: 'YOR123456', class_code: 'IMP', status: 'finished', period_start: '2010-10-20T16:16:00Z', period_end: '2010-10-21T16:06:00Z', location: 'RCB/OBS1/BAY2-6', location_site: 'RCB55', service_provider_ods: 'RCB' },
    ]);
  });

  it('reads a DG1 ICD-10 code (ITK A01) and a SNOMED CT one', async () => {
    expect(
      await all(`SELECT code, display, code_system, icd10_code, snomed_code, diagnosis_type, strftime(onset_at, '%Y-%m-%dT%H:%M:%SZ') AS onset_at
        FROM main_staging.stg_hl7_condition WHERE ${file('virtually-healthcare-itk/A01_example.hl7')} OR ${file('ms-fhir-converter/ADT-A13-01.hl7')} ORDER BY code`),
    ).toEqual([
      { code: '422504002', display: 'Ischemic stroke(disorder)', code_system: 'http://snomed.info/sct', icd10_code: null, snomed_code: '422504002', diagnosis_type: 'A', onset_at: '2004-01-25T07:20:25Z' },
      { code: 'N39.3', display: 'Stress Incontinence', code_system: 'http://hl7.org/fhir/sid/icd-10', icd10_code: 'N39.3', snomed_code: null, diagnosis_type: 'A', onset_at: '2010-10-09T08:00:00Z' },
    ]);
  });

  it('reads PR1 procedures: OPCS-4 (ITK A01, time in BST), SNOMED CT with an offset, CPT with a date only', async () => {
    expect(
      await all(`SELECT split_part(_file, '/', -1) AS file, code, display, code_system, snomed_code, strftime(performed_at, '%Y-%m-%dT%H:%M:%SZ') AS performed_at
        FROM main_staging.stg_hl7_procedure
        WHERE ${file('virtually-healthcare-itk/A01_example.hl7')} OR ${file('ms-fhir-converter/ADT-A06-01.hl7')} OR ${file('ms-fhir-converter/DFT-P03-01.hl7')}
        ORDER BY file`),
    ).toEqual([
      { file: 'A01_example.hl7', code: 'ZZS4', display: 'Colonic examination', code_system: 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4', snomed_code: null, performed_at: '2010-10-20T19:56:00Z' },
      { file: 'ADT-A06-01.hl7', code: '76164006', display: 'Biopsy of colon (procedure)', code_system: 'http://snomed.info/sct', snomed_code: '76164006', performed_at: '2021-09-07T09:07:33Z' },
      { file: 'DFT-P03-01.hl7', code: '71045', display: 'Xray exam chest 1 view', code_system: 'http://www.ama-assn.org/go/cpt', snomed_code: null, performed_at: '2019-11-22T00:00:00Z' },
    ]);
    // Planned procedures (pre-admission A05, pending A14) are 'preparation', every other one 'completed'.
    const statuses = await all(`SELECT m.trigger_event IN ('A05', 'A14') AS planned, list(DISTINCT pr.status) AS statuses
      FROM main_staging.stg_hl7_procedure pr JOIN main_staging.stg_hl7_message m USING (_file, _record) GROUP BY ALL ORDER BY planned`);
    expect(statuses.map((r) => [r.planned, r.statuses])).toEqual([
      [false, ['completed']],
      [true, ['preparation']],
    ]);
  });

  it('reads results: NM with units, SN, CE/CWE and text', async () => {
    const rows = await all(`SELECT split_part(_file, '/', -1) AS file, code, value_type, value_comparator, value_number, unit, value_string, value_code, value_code_system, value_display, interpretation_code, status
      FROM main_staging.stg_hl7_observation
      WHERE (${file('LAB-ORU-2.hl7')} AND code = '20509-6') OR ${file('ORU-R01-RMGEAD.hl7')} OR (${file('EHT-20210316-0001.hl7')} AND code = '94558-4')
      ORDER BY file, code`);
    expect(rows).toEqual([
      { file: 'EHT-20210316-0001.hl7', code: '94558-4', value_type: 'CodeableConcept', value_comparator: null, value_number: null, unit: null, value_string: null, value_code: '260415000', value_code_system: 'http://snomed.info/sct', value_display: 'Not detected', interpretation_code: 'N', status: 'final' },
      { file: 'LAB-ORU-2.hl7', code: '20509-6', value_type: 'Quantity', value_comparator: null, value_number: 13.4, unit: 'g/l-1', value_string: null, value_code: null, value_code_system: null, value_display: null, interpretation_code: 'N', status: 'final' },
      { file: 'ORU-R01-RMGEAD.hl7', code: '1554-5', value_type: 'Quantity', value_comparator: null, value_number: 182, unit: 'mg/dl', value_string: null, value_code: null, value_code_system: null, value_display: null, interpretation_code: 'H', status: 'final' },
    ]);
    expect(await lake.db.scalar(`SELECT count(*)::INTEGER FROM main_staging.stg_hl7_observation WHERE value_type = 'string' AND value_string = 'Many spherocytes present.'`)).toBeGreaterThan(0);
  });

  it('decodes escape sequences in the values it stages (`\\T\\` in a PV1 admit source)', async () => {
    expect(await all(`SELECT admit_source_code FROM main_staging.stg_hl7_pv1 WHERE ${file('ms-fhir-converter/ADT-A01-01.hl7')}`)).toEqual([
      { admit_source_code: 'NHS Provider-General (inc.A&E-this Hosp)' },
    ]);
  });
});
