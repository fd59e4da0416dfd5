// Entry point of the deterministic synthetic population generator: writes a demo lake's sources —
// a FHIR Bulk Data export (GP record), HL7 v2 files (hospital feed for an overlapping ~40%), ESR
// Generic Outbound files (a separate staff population) — and the ground truth that links them.
// Same options ⇒ byte-identical output; nothing reads the clock (dates hang off `referenceDate`).
// People are generated and written one at a time, so memory stays flat for a million patients.
// Up to `MAX_PATIENTS`; the 999 test range holds `NHS_TEST_RANGE_CAPACITY` (909,091) NHS numbers, so
// in a bigger run everyone after that has no NHS number at all (unregistered people, overseas
// visitors) — counted as `people_without_nhs_number` — rather than a reused or real-range one.
// Layout under `outDir`: fhir/{manifest.json,<Type>.ndjson}, hl7/{adt,oru}-NNNNNN.hl7,
// esr/GO_431_EXP_GO{F,C}_<date>_<seq8>.DAT, truth/{people,staff,source_records,defects}.csv,
// truth/{workforce_assignments,workforce_monthly}.csv (the ESR current state, see workforceTruth.ts)
// and truth/counts.json (see `GenerateCounts`).

import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CarelakeError, fileSystemError } from '../core/errors.ts';
import { DAY, parseIsoDate } from './calendar.ts';
import { writeEsrGoFiles, type EsrFileSummary } from './esrGoFiles.ts';
import { FHIR_TYPES, FhirExportWriter, type FhirResourceType } from './fhirExport.ts';
import { Hl7Feed, type Hl7Counts } from './hl7Feed.ts';
import { CareSettings, practiceCountFor } from './organisations.ts';
import { Population } from './population.ts';
import { TruthWriter } from './truth.ts';
import type { DefectKind } from './defects.ts';
import { NHS_TEST_RANGE_CAPACITY } from './ukIdentifiers.ts';
import { Workforce, staffCountFor } from './workforce.ts';
import { WorkforceTruthWriter, type WorkforceTruthCounts } from './workforceTruth.ts';

export interface GenerateOptions {
  patients: number;
  seed: number;
  outDir: string;
  /** ISO date, default '2026-01-01'; every generated date is relative to it. */
  referenceDate?: string;
}

export interface GeneratedFile {
  /** Relative to outDir, '/' separators. */
  path: string;
  kind: 'fhir' | 'hl7' | 'esr' | 'truth' | 'manifest';
  /**
   * NDJSON: lines. HL7: messages. ESR: data lines (HDR and TRL excluded). CSV: rows after the header.
   * manifest.json: output entries. counts.json: 1.
   */
  records: number;
}

export interface GenerateSummary {
  patients: number;
  staff: number;
  files: GeneratedFile[];
  /** `truth/counts.json` flattened to dotted keys, e.g. `fhir.Patient`, `hl7.by_type.ADT^A01`, `esr.records.PRA`. */
  counts: Record<string, number>;
}

/** The shape of `truth/counts.json`. */
export interface GenerateCounts {
  schemaVersion: 1;
  seed: number;
  referenceDate: string;
  people: number;
  /** People with no NHS number at all: 0 up to `NHS_TEST_RANGE_CAPACITY` patients, the rest beyond. */
  people_without_nhs_number: number;
  staff: number;
  fhir: Record<FhirResourceType, number>;
  hl7: Hl7Counts;
  esr: {
    files: number;
    /** Data records by type over both files (HDR/TRL excluded). */
    records: Record<string, number>;
    data_lines: number;
    /** Every line, HDR and TRL included, over both files. */
    lines: number;
    by_file: Record<string, { lines: number; data_lines: number; records: Record<string, number> }>;
    changes: { update: number; end_assignment: number; delete_person: number };
  };
  /** The ESR current state after the changes file, as in truth/workforce_*.csv. */
  workforce: WorkforceTruthCounts;
  sources: {
    /** Rows in source_records.csv per source kind. */
    source_records: { fhir: number; hl7: number; esr: number };
    people_in_fhir: number;
    people_in_hl7: number;
    people_in_both: number;
  };
  /** Rows in defects.csv per source kind and defect. */
  defects: { fhir: Record<DefectKind, number>; hl7: Record<DefectKind, number> };
}

