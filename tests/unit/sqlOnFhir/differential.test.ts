// Differential test: the `fhirpath` package (FHIRPath's JavaScript reference engine, R4 model) is the
// oracle for our SQL. A few hundred generated Patients and Observations, many column expressions each;
// every expression is compiled as a collection column (so whole collections compare, in order) and run
// in DuckDB once per resource type, then compared with fhirpath.evaluate on each resource.
//
// One documented difference: join() on an empty collection is '' here, as the SQL on FHIR suite
// requires (fhirpath.js returns an empty collection).

import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb, type Json } from '../../../core/duckdb.ts';
import { Random } from '../../../synthetic/random.ts';
import { runViewDefinition } from '../../../warehouse/sqlOnFhir/runViewDefinition.ts';

const SEED = 20_260_512;
const PATIENTS = 300;
const OBSERVATIONS = 300;

type Resource = Record<string, unknown> & { resourceType: string; id: string };

function date(rng: Random): string {
  return `${rng.int(1930, 2020)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
}

function patient(rng: Random, i: number): Resource {
  const p: Resource = { resourceType: 'Patient', id: `p${i}` };
  if (rng.chance(0.8)) p['active'] = rng.chance(0.5);
  if (rng.chance(0.9)) p['gender'] = rng.pick(['male', 'female', 'unknown']);
  if (rng.chance(0.9)) p['birthDate'] = date(rng);
  const names = rng.int(0, 3);
  if (names > 0) {
    p['name'] = Array.from({ length: names }, () => {
      const name: Record<string, unknown> = {};
      if (rng.chance(0.6)) name['use'] = rng.pick(['official', 'usual', 'maiden']);
      if (rng.chance(0.9)) name['family'] = rng.pick(['Smith', 'Khan', 'Jones', 'Okafor', "O'Neil"]);
      const given = rng.int(0, 2);
      if (given > 0) name['given'] = Array.from({ length: given }, () => rng.pick(['Ann', 'Bo', 'Cy', 'Dee']));
      return name;
    });
  }
  if (rng.chance(0.5)) p['telecom'] = Array.from({ length: rng.int(1, 3) }, (_, k) => ({ system: rng.pick(['phone', 'email']), value: `t${i}.${k}` }));
  if (rng.chance(0.6)) p['identifier'] = [{ system: rng.pick(['https://fhir.nhs.uk/Id/nhs-number', 'urn:mrn']), value: String(9000000000 + i) }];
  if (rng.chance(0.3)) p['deceasedBoolean'] = rng.chance(0.5);
  else if (rng.chance(0.2)) p['deceasedDateTime'] = `${date(rng)}T10:00:00Z`;
  if (rng.chance(0.3)) p['multipleBirthInteger'] = rng.int(1, 4);
  if (rng.chance(0.4)) p['address'] = [{ city: rng.pick(['Leeds', 'York']), postalCode: 'LS1 1AA' }];
  if (rng.chance(0.3)) p['extension'] = [{ url: 'http://example.org/ethnicity', valueString: rng.pick(['A', 'B']) }, { url: 'http://example.org/other', valueBoolean: true }];
  if (rng.chance(0.3)) p['contact'] = [{ name: { family: rng.pick(['Lee', 'Roe']) }, telecom: [{ system: 'phone', value: `c${i}` }] }];
  return p;
}

function observation(rng: Random, i: number): Resource {
  const o: Resource = { resourceType: 'Observation', id: `o${i}`, status: rng.pick(['final', 'amended', 'preliminary']) };
  const codings = [
    ...(rng.chance(0.5) ? [{ system: 'http://snomed.info/sct', code: String(rng.int(100000, 999999)) }] : []),
    ...(rng.chance(0.8) ? [{ system: 'http://loinc.org', code: rng.pick(['2345-7', '718-7', '8480-6']), display: 'Lab' }] : []),
  ];
  o['code'] = codings.length > 0 ? { coding: codings } : { text: 'free text' };
  o['subject'] = { reference: `Patient/p${rng.int(0, PATIENTS - 1)}` };
  const kind = rng.int(0, 3);
  if (kind === 0) o['valueQuantity'] = { value: rng.int(1, 50000) / 100, unit: 'mg/dL' };
  else if (kind === 1) o['valueInteger'] = rng.int(-5, 40);
  else if (kind === 2) o['valueString'] = rng.pick(['positive', 'negative']);
  if (rng.chance(0.4)) o['referenceRange'] = [{ low: { value: rng.int(0, 10) }, high: { value: rng.int(20, 90) } }];
  if (rng.chance(0.3)) {
    o['component'] = Array.from({ length: rng.int(1, 3) }, () => ({ code: { text: 'c' }, valueQuantity: { value: rng.int(40, 200), unit: 'mm[Hg]' } }));
  }
  return o;
}

const patientExpressions = [
  'id',
  'active',
  'gender',
  'birthDate',
  'name.family',
  'name.given',
  "name.where(use = 'official').family",
  'name.first().given.first()',
  'name[1].family',
  'name.last().family',
  "telecom.where(system = 'phone').value",
  "identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number').value.first()",
  'name.exists()',
  'name.given.exists()',
  'name.empty()',
  "name.exists(use = 'maiden')",
  'name.count()',
  "name.given.join(', ')",
  "gender = 'female'",
  "gender != 'male'",
  "name.family = 'Smith'",
  "active and gender = 'female'",
  "active or gender = 'male'",
  "active xor gender = 'male'",
  "active implies gender = 'male'",
  '(active = true).not()',
  'deceased.ofType(boolean)',
  'deceased.ofType(dateTime)',
  'multipleBirth.ofType(integer) + 1',
  'multipleBirth.ofType(integer) * 3 - 2',
  'multipleBirth.ofType(integer) div 2',
  'multipleBirth.ofType(integer) mod 2',
  'birthDate > @1970-01-01',
  'address.city',
  "extension('http://example.org/ethnicity').value.ofType(string)",
  'contact.name.family',
  'contact.telecom.value',
  "name.where(family = 'Khan' or given = 'Ann').use",
  "name.family.where($this = 'Jones' or $this = 'Khan')",
  "'x' + gender",
  "gender & '-' & birthDate",
  "name.family contains 'Smith'",
  "'Jones' in name.family",
  'name.family.first().lower()',
  "name.family.first().startsWith('O')",
  'name.family.first().length()',
];

const observationExpressions = [
  'status',
  'value.ofType(Quantity).value',
  'value.ofType(Quantity).unit',
  'value.ofType(Quantity).value * 2',
  'value.ofType(Quantity).value > 100',
  'value.ofType(Quantity).value <= 250.5',
  'value.ofType(integer)',
  'value.ofType(integer) - 10',
  'value.ofType(integer) >= 0',
  'value.ofType(string)',
  "code.coding.where(system = 'http://loinc.org').code",
  "code.coding.where(system = 'http://loinc.org').first().display",
  'code.coding.code',
  'code.text',
  'component.value.ofType(Quantity).value',
  'component.count()',
  'referenceRange.low.value',
  'referenceRange.high.value - referenceRange.low.value',
  'subject.reference',
  "status = 'final' and value.ofType(Quantity).exists()",
  'code.coding.exists()',
];

/** Numbers compared to 9 significant digits (DOUBLE against fhirpath.js's decimal arithmetic). */
function normalise(value: unknown): Json {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'number') return Number(value.toPrecision(9));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value as Json;
}

function viewOf(resource: string, expressions: string[]) {
  return {
    resource,
    select: [{ column: [{ name: 'id', path: 'id' }, ...expressions.map((path, i) => ({ name: `e${i}`, path, collection: true }))] }],
  };
}

describe('SQL-compiled FHIRPath agrees with fhirpath.js', () => {
  const rng = Random.derive(SEED, 'sof-differential');
  const patients = Array.from({ length: PATIENTS }, (_, i) => patient(rng, i));
  const observations = Array.from({ length: OBSERVATIONS }, (_, i) => observation(rng, i));
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
  });
  afterAll(() => db.close());

  const suites: [string, Resource[], string[]][] = [
    ['Patient', patients, patientExpressions],
    ['Observation', observations, observationExpressions],
  ];
  for (const [resourceType, resources, expressions] of suites) {
    it(`${resourceType}: ${expressions.length} expressions over ${resources.length} resources`, async () => {
      const result = await runViewDefinition(db, viewOf(resourceType, expressions), [...patients, ...observations]);
      expect(result.rows).toHaveLength(resources.length);
      const byId = new Map(result.rows.map((r) => [r['id'] as string, r]));
      const mismatches: string[] = [];
      for (const resource of resources) {
        const row = byId.get(resource.id)!;
        for (const [i, expression] of expressions.entries()) {
          let expected = fhirpath.evaluate(resource, expression, undefined, r4) as unknown[];
          if (expression.includes('.join(') && expected.length === 0) expected = [''];
          const actual = row[`e${i}`];
          if (JSON.stringify(normalise(actual)) !== JSON.stringify(normalise(expected))) {
            mismatches.push(`${resource.id} ${expression}: ours ${JSON.stringify(actual)}, fhirpath.js ${JSON.stringify(expected)}`);
          }
        }
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
    });
  }
});
