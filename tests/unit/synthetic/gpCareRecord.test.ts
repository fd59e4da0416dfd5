import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLERGENS, CONDITIONS, CONDITION_MEDICATIONS, MEDICATIONS, PROCEDURES, REACTIONS, VACCINES, type ConditionKey } from '../../../synthetic/clinical.ts';
import { generateDemoSources, type GenerateCounts, type GenerateSummary } from '../../../synthetic/generate.ts';

const PATIENTS = 300;
const SEED = 23;
const CARE_TYPES = ['Procedure', 'MedicationRequest', 'Immunization', 'AllergyIntolerance'] as const;
const ALL_TYPES = ['Patient', 'Practitioner', 'Organization', 'Encounter', 'Condition', 'Observation', ...CARE_TYPES] as const;
const TRANSACTION_TIME = '2026-01-01T00:00:00Z';

type Json = Record<string, unknown> & { id: string; resourceType: string };
interface Coding {
  system: string;
  code: string;
  display?: string;
}
interface Concept {
  coding: Coding[];
  text?: string;
}
const ref = (value: unknown) => (value as { reference: string } | undefined)?.reference;

let root: string;
let main: string;
let summary: GenerateSummary;
let counts: GenerateCounts;
const byType = new Map<string, Json[]>();
const byRef = new Map<string, Json>();