export const DEFAULT_REFERENCE_DATE = '2026-01-01';
/** A sane ceiling on one run; everyone past the 999 test range (`NHS_TEST_RANGE_CAPACITY`) gets no NHS number. */
export const MAX_PATIENTS = 10_000_000;
const OUTPUT_FOLDERS = ['fhir', 'hl7', 'esr', 'truth'] as const;

interface ValidOptions {
  patients: number;
  seed: number;
  outDir: string;
  referenceDate: string;
  referenceSeconds: number;
}

function validate(options: GenerateOptions): ValidOptions {
  const problems: string[] = [];
  const { patients, seed, outDir } = options;
  const referenceDate = options.referenceDate ?? DEFAULT_REFERENCE_DATE;
  if (!Number.isInteger(patients) || patients < 1 || patients > MAX_PATIENTS) {
    problems.push(
      `patients must be a whole number from 1 to ${MAX_PATIENTS} (people beyond the first ${NHS_TEST_RANGE_CAPACITY}, ` +
        `the valid NHS numbers in the 999 test range, get no NHS number), got ${String(patients)}`,
    );
  }
  if (!Number.isSafeInteger(seed)) problems.push(`seed must be a whole number, got ${String(seed)}`);
  if (typeof outDir !== 'string' || outDir.trim() === '') problems.push('outDir must name a folder');
  const referenceSeconds = parseIsoDate(referenceDate);
  if (referenceSeconds === null) problems.push(`referenceDate must be an ISO date like 2026-01-01, got '${referenceDate}'`);
  if (problems.length > 0 || referenceSeconds === null) {
    throw new CarelakeError({
      code: 'synthetic.invalid_options',
      kind: 'config',
      message: `Cannot generate demo sources: ${problems.join('; ')}.`,
      hint: 'fix the options and run again',
    });
  }
  return { patients, seed, outDir, referenceDate, referenceSeconds };
}

/** Creates the four folders, refusing to mix a new run into an earlier one's files. */
async function prepareOutput(outDir: string): Promise<void> {
  for (const folder of OUTPUT_FOLDERS) {
    const path = join(outDir, folder);
    let entries: string[] = [];
    try {
      entries = await readdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileSystemError('read', path, err);
    }
    if (entries.length > 0) {
      throw new CarelakeError({
        code: 'synthetic.output_not_empty',
        kind: 'config',
        message: `Cannot generate demo sources into ${outDir}: ${folder}/ already holds ${entries.length} file(s) from an earlier run.`,
        location: { file: path },
        hint: 'choose an empty folder or delete the old one',
      });
    }
    try {
      await mkdir(path, { recursive: true });
    } catch (err) {
      throw fileSystemError('create', path, err);
    }
  }
}

function flatten(value: unknown, prefix: string, into: Record<string, number>): Record<string, number> {
  if (typeof value === 'number') into[prefix] = value;
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix === '' ? key : `${prefix}.${key}`, into);
  }
  return into;
}

function esrCounts(files: readonly EsrFileSummary[], changes: GenerateCounts['esr']['changes']): GenerateCounts['esr'] {
  const records: Record<string, number> = {};
  const byFile: GenerateCounts['esr']['by_file'] = {};
  for (const file of files) {
    const fileRecords: Record<string, number> = {};
    for (const [type, n] of Object.entries(file.records)) {
      fileRecords[type] = n;
      records[type] = (records[type] ?? 0) + n;
    }
    byFile[file.name] = { lines: file.lines, data_lines: file.dataLines, records: fileRecords };
  }
  return {
    files: files.length,
    records,
    data_lines: files.reduce((sum, f) => sum + f.dataLines, 0),
    lines: files.reduce((sum, f) => sum + f.lines, 0),
    by_file: byFile,
    changes,
  };
}

