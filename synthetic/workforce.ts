// The synthetic NHS workforce behind the ESR files: one trust's organisation tree (trust →
// directorates → departments, each with a cost centre), its establishment of positions (staff group,
// job role, grade), and staff members with their assignments and costing splits. Staff are a
// separate population from patients (truth ids `S000001`). Organisations and positions are pure
// functions of their index, so the full file can list them before any person and a person's
// assignment can look its position up again without anything being stored. Staff group names follow
// the ESR/NHS Digital list ("Administrative and Clerical", not "Admin and Clerical").

import { DAY, YEAR, isoDate } from './calendar.ts';
import { FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, nicknamesFor } from './names.ts';
import { AffinePermutation, Random } from './random.ts';
import { niNumber } from './ukIdentifiers.ts';

export const ESR_TRUST = { vpd: '431', ods: 'RX1', name: 'Carelake Teaching Hospitals NHS Trust', sites: ['RX101', 'RX102'] } as const;

export type RoleKey =
  | 'staffNurse' | 'sister' | 'midwife' | 'matron'
  | 'consultant' | 'registrar' | 'foundation' | 'specialtyDoctor'
  | 'hca' | 'supportWorker'
  | 'medicalSecretary' | 'wardClerk' | 'receptionist' | 'manager' | 'clerical'
  | 'physio' | 'occupationalTherapist' | 'radiographer' | 'dietitian'
  | 'porter' | 'domestic' | 'catering'
  | 'biomedicalScientist' | 'pharmacist';

export interface StaffRole {
  key: RoleKey;
  staffGroup: string;
  jobRole: string;
  occupationCode: string;
  grade: string;
  annualSalary: number;
  /** Agenda for Change pay (everyone but doctors). */
  afc: boolean;
  medical: boolean;
}

const NURSING = 'Nursing and Midwifery Registered';
const MEDICAL = 'Medical and Dental';
const ADMIN = 'Administrative and Clerical';
const CLINICAL_SUPPORT = 'Additional Clinical Services';
const AHP = 'Allied Health Professionals';
const ESTATES = 'Estates and Ancillary';
const SCIENTISTS = 'Healthcare Scientists';
const SCIENTIFIC = 'Add Prof Scientific and Technic';

function role(key: RoleKey, staffGroup: string, jobRole: string, occupationCode: string, grade: string, annualSalary: number): StaffRole {
  const medical = staffGroup === MEDICAL;
  return { key, staffGroup, jobRole, occupationCode, grade, annualSalary, afc: !medical, medical };
}

export const ROLES: Readonly<Record<RoleKey, StaffRole>> = {
  staffNurse: role('staffNurse', NURSING, 'Staff Nurse', 'N0A', 'XN05', 29970),
  sister: role('sister', NURSING, 'Sister/Charge Nurse', 'N0B', 'XN06', 37338),
  midwife: role('midwife', NURSING, 'Midwife', 'N0C', 'XN06', 37338),
  matron: role('matron', NURSING, 'Modern Matron', 'N0D', 'XN8A', 53755),
  consultant: role('consultant', MEDICAL, 'Consultant', 'M01', 'MC51', 105504),
  registrar: role('registrar', MEDICAL, 'Specialty Registrar', 'M02', 'MS31', 61825),
  foundation: role('foundation', MEDICAL, 'Foundation Year 2', 'M03', 'MF02', 42008),
  specialtyDoctor: role('specialtyDoctor', MEDICAL, 'Specialty Doctor', 'M04', 'MSD1', 61400),
  hca: role('hca', CLINICAL_SUPPORT, 'Healthcare Assistant', 'H1A', 'XN03', 24937),
  supportWorker: role('supportWorker', CLINICAL_SUPPORT, 'Support Worker', 'H1B', 'XR02', 24465),
  medicalSecretary: role('medicalSecretary', ADMIN, 'Medical Secretary', 'G2A', 'XR04', 27485),
  wardClerk: role('wardClerk', ADMIN, 'Ward Clerk', 'G2B', 'XR02', 24465),
  receptionist: role('receptionist', ADMIN, 'Receptionist', 'G2C', 'XR02', 24465),
  manager: role('manager', ADMIN, 'Manager', 'G2D', 'XR8A', 53755),
  clerical: role('clerical', ADMIN, 'Clerical Worker', 'G2E', 'XR03', 24937),
  physio: role('physio', AHP, 'Physiotherapist', 'S2A', 'XR06', 37338),
  occupationalTherapist: role('occupationalTherapist', AHP, 'Occupational Therapist', 'S2B', 'XR05', 29970),
  radiographer: role('radiographer', AHP, 'Radiographer - Diagnostic', 'S2C', 'XR06', 37338),
  dietitian: role('dietitian', AHP, 'Dietitian', 'S2D', 'XR05', 29970),
  porter: role('porter', ESTATES, 'Porter', 'E1A', 'XR02', 24465),
  domestic: role('domestic', ESTATES, 'Domestic', 'E1B', 'XR02', 24465),
  catering: role('catering', ESTATES, 'Catering Assistant', 'E1C', 'XR02', 24465),
  biomedicalScientist: role('biomedicalScientist', SCIENTISTS, 'Biomedical Scientist', 'S3A', 'XR06', 37338),
  pharmacist: role('pharmacist', SCIENTIFIC, 'Pharmacist', 'S4A', 'XR07', 46148),
};

