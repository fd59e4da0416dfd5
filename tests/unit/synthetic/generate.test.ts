import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { isValidNhsNumber } from '../../../transforms/identifiers/nhsNumber.ts';
import { ESR_FIELD_COUNTS } from '../../../synthetic/esrGoFiles.ts';
import { MAX_PATIENTS, generateDemoSources, type GenerateCounts, type GenerateOptions, type GenerateSummary } from '../../../synthetic/generate.ts';

const PATIENTS = 200;
const SEED = 11;

let root: string;
let main: string;
let summary: GenerateSummary;
let counts: GenerateCounts;

async function generate(name: string, options: Omit<GenerateOptions, 'outDir'>): Promise<string> {
  const outDir = join(root, name);
  await generateDemoSources({ ...options, outDir });
  return outDir;
}

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesUnder(join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

async function digest(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const rel of await filesUnder(dir)) result[rel] = createHash('sha256').update(await readFile(join(dir, rel))).digest('hex');
  return result;
}

const text = (rel: string) => readFile(join(main, rel), 'utf8');
const latin1 = (rel: string) => readFile(join(main, rel), 'latin1');

function csvRows(content: string): string[][] {
  // Generated CSV never quotes (no commas in values), which the first test below also checks.
  return content
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));
}

interface Hl7Message {
  segments: string[][];
}

interface Hl7File {
  name: string;
  messages: Hl7Message[];
  envelope: string[][];
}

/** A deliberately tiny reader: split on CR, fields on '|'; enough to check what the generator promises. */
function readHl7(name: string, content: string): Hl7File {
  const lines = content.split('\r');
  expect(lines.pop(), `${name} ends with CR`).toBe('');
  const messages: Hl7Message[] = [];
  const envelope: string[][] = [];
  for (const line of lines) {
    const fields = line.split('|');
    const type = fields[0];
    if (type === 'FHS' || type === 'BHS' || type === 'BTS' || type === 'FTS') {
      envelope.push(fields);
      continue;
    }
    if (type === 'MSH') messages.push({ segments: [] });
    const current = messages[messages.length - 1];
    expect(current, `${name}: segment ${type} before any MSH`).toBeDefined();
    current!.segments.push(fields);
  }
  return { name, messages, envelope };
}

function seg(message: Hl7Message, name: string): string[] {
  const found = message.segments.find((s) => s[0] === name);
  if (!found) throw new Error(`no ${name} segment`);
  return found;
}

let hl7Files: Hl7File[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'carelake-synthetic-'));
  main = join(root, 'main');
  summary = await generateDemoSources({ patients: PATIENTS, seed: SEED, outDir: main });
  counts = JSON.parse(await text('truth/counts.json')) as GenerateCounts;
  const names = (await readdir(join(main, 'hl7'))).sort();
  hl7Files = await Promise.all(names.map(async (n) => readHl7(n, await latin1(`hl7/${n}`))));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('generateDemoSources determinism', () => {
  const cases = [
    { description: 'same seed and options give byte-identical files', seed: SEED, referenceDate: undefined, same: true },
    { description: 'a different seed gives different files', seed: SEED + 1, referenceDate: undefined, same: false },
    { description: 'a different reference date gives different files', seed: SEED, referenceDate: '2025-06-30', same: false },
  ];
  it.each(cases)('$description', async ({ seed, referenceDate, same }) => {
    const other = await generate(`det-${seed}-${referenceDate ?? 'default'}`, { patients: PATIENTS, seed, ...(referenceDate ? { referenceDate } : {}) });
    const [a, b] = [await digest(main), await digest(other)];
    if (same) expect(b).toEqual(a);
    else {
      expect(b['fhir/Patient.ndjson']).not.toBe(a['fhir/Patient.ndjson']);
      expect(b['truth/people.csv']).not.toBe(a['truth/people.csv']);
      expect(b['hl7/adt-000001.hl7']).not.toBe(a['hl7/adt-000001.hl7']);
    }
  });
});

