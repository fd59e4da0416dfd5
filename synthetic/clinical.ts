// The clinical content of the synthetic population: long-term conditions (with ICD-10, SNOMED CT and
// a local problem code for each), acute hospital diagnoses, and laboratory tests (SNOMED CT observable,
// local lab code, UCUM unit, reference range). A person's conditions are decided once, in the
// population, so the GP record (FHIR) and the hospital feed (HL7 DG1, lab values) agree — a diabetic
// has an E11.9 in both places and a raised HbA1c. Codes are the commonly used UK ones; displays are
// for humans and carry no meaning for the generator. Acute diagnoses come from the demonstration map
// (synthetic/demoCodeMap.ts), and the conditions agree with it (tests/unit/synthetic/demoCodeMap.test.ts).

import { DEMO_ICD10_ROWS, ICD10_DAGGER_ASTERISK } from './demoCodeMap.ts';
import type { Random } from './random.ts';

export const SYSTEMS = {
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  snomed: 'http://snomed.info/sct',
  localProblem: 'https://carelake.example.nhs.uk/CodeSystem/local-problem',
  localLab: 'https://carelake.example.nhs.uk/CodeSystem/local-lab',
  ucum: 'http://unitsofmeasure.org',
} as const;

export type ConditionKey = 't2dm' | 'htn' | 'asthma' | 'copd' | 'af' | 'ckd3' | 'hypothyroid' | 'depression';

export interface ConditionDefinition {
  key: ConditionKey;
  icd10: string;
  icd10Display: string;
  snomed: string;
  snomedDisplay: string;
  local: string;
  localDisplay: string;
}

export const CONDITIONS: Readonly<Record<ConditionKey, ConditionDefinition>> = {
  t2dm: { key: 't2dm', icd10: 'E11.9', icd10Display: 'Type 2 diabetes mellitus without complications', snomed: '44054006', snomedDisplay: 'Diabetes mellitus type 2', local: 'LP-DM2', localDisplay: 'Diabetes type 2' },
  htn: { key: 'htn', icd10: 'I10', icd10Display: 'Essential (primary) hypertension', snomed: '38341003', snomedDisplay: 'Hypertensive disorder, systemic arterial', local: 'LP-HTN', localDisplay: 'High blood pressure' },
  asthma: { key: 'asthma', icd10: 'J45.9', icd10Display: 'Asthma, unspecified', snomed: '195967001', snomedDisplay: 'Asthma', local: 'LP-AST', localDisplay: 'Asthma' },
  copd: { key: 'copd', icd10: 'J44.9', icd10Display: 'Chronic obstructive pulmonary disease, unspecified', snomed: '13645005', snomedDisplay: 'Chronic obstructive lung disease', local: 'LP-COPD', localDisplay: 'COPD' },
  af: { key: 'af', icd10: 'I48.9', icd10Display: 'Atrial fibrillation and atrial flutter, unspecified', snomed: '49436004', snomedDisplay: 'Atrial fibrillation', local: 'LP-AF', localDisplay: 'AF' },
  ckd3: { key: 'ckd3', icd10: 'N18.3', icd10Display: 'Chronic kidney disease, stage 3', snomed: '433144002', snomedDisplay: 'Chronic kidney disease stage 3', local: 'LP-CKD3', localDisplay: 'CKD stage 3' },
  hypothyroid: { key: 'hypothyroid', icd10: 'E03.9', icd10Display: 'Hypothyroidism, unspecified', snomed: '40930008', snomedDisplay: 'Hypothyroidism', local: 'LP-HYPOT', localDisplay: 'Underactive thyroid' },
  depression: { key: 'depression', icd10: 'F32.9', icd10Display: 'Depressive episode, unspecified', snomed: '35489007', snomedDisplay: 'Depressive disorder', local: 'LP-DEP', localDisplay: 'Depression' },
};

/**
 * ICD-10 codes the hospital feed sends that the demonstration map deliberately lacks (all real WHO
 * ICD-10 codes), so the curated layer's unmapped-code counts have something to count.
 */
export const UNMAPPED_ACUTE_DIAGNOSES: readonly { icd10: string; display: string }[] = [
  { icd10: 'R69', display: 'Unknown and unspecified causes of morbidity' },
  { icd10: 'R68.8', display: 'Other specified general symptoms and signs' },
  { icd10: 'T88.7', display: 'Unspecified adverse effect of drug or medicament' },
  { icd10: 'Z53.9', display: 'Procedure not carried out, unspecified reason' },
];