type RoleMix = readonly (readonly [RoleKey, number])[];

const WARD_MIX: RoleMix = [
  ['staffNurse', 30], ['sister', 6], ['matron', 1], ['hca', 18], ['supportWorker', 4],
  ['consultant', 5], ['registrar', 5], ['foundation', 4], ['specialtyDoctor', 2], ['wardClerk', 4], ['medicalSecretary', 3],
];
const CORPORATE_MIX: RoleMix = [['clerical', 10], ['manager', 3], ['receptionist', 4], ['medicalSecretary', 2]];
const FACILITIES_MIX: RoleMix = [['porter', 8], ['domestic', 10], ['catering', 6], ['manager', 1]];

interface DepartmentTemplate {
  name: string;
  directorate: number;
  mix: RoleMix;
}

const DIRECTORATES = ['Medicine', 'Surgery', 'Women and Children', 'Clinical Support Services', 'Corporate Services'] as const;

const DEPARTMENTS: readonly DepartmentTemplate[] = [
  { name: 'Cardiology', directorate: 0, mix: WARD_MIX },
  { name: 'Respiratory Medicine', directorate: 0, mix: WARD_MIX },
  { name: 'Acute Medical Unit', directorate: 0, mix: WARD_MIX },
  { name: 'Emergency Department', directorate: 0, mix: WARD_MIX },
  { name: 'Elderly Care', directorate: 0, mix: WARD_MIX },
  { name: 'Critical Care', directorate: 0, mix: WARD_MIX },
  { name: 'General Surgery', directorate: 1, mix: WARD_MIX },
  { name: 'Trauma and Orthopaedics', directorate: 1, mix: WARD_MIX },
  { name: 'Maternity', directorate: 2, mix: [['midwife', 30], ['hca', 10], ['consultant', 3], ['registrar', 3], ['wardClerk', 2]] },
  { name: 'Paediatrics', directorate: 2, mix: WARD_MIX },
  { name: 'Radiology', directorate: 3, mix: [['radiographer', 20], ['consultant', 4], ['clerical', 3], ['supportWorker', 3]] },
  { name: 'Pathology', directorate: 3, mix: [['biomedicalScientist', 20], ['consultant', 2], ['clerical', 3], ['supportWorker', 4]] },
  { name: 'Pharmacy', directorate: 3, mix: [['pharmacist', 10], ['supportWorker', 6], ['clerical', 2]] },
  { name: 'Therapies', directorate: 3, mix: [['physio', 12], ['occupationalTherapist', 10], ['dietitian', 4], ['supportWorker', 5]] },
  { name: 'Estates and Facilities', directorate: 4, mix: FACILITIES_MIX },
  { name: 'Catering', directorate: 4, mix: [['catering', 10], ['manager', 1]] },
  { name: 'Finance', directorate: 4, mix: CORPORATE_MIX },
  { name: 'Human Resources', directorate: 4, mix: CORPORATE_MIX },
  { name: 'Patient Access', directorate: 4, mix: [['receptionist', 10], ['clerical', 6], ['manager', 1]] },
  { name: 'Information Governance', directorate: 4, mix: CORPORATE_MIX },
];

export type EsrOrganisationType = 'Trust' | 'Directorate' | 'Department';

export interface EsrOrganisation {
  index: number;
  orgId: string;
  name: string;
  type: EsrOrganisationType;
  parentOrgId: string;
  costCentre: string;
  costCentreDescription: string;
  nacsCode: string;
  locationId: string;
  mix: RoleMix;
}

export interface EsrPosition {
  index: number;
  positionId: string;
  positionNumber: string;
  name: string;
  role: StaffRole;
  organisation: EsrOrganisation;
  budgetedFte: string;
  subjectiveCode: string;
  subjectiveDescription: string;
}

export interface Costing {
  allocationId: string;
  costCentre: string;
  percentage: number;
}

export interface Assignment {
  assignmentId: string;
  assignmentNumber: string;
  position: EsrPosition;
  primary: boolean;
  fte: number;
  startSeconds: number;
  category: 'Permanent' | 'Fixed Term Temp' | 'Bank';
  costings: readonly Costing[];
}

