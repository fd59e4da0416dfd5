// Small handcrafted ESR GO files for tests (workforce models, SFTP landing), built from the bundled layout so each
// record has exactly its type's field count. Values are given by column name; dates are yyyyMMdd as
// in the files, the job name `StaffGroup|JobRole`. Everyone here is made up. Not a test file itself.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { esrGoV1Layout } from '../../pipelines/esr/layout.ts';

/** One `xxA`/`xxD` line: the record type, then every layout column in order ('' where not given). */
export function esrRecord(type: string, values: Readonly<Record<string, string>>): string {
  const layout = esrGoV1Layout().recordTypes[type];
  if (!layout) throw new Error(`no ESR record type ${type} in the layout`);
  const names = layout.columns.map((c) => c.name);
  for (const name of Object.keys(values)) if (!names.includes(name)) throw new Error(`${type} has no column ${name}`);
  return [type, ...names.map((name) => values[name] ?? '')].join('~');
}

export interface GoFileSpec {
  vpd: string;
  extract: 'F' | 'C';
  /** yyyyMMdd */
  date: string;
  sequence: number;
  records: string[];
}

export function goFileName(spec: Pick<GoFileSpec, 'vpd' | 'extract' | 'date' | 'sequence'>): string {
  return `GO_${spec.vpd}_EXP_GO${spec.extract}_${spec.date}_${String(spec.sequence).padStart(8, '0')}.DAT`;
}

/** A GO file's text: HDR, the records, and a TRL counting every line (or `trailer`, to state a wrong count). */
export function goFileText(name: string, records: readonly string[], options: { vpd?: string; date?: string; trailer?: number } = {}): string {
  const date = options.date ?? /_(\d{8})_\d{8}\.DAT$/.exec(name)?.[1] ?? '20260101';
  const header = `HDR~${name}~${date} 021500~${options.vpd ?? name.split('_')[1] ?? '431'}~${date} 010000~${date} 020000~3.1`;
  const lines = [header, ...records];
  return [...lines, `TRL~${options.trailer ?? lines.length + 1}`].join('\r\n') + '\r\n';
}

/** Writes the file with its HDR and a TRL that reconciles; returns its name. */
export async function writeGoFile(dir: string, spec: GoFileSpec): Promise<string> {
  const name = goFileName(spec);
  await writeFile(join(dir, name), goFileText(name, spec.records, { vpd: spec.vpd, date: spec.date }));
  return name;
}

// ---- the people and structure the tests use --------------------------------------------------

export const NURSING = 'Nursing and Midwifery Registered';
export const MEDICAL = 'Medical and Dental';

export const organisation = (orgId: string, name: string, costCentre: string) =>
  esrRecord('ORA', { org_id: orgId, org_name: name, org_type: 'Department', effective_from: '20200101', effective_to: '47121231', default_cost_centre: costCentre, last_update_at: '20200101 090000' });

export const position = (positionId: string, orgId: string, staffGroup: string, jobRole: string, occupationCode: string) =>
  esrRecord('POA', {
    position_id: positionId,
    effective_from: '20200101',
    effective_to: '47121231',
    position_name: `${jobRole} post`,
    budgeted_fte: '5.00',
    staff_group: staffGroup,
    job_role: jobRole,
    occupation_code: occupationCode,
    org_id: orgId,
    last_update_at: '20200101 090000',
  });

export interface FixturePerson {
  personId: string;
  employeeNumber: string;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  niNumber: string;
  email: string;
  phone: string;
  postcode: string;
}

/** The identifying values of a person, which must never reach curated tables. */
export function identifyingValues(p: FixturePerson): string[] {
  return [p.personId, p.employeeNumber, p.firstName, p.lastName, p.niNumber, p.email, p.phone, p.postcode];
}

export const person = (p: FixturePerson) =>
  esrRecord('PRA', {
    person_id: p.personId,
    effective_start_date: '20200101',
    effective_end_date: '47121231',
    employee_number: p.employeeNumber,
    title: 'Ms',
    last_name: p.lastName,
    first_name: p.firstName,
    gender: 'F',
    date_of_birth: p.dateOfBirth,
    ni_number: p.niNumber,
    hire_date: '20200101',
    employee_status_flag: 'Y',
    office_email_address: p.email,
    last_update_at: '20200101 090000',
  });

/** A person's phone and home address: contact data that lands in raw and goes no further. */
export const contact = (p: FixturePerson) => [
  esrRecord('PHA', { person_id: p.personId, phone_id: `PH${p.personId}`, phone_type: 'M', phone_number: p.phone, effective_start_date: '20200101' }),
  esrRecord('ADA', { person_id: p.personId, address_id: `AD${p.personId}`, address_line_1: '1 Test Street', town: 'Leeds', postcode: p.postcode, effective_start_date: '20200101' }),
];

export interface FixtureAssignment {
  personId: string;
  assignmentId: string;
  number: string;
  positionId: string;
  orgId: string;
  staffGroup: string;
  jobRole: string;
  fte: string;
  /** yyyyMMdd */
  start: string;
  /** yyyyMMdd, or absent while open */
  end?: string;
}

export const assignment = (a: FixtureAssignment) =>
  esrRecord('ASA', {
    person_id: a.personId,
    assignment_id: a.assignmentId,
    effective_start_date: a.start,
    effective_end_date: '47121231',
    earliest_assignment_start_date: a.start,
    assignment_number: a.number,
    user_assignment_status: 'Active Assignment',
    primary_assignment: a.number.includes('-') ? 'N' : 'Y',
    normal_hours: (Number(a.fte) * 37.5).toFixed(2),
    fte: a.fte,
    org_id: a.orgId,
    position_id: a.positionId,
    job_name: `${a.staffGroup}|${a.jobRole}`,
    last_update_at: `${a.start} 090000`,
    assignment_end_date: a.end ?? '',
  });

export const costing = (personId: string, assignmentId: string, allocationId: string, costCentre: string, percentage: string) =>
  esrRecord('COA', { person_id: personId, assignment_id: assignmentId, costing_allocation_id: allocationId, effective_start_date: '20200101', cost_centre: costCentre, percentage_split: percentage });

export const deletion = (type: 'PRD' | 'ASD' | 'COD' | 'POD' | 'ORD', id: string) => `${type}~${id}`;