const text = (dir: string, rel: string) => readFile(join(dir, rel), 'utf8');
const sha = async (dir: string, rel: string) => createHash('sha256').update(await readFile(join(dir, rel))).digest('hex');
const resources = (type: string) => byType.get(type) ?? [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'carelake-care-record-'));
  main = join(root, 'main');
  summary = await generateDemoSources({ patients: PATIENTS, seed: SEED, outDir: main });
  counts = JSON.parse(await text(main, 'truth/counts.json')) as GenerateCounts;
  for (const type of ALL_TYPES) {
    const lines = (await text(main, `fhir/${type}.ndjson`)).split('\n').filter(Boolean);
    const parsed = lines.map((l) => JSON.parse(l) as Json);
    byType.set(type, parsed);
    for (const r of parsed) byRef.set(`${r.resourceType}/${r.id}`, r);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('GP care record: determinism', () => {
  const cases = [
    { description: 'the same seed gives byte-identical care record files', seed: SEED, same: true },
    { description: 'a different seed gives different care record files', seed: SEED + 1, same: false },
  ];
  it.each(cases)('$description', async ({ seed, same }) => {
    const other = join(root, `again-${seed}`);
    await generateDemoSources({ patients: PATIENTS, seed, outDir: other });
    for (const type of CARE_TYPES) {
      const [a, b] = [await sha(main, `fhir/${type}.ndjson`), await sha(other, `fhir/${type}.ndjson`)];
      if (same) expect(b, type).toBe(a);
      else expect(b, type).not.toBe(a);
    }
    if (same) expect(await sha(other, 'fhir/manifest.json')).toBe(await sha(main, 'fhir/manifest.json'));
  });
});

describe('GP care record: export bookkeeping', () => {
  it.each(CARE_TYPES.map((type) => ({ description: type, type })))('lists $description in the manifest and counts.json with its NDJSON line count', async ({ type }) => {
    const manifest = JSON.parse(await text(main, 'fhir/manifest.json')) as { request: string; output: { type: string; url: string; count: number }[] };
    const entry = manifest.output.find((o) => o.type === type);
    expect(entry).toEqual({ type, url: `${type}.ndjson`, count: resources(type).length });
    expect(manifest.request).toContain(type);
    expect(counts.fhir[type]).toBe(resources(type).length);
    expect(summary.counts[`fhir.${type}`]).toBe(resources(type).length);
    expect(summary.files.find((f) => f.path === `fhir/${type}.ndjson`)?.records).toBe(resources(type).length);
    expect(resources(type).length, 'the demo population has some').toBeGreaterThan(0);
  });

  it('keeps the original six types first in the manifest, in their old order', async () => {
    const manifest = JSON.parse(await text(main, 'fhir/manifest.json')) as { output: { type: string }[] };
    expect(manifest.output.map((o) => o.type)).toEqual([...ALL_TYPES]);
  });
});

describe('GP care record: references', () => {
  const cases = CARE_TYPES.map((type) => ({ description: type, type }));
  it.each(cases)('every reference in $description resolves, and points at the same patient', ({ type }) => {
    for (const r of resources(type)) {
      const patientRef = ref(r['subject'] ?? r['patient'])!;
      expect(patientRef, r.id).toMatch(/^Patient\//);
      expect(byRef.has(patientRef), patientRef).toBe(true);
      const encounter = ref(r['encounter']);
      if (encounter !== undefined) {
        expect(byRef.has(encounter), encounter).toBe(true);
        expect(ref(byRef.get(encounter)!['subject']), `${type} ${r.id}: encounter of the same patient`).toBe(patientRef);
      }
      const practitioners = [
        ref(r['requester']),
        ref(r['recorder']),
        ...((r['performer'] as { actor: { reference: string } }[] | undefined) ?? []).map((p) => p.actor.reference),
      ].filter((x): x is string => x !== undefined);
      for (const p of practitioners) {
        expect(p).toMatch(/^Practitioner\//);
        expect(byRef.has(p), p).toBe(true);
      }
      for (const reason of (r['reasonReference'] as { reference: string }[] | undefined) ?? []) {
        expect(byRef.has(reason.reference), reason.reference).toBe(true);
        expect(ref(byRef.get(reason.reference)!['subject'])).toBe(patientRef);
      }
    }
  });

  it('uses unique ids and keeps every date before the export and after the patient was born', () => {
    const ids = new Set<string>();
    for (const type of CARE_TYPES) {
      for (const r of resources(type)) {
        expect(ids.has(r.id)).toBe(false);
        ids.add(r.id);
        const birthDate = byRef.get(ref(r['subject'] ?? r['patient'])!)!['birthDate'] as string;
        const period = r['performedPeriod'] as { start: string; end: string } | undefined;
        const dates = [r['authoredOn'], r['performedDateTime'], period?.start, period?.end, r['occurrenceDateTime'], r['recorded'], r['recordedDate']].filter(
          (d): d is string => typeof d === 'string',
        );
        const meta = (r['meta'] as { lastUpdated: string }).lastUpdated;
        expect(meta < TRANSACTION_TIME, `${type} ${r.id} lastUpdated`).toBe(true);
        for (const d of dates) {
          expect(d < TRANSACTION_TIME, `${type} ${r.id} ${d}`).toBe(true);
          expect(d.slice(0, 10) >= birthDate, `${type} ${r.id} ${d} before birth ${birthDate}`).toBe(true);
        }
      }
    }
  });
});

describe('GP care record: content', () => {
  const conditionKeyOf = (condition: Json): ConditionKey => {
    const label = (condition['code'] as Concept).text;
    const found = Object.values(CONDITIONS).find((c) => c.localDisplay === label);
    if (!found) throw new Error(`no condition with text ${String(label)}`);
    return found.key;
  };

  it('prescribes dm+d-coded drugs for the condition each request names', () => {
    const dmd = new Map(Object.values(MEDICATIONS).map((m) => [m.dmd, m]));
    const statuses = new Set<string>();
    for (const request of resources('MedicationRequest')) {
      const coding = (request['medicationCodeableConcept'] as Concept).coding;
      expect(coding).toHaveLength(1);
      expect(coding[0]!.system).toBe('https://dmd.nhs.uk');
      const medication = dmd.get(coding[0]!.code);
      expect(medication, coding[0]!.code).toBeDefined();
      expect(coding[0]!.display).toBe(medication!.display);
      expect(request['intent']).toBe('order');
      expect(['active', 'completed', 'stopped']).toContain(request['status']);
      statuses.add(request['status'] as string);
      expect(request['authoredOn']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect((request['dosageInstruction'] as { text: string }[])[0]!.text).toBe(medication!.dosage);
      const reason = (request['reasonReference'] as { reference: string }[])[0]!.reference;
      const key = conditionKeyOf(byRef.get(reason)!);
      expect(CONDITION_MEDICATIONS[key].map(([m]) => m), `${medication!.key} for ${key}`).toContain(medication!.key);
    }
    expect([...statuses].sort()).toEqual(['active', 'completed', 'stopped'].filter((s) => statuses.has(s)));
    expect(statuses.has('active')).toBe(true);
    // Only people with a long-term condition get repeats.
    const withConditions = new Set(resources('Condition').map((c) => ref(c['subject'])));
    for (const request of resources('MedicationRequest')) expect(withConditions.has(ref(request['subject']))).toBe(true);
  });

  it('codes procedures with SNOMED from the list, with a performed time unless not done', () => {
    const codes = new Set(Object.values(PROCEDURES).map((p) => p.code));
    const shapes = new Set<string>();
    for (const procedure of resources('Procedure')) {
      const coding = (procedure['code'] as Concept).coding[0]!;
      expect(coding.system).toBe('http://snomed.info/sct');
      expect(codes.has(coding.code), coding.code).toBe(true);
      expect(['completed', 'not-done']).toContain(procedure['status']);
      if (procedure['status'] === 'completed') {
        const has = { dateTime: 'performedDateTime' in procedure, period: 'performedPeriod' in procedure };
        expect(has.dateTime !== has.period, procedure.id).toBe(true);
        shapes.add(has.dateTime ? 'dateTime' : 'period');
      } else {
        expect(procedure['statusReason']).toBeDefined();
      }
    }
    expect([...shapes].sort()).toEqual(['dateTime', 'period']);
  });

  it('records vaccinations with vaccine and UK Core procedure codes, some not done with a reason', () => {
    const byVaccine = new Map(Object.values(VACCINES).map((v) => [v.vaccine.code, v]));
    let notDone = 0;
    for (const immunization of resources('Immunization')) {
      const coding = (immunization['vaccineCode'] as Concept).coding[0]!;
      expect(coding.system).toBe('http://snomed.info/sct');
      const vaccine = byVaccine.get(coding.code);
      expect(vaccine, coding.code).toBeDefined();
      const extension = (immunization['extension'] as { url: string; valueCodeableConcept: Concept }[])[0]!;
      expect(extension.url).toBe('https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure');
      expect(extension.valueCodeableConcept.coding[0]!.code).toBe(vaccine!.procedure.code);
      expect(immunization['occurrenceDateTime']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(['completed', 'not-done']).toContain(immunization['status']);
      if (immunization['status'] === 'not-done') {
        notDone++;
        expect((immunization['statusReason'] as Concept).coding[0]!.system).toBe('http://terminology.hl7.org/CodeSystem/v3-ActReason');
        expect(immunization['performer']).toBeUndefined();
      } else expect(immunization['statusReason']).toBeUndefined();
    }
    expect(notDone).toBeGreaterThan(0);
    expect(notDone).toBeLessThan(resources('Immunization').length / 2);
  });

  it('records allergies for a minority, with SNOMED substances, statuses, criticality and some reactions', () => {
    const substances = new Set(Object.values(ALLERGENS).map((a) => a.code));
    const reactions = new Set(REACTIONS.map((r) => r.code));
    let withReaction = 0;
    for (const allergy of resources('AllergyIntolerance')) {
      expect(substances.has((allergy['code'] as Concept).coding[0]!.code)).toBe(true);
      expect(['active', 'inactive', 'resolved']).toContain((allergy['clinicalStatus'] as Concept).coding[0]!.code);
      expect(['confirmed', 'unconfirmed']).toContain((allergy['verificationStatus'] as Concept).coding[0]!.code);
      expect(['low', 'high', 'unable-to-assess']).toContain(allergy['criticality']);
      expect(allergy['recordedDate']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      for (const reaction of (allergy['reaction'] as { manifestation: Concept[] }[] | undefined) ?? []) {
        withReaction++;
        for (const m of reaction.manifestation) expect(reactions.has(m.coding[0]!.code)).toBe(true);
      }
    }
    expect(withReaction).toBeGreaterThan(0);
    const people = new Set(resources('AllergyIntolerance').map((a) => ref(a['patient'])));
    expect(people.size).toBeLessThan(resources('Patient').length * 0.2);
  });
});
