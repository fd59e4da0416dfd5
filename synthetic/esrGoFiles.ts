// Writes the workforce as NHS ESR Generic Outbound files (see /work/shared/specs/esr-go.md): one full
// extract `GO_<VPD>_<SUB>_GOF_<date>_<seq8>.DAT` and the next day's changes-only file (`GOC`, sequence
// + 1) with person/assignment updates and a few `xxD~<id>` deletes. Lines are `~`-separated and end
// CRLF; the job name is `StaffGroup|JobRole`. Field counts: the spec's counts (ORA 15, POA 24, PRA 44,
// ASA 50, COA 16) are the number of data fields AFTER the three-character record type, so a PRA line
// has 1 + 44 fields; the spec names only 43 PRA and 49 ASA columns, so each carries one trailing spare
// to reach the stated count. HDR is `HDR` plus six fields (seven in all, as the spec writes it), a
// delete is `xxD~<id>`, and `TRL~<n>` counts every line including HDR and TRL. Staff are written one
// at a time, into both files at once, so memory does not grow with the workforce; each one's state
// after the changes file goes to the workforce truth as it is written.

import { join } from 'node:path';
import { CarelakeError } from '../core/errors.ts';
import { DAY, HOUR, MINUTE, compactDate, esrTimestamp } from './calendar.ts';
import { LineWriter } from './lineWriter.ts';
import { Random } from './random.ts';
import type { TruthWriter } from './truth.ts';
import type { CurrentAssignment, WorkforceTruthWriter } from './workforceTruth.ts';
import { ESR_TRUST, type Assignment, type EsrOrganisation, type EsrPosition, type StaffMember, type Workforce } from './workforce.ts';

/** Data fields after the record type, per the decision documented above. */
export const ESR_FIELD_COUNTS = { ORA: 15, POA: 24, PRA: 44, ASA: 50, COA: 16, HDR: 6, TRL: 1, ORD: 1, POD: 1, PRD: 1, ASD: 1, COD: 1 } as const;

export type EsrRecordType = keyof typeof ESR_FIELD_COUNTS;

export const ESR_SUBMISSION = 'EXP';
const END_OF_TIME = '47121231';
const INTERFACE_VERSION = '3.1';

export function esrFileName(extract: 'F' | 'C', fileSeconds: number, sequence: number): string {
  return `GO_${ESR_TRUST.vpd}_${ESR_SUBMISSION}_GO${extract}_${compactDate(fileSeconds)}_${String(sequence).padStart(8, '0')}.DAT`;
}

export interface EsrFileSummary {
  name: string;
  /** Every line, HDR and TRL included — what TRL states. */
  lines: number;
  /** Lines other than HDR and TRL. */
  dataLines: number;
  records: Partial<Record<EsrRecordType, number>>;
}

class EsrGoWriter {
  readonly name: string;
  private readonly writer: LineWriter;
  private lines = 0;
  private readonly records: Partial<Record<EsrRecordType, number>> = {};

  private constructor(name: string, writer: LineWriter) {
    this.name = name;
    this.writer = writer;
  }

  static async open(dir: string, name: string, fileSeconds: number): Promise<EsrGoWriter> {
    const file = new EsrGoWriter(name, await LineWriter.open(join(dir, name)));
    const run = fileSeconds + 2 * HOUR;
    await file.line('HDR', [name, esrTimestamp(run + 15 * MINUTE), ESR_TRUST.vpd, esrTimestamp(run - DAY), esrTimestamp(run), INTERFACE_VERSION]);
    return file;
  }

  async record(type: Exclude<EsrRecordType, 'HDR' | 'TRL'>, fields: readonly string[]): Promise<void> {
    this.records[type] = (this.records[type] ?? 0) + 1;
    await this.line(type, fields);
  }

  async close(): Promise<EsrFileSummary> {
    const lines = this.lines + 1;
    await this.line('TRL', [String(lines)]);
    await this.writer.close();
    return { name: this.name, lines, dataLines: lines - 2, records: { ...this.records } };
  }

  destroy(): void {
    this.writer.destroy();
  }

  private async line(type: EsrRecordType, fields: readonly string[]): Promise<void> {
    // A wrong count here is a generator bug; failing loudly keeps the demo files trustworthy.
    if (fields.length !== ESR_FIELD_COUNTS[type] || fields.some((f) => /[~\r\n]/.test(f))) {
      throw new CarelakeError({
        code: 'synthetic.esr_record_shape',
        kind: 'internal',
        message: `ESR ${type} record ${this.lines + 1} of ${this.name} has ${fields.length} fields (expected ${ESR_FIELD_COUNTS[type]}) or a field containing '~' or a line break.`,
        location: { file: this.name, line: this.lines + 1 },
      });
    }
    this.lines++;
    await this.writer.write(`${type}~${fields.join('~')}\r\n`);
  }
}