export async function generateDemoSources(options: GenerateOptions): Promise<GenerateSummary> {
  const { patients, seed, outDir, referenceDate, referenceSeconds } = validate(options);
  await prepareOutput(outDir);
  const settings = new CareSettings(seed, practiceCountFor(patients));
  const population = new Population(seed, settings, referenceSeconds);

  const truth = await TruthWriter.open(join(outDir, 'truth'));
  let fhir: FhirExportWriter | null = null;
  let hl7: Hl7Feed | null = null;
  let workforceTruth: WorkforceTruthWriter | null = null;
  try {
    fhir = await FhirExportWriter.open(join(outDir, 'fhir'));
    hl7 = new Hl7Feed({ dir: join(outDir, 'hl7'), seed, patients, referenceSeconds, truth });
    await fhir.careSettings(settings, referenceSeconds);

    const overlap = { fhir: 0, hl7: 0, both: 0 };
    let withoutNhsNumber = 0;
    for (let i = 0; i < patients; i++) {
      const person = population.person(i);
      if (person.identity.nhsNumber === null) withoutNhsNumber++;
      await truth.person(person);
      const inHl7 = person.inHospital ? await hl7.person(person) : false;
      // Someone the hospital feed could not take (born after their slot) still needs a source.
      const inFhir = person.inGpRecord || !inHl7;
      if (inFhir) {
        const written = await fhir.person(person, seed, referenceSeconds, person.practice.region.trust);
        await truth.sourceRecord('fhir', 'Patient', written.patientId, person.personId);
        await truth.defects('fhir', 'Patient', written.patientId, written.defects);
      }
      if (inFhir) overlap.fhir++;
      if (inHl7) overlap.hl7++;
      if (inFhir && inHl7) overlap.both++;
    }

    const hl7Output = await hl7.close();
    const fhirCounts = fhir.resourceCounts();
    const manifest = await fhir.close(referenceSeconds);
    const workforce = new Workforce(seed, staffCountFor(patients), referenceSeconds - DAY);
    // The changes file is dated on the reference date: the as-of date of the current state.
    workforceTruth = await WorkforceTruthWriter.open(join(outDir, 'truth'), referenceSeconds);
    const esr = await writeEsrGoFiles(join(outDir, 'esr'), workforce, seed, referenceSeconds, truth, workforceTruth);
    const workforceOutput = await workforceTruth.close();
    const sourceRecords = truth.sourceRecordCounts();
    const defects = truth.defectCounts();
    const truthFiles = [...(await truth.close()), ...workforceOutput.files];

    const counts: GenerateCounts = {
      schemaVersion: 1,
      seed,
      referenceDate,
      people: patients,
      people_without_nhs_number: withoutNhsNumber,
      staff: workforce.staffCount,
      fhir: { ...fhirCounts },
      hl7: hl7Output.counts,
      esr: esrCounts(esr.files, esr.changes),
      sources: { source_records: { ...sourceRecords }, people_in_fhir: overlap.fhir, people_in_hl7: overlap.hl7, people_in_both: overlap.both },
      defects: { fhir: defects.fhir, hl7: defects.hl7 },
      workforce: workforceOutput.counts,
    };
    await truth.writeCounts(counts);

    const files: GeneratedFile[] = [
      ...FHIR_TYPES.map((type): GeneratedFile => ({ path: `fhir/${type}.ndjson`, kind: 'fhir', records: fhirCounts[type] })),
      { path: 'fhir/manifest.json', kind: 'manifest', records: manifest.output.length },
      ...hl7Output.files.map((f): GeneratedFile => ({ path: f.path, kind: 'hl7', records: f.messages })),
      ...esr.files.map((f): GeneratedFile => ({ path: `esr/${f.name}`, kind: 'esr', records: f.dataLines })),
      ...truthFiles.map((f): GeneratedFile => ({ path: f.path, kind: 'truth', records: f.records })),
      { path: 'truth/counts.json', kind: 'truth', records: 1 },
    ];
    return { patients, staff: workforce.staffCount, files, counts: flatten(counts, '', {}) };
  } catch (err) {
    truth.destroy();
    fhir?.destroy();
    hl7?.destroy();
    workforceTruth?.destroy();
    throw err;
  }
}