describe('generated output layout', () => {
  it('lists every file it wrote, with record counts matching their contents', async () => {
    const onDisk = await filesUnder(main);
    expect(summary.files.map((f) => f.path).sort()).toEqual(onDisk);
    for (const file of summary.files) {
      const content = await latin1(file.path);
      if (file.path.endsWith('.ndjson')) expect(content.split('\n').filter(Boolean).length, file.path).toBe(file.records);
      if (file.path.endsWith('.csv')) expect(content.split('\n').filter(Boolean).length - 1, file.path).toBe(file.records);
      if (file.path.endsWith('.DAT')) expect(content.split('\r\n').filter(Boolean).length - 2, file.path).toBe(file.records);
    }
    expect(summary.patients).toBe(PATIENTS);
    expect(summary.staff).toBe(10);
    expect(summary.counts['fhir.Patient']).toBe(counts.fhir.Patient);
    expect(summary.counts['hl7.by_type.ADT^A01']).toBe(counts.hl7.by_type['ADT^A01']);
  });

  it('has every kind of file other code depends on', async () => {
    const onDisk = await filesUnder(main);
    const expected = [
      /^fhir\/manifest\.json$/,
      ...['Patient', 'Practitioner', 'Organization', 'Encounter', 'Condition', 'Observation', 'Procedure', 'MedicationRequest', 'Immunization', 'AllergyIntolerance'].map((t) => new RegExp(`^fhir/${t}\\.ndjson$`)),
      /^hl7\/adt-000001\.hl7$/,
      /^hl7\/oru-000001\.hl7$/,
      /^esr\/GO_431_EXP_GOF_20251231_00000001\.DAT$/,
      /^esr\/GO_431_EXP_GOC_20260101_00000002\.DAT$/,
      /^truth\/people\.csv$/,
      /^truth\/source_records\.csv$/,
      /^truth\/counts\.json$/,
    ];
    for (const pattern of expected) expect(onDisk.some((f) => pattern.test(f)), String(pattern)).toBe(true);
  });
});