const LONG_TERM_ICD10: ReadonlySet<string> = new Set(Object.values(CONDITIONS).map((c) => c.icd10));

/**
 * Reasons for a hospital stay, coded in DG1 with ICD-10: every ICD-10 row of the demonstration map
 * that is not a long-term condition (those are coded from the person's conditions), in map order, then
 * the deliberately unmapped codes. The feed draws one with a single `random.pick`, so this list's
 * contents change codes only, never the random stream or record counts.
 */
export const ACUTE_DIAGNOSES: readonly { icd10: string; display: string }[] = [
  ...DEMO_ICD10_ROWS.filter((row) => !LONG_TERM_ICD10.has(row.source_code)).map((row) => ({ icd10: row.source_code, display: row.source_display })),
  ...UNMAPPED_ACUTE_DIAGNOSES,
];

/**
 * NHS Data Dictionary form of an ICD-10 code: no dot, three-character codes padded with X (`I10X`,
 * `J459`); dagger and asterisk codes take the full six-character form, `-` in the unused 5th position
 * and `D` (dagger) or `A` (asterisk) 6th (`A170-D`, `G01X-A`).
 */
export function icd10NhsForm(code: string): string {
  const bare = code.replace('.', '');
  const padded = bare.length === 3 ? `${bare}X` : bare;
  const mark = ICD10_DAGGER_ASTERISK.get(code);
  return mark === undefined ? padded : `${padded}-${mark === 'dagger' ? 'D' : 'A'}`;
}

/** Age- and sex-dependent prevalences, loosely after QOF registers; the point is plausible mixes, not epidemiology. */
export function sampleConditions(age: number, sex: string, random: Random): ConditionKey[] {
  const byAge = (bands: readonly (readonly [number, number])[]): number => {
    for (const [upTo, p] of bands) if (age < upTo) return p;
    return 0;
  };
  const conditions: ConditionKey[] = [];
  if (random.chance(byAge([[30, 0.005], [50, 0.04], [65, 0.1], [200, 0.16]]))) conditions.push('t2dm');
  if (random.chance(byAge([[30, 0.01], [50, 0.08], [65, 0.25], [200, 0.45]]))) conditions.push('htn');
  if (random.chance(0.08)) conditions.push('asthma');
  if (random.chance(byAge([[40, 0], [65, 0.03], [200, 0.08]]))) conditions.push('copd');
  if (random.chance(byAge([[50, 0], [65, 0.02], [200, 0.08]]))) conditions.push('af');
  if (random.chance(byAge([[50, 0], [65, 0.03], [200, 0.1]]))) conditions.push('ckd3');
  if (random.chance(sex === 'female' ? byAge([[20, 0.002], [200, 0.05]]) : byAge([[20, 0.001], [200, 0.01]]))) conditions.push('hypothyroid');
  if (random.chance(byAge([[16, 0.01], [200, 0.1]]))) conditions.push('depression');
  return conditions;
}

export type LabKey = 'HBA1C' | 'CHOL' | 'CREA' | 'EGFR' | 'NA' | 'K' | 'UREA' | 'HB' | 'WBC' | 'PLT' | 'TSH';

export interface LabTest {
  key: LabKey;
  display: string;
  snomed: string;
  snomedDisplay: string;
  unit: string;
  ucum: string;
  low: number | null;
  high: number | null;
  decimals: number;
  mean: number;
  sd: number;
  /** A different distribution for people with a condition that moves this result. */
  affectedBy?: { condition: ConditionKey; mean: number; sd: number };
  min: number;
  max: number;
}