function organisationFields(org: EsrOrganisation, lastUpdate: string, from: string): string[] {
  return [org.orgId, org.name, org.type, from, END_OF_TIME, '1', from, '', org.costCentre, org.parentOrgId, org.nacsCode, org.locationId, lastUpdate, org.costCentreDescription, ''];
}

function positionFields(position: EsrPosition, lastUpdate: string, from: string): string[] {
  const trainee = position.role.key === 'registrar' || position.role.key === 'foundation';
  return [
    position.positionId, from, END_OF_TIME, position.positionNumber, position.name, position.budgetedFte,
    position.subjectiveCode, position.role.staffGroup, position.role.jobRole, position.role.occupationCode,
    position.role.afc ? 'XR - Agenda for Change' : 'Medical and Dental', '', position.role.staffGroup === 'Administrative and Clerical' ? 'N' : 'Y',
    position.organisation.orgId, 'Active', 'Shared', 'Y', 'N',
    trainee ? `NTH/${ESR_TRUST.ods}/${position.positionNumber}` : '', trainee ? 'NHS England North East and Yorkshire' : '',
    position.organisation.nacsCode, lastUpdate, position.subjectiveDescription, '',
  ];
}

interface PersonOverrides {
  effectiveStart?: number;
  familyName?: string;
  maidenName?: string | null;
  title?: string;
  lastUpdate: number;
}

function personFields(staff: StaffMember, o: PersonOverrides): string[] {
  const previousLastName = o.familyName !== undefined && o.familyName !== staff.familyName ? staff.familyName : '';
  return [
    staff.esrPersonId, compactDate(o.effectiveStart ?? staff.hireSeconds), END_OF_TIME, staff.employeeNumber, o.title ?? staff.title,
    o.familyName ?? staff.familyName, staff.givenName, staff.middleName ?? '', (o.maidenName === undefined ? staff.maidenName : o.maidenName) ?? '',
    staff.preferredName ?? '', previousLastName, staff.sex === 'female' ? 'F' : 'M', compactDate(staff.birthSeconds), staff.niNumber,
    '', compactDate(staff.hireSeconds), '', '', 'Y', 'N', '', staff.ethnicOrigin, staff.maritalStatus, staff.countryOfBirth,
    '', '', '', '', '', '', '', '', 'Employee', 'Employee', staff.email, compactDate(staff.hireSeconds), '',
    esrTimestamp(o.lastUpdate), 'N', '', staff.nationality, '', '',
    // Trailing spare: the spec names 43 PRA columns but states 44.
    '',
  ];
}

function assignmentFields(staff: StaffMember, a: Assignment, lastUpdate: number, effectiveStart?: number, fte?: number): string[] {
  const role = a.position.role;
  const wte = fte ?? a.fte;
  const hours = (wte * 37.5).toFixed(2);
  return [
    staff.esrPersonId, a.assignmentId, compactDate(effectiveStart ?? a.startSeconds), END_OF_TIME, compactDate(a.startSeconds),
    'E', a.assignmentNumber, 'Active Assignment', 'Active Assignment', 'Y', `${ESR_TRUST.vpd} Monthly`, 'Calendar Month',
    a.position.organisation.locationId, 'N', '', '', '', '', a.category, wte >= 1 ? 'Full Time' : 'Part Time', a.primary ? 'Y' : 'N',
    hours, 'W', '37.50', wte.toFixed(2), '', a.position.organisation.orgId, a.position.positionId, a.position.name,
    role.grade, '1', compactDate(a.startSeconds), String(role.annualSalary), `${role.staffGroup}|${role.jobRole}`,
    `${role.staffGroup}`, 'N', 'N', '', '', '', role.afc ? compactDate(a.startSeconds + 365 * DAY) : '', 'N', role.afc ? 'Y' : 'N',
    esrTimestamp(lastUpdate), '', '', 'N', '', '',
    // Trailing spare: the spec names 49 ASA columns but states 50.
    '',
  ];
}

function costingFields(staff: StaffMember, a: Assignment, lastUpdate: number, effectiveStart?: number): string[][] {
  return a.costings.map((c) => [
    staff.esrPersonId, a.assignmentId, c.allocationId, compactDate(effectiveStart ?? a.startSeconds), END_OF_TIME, ESR_TRUST.vpd, 'N',
    c.costCentre, a.position.subjectiveCode, '', '', '', '', String(c.percentage), esrTimestamp(lastUpdate), '',
  ]);
}