export interface StaffMember {
  index: number;
  /** Truth key, `S000001` — never a patient's `P…` id. */
  personId: string;
  esrPersonId: string;
  employeeNumber: string;
  title: string;
  givenName: string;
  middleName: string | null;
  familyName: string;
  maidenName: string | null;
  preferredName: string | null;
  sex: 'male' | 'female';
  birthSeconds: number;
  birthDate: string;
  niNumber: string;
  hireSeconds: number;
  ethnicOrigin: string;
  maritalStatus: string;
  countryOfBirth: string;
  nationality: string;
  email: string;
  assignments: readonly Assignment[];
}

export function staffCountFor(patients: number): number {
  return Math.max(10, Math.round(patients / 20));
}

const FIXED_ORGANISATIONS = 1 + DIRECTORATES.length;

export class Workforce {
  readonly staffCount: number;
  readonly organisationCount: number;
  readonly positionCount: number;
  private readonly seed: number;
  private readonly referenceSeconds: number;
  private readonly departmentCount: number;
  private readonly personIds: AffinePermutation;
  private readonly employeeNumbers: AffinePermutation;
  private readonly niNumbers: AffinePermutation;

  constructor(seed: number, staffCount: number, referenceSeconds: number) {
    this.seed = seed;
    this.staffCount = staffCount;
    this.referenceSeconds = referenceSeconds;
    this.departmentCount = Math.max(DEPARTMENTS.length, Math.ceil(staffCount / 40));
    this.organisationCount = FIXED_ORGANISATIONS + this.departmentCount;
    this.positionCount = Math.max(10, Math.ceil(staffCount / 3));
    this.personIds = new AffinePermutation(10_000_000, Random.derive(seed, 'esr-person-id'));
    this.employeeNumbers = new AffinePermutation(10_000_000, Random.derive(seed, 'esr-employee-number'));
    this.niNumbers = new AffinePermutation(1_000_000, Random.derive(seed, 'ni-number'));
  }

  /** 0 = the trust, 1…5 = directorates, then departments. */
  organisation(index: number): EsrOrganisation {
    const orgId = String(700_000 + index * 7);
    const costCentre = `${ESR_TRUST.vpd}${String(1000 + index * 3).padStart(5, '0')}`;
    if (index === 0) {
      return { index, orgId, name: `${ESR_TRUST.vpd} ${ESR_TRUST.name}`, type: 'Trust', parentOrgId: '', costCentre, costCentreDescription: 'Trust Board', nacsCode: ESR_TRUST.ods, locationId: '9000', mix: CORPORATE_MIX };
    }
    if (index < FIXED_ORGANISATIONS) {
      const name = DIRECTORATES[index - 1]!;
      return { index, orgId, name: `${ESR_TRUST.vpd} ${name} Directorate`, type: 'Directorate', parentOrgId: this.organisation(0).orgId, costCentre, costCentreDescription: `${name} Directorate Management`, nacsCode: ESR_TRUST.ods, locationId: '9000', mix: CORPORATE_MIX };
    }
    const departmentIndex = index - FIXED_ORGANISATIONS;
    const template = DEPARTMENTS[departmentIndex % DEPARTMENTS.length]!;
    const copy = Math.floor(departmentIndex / DEPARTMENTS.length);
    const name = copy === 0 ? template.name : `${template.name} ${copy + 1}`;
    return {
      index,
      orgId,
      name: `${ESR_TRUST.vpd} ${name}`,
      type: 'Department',
      parentOrgId: String(700_000 + (1 + template.directorate) * 7),
      costCentre,
      costCentreDescription: name,
      nacsCode: ESR_TRUST.sites[departmentIndex % ESR_TRUST.sites.length]!,
      locationId: String(9001 + (departmentIndex % 40)),
      mix: template.mix,
    };
  }

  position(index: number): EsrPosition {
    const random = Random.derive(this.seed, 'esr-position', index);
    const organisation = this.organisation(FIXED_ORGANISATIONS + (index % this.departmentCount));
    const role = ROLES[random.weighted(organisation.mix)];
    const shortName = organisation.name.slice(ESR_TRUST.vpd.length + 1);
    return {
      index,
      positionId: String(600_000 + index),
      positionNumber: String(10_000 + index),
      name: `${role.jobRole} - ${shortName}`,
      role,
      organisation,
      budgetedFte: (random.int(2, 40) / 2).toFixed(2),
      subjectiveCode: role.medical ? '5T1' : `5${role.occupationCode.charAt(0)}2`,
      subjectiveDescription: `${role.staffGroup} salaries`,
    };
  }