export const LAB_TESTS: Readonly<Record<LabKey, LabTest>> = {
  HBA1C: { key: 'HBA1C', display: 'HbA1c', snomed: '1019431000000105', snomedDisplay: 'HbA1c level - IFCC standardised', unit: 'mmol/mol', ucum: 'mmol/mol', low: 20, high: 41, decimals: 0, mean: 36, sd: 4, affectedBy: { condition: 't2dm', mean: 60, sd: 12 }, min: 20, max: 140 },
  CHOL: { key: 'CHOL', display: 'Cholesterol', snomed: '1005671000000105', snomedDisplay: 'Serum cholesterol level', unit: 'mmol/L', ucum: 'mmol/L', low: null, high: 5.0, decimals: 1, mean: 5.0, sd: 1.0, min: 2, max: 11 },
  CREA: { key: 'CREA', display: 'Creatinine', snomed: '1000731000000107', snomedDisplay: 'Serum creatinine level', unit: 'umol/L', ucum: 'umol/L', low: 59, high: 104, decimals: 0, mean: 80, sd: 14, affectedBy: { condition: 'ckd3', mean: 150, sd: 25 }, min: 30, max: 600 },
  EGFR: { key: 'EGFR', display: 'eGFR', snomed: '1011481000000105', snomedDisplay: 'eGFR using creatinine (CKD-EPI) per 1.73 square metres', unit: 'mL/min/1.73m2', ucum: 'mL/min/{1.73_m2}', low: 60, high: null, decimals: 0, mean: 88, sd: 14, affectedBy: { condition: 'ckd3', mean: 45, sd: 7 }, min: 5, max: 130 },
  NA: { key: 'NA', display: 'Sodium', snomed: '1000661000000107', snomedDisplay: 'Serum sodium level', unit: 'mmol/L', ucum: 'mmol/L', low: 133, high: 146, decimals: 0, mean: 139, sd: 2.5, min: 115, max: 160 },
  K: { key: 'K', display: 'Potassium', snomed: '1000651000000109', snomedDisplay: 'Serum potassium level', unit: 'mmol/L', ucum: 'mmol/L', low: 3.5, high: 5.3, decimals: 1, mean: 4.3, sd: 0.4, min: 2.5, max: 7 },
  UREA: { key: 'UREA', display: 'Urea', snomed: '1001011000000107', snomedDisplay: 'Serum urea level', unit: 'mmol/L', ucum: 'mmol/L', low: 2.5, high: 7.8, decimals: 1, mean: 5.5, sd: 1.4, affectedBy: { condition: 'ckd3', mean: 10, sd: 2.5 }, min: 1, max: 40 },
  HB: { key: 'HB', display: 'Haemoglobin', snomed: '1022431000000105', snomedDisplay: 'Haemoglobin estimation', unit: 'g/L', ucum: 'g/L', low: 115, high: 165, decimals: 0, mean: 138, sd: 13, min: 60, max: 200 },
  WBC: { key: 'WBC', display: 'White cell count', snomed: '1022541000000102', snomedDisplay: 'Total white blood count', unit: '10*9/L', ucum: '10*9/L', low: 4.0, high: 11.0, decimals: 1, mean: 7.2, sd: 1.9, min: 1, max: 40 },
  PLT: { key: 'PLT', display: 'Platelets', snomed: '1022651000000100', snomedDisplay: 'Platelet count - observation', unit: '10*9/L', ucum: '10*9/L', low: 150, high: 400, decimals: 0, mean: 260, sd: 60, min: 20, max: 900 },
  TSH: { key: 'TSH', display: 'TSH', snomed: '1022791000000101', snomedDisplay: 'Serum TSH level', unit: 'mU/L', ucum: 'm[IU]/L', low: 0.27, high: 4.2, decimals: 2, mean: 2.0, sd: 0.8, affectedBy: { condition: 'hypothyroid', mean: 6.5, sd: 2.5 }, min: 0.01, max: 60 },
};

export interface LabPanel {
  code: string;
  display: string;
  tests: readonly LabKey[];
}

export const LAB_PANELS: Readonly<Record<'UE' | 'FBC' | 'HBA1C' | 'LIPID' | 'TFT', LabPanel>> = {
  UE: { code: 'UE', display: 'Urea and electrolytes', tests: ['NA', 'K', 'UREA', 'CREA', 'EGFR'] },
  FBC: { code: 'FBC', display: 'Full blood count', tests: ['HB', 'WBC', 'PLT'] },
  HBA1C: { code: 'HBA1C', display: 'HbA1c', tests: ['HBA1C'] },
  LIPID: { code: 'LIPID', display: 'Lipid profile', tests: ['CHOL'] },
  TFT: { code: 'TFT', display: 'Thyroid function', tests: ['TSH'] },
};

export interface LabResult {
  test: LabTest;
  value: number;
  /** Fixed-decimal text, the same in HL7 OBX-5 and FHIR valueQuantity. */
  text: string;
  flag: 'H' | 'L' | 'N';
}

