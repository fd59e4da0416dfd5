// The demonstration terminology map (seeds/terminology/carelake_demo_code_map.csv): its shape, its
// SNOMED CT ids (Verhoeff check digit, concept partition), and its agreement with the generator's
// clinical content — every code the synthetic data sends is mapped, except the few deliberately not.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { ACUTE_DIAGNOSES, ALLERGENS, CONDITIONS, LAB_TESTS, MEDICATIONS, PROCEDURES, REACTIONS, VACCINES, SYSTEMS, UNMAPPED_ACUTE_DIAGNOSES, icd10NhsForm } from '../../../synthetic/clinical.ts';
import { DEMO_MAP_FILE } from '../../../core/config.ts';
import { isConceptSctid } from '../../../transforms/terminology/sctid.ts';
import { DEMO_CODE_MAP, DEMO_ICD10_ROWS, DEMO_MAP_SYSTEMS, ICD10_DAGGER_ASTERISK, demoMapLookup } from '../../../synthetic/demoCodeMap.ts';

describe('carelake_demo_code_map.csv', () => {
  const text = readFileSync(DEMO_MAP_FILE, 'utf8');
  const records = parse(text);

  it('is a plain CSV with the exact header and six fields on every row', () => {
    expect(text.split('\n')[0]).toBe('source_system,source_code,source_display,target_code,target_display,equivalence');
    for (const record of records) expect(record).toHaveLength(6);
    expect(DEMO_CODE_MAP).toHaveLength(records.length - 1);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('\r');
  });

  it('has about a hundred ICD-10 rows, a row per local lab and local problem code, and nothing else', () => {
    expect(DEMO_ICD10_ROWS.length).toBeGreaterThanOrEqual(95);
    expect(DEMO_ICD10_ROWS.length).toBeLessThanOrEqual(110);
    const systems = new Set(DEMO_CODE_MAP.map((row) => row.source_system));
    expect([...systems].sort()).toEqual([DEMO_MAP_SYSTEMS.icd10, DEMO_MAP_SYSTEMS.localLab, DEMO_MAP_SYSTEMS.localProblem].sort());
    expect(DEMO_CODE_MAP.filter((row) => row.source_system === DEMO_MAP_SYSTEMS.localLab)).toHaveLength(Object.keys(LAB_TESTS).length);
    expect(DEMO_CODE_MAP.filter((row) => row.source_system === DEMO_MAP_SYSTEMS.localProblem)).toHaveLength(Object.keys(CONDITIONS).length);
  });

  it('uses the same code system URIs as the generator', () => {
    expect(DEMO_MAP_SYSTEMS).toEqual({ icd10: SYSTEMS.icd10, localProblem: SYSTEMS.localProblem, localLab: SYSTEMS.localLab });
  });

  it('has no duplicate (source_system, source_code) and no empty field', () => {
    const keys = DEMO_CODE_MAP.map((row) => `${row.source_system}|${row.source_code}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const row of DEMO_CODE_MAP) for (const value of Object.values(row)) expect(value.trim(), JSON.stringify(row)).not.toBe('');
  });

  it('lists ICD-10 codes in WHO dotted form, without dagger/asterisk marks, sorted', () => {
    for (const row of DEMO_ICD10_ROWS) expect(row.source_code).toMatch(/^[A-Z]\d{2}(\.\d)?$/);
    const codes = DEMO_ICD10_ROWS.map((row) => row.source_code);
    expect(codes).toEqual([...codes].sort());
  });

  it('has displays an HL7 v2 Latin-1 field can carry unescaped', () => {
    for (const row of DEMO_CODE_MAP) {
      expect(row.source_display, row.source_code).toMatch(/^[\x20-\x7e]+$/);
      expect(row.source_display, row.source_code).not.toMatch(/[|^~\\&]/);
      expect(row.target_display, row.target_code).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('targets only SNOMED CT concept ids (Verhoeff check digit, partition 00 or 10)', () => {
    const bad = DEMO_CODE_MAP.filter((row) => !isConceptSctid(row.target_code)).map((row) => `${row.source_code} → ${row.target_code}`);
    expect(bad).toEqual([]);
  });

  it('gives one SNOMED concept one display throughout', () => {
    const displays = new Map<string, Set<string>>();
    for (const row of DEMO_CODE_MAP) displays.set(row.target_code, (displays.get(row.target_code) ?? new Set()).add(row.target_display));
    for (const [code, names] of displays) expect([...names], code).toHaveLength(1);
  });

  it('marks only map rows as dagger or asterisk, and has a dagger/asterisk pair', () => {
    for (const code of ICD10_DAGGER_ASTERISK.keys()) expect(demoMapLookup(SYSTEMS.icd10, code), code).toBeDefined();
    expect([...ICD10_DAGGER_ASTERISK.values()].sort()).toEqual(['asterisk', 'dagger']);
  });
});

describe('the generator agrees with the demo map', () => {
  it('maps every long-term condition: ICD-10 and local problem code to the condition\'s own SNOMED concept', () => {
    for (const condition of Object.values(CONDITIONS)) {
      const icd10 = demoMapLookup(SYSTEMS.icd10, condition.icd10);
      expect(icd10, condition.icd10).toMatchObject({ source_display: condition.icd10Display, target_code: condition.snomed, target_display: condition.snomedDisplay });
      const local = demoMapLookup(SYSTEMS.localProblem, condition.local);
      expect(local, condition.local).toMatchObject({ source_display: condition.localDisplay, target_code: condition.snomed, target_display: condition.snomedDisplay, equivalence: 'equivalent' });
    }
  });

  it('maps every local lab code to the test\'s SNOMED concept, equivalent', () => {
    for (const test of Object.values(LAB_TESTS)) {
      expect(demoMapLookup(SYSTEMS.localLab, test.key), test.key).toMatchObject({ source_display: test.display, target_code: test.snomed, target_display: test.snomedDisplay, equivalence: 'equivalent' });
    }
  });

  it('draws acute diagnoses from the map (all non-long-term ICD-10 rows) plus the deliberately unmapped codes', () => {
    const longTerm = new Set(Object.values(CONDITIONS).map((c) => c.icd10));
    const expected = DEMO_ICD10_ROWS.filter((row) => !longTerm.has(row.source_code)).map((row) => ({ icd10: row.source_code, display: row.source_display }));
    expect(ACUTE_DIAGNOSES).toEqual([...expected, ...UNMAPPED_ACUTE_DIAGNOSES]);
    const unmapped = ACUTE_DIAGNOSES.filter((d) => demoMapLookup(SYSTEMS.icd10, d.icd10) === undefined);
    expect(unmapped).toEqual(UNMAPPED_ACUTE_DIAGNOSES);
    expect(UNMAPPED_ACUTE_DIAGNOSES.length).toBeGreaterThanOrEqual(3);
    expect(UNMAPPED_ACUTE_DIAGNOSES.length).toBeLessThanOrEqual(5);
    for (const d of UNMAPPED_ACUTE_DIAGNOSES) {
      expect(d.icd10).toMatch(/^[A-Z]\d{2}(\.\d)?$/);
      // Truly absent, in any form (dotted, undotted, NHS).
      const forms = new Set([d.icd10, d.icd10.replace('.', ''), icd10NhsForm(d.icd10)]);
      expect(DEMO_CODE_MAP.filter((row) => forms.has(row.source_code))).toEqual([]);
    }
  });

  it('keeps the old acute diagnoses with their displays, so only new codes join the feed', () => {
    for (const [icd10, display] of [
      ['J18.9', 'Pneumonia, unspecified'],
      ['R07.4', 'Chest pain, unspecified'],
      ['N39.0', 'Urinary tract infection, site not specified'],
      ['S72.0', 'Fracture of neck of femur'],
      ['K35.8', 'Acute appendicitis, other and unspecified'],
      ['I21.9', 'Acute myocardial infarction, unspecified'],
      ['R55', 'Syncope and collapse'],
      ['L03.1', 'Cellulitis of other parts of limb'],
    ]) {
      expect(ACUTE_DIAGNOSES, icd10).toContainEqual({ icd10, display });
    }
  });
});

describe('icd10NhsForm', () => {
  it('drops the dot and pads three-character codes with X', () => {
    expect(icd10NhsForm('I10')).toBe('I10X');
    expect(icd10NhsForm('J45.9')).toBe('J459');
    expect(icd10NhsForm('R69')).toBe('R69X');
  });

  it('writes dagger and asterisk codes in the six-character form', () => {
    expect(icd10NhsForm('A17.0')).toBe('A170-D');
    expect(icd10NhsForm('G01')).toBe('G01X-A');
  });

  it('gives every acute diagnosis a 4- or 6-character NHS form', () => {
    for (const { icd10 } of ACUTE_DIAGNOSES) expect(icd10NhsForm(icd10), icd10).toMatch(/^[A-Z]\d{2}[\dX](-[DA])?$/);
  });
});

describe('the SNOMED CT codes the generator sends', () => {
  it('are all concept ids (check digit and partition), dm+d products included', () => {
    const codes = [
      ...Object.values(CONDITIONS).map((c) => c.snomed),
      ...Object.values(LAB_TESTS).map((t) => t.snomed),
      ...Object.values(PROCEDURES).map((p) => p.code),
      ...Object.values(VACCINES).flatMap((v) => [v.vaccine.code, v.procedure.code]),
      ...Object.values(ALLERGENS).map((a) => a.code),
      ...REACTIONS.map((r) => r.code),
      ...Object.values(MEDICATIONS).map((m) => m.dmd),
    ];
    expect(codes.filter((code) => !isConceptSctid(code))).toEqual([]);
  });
});