type Change = 'none' | 'update' | 'end_assignment' | 'delete_person';

/** Mostly random, with fixed indexes so even a ten-person workforce shows every kind of change. */
function changeFor(staff: StaffMember, random: Random): Change {
  const k = staff.index;
  if (k % 50 === 7 || random.chance(0.003)) return 'delete_person';
  if (staff.assignments.length > 1 && (k % 25 === 4 || random.chance(0.2))) return 'end_assignment';
  if (k % 10 === 1 || random.chance(0.04)) return 'update';
  return 'none';
}

export interface EsrOutput {
  files: EsrFileSummary[];
  changes: Record<Exclude<Change, 'none'>, number>;
}

/**
 * Writes both files into `dir` and each staff member's truth rows. The full file is dated the day
 * before the reference date, the changes file on it. `workforceTruth` is optional so callers that
 * only want the files (the ESR bench) need not write the current-state truth.
 */
export async function writeEsrGoFiles(
  dir: string,
  workforce: Workforce,
  seed: number,
  referenceSeconds: number,
  truth: TruthWriter,
  workforceTruth?: WorkforceTruthWriter,
): Promise<EsrOutput> {
  const fullDate = referenceSeconds - DAY;
  const changeDate = referenceSeconds;
  const full = await EsrGoWriter.open(dir, esrFileName('F', fullDate, 1), fullDate);
  let changes: EsrGoWriter | null = null;
  try {
    changes = await EsrGoWriter.open(dir, esrFileName('C', changeDate, 2), changeDate);
    const counts = { update: 0, end_assignment: 0, delete_person: 0 };
    const setUp = fullDate - 400 * DAY;
    for (let i = 0; i < workforce.organisationCount; i++) {
      await full.record('ORA', organisationFields(workforce.organisation(i), esrTimestamp(setUp + i * MINUTE), compactDate(setUp)));
    }
    for (let i = 0; i < workforce.positionCount; i++) {
      await full.record('POA', positionFields(workforce.position(i), esrTimestamp(setUp + HOUR + i * MINUTE), compactDate(setUp)));
    }
    for (let k = 0; k < workforce.staffCount; k++) {
      const staff = workforce.staff(k);
      const lastUpdate = staff.hireSeconds + HOUR;
      await full.record('PRA', personFields(staff, { lastUpdate }));
      for (const a of staff.assignments) {
        await full.record('ASA', assignmentFields(staff, a, lastUpdate));
        for (const c of costingFields(staff, a, lastUpdate)) await full.record('COA', c);
      }
      await truth.staff(staff);
      await truth.sourceRecord('esr', 'person', staff.esrPersonId, staff.personId);

      const random = Random.derive(seed, 'esr-change', k);
      const change = changeFor(staff, random);
      const changedAt = changeDate + HOUR + (k % 600) * 5;
      let current: CurrentAssignment[] = staff.assignments.map((assignment) => ({ assignment, fte: assignment.fte }));
      if (change === 'delete_person') {
        await changes.record('PRD', [staff.esrPersonId]);
        current = [];
      } else if (change === 'end_assignment') {
        await changes.record('PRA', personFields(staff, { lastUpdate: changedAt }));
        await changes.record('ASD', [staff.assignments[staff.assignments.length - 1]!.assignmentId]);
        current = current.slice(0, -1);
      } else if (change === 'update') {
        const primary = staff.assignments[0]!;
        const marriage = staff.sex === 'female' && staff.title !== 'Dr' && random.chance(0.3);
        const newName = marriage ? random.pick(['Walsh', 'Hussain', 'Clarke', 'Okoro', 'Bennett', 'Dixon']) : undefined;
        await changes.record('PRA', personFields(staff, marriage
          ? { effectiveStart: changeDate, familyName: newName === staff.familyName ? `${newName}-Hale` : newName, maidenName: staff.familyName, title: 'Mrs', lastUpdate: changedAt }
          : { effectiveStart: changeDate, lastUpdate: changedAt }));
        const newFte = primary.fte === 1 ? random.pick([0.8, 0.6]) : 1;
        await changes.record('ASA', assignmentFields(staff, primary, changedAt, changeDate, newFte));
        for (const c of costingFields(staff, primary, changedAt, changeDate)) await changes.record('COA', c);
        current[0] = { assignment: primary, fte: newFte };
      }
      await workforceTruth?.staff(staff, current);
      if (change !== 'none') counts[change]++;
    }
    const files = [await full.close(), await changes.close()];
    return { files, changes: counts };
  } catch (err) {
    full.destroy();
    changes?.destroy();
    throw err;
  }
}