export function sampleLabResult(test: LabTest, conditions: readonly ConditionKey[], random: Random): LabResult {
  const shifted = test.affectedBy && conditions.includes(test.affectedBy.condition) ? test.affectedBy : test;
  const raw = Math.min(test.max, Math.max(test.min, random.normal(shifted.mean, shifted.sd)));
  const text = raw.toFixed(test.decimals);
  const value = Number(text);
  const flag = test.high !== null && value > test.high ? 'H' : test.low !== null && value < test.low ? 'L' : 'N';
  return { test, value, text, flag };
}

/** Reference range as laboratories print it: `133-146`, `<5.0`, `>60`. */
export function referenceRangeText(test: LabTest): string {
  if (test.low !== null && test.high !== null) return `${test.low}-${test.high}`;
  if (test.high !== null) return `<${test.high.toFixed(test.decimals)}`;
  if (test.low !== null) return `>${test.low}`;
  return '';
}

// ---------------------------------------------------------------------------------------------------
// GP care record content: prescriptions (dm+d), procedures, immunisations and allergies (SNOMED CT).
// dm+d codes are VMP (Virtual Medicinal Product) ids as NHS prescribing systems use them; SNOMED codes
// are the concepts English GP systems record. As above, displays are for humans only.

export const CARE_SYSTEMS = {
  dmd: 'https://dmd.nhs.uk',
  snomed: SYSTEMS.snomed,
} as const;

export type MedicationKey =
  | 'metformin'
  | 'atorvastatin'
  | 'ramipril'
  | 'amlodipine'
  | 'salbutamol'
  | 'beclometasone'
  | 'rivaroxaban'
  | 'levothyroxine'
  | 'sertraline';

export interface MedicationDefinition {
  key: MedicationKey;
  /** dm+d VMP id. */
  dmd: string;
  display: string;
  /** Dosage instruction as printed on the label. */
  dosage: string;
  /** Repeat prescription or "when required" reliever. */
  asNeeded: boolean;
}

export const MEDICATIONS: Readonly<Record<MedicationKey, MedicationDefinition>> = {
  metformin: { key: 'metformin', dmd: '325278007', display: 'Metformin 500mg tablets', dosage: 'Take one tablet twice a day with meals', asNeeded: false },
  atorvastatin: { key: 'atorvastatin', dmd: '320030001', display: 'Atorvastatin 20mg tablets', dosage: 'Take one tablet at night', asNeeded: false },
  ramipril: { key: 'ramipril', dmd: '318901006', display: 'Ramipril 2.5mg capsules', dosage: 'Take one capsule once a day', asNeeded: false },
  amlodipine: { key: 'amlodipine', dmd: '319773006', display: 'Amlodipine 5mg tablets', dosage: 'Take one tablet once a day', asNeeded: false },
  salbutamol: { key: 'salbutamol', dmd: '39113611000001102', display: 'Salbutamol 100micrograms/dose inhaler CFC free', dosage: 'Inhale two doses when required for breathlessness', asNeeded: true },
  beclometasone: { key: 'beclometasone', dmd: '35908111000001105', display: 'Beclometasone 100micrograms/dose inhaler CFC free', dosage: 'Inhale two doses twice a day', asNeeded: false },
  rivaroxaban: { key: 'rivaroxaban', dmd: '19842211000001107', display: 'Rivaroxaban 20mg tablets', dosage: 'Take one tablet once a day with food', asNeeded: false },
  levothyroxine: { key: 'levothyroxine', dmd: '374295007', display: 'Levothyroxine sodium 50microgram tablets', dosage: 'Take one tablet in the morning before breakfast', asNeeded: false },
  sertraline: { key: 'sertraline', dmd: '39704111000001102', display: 'Sertraline 50mg tablets', dosage: 'Take one tablet once a day', asNeeded: false },
};

/** What a GP would prescribe for each long-term condition, with the chance each is on the repeat list. */
export const CONDITION_MEDICATIONS: Readonly<Record<ConditionKey, readonly (readonly [MedicationKey, number])[]>> = {
  t2dm: [['metformin', 0.85], ['atorvastatin', 0.6]],
  htn: [['ramipril', 0.55], ['amlodipine', 0.5]],
  asthma: [['salbutamol', 0.9], ['beclometasone', 0.6]],
  copd: [['salbutamol', 0.9]],
  af: [['rivaroxaban', 0.75]],
  ckd3: [['ramipril', 0.4], ['atorvastatin', 0.5]],
  hypothyroid: [['levothyroxine', 0.95]],
  depression: [['sertraline', 0.6]],
};