  staff(index: number): StaffMember {
    const random = Random.derive(this.seed, 'staff', index);
    const sex = random.chance(0.77) ? 'female' : 'male';
    const givenList = sex === 'female' ? FEMALE_GIVEN_NAMES : MALE_GIVEN_NAMES;
    const givenName = random.pickSkewed(givenList);
    const middleCandidate = random.pick(givenList);
    const middleName = random.chance(0.35) && middleCandidate !== givenName ? middleCandidate : null;
    const familyName = random.pickSkewed(FAMILY_NAMES);

    // Two assignments for one in eight staff, and always for index ≡ 4 (mod 25) so that even a
    // ten-person demo has an assignment the changes file can end.
    const assignmentCount = index % 25 === 4 || random.chance(0.12) ? 2 : 1;
    const firstPosition = this.position(random.int(0, this.positionCount - 1));
    const medical = firstPosition.role.medical;
    const age = random.int(medical ? 24 : 19, 66);
    const today = Math.floor(this.referenceSeconds / DAY) * DAY;
    const birthSeconds = today - age * YEAR - random.int(1, 364) * DAY;
    const earliestHire = Math.max(birthSeconds + 18 * YEAR, today - 35 * YEAR);
    const hireSeconds = earliestHire + Math.floor(random.next() * Math.max(DAY, today - 30 * DAY - earliestHire) / DAY) * DAY;

    const married = random.chance(0.5);
    const title = medical ? 'Dr' : sex === 'male' ? 'Mr' : married ? 'Mrs' : random.pick(['Ms', 'Miss']);
    const maidenName = title === 'Mrs' && random.chance(0.4) ? random.pickSkewed(FAMILY_NAMES) : null;
    const nicknames = nicknamesFor(givenName);
    const preferredName = nicknames.length > 0 && random.chance(0.3) ? random.pick(nicknames) : null;

    const personId = String(20_000_000 + this.personIds.at(index));
    const employeeNumber = String(30_000_000 + this.employeeNumbers.at(index));
    const assignments: Assignment[] = [];
    for (let j = 0; j < assignmentCount; j++) {
      const position = j === 0 ? firstPosition : this.position(random.int(0, this.positionCount - 1));
      const laterStart = Math.min(hireSeconds + random.int(30, 3000) * DAY, today - 30 * DAY);
      const startSeconds = j === 0 ? hireSeconds : Math.max(hireSeconds, laterStart);
      const split = random.chance(0.1);
      const otherDepartment = this.organisation(FIXED_ORGANISATIONS + random.int(0, this.departmentCount - 1));
      const costings: Costing[] = [
        { allocationId: String(50_000_000 + index * 4 + j * 2), costCentre: position.organisation.costCentre, percentage: split ? 60 : 100 },
      ];
      if (split) costings.push({ allocationId: String(50_000_000 + index * 4 + j * 2 + 1), costCentre: otherDepartment.costCentre, percentage: 40 });
      assignments.push({
        assignmentId: String(40_000_000 + index * 2 + j),
        assignmentNumber: j === 0 ? employeeNumber : `${employeeNumber}-${j + 1}`,
        position,
        primary: j === 0,
        fte: j === 0 ? random.weighted<number>([[1, 60], [0.8, 15], [0.6, 10], [0.5, 10], [0.4, 5]]) : 0.2,
        startSeconds,
        category: j === 0 ? random.weighted<Assignment['category']>([['Permanent', 88], ['Fixed Term Temp', 12]]) : 'Bank',
        costings,
      });
    }

    const countryOfBirth = random.weighted<string>([['United Kingdom', 78], ['India', 6], ['Philippines', 5], ['Nigeria', 4], ['Ireland', 3], ['Poland', 2], ['Zimbabwe', 2]]);
    return {
      index,
      personId: `S${String(index + 1).padStart(6, '0')}`,
      esrPersonId: personId,
      employeeNumber,
      title,
      givenName,
      middleName,
      familyName,
      maidenName,
      preferredName,
      sex,
      birthSeconds,
      birthDate: isoDate(birthSeconds),
      niNumber: niNumber(this.niNumbers.at(index), random),
      hireSeconds,
      ethnicOrigin: random.weighted<string>([['A', 70], ['C', 5], ['H', 8], ['J', 3], ['M', 4], ['N', 4], ['R', 2], ['Z', 4]]),
      maritalStatus: married ? 'Married' : random.pick(['Single', 'Civil Partnership', 'Divorced', 'Widowed']),
      countryOfBirth,
      nationality: countryOfBirth === 'United Kingdom' ? 'British' : random.chance(0.5) ? 'British' : countryOfBirth === 'Ireland' ? 'Irish' : 'Other',
      email: `${asciiEmailPart(givenName)}.${asciiEmailPart(familyName)}${index + 1}@carelake.example.nhs.uk`,
      assignments,
    };
  }
}

function asciiEmailPart(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
}
