// What each role's serving file holds, as SELECTs over the curated marts. Analysts get person-level
// rows with keyed pseudonyms in place of identifiers and minimised quasi-identifiers (year of birth,
// postcode district); commissioners get aggregates only, which the server passes through disclosure
// control. Identifier columns are replaced by tokens at publish time and never copied.

import type { ServingTableSpec } from './servingBuild.ts';

export type ServingRole = 'analyst' | 'commissioner';

const curated = (table: string) => `"main_curated"."${table}"`;

export const servingTables: Record<ServingRole, ServingTableSpec[]> = {
  analyst: [
    {
      name: 'srv_patient_record',
      description: 'One row per patient record from each source; person_token is the linked person (probabilistic linkage across sources), nhs_number_token the NHS number.',
      sql: `SELECT person_id, nhs_number, fhir_patient_id, mrn, source_kind, source, year_of_birth, sex, postcode_district, practice_ods, nhs_number_valid
            FROM ${curated('patient_record')}`,
      tokens: [
        { column: 'person_token', from: 'person_id', kind: 'person' },
        { column: 'nhs_number_token', from: 'nhs_number', kind: 'nhs_number' },
        { column: 'fhir_patient_token', from: 'fhir_patient_id', kind: 'fhir_patient' },
        { column: 'mrn_token', from: 'mrn', kind: 'mrn' },
      ],
    },
    {
      name: 'srv_encounter',
      description: 'Encounters from FHIR and HL7 ADT; person_token is the linked person.',
      sql: `SELECT person_id, encounter_id, source_kind, class_code, admitted_week, length_of_stay_days, provider_ods
            FROM ${curated('encounter')}`,
      tokens: [{ column: 'person_token', from: 'person_id', kind: 'person' }],
      drop: ['encounter_id'],
    },
    {
      name: 'srv_condition',
      description: 'Diagnoses with their ICD-10 and SNOMED CT codes; person_token is the linked person.',
      sql: `SELECT person_id, source_kind, icd10_code, snomed_code, snomed_display, onset_year FROM ${curated('condition')}`,
      tokens: [{ column: 'person_token', from: 'person_id', kind: 'person' }],
    },
    {
      name: 'srv_workforce_assignment',
      description: 'Current ESR assignments: staff group, role, occupation, organisation, cost centre, FTE and dates; person and assignment are keyed pseudonyms.',
      // Curated already holds tokens (made in SQL with the same key and kinds as `tokens:` here), so
      // they pass through; the person key links to any other ESR token of the same release.
      sql: `SELECT assignment_key, person_key, staff_group, job_role, occupation_code, organisation_id, organisation_name, cost_centre,
                   fte, contracted_hours, assignment_start, assignment_end, assignment_status, assignment_category, is_primary
            FROM ${curated('workforce_assignment')}`,
    },
  ],
  commissioner: [
    {
      name: 'srv_patients_by_practice',
      description: 'Distinct people (after linkage) registered at each GP practice, from their golden record.',
      sql: `SELECT practice_ods, count(*) AS patients
            FROM ${curated('person')} WHERE practice_ods IS NOT NULL GROUP BY practice_ods`,
    },
    {
      name: 'srv_condition_prevalence',
      description: 'People (after linkage, so a person in several sources counts once) with each condition (SNOMED CT).',
      sql: `SELECT snomed_code, any_value(snomed_display) AS condition, count(DISTINCT person_id) AS patients
            FROM ${curated('condition')} WHERE snomed_code IS NOT NULL AND person_id IS NOT NULL GROUP BY snomed_code`,
    },
    {
      name: 'srv_admissions_by_week',
      description: 'Inpatient admissions per week and provider, from HL7 ADT and FHIR encounters.',
      sql: `SELECT admitted_week, provider_ods, count(*) AS admissions
            FROM ${curated('encounter')} WHERE class_code = 'IMP' AND admitted_week IS NOT NULL GROUP BY ALL`,
    },
    {
      name: 'srv_workforce_by_staff_group',
      description: 'People with a current ESR assignment, and its FTE, by staff group.',
      sql: `SELECT staff_group, count(DISTINCT person_key) AS headcount, round(sum(fte), 2) AS fte
            FROM ${curated('workforce_assignment')} GROUP BY staff_group`,
    },
    {
      name: 'srv_workforce_monthly',
      description: 'Monthly workforce snapshot: people with an assignment active on the snapshot date, and their FTE, by staff group and organisation.',
      sql: `SELECT month, snapshot_date, staff_group, organisation_id, organisation_name, headcount, fte FROM ${curated('workforce_monthly')}`,
    },
  ],
};