describe('truth files', () => {
  it('gives every NHS number present a valid, distinct 999-range one, and counts those without', async () => {
    const rows = csvRows(await text('truth/people.csv'));
    expect(rows[0]!.join(',')).toBe('person_id,nhs_number,given_name,family_name,birth_date,sex,postcode,practice_ods');
    const people = rows.slice(1);
    expect(people).toHaveLength(PATIENTS);
    const present = people.map((r) => r[1]!).filter((nhs) => nhs !== '');
    expect(people.length - present.length).toBe(counts.people_without_nhs_number);
    // Far below the 999 range's capacity, everyone has one.
    expect(counts.people_without_nhs_number).toBe(0);
    for (const nhs of present) {
      expect(nhs.startsWith('999'), nhs).toBe(true);
      expect(isValidNhsNumber(nhs), nhs).toBe(true);
    }
    expect(new Set(present).size).toBe(present.length);
    for (const row of people) {
      expect(row).toHaveLength(8);
      expect(row[4]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(['male', 'female', 'other', 'unknown']).toContain(row[5]);
      expect(row[6]).toMatch(/^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$/);
      expect(row[7]).toMatch(/^[A-Z]\d{5}$/);
    }
  });

  it('maps every FHIR Patient, HL7 MRN and ESR person to a person exactly once', async () => {
    const rows = csvRows(await text('truth/source_records.csv')).slice(1);
    const keys = rows.map((r) => `${r[0]}|${r[1]}|${r[2]}`);
    expect(new Set(keys).size).toBe(keys.length);

    const patientIds = (await text('fhir/Patient.ndjson')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    const mrns = new Set<string>();
    for (const file of hl7Files) {
      for (const message of file.messages) {
        for (const rep of seg(message, 'PID')[3]!.split('~')) if (rep.endsWith('^MR')) mrns.add(rep.split('^')[0]!);
        const mrg = message.segments.find((s) => s[0] === 'MRG');
        if (mrg) mrns.add(mrg[1]!.split('^')[0]!);
      }
    }
    const esrPeople = new Set<string>();
    for (const name of await readdir(join(main, 'esr'))) {
      for (const line of (await text(`esr/${name}`)).split('\r\n')) if (line.startsWith('PRA~') || line.startsWith('PRD~')) esrPeople.add(line.split('~')[1]!);
    }

    const byKind = (kind: string, dataset: string) => rows.filter((r) => r[0] === kind && r[1] === dataset).map((r) => r[2]!).sort();
    expect(byKind('fhir', 'Patient')).toEqual([...patientIds].sort());
    expect(byKind('hl7', 'mrn')).toEqual([...mrns].sort());
    expect(byKind('esr', 'person')).toEqual([...esrPeople].sort());
    expect(rows.length).toBe(patientIds.length + mrns.size + esrPeople.size);

    const people = new Set(csvRows(await text('truth/people.csv')).slice(1).map((r) => r[0]));
    const staff = new Set(csvRows(await text('truth/staff.csv')).slice(1).map((r) => r[0]));
    for (const row of rows) expect(row[0] === 'esr' ? staff.has(row[3]) : people.has(row[3]), row.join(',')).toBe(true);
    for (const id of staff) expect(id).toMatch(/^S\d{6}$/);
    // Everyone is in at least one source, and the hospital feed overlaps the GP record.
    expect(new Set(rows.filter((r) => r[0] !== 'esr').map((r) => r[3])).size).toBe(PATIENTS);
    expect(counts.sources.people_in_both).toBeGreaterThan(0);
  });

  it('agrees with counts.json on people, staff, source records and defects', async () => {
    expect(csvRows(await text('truth/people.csv')).length - 1).toBe(counts.people);
    expect(csvRows(await text('truth/staff.csv')).length - 1).toBe(counts.staff);
    const sources = csvRows(await text('truth/source_records.csv')).slice(1);
    for (const kind of ['fhir', 'hl7', 'esr'] as const) expect(sources.filter((r) => r[0] === kind).length, kind).toBe(counts.sources.source_records[kind]);
    const defects = csvRows(await text('truth/defects.csv')).slice(1);
    for (const kind of ['fhir', 'hl7'] as const) {
      for (const [defect, n] of Object.entries(counts.defects[kind])) expect(defects.filter((r) => r[0] === kind && r[3] === defect).length, `${kind} ${defect}`).toBe(n);
    }
    expect(counts.hl7.patients_distinct_mrn).toBe(sources.filter((r) => r[0] === 'hl7').length);
  });

  it('records deliberate defects that really are in the source copies', async () => {
    const defects = csvRows(await text('truth/defects.csv')).slice(1);
    expect(defects.length).toBeGreaterThan(0);
    const truthNhs = new Map(csvRows(await text('truth/people.csv')).slice(1).map((r) => [r[0]!, r[1]!]));
    const personOf = new Map(csvRows(await text('truth/source_records.csv')).slice(1).map((r) => [`${r[0]}|${r[2]}`, r[3]!]));
    const patients = new Map(
      (await text('fhir/Patient.ndjson'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; identifier?: { value: string }[] })
        .map((p) => [p.id, p]),
    );
    for (const [kind, , recordId, defect] of defects) {
      if (kind !== 'fhir') continue;
      const patient = patients.get(recordId!)!;
      const nhs = patient.identifier?.[0]?.value;
      if (defect === 'missing_nhs_number') expect(nhs).toBeUndefined();
      if (defect === 'invalid_nhs_check_digit') {
        expect(isValidNhsNumber(nhs)).toBe(false);
        expect(nhs!.slice(0, 9)).toBe(truthNhs.get(personOf.get(`fhir|${recordId}`)!)!.slice(0, 9));
      }
    }
  });
});

describe('FHIR Bulk Data export', () => {
  it('has a complete-status manifest whose counts equal the NDJSON line counts', async () => {
    const manifest = JSON.parse(await text('fhir/manifest.json')) as {
      transactionTime: string;
      request: string;
      requiresAccessToken: boolean;
      output: { type: string; url: string; count: number }[];
      error: unknown[];
    };
    expect(manifest.transactionTime).toBe('2026-01-01T00:00:00Z');
    expect(manifest.requiresAccessToken).toBe(false);
    expect(manifest.error).toEqual([]);
    expect(manifest.output.map((o) => o.type)).toEqual(['Patient', 'Practitioner', 'Organization', 'Encounter', 'Condition', 'Observation', 'Procedure', 'MedicationRequest', 'Immunization', 'AllergyIntolerance']);
    for (const output of manifest.output) {
      expect(output.url).toBe(`${output.type}.ndjson`);
      const lines = (await text(`fhir/${output.url}`)).split('\n');
      expect(lines.pop(), 'file ends with a newline').toBe('');
      expect(lines.length, output.type).toBe(output.count);
      expect(counts.fhir[output.type as keyof GenerateCounts['fhir']]).toBe(output.count);
    }
  });

  it('writes one parseable resource of the declared type per line, references resolving', async () => {
    const ids: Record<string, Set<string>> = {};
    const references: string[] = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k === 'reference' && typeof v === 'string') references.push(v);
          else collect(v);
        }
      }
    };
    for (const type of ['Patient', 'Practitioner', 'Organization', 'Encounter', 'Condition', 'Observation', 'Procedure', 'MedicationRequest', 'Immunization', 'AllergyIntolerance']) {
      ids[type] = new Set();
      for (const line of (await text(`fhir/${type}.ndjson`)).split('\n').filter(Boolean)) {
        const resource = JSON.parse(line) as { resourceType: string; id: string; meta: { lastUpdated: string } };
        expect(resource.resourceType).toBe(type);
        expect(resource.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
        expect(resource.meta.lastUpdated < '2026-01-01T00:00:00Z', resource.meta.lastUpdated).toBe(true);
        ids[type]!.add(resource.id);
        collect(resource);
      }
    }
    for (const ref of references) {
      const [type, id] = ref.split('/');
      expect(ids[type!]?.has(id!), ref).toBe(true);
    }
  });

  it('shapes Patients, Organizations, Conditions and Observations as the pipelines expect', async () => {
    const lines = async (type: string) => (await text(`fhir/${type}.ndjson`)).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const organisations = await lines('Organization');
    const odsCodes = organisations.map((o) => (o['identifier'] as { system: string; value: string }[])[0]!);
    expect(odsCodes.every((i) => i.system === 'https://fhir.nhs.uk/Id/ods-organization-code')).toBe(true);
    expect(odsCodes.some((i) => /^R[A-Z0-9]{2}$/.test(i.value))).toBe(true);
    expect(odsCodes.some((i) => /^[A-Z]\d{5}$/.test(i.value))).toBe(true);

    for (const patient of await lines('Patient')) {
      const name = (patient['name'] as { family: string; given: string[] }[])[0]!;
      expect(name.family.length).toBeGreaterThan(0);
      expect(['male', 'female', 'other', 'unknown']).toContain(patient['gender']);
      expect(patient['birthDate']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect((patient['generalPractitioner'] as { reference: string }[])[0]!.reference).toMatch(/^Organization\//);
      for (const id of (patient['identifier'] as { system: string }[] | undefined) ?? []) expect(id.system).toBe('https://fhir.nhs.uk/Id/nhs-number');
    }
    const systems = new Set((await lines('Condition')).flatMap((c) => (c['code'] as { coding: { system: string }[] }).coding.map((x) => x.system)));
    expect([...systems].sort()).toEqual(['http://hl7.org/fhir/sid/icd-10', 'http://snomed.info/sct', 'https://carelake.example.nhs.uk/CodeSystem/local-problem']);
    for (const observation of await lines('Observation')) {
      const quantity = observation['valueQuantity'] as { value: number; system: string; code: string };
      expect(typeof quantity.value).toBe('number');
      expect(quantity.system).toBe('http://unitsofmeasure.org');
      expect(observation['status']).toBe('final');
    }
    const classes = new Set((await lines('Encounter')).map((e) => (e['class'] as { code: string }).code));
    expect(classes.has('AMB')).toBe(true);
  });
});

describe('HL7 v2 feed', () => {
  it('starts every message with MSH, separates segments with CR only, and never repeats a control id', () => {
    const controlIds = new Set<string>();
    let messages = 0;
    for (const file of hl7Files) {
      for (const message of file.messages) {
        const msh = message.segments[0]!;
        expect(msh.slice(0, 2)).toEqual(['MSH', '^~\\&']);
        expect(msh[11]).toBe('2.4');
        expect(msh[17]).toBe('8859/1');
        expect(controlIds.has(msh[9]!), msh[9]).toBe(false);
        controlIds.add(msh[9]!);
        for (const s of message.segments) expect(s.join('|')).not.toMatch(/\n/);
        messages++;
      }
    }
    expect(messages).toBe(counts.hl7.messages);
  });

  it('closes batched files with FTS batch counts and BTS totals that match their contents', () => {
    const batched = hl7Files.filter((f) => f.envelope.length > 0);
    expect(batched.length).toBe(counts.hl7.batched_files);
    expect(batched.length).toBeGreaterThan(0);
    expect(hl7Files.length - batched.length, 'plain files too').toBeGreaterThan(0);
    for (const file of batched) {
      const kinds = file.envelope.map((e) => e[0]);
      expect(kinds[0]).toBe('FHS');
      expect(kinds.at(-1)).toBe('FTS');
      const batches = kinds.filter((k) => k === 'BHS').length;
      expect(kinds.filter((k) => k === 'BTS').length).toBe(batches);
      expect(Number(file.envelope.at(-1)![1]), file.name).toBe(batches);
      const inBatches = file.envelope.filter((e) => e[0] === 'BTS').reduce((sum, e) => sum + Number(e[1]), 0);
      expect(inBatches, file.name).toBe(file.messages.length);
    }
  });

  it('pairs each BTS count with the messages of its own batch', async () => {
    for (const file of hl7Files.filter((f) => f.envelope.length > 0)) {
      const raw = (await latin1(`hl7/${file.name}`)).split('\r');
      let count = 0;
      for (const line of raw) {
        if (line.startsWith('BHS|')) count = 0;
        if (line.startsWith('MSH|')) count++;
        if (line.startsWith('BTS|')) expect(Number(line.split('|')[1]), file.name).toBe(count);
      }
    }
  });

  it('names files so sorting by name is chronological', () => {
    for (const family of ['adt', 'oru']) {
      const times = hl7Files.filter((f) => f.name.startsWith(family)).flatMap((f) => f.messages.map((m) => m.segments[0]![6]!));
      expect(times.length).toBeGreaterThan(0);
      expect([...times].sort()).toEqual(times);
      expect(times.every((t) => t < '20260101000000')).toBe(true);
    }
  });

  it('counts every message type and includes admits, discharges, updates, cancels, merges and results', () => {
    const byType: Record<string, number> = {};
    for (const file of hl7Files) {
      for (const message of file.messages) {
        const type = message.segments[0]![8]!.split('^').slice(0, 2).join('^');
        byType[type] = (byType[type] ?? 0) + 1;
      }
    }
    expect(byType).toEqual(counts.hl7.by_type);
    for (const type of ['ADT^A01', 'ADT^A03', 'ADT^A08', 'ADT^A11', 'ADT^A40', 'ORU^R01']) expect(byType[type], type).toBeGreaterThan(0);
    expect(counts.hl7.files).toBe(hl7Files.length);
  });

  it('fills PID, PD1, PV1, MRG, DG1 and OBX the way NHS feeds do', () => {
    for (const file of hl7Files) {
      for (const message of file.messages) {
        const type = message.segments[0]![8]!;
        const pid = seg(message, 'PID');
        const [mrn, nhs] = pid[3]!.split('~');
        expect(mrn).toMatch(/^R[A-Z0-9]{2}\d{7}\^\^\^R[A-Z0-9]{2}\^MR$/);
        if (nhs !== undefined) expect(nhs).toMatch(/^[A-Z0-9]{10}\^\^\^NHS\^NH$/);
        expect(pid[7]).toMatch(/^\d{8}$/);
        expect(['M', 'F', 'U']).toContain(pid[8]);
        expect(pid[32]).toMatch(/^0[1-8]$/);
        if (type.startsWith('ADT')) expect(seg(message, 'PD1')[3]).toMatch(/\^\^[A-Z]\d{5}$/);
        if (type.startsWith('ADT^A40')) expect(seg(message, 'MRG')[1]).toMatch(/^R[A-Z0-9]{2}\d{7}\^\^\^R[A-Z0-9]{2}\^MR$/);
        if (type.startsWith('ADT^A01') || type.startsWith('ADT^A03')) {
          const pv1 = seg(message, 'PV1');
          expect(['I', 'O', 'E']).toContain(pv1[2]);
          expect(pv1[19]).toMatch(/^V\d{9}\^\^\^R[A-Z0-9]{2}\^VN$/);
          expect(pv1[44]).toMatch(/^\d{14}$/);
          if (type.startsWith('ADT^A03')) expect(pv1[45]).toMatch(/^\d{14}$/);
        }
        for (const dg1 of message.segments.filter((s) => s[0] === 'DG1')) expect(dg1[3]).toMatch(/^[A-Z]\d{2}(\.?\d|X)?(-[DA])?\^[^^]+\^I10$/);
        for (const obx of message.segments.filter((s) => s[0] === 'OBX')) {
          expect(obx[2]).toBe('NM');
          expect(Number.isFinite(Number(obx[5]))).toBe(true);
          expect(obx[6]).not.toBe('');
          expect(['H', 'L', 'N']).toContain(obx[8]);
        }
      }
    }
  });

  it('escapes delimiters in text: no raw & outside the encoding characters', async () => {
    for (const file of hl7Files) {
      const raw = (await latin1(`hl7/${file.name}`)).replace(/^(MSH|FHS|BHS)\|\^~\\&/gm, '$1|').replace(/\r(MSH|FHS|BHS)\|\^~\\&/g, '\r$1|');
      expect(raw.includes('&'), file.name).toBe(false);
    }
    // The demo deliberately includes text that needs escaping ("Dr X & Partners", "c/o O'Neil & Sons").
    const all = (await Promise.all(hl7Files.map((f) => latin1(`hl7/${f.name}`)))).join('');
    expect(all).toContain('\\T\\');
  });
});

describe('ESR Generic Outbound files', () => {
  it('gives every line the exact field count for its record type and a TRL equal to the line count', async () => {
    const names = (await readdir(join(main, 'esr'))).sort();
    expect(names).toHaveLength(2);
    const records: Record<string, number> = {};
    let dataLines = 0;
    for (const name of names) {
      const content = await text(`esr/${name}`);
      expect(content.endsWith('\r\n')).toBe(true);
      const lines = content.split('\r\n').slice(0, -1);
      expect(lines.every((l) => !l.includes('\n') && !l.includes('\r'))).toBe(true);
      const header = lines[0]!.split('~');
      expect(header).toHaveLength(7);
      expect(header[0]).toBe('HDR');
      expect(header[1]).toBe(name);
      expect(lines.at(-1)).toBe(`TRL~${lines.length}`);
      for (const line of lines.slice(1, -1)) {
        const [type, ...fields] = line.split('~');
        const expected = ESR_FIELD_COUNTS[type as keyof typeof ESR_FIELD_COUNTS];
        expect(expected, `known record type ${type}`).toBeDefined();
        expect(fields.length, `${name}: ${type}`).toBe(expected);
        records[type!] = (records[type!] ?? 0) + 1;
        dataLines++;
      }
    }
    expect(records).toEqual(counts.esr.records);
    expect(dataLines).toBe(counts.esr.data_lines);
    for (const [type, n] of [['ORA', 15], ['POA', 24], ['PRA', 44], ['ASA', 50], ['COA', 16]] as const) expect(ESR_FIELD_COUNTS[type]).toBe(n);
  });

  it('puts ASA and COA lines after their PRA, with StaffGroup|JobRole job names and deletes in the changes file', async () => {
    const full = (await text('esr/GO_431_EXP_GOF_20251231_00000001.DAT')).split('\r\n');
    let person = '';
    for (const line of full) {
      const f = line.split('~');
      if (f[0] === 'PRA') person = f[1]!;
      if (f[0] === 'ASA' || f[0] === 'COA') expect(f[1]).toBe(person);
      if (f[0] === 'ASA') expect(f[34]).toMatch(/^[A-Za-z &]+\|[A-Za-z /-]+[0-9]?$/);
    }
    const changes = (await text('esr/GO_431_EXP_GOC_20260101_00000002.DAT')).split('\r\n');
    expect(changes.some((l) => /^[A-Z]{2}D~\d+$/.test(l))).toBe(true);
    expect(changes.some((l) => l.startsWith('PRA~'))).toBe(true);
    const staff = csvRows(await text('truth/staff.csv')).slice(1);
    expect(staff).toHaveLength(counts.staff);
    for (const row of staff) expect(row[7]).toMatch(/^QQ\d{6}[A-D]$/);
  });
});

describe('generateDemoSources options', () => {
  const cases: { description: string; options: Partial<GenerateOptions>; message: RegExp }[] = [
    { description: 'no patients', options: { patients: 0 }, message: /patients must be a whole number/ },
    { description: 'more patients than the ceiling', options: { patients: MAX_PATIENTS + 1 }, message: /from 1 to 10000000/ },
    { description: 'fractional seed', options: { seed: 1.5 }, message: /seed must be a whole number/ },
    { description: 'impossible reference date', options: { referenceDate: '2026-02-30' }, message: /referenceDate must be an ISO date/ },
  ];
  it.each(cases)('rejects $description before writing anything', async ({ options, message }) => {
    const outDir = join(root, 'never');
    const run = generateDemoSources({ patients: 5, seed: 1, outDir, ...options });
    await expect(run).rejects.toBeInstanceOf(CarelakeError);
    await expect(run).rejects.toThrow(message);
    await expect(readdir(outDir)).rejects.toThrow();
  });

  it('refuses to write into a folder holding an earlier run', async () => {
    const outDir = join(root, 'dirty');
    await mkdir(join(outDir, 'hl7'), { recursive: true });
    await writeFile(join(outDir, 'hl7', 'old.hl7'), 'MSH|');
    await expect(generateDemoSources({ patients: 5, seed: 1, outDir })).rejects.toThrow(/already holds/);
  });
});