export type ProcedureKey = 'diabetic_foot' | 'ecg' | 'spirometry' | 'medication_review' | 'cervical_screening' | 'suture_removal';

export interface CodedConcept {
  code: string;
  display: string;
}

export const PROCEDURES: Readonly<Record<ProcedureKey, CodedConcept>> = {
  diabetic_foot: { code: '401191002', display: 'Diabetic foot examination' },
  ecg: { code: '29303009', display: 'Electrocardiographic procedure' },
  spirometry: { code: '127783003', display: 'Spirometry' },
  medication_review: { code: '182836005', display: 'Review of medication' },
  cervical_screening: { code: '171149006', display: 'Screening for malignant neoplasm of cervix' },
  suture_removal: { code: '30549001', display: 'Removal of suture' },
};

export type VaccineKey = 'influenza' | 'covid19' | 'pneumococcal';

export interface VaccineDefinition {
  key: VaccineKey;
  /** SNOMED vaccine product (Immunization.vaccineCode). */
  vaccine: CodedConcept;
  /** SNOMED procedure (UK Core Extension-UKCore-VaccinationProcedure). */
  procedure: CodedConcept;
}

export const VACCINES: Readonly<Record<VaccineKey, VaccineDefinition>> = {
  influenza: {
    key: 'influenza',
    vaccine: { code: '1181000221105', display: 'Influenza virus antigen only vaccine product' },
    procedure: { code: '822851000000102', display: 'Seasonal influenza vaccination' },
  },
  // Simplification: every autumn COVID-19 dose carries the first-dose procedure concept; real records
  // use the booster/course concepts, whose codes were not to hand when this list was written.
  covid19: {
    key: 'covid19',
    vaccine: { code: '1119349007', display: 'SARS-CoV-2 mRNA vaccine' },
    procedure: { code: '1324681000000101', display: 'Administration of first dose of severe acute respiratory syndrome coronavirus 2 vaccine' },
  },
  pneumococcal: {
    key: 'pneumococcal',
    vaccine: { code: '836398006', display: 'Streptococcus pneumoniae antigen-containing vaccine product' },
    procedure: { code: '12866006', display: 'Pneumococcal vaccination' },
  },
};

export type AllergenKey = 'penicillin' | 'amoxicillin' | 'aspirin' | 'ibuprofen' | 'codeine' | 'peanut' | 'egg' | 'latex';

export interface AllergenDefinition extends CodedConcept {
  key: AllergenKey;
  category: 'medication' | 'food' | 'environment';
  /** Relative frequency in a GP list. */
  weight: number;
}

export const ALLERGENS: Readonly<Record<AllergenKey, AllergenDefinition>> = {
  penicillin: { key: 'penicillin', code: '764146007', display: 'Penicillin', category: 'medication', weight: 40 },
  amoxicillin: { key: 'amoxicillin', code: '372687004', display: 'Amoxicillin', category: 'medication', weight: 10 },
  aspirin: { key: 'aspirin', code: '387458008', display: 'Aspirin', category: 'medication', weight: 7 },
  ibuprofen: { key: 'ibuprofen', code: '387207008', display: 'Ibuprofen', category: 'medication', weight: 8 },
  codeine: { key: 'codeine', code: '387494007', display: 'Codeine', category: 'medication', weight: 7 },
  peanut: { key: 'peanut', code: '762952008', display: 'Peanut', category: 'food', weight: 12 },
  egg: { key: 'egg', code: '102263004', display: 'Eggs (edible)', category: 'food', weight: 5 },
  latex: { key: 'latex', code: '111088007', display: 'Latex', category: 'environment', weight: 5 },
};

/** Reaction manifestations (SNOMED clinical findings). */
export const REACTIONS: readonly CodedConcept[] = [
  { code: '271807003', display: 'Eruption of skin' },
  { code: '126485001', display: 'Urticaria' },
  { code: '39579001', display: 'Anaphylaxis' },
  { code: '41291007', display: 'Angioedema' },
  { code: '422587007', display: 'Nausea' },
  { code: '56018004', display: 'Wheezing' },
  { code: '62315008', display: 'Diarrhoea' },
];
