// Each _typeFilter predicate is run by DuckDB on resources whose expected outcome is stated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { typeFilterPredicates } from '../../../pipelines/fhir-bulk/typeFilter.ts';

const hba1c = { resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }, { system: 'http://snomed.info/sct', code: '1003671000000109' }] }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }], effectiveDateTime: '2024-03-05T10:00:00Z', meta: { lastUpdated: '2026-01-02T00:00:00Z' } };
const vitals = { resourceType: 'Observation', id: 'o2', status: 'preliminary', code: { coding: [{ code: 'local-1' }] }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }], effectivePeriod: { start: '2023-12-31' } };
const patient = { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-05-01', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }] };
const encounter = { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, period: { start: '2024-02-01T08:00:00Z' } };

describe('typeFilterPredicates', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
  });
  afterAll(() => db.close());
  const matches = async (filter: string, resource: object) => {
    const predicate = typeFilterPredicates([filter], 'line').get((resource as { resourceType: string }).resourceType)!;
    return db.scalar(`SELECT ${predicate} FROM (SELECT ? AS line)`, [JSON.stringify(resource)]);
  };

  const cases: { description: string; filter: string; resource: object; expected: boolean }[] = [
    { description: 'code alone, any system', filter: 'Observation?code=4548-4', resource: hba1c, expected: true },
    { description: 'system|code', filter: 'Observation?code=http://loinc.org|4548-4', resource: hba1c, expected: true },
    { description: 'system|code, wrong system', filter: 'Observation?code=http://snomed.info/sct|4548-4', resource: hba1c, expected: false },
    { description: '|code matches only a coding without system', filter: 'Observation?code=|local-1', resource: vitals, expected: true },
    { description: '|code does not match a coding with a system', filter: 'Observation?code=|4548-4', resource: hba1c, expected: false },
    { description: 'system| matches any code in that system', filter: 'Observation?code=http://snomed.info/sct|', resource: hba1c, expected: true },
    { description: 'comma means OR', filter: 'Observation?status=amended,final', resource: hba1c, expected: true },
    { description: '& means AND', filter: 'Observation?status=final&category=vital-signs', resource: hba1c, expected: false },
    { description: 'category (a list of CodeableConcepts)', filter: 'Observation?category=laboratory', resource: hba1c, expected: true },
    { description: 'date ge at day precision', filter: 'Observation?date=ge2024-01-01', resource: hba1c, expected: true },
    { description: 'date lt from a Period start', filter: 'Observation?date=lt2024', resource: vitals, expected: true },
    { description: 'date eq at month precision', filter: 'Observation?date=2024-03', resource: hba1c, expected: true },
    { description: '_lastUpdated', filter: 'Observation?_lastUpdated=gt2026-01-01', resource: hba1c, expected: true },
    { description: 'a missing element never matches', filter: 'Observation?_lastUpdated=gt2026-01-01', resource: vitals, expected: false },
    { description: 'Patient gender (a code)', filter: 'Patient?gender=female', resource: patient, expected: true },
    { description: 'Patient identifier system|value', filter: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919', resource: patient, expected: true },
    { description: 'Encounter class (a single Coding)', filter: 'Encounter?class=IMP', resource: encounter, expected: true },
    { description: '_id', filter: 'Encounter?_id=e2', resource: encounter, expected: false },
  ];
  it.each(cases)('$description', async ({ filter, resource, expected }) => {
    expect(await matches(filter, resource)).toBe(expected);
  });

  it('ORs several filters of one type', async () => {
    const predicate = typeFilterPredicates(['Observation?status=amended', 'Observation?code=4548-4'], 'line').get('Observation')!;
    expect(await db.scalar(`SELECT ${predicate} FROM (SELECT ? AS line)`, [JSON.stringify(hba1c)])).toBe(true);
  });

  const refused = [
    { description: 'an unknown parameter', filter: 'Observation?value-quantity=5', message: /cannot re-apply search parameter 'value-quantity' on Observation/ },
    { description: 'a modifier', filter: 'Observation?code:not=4548-4', message: /modifiers and chained parameters/ },
    { description: 'a chain', filter: 'Observation?subject.name=x', message: /modifiers and chained parameters/ },
    { description: 'not a query', filter: 'status=final', message: /expected `ResourceType\?param=value/ },
    { description: 'a bad date', filter: 'Observation?date=ge01/01/2024', message: /not a FHIR date search value/ },
  ];
  it.each(refused)('refuses $description', ({ filter, message }) => {
    expect(() => typeFilterPredicates([filter], 'line')).toThrow(message);
  });
});
