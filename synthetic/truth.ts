// Ground truth for scoring linkage and reconciling loads: `truth/people.csv` (each patient's TRUE
// identity; `nhs_number` is empty for anyone the 999 test range could not cover), `truth/staff.csv`
// (the ESR workforce), `truth/source_records.csv` (which person every source record belongs to: each
// FHIR Patient, HL7 MRN and ESR person exactly once), `truth/defects.csv` (the deliberate damage in
// each source record) and, at the end, `truth/counts.json`. Rows are written as people are
// generated, so nothing accumulates in memory.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSystemError } from '../core/errors.ts';
import { DEFECT_KINDS, type DefectKind } from './defects.ts';
import { LineWriter } from './lineWriter.ts';
import type { Person } from './population.ts';
import type { StaffMember } from './workforce.ts';

export type SourceKind = 'fhir' | 'hl7' | 'esr';

export const TRUTH_HEADERS = {
  people: 'person_id,nhs_number,given_name,family_name,birth_date,sex,postcode,practice_ods',
  staff: 'person_id,esr_person_id,employee_number,given_name,family_name,birth_date,sex,ni_number,staff_group,job_role',
  sourceRecords: 'source_kind,dataset,record_id,person_id',
  defects: 'source_kind,dataset,record_id,defect',
} as const;

/** RFC 4180: quote a field holding a comma, quote or line break (names like "O'Neil" need none). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function noDefects(): Record<DefectKind, number> {
  return Object.fromEntries(DEFECT_KINDS.map((d) => [d, 0])) as Record<DefectKind, number>;
}

function csvRow(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

export interface TruthFileSummary {
  path: string;
  records: number;
}

export class TruthWriter {
  private readonly dir: string;
  private readonly people: LineWriter;
  private readonly staffFile: LineWriter;
  private readonly sources: LineWriter;
  private readonly defectsFile: LineWriter;
  private readonly rows = { people: 0, staff: 0, sourceRecords: 0, defects: 0 };
  private readonly bySource: Record<SourceKind, number> = { fhir: 0, hl7: 0, esr: 0 };
  private readonly defectsBySource: Record<SourceKind, Record<DefectKind, number>> = { fhir: noDefects(), hl7: noDefects(), esr: noDefects() };

  private constructor(dir: string, people: LineWriter, staff: LineWriter, sources: LineWriter, defects: LineWriter) {
    this.dir = dir;
    this.people = people;
    this.staffFile = staff;
    this.sources = sources;
    this.defectsFile = defects;
  }

  static async open(dir: string): Promise<TruthWriter> {
    const people = await LineWriter.open(join(dir, 'people.csv'));
    const staff = await LineWriter.open(join(dir, 'staff.csv'));
    const sources = await LineWriter.open(join(dir, 'source_records.csv'));
    const defects = await LineWriter.open(join(dir, 'defects.csv'));
    await people.write(`${TRUTH_HEADERS.people}\n`);
    await staff.write(`${TRUTH_HEADERS.staff}\n`);
    await sources.write(`${TRUTH_HEADERS.sourceRecords}\n`);
    await defects.write(`${TRUTH_HEADERS.defects}\n`);
    return new TruthWriter(dir, people, staff, sources, defects);
  }

  async person(person: Person): Promise<void> {
    const t = person.identity;
    this.rows.people++;
    await this.people.write(csvRow([person.personId, t.nhsNumber ?? '', t.givenName, t.familyName, t.birthDate, t.sex, t.postcode, person.practice.ods]));
  }

  async staff(staff: StaffMember): Promise<void> {
    const role = staff.assignments[0]!.position.role;
    this.rows.staff++;
    await this.staffFile.write(
      csvRow([staff.personId, staff.esrPersonId, staff.employeeNumber, staff.givenName, staff.familyName, staff.birthDate, staff.sex, staff.niNumber, role.staffGroup, role.jobRole]),
    );
  }

  async sourceRecord(kind: SourceKind, dataset: string, recordId: string, personId: string): Promise<void> {
    this.rows.sourceRecords++;
    this.bySource[kind]++;
    await this.sources.write(csvRow([kind, dataset, recordId, personId]));
  }

  async defects(kind: SourceKind, dataset: string, recordId: string, defects: readonly DefectKind[]): Promise<void> {
    for (const defect of defects) {
      this.rows.defects++;
      this.defectsBySource[kind][defect]++;
      await this.defectsFile.write(csvRow([kind, dataset, recordId, defect]));
    }
  }

  /** Rows written to source_records.csv, per source kind. */
  sourceRecordCounts(): Readonly<Record<SourceKind, number>> {
    return { ...this.bySource };
  }

  /** Rows written to defects.csv, per source kind and defect (every defect listed, zeros included). */
  defectCounts(): Readonly<Record<SourceKind, Record<DefectKind, number>>> {
    return { fhir: { ...this.defectsBySource.fhir }, hl7: { ...this.defectsBySource.hl7 }, esr: { ...this.defectsBySource.esr } };
  }

  async close(): Promise<TruthFileSummary[]> {
    await this.people.close();
    await this.staffFile.close();
    await this.sources.close();
    await this.defectsFile.close();
    return [
      { path: 'truth/people.csv', records: this.rows.people },
      { path: 'truth/staff.csv', records: this.rows.staff },
      { path: 'truth/source_records.csv', records: this.rows.sourceRecords },
      { path: 'truth/defects.csv', records: this.rows.defects },
    ];
  }

  destroy(): void {
    for (const writer of [this.people, this.staffFile, this.sources, this.defectsFile]) writer.destroy();
  }

  /** `truth/counts.json`, pretty-printed with a final newline. */
  async writeCounts(counts: unknown): Promise<void> {
    const path = join(this.dir, 'counts.json');
    try {
      await writeFile(path, `${JSON.stringify(counts, null, 2)}\n`);
    } catch (err) {
      throw fileSystemError('write', path, err);
    }
  }
}
