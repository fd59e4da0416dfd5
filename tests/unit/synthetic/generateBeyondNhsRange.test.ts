// What a run past the 999 test range looks like, without generating 909,092 people: the allocator's
// capacity is shrunk to CAPACITY so everyone after the first CAPACITY people has no NHS number.

import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isValidNhsNumber } from '../../../transforms/identifiers/nhsNumber.ts';
import { generateDemoSources, type GenerateCounts } from '../../../synthetic/generate.ts';

// vi.mock is hoisted above the imports, so the capacity it uses must be hoisted too.
const { CAPACITY } = vi.hoisted(() => ({ CAPACITY: 60 }));
const PATIENTS = 150;

vi.mock('../../../synthetic/ukIdentifiers.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../synthetic/ukIdentifiers.ts')>();
  class SmallRangeAllocator extends actual.NhsNumberAllocator {
    constructor(seed: number) {
      super(seed, CAPACITY);
    }
  }
  return { ...actual, NhsNumberAllocator: SmallRangeAllocator };
});

let root: string;
let counts: GenerateCounts;
const text = (rel: string) => readFile(join(root, rel), 'latin1');
const csv = async (rel: string) => (await text(rel)).split('\n').filter(Boolean).slice(1).map((l) => l.split(','));
/** person_id → true NHS number ('' when none). */
let truthNhs: Map<string, string>;
/** `kind|record_id` → person_id. */
let personOf: Map<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'carelake-beyond-nhs-'));
  await generateDemoSources({ patients: PATIENTS, seed: 23, outDir: root });
  counts = JSON.parse(await text('truth/counts.json')) as GenerateCounts;
  truthNhs = new Map((await csv('truth/people.csv')).map((r) => [r[0]!, r[1]!]));
  personOf = new Map((await csv('truth/source_records.csv')).map((r) => [`${r[0]}|${r[2]}`, r[3]!]));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const hasNone = (personId: string | undefined) => personId !== undefined && truthNhs.get(personId) === '';

describe('a population larger than the NHS test range', () => {
  it('numbers the first people with valid, distinct 999-range NHS numbers and leaves the rest empty', async () => {
    const people = await csv('truth/people.csv');
    expect(people).toHaveLength(PATIENTS);
    const present = people.slice(0, CAPACITY).map((r) => r[1]!);
    for (const nhs of present) {
      expect(nhs.startsWith('999'), nhs).toBe(true);
      expect(isValidNhsNumber(nhs), nhs).toBe(true);
    }
    expect(new Set(present).size).toBe(CAPACITY);
    for (const row of people.slice(CAPACITY)) expect(row[1], row[0]).toBe('');
    expect(counts.people_without_nhs_number).toBe(PATIENTS - CAPACITY);
    expect(counts.people).toBe(PATIENTS);
  });

  it('writes FHIR Patients with no nhs-number identifier for people without one', async () => {
    let without = 0;
    for (const line of (await text('fhir/Patient.ndjson')).split('\n').filter(Boolean)) {
      const patient = JSON.parse(line) as { id: string; identifier?: { system: string; value: string }[] };
      if (!hasNone(personOf.get(`fhir|${patient.id}`))) continue;
      without++;
      expect(patient.identifier, patient.id).toBeUndefined();
    }
    expect(without).toBeGreaterThan(0);
  });

  it('writes HL7 PID-3 with only the MRN for people without one, even after a trace', async () => {
    let without = 0;
    for (const name of (await readdir(join(root, 'hl7'))).sort()) {
      for (const line of (await text(`hl7/${name}`)).split('\r')) {
        if (!line.startsWith('PID|')) continue;
        const fields = line.split('|');
        const reps = fields[3]!.split('~');
        const mrn = reps[0]!.split('^')[0]!;
        if (!hasNone(personOf.get(`hl7|${mrn}`))) continue;
        without++;
        expect(reps, line).toHaveLength(1);
        expect(reps[0]).toMatch(/\^MR$/);
        expect(['03', '04', '07']).toContain(fields[32]);
      }
    }
    expect(without).toBeGreaterThan(0);
  });

  it('records no NHS-number defect against a person without one', async () => {
    const nhsDefects = new Set(['missing_nhs_number', 'invalid_nhs_check_digit', 'temporary_nhs_number']);
    let checked = 0;
    for (const [kind, , recordId, defect] of await csv('truth/defects.csv')) {
      if (!hasNone(personOf.get(`${kind}|${recordId}`))) continue;
      checked++;
      expect(nhsDefects.has(defect!), `${kind} ${recordId} ${defect}`).toBe(false);
    }
    expect(checked).toBeGreaterThan(0);
    // People with numbers still get them damaged at the usual rates.
    expect(counts.defects.hl7.missing_nhs_number + counts.defects.fhir.missing_nhs_number).toBeGreaterThan(0);
  });
});
