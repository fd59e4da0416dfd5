// The GP record as a FHIR R4 Bulk Data export: one NDJSON file per resource type (Patient,
// Practitioner, Organization, Encounter, Condition, Observation, and the care record of gpCareRecord.ts:
// Procedure, MedicationRequest, Immunization, AllergyIntolerance) and a complete-status manifest whose
// `url`s are bare file names resolved against the manifest and whose `count`s are exact line counts.
// Organizations and Practitioners are written first (a few hundred); each person's Patient and clinical
// resources are then built from that person's own random stream and written straight out, followed by
// their care record from a second stream of its own (so it cannot move the clinical resources). Patients
// carry GP-record defects (see defects.ts); clinical codes mix SNOMED CT, ICD-10 and local codes so
// terminology mapping has work to do. A Patient gets the nhs-number identifier only when its copy
// holds a number: a person with none (beyond the 999 test range) has no `identifier` at all.

import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { fileSystemError } from '../core/errors.ts';
import { DAY, HOUR, MINUTE, YEAR, isoDate, isoInstant } from './calendar.ts';
import { CONDITIONS, LAB_PANELS, LAB_TESTS, SYSTEMS, sampleLabResult, type ConditionKey, type LabKey, type LabResult } from './clinical.ts';
import { GpCareRecordBuilder, type CareEncounter } from './gpCareRecord.ts';
import { GP_RECORD_DEFECTS, sourceCopy, type DefectKind, type NhsNumberState } from './defects.ts';
import { LineWriter } from './lineWriter.ts';
import type { CareSettings, GeneralPractitioner, Practice, Trust } from './organisations.ts';
import type { Person } from './population.ts';
import { Random } from './random.ts';

export const FHIR_TYPES = [
  'Patient',
  'Practitioner',
  'Organization',
  'Encounter',
  'Condition',
  'Observation',
  'Procedure',
  'MedicationRequest',
  'Immunization',
  'AllergyIntolerance',
] as const;
export type FhirResourceType = (typeof FHIR_TYPES)[number];

export const FHIR_SYSTEMS = {
  nhsNumber: 'https://fhir.nhs.uk/Id/nhs-number',
  odsOrganisation: 'https://fhir.nhs.uk/Id/ods-organization-code',
  sdsUser: 'https://fhir.nhs.uk/Id/sds-user-id',
  gmpNumber: 'https://fhir.hl7.org.uk/Id/gmp-number',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  verificationExtension: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
  verificationStatus: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland',
  organisationRole: 'https://fhir.nhs.uk/CodeSystem/organisation-role',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
} as const;

interface Coding {
  system: string;
  code: string;
  display?: string;
}

interface CodeableConcept {
  coding: Coding[];
  text?: string;
}

interface Reference {
  reference: string;
}

interface Quantity {
  value: number;
  unit: string;
  system: string;
  code: string;
}

interface ResourceBase {
  resourceType: FhirResourceType;
  id: string;
  meta: { lastUpdated: string };
}

/** What goes on one NDJSON line; the fields beyond the base are each builder's business. */
export type FhirResource = ResourceBase & Record<string, unknown>;

export interface FhirManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: false;
  output: { type: FhirResourceType; url: string; count: number }[];
  error: never[];
}

export const FHIR_EXPORT_BASE = 'https://carelake.example.nhs.uk/fhir';

/** Defects the Patient copy carries, for the truth files. */
export interface FhirPatientWritten {
  patientId: string;
  defects: DefectKind[];
}

export class FhirExportWriter {
  private readonly dir: string;
  private readonly writers: Record<FhirResourceType, LineWriter>;
  private readonly counts = Object.fromEntries(FHIR_TYPES.map((type) => [type, 0])) as Record<FhirResourceType, number>;

  private constructor(dir: string, writers: Record<FhirResourceType, LineWriter>) {
    this.dir = dir;
    this.writers = writers;
  }

  static async open(dir: string): Promise<FhirExportWriter> {
    const opened: Partial<Record<FhirResourceType, LineWriter>> = {};
    try {
      for (const type of FHIR_TYPES) opened[type] = await LineWriter.open(join(dir, `${type}.ndjson`));
    } catch (err) {
      for (const writer of Object.values(opened)) writer.destroy();
      throw err;
    }
    return new FhirExportWriter(dir, opened as Record<FhirResourceType, LineWriter>);
  }

  async careSettings(settings: CareSettings, referenceSeconds: number): Promise<void> {
    const stamp = (i: number) => isoInstant(referenceSeconds - 30 * DAY + i * MINUTE);
    let i = 0;
    for (const trust of settings.trusts) await this.write(trustResource(trust, stamp(i++)));
    for (const practice of settings.practices) {
      await this.write(practiceResource(practice, stamp(i++)));
      for (const gp of practice.gps) await this.write(practitionerResource(gp, stamp(i++)));
    }
  }

  /** Writes the person's Patient and clinical resources; returns the Patient id and its defects. */
  async person(person: Person, seed: number, referenceSeconds: number, trust: Trust): Promise<FhirPatientWritten> {
    const random = Random.derive(seed, 'fhir', person.index);
    const record = new GpRecordBuilder(person, random, referenceSeconds, trust);
    for (const resource of record.build()) await this.write(resource);
    // The care record has its own stream, so it cannot shift anything written above.
    const care = new GpCareRecordBuilder({
      person,
      patientId: record.patientId,
      encounters: record.encounters,
      conditionIds: record.conditionIds,
      random: Random.derive(seed, 'fhir-care', person.index),
      referenceSeconds,
    });
    for (const resource of care.build()) await this.write(resource);
    return { patientId: record.patientId, defects: record.defects };
  }

  resourceCounts(): Readonly<Record<FhirResourceType, number>> {
    return { ...this.counts };
  }

  /** Closes every file, then writes `manifest.json` (so its counts are final). */
  async close(referenceSeconds: number): Promise<FhirManifest> {
    for (const type of FHIR_TYPES) await this.writers[type].close();
    const manifest: FhirManifest = {
      transactionTime: isoInstant(referenceSeconds),
      request: `${FHIR_EXPORT_BASE}/$export?_type=${FHIR_TYPES.join(',')}`,
      requiresAccessToken: false,
      output: FHIR_TYPES.map((type) => ({ type, url: `${type}.ndjson`, count: this.counts[type] })),
      error: [],
    };
    const path = join(this.dir, 'manifest.json');
    try {
      await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
    } catch (err) {
      throw fileSystemError('write', path, err);
    }
    return manifest;
  }

  destroy(): void {
    for (const type of FHIR_TYPES) this.writers[type].destroy();
  }

  private async write(resource: FhirResource): Promise<void> {
    this.counts[resource.resourceType]++;
    await this.writers[resource.resourceType].write(`${JSON.stringify(resource)}\n`);
  }
}

function odsIdentifier(code: string) {
  return [{ system: FHIR_SYSTEMS.odsOrganisation, value: code }];
}

function trustResource(trust: Trust, lastUpdated: string): FhirResource {
  return {
    resourceType: 'Organization',
    id: trust.fhirId,
    meta: { lastUpdated },
    identifier: odsIdentifier(trust.ods),
    active: true,
    type: [{ coding: [{ system: FHIR_SYSTEMS.organisationRole, code: '197', display: 'NHS TRUST' }] }],
    name: trust.name,
  };
}

function practiceResource(practice: Practice, lastUpdated: string): FhirResource {
  return {
    resourceType: 'Organization',
    id: practice.fhirId,
    meta: { lastUpdated },
    identifier: odsIdentifier(practice.ods),
    active: true,
    type: [{ coding: [{ system: FHIR_SYSTEMS.organisationRole, code: '76', display: 'GP PRACTICE' }] }],
    name: practice.name,
    address: [{ line: [practice.addressLine], city: practice.region.town, postalCode: practice.postcode, country: 'GB' }],
  };
}

function practitionerResource(gp: GeneralPractitioner, lastUpdated: string): FhirResource {
  return {
    resourceType: 'Practitioner',
    id: gp.fhirId,
    meta: { lastUpdated },
    identifier: [
      { system: FHIR_SYSTEMS.sdsUser, value: gp.sdsUserId },
      { system: FHIR_SYSTEMS.gmpNumber, value: gp.gmpCode },
    ],
    active: true,
    name: [{ family: gp.familyName, given: [gp.givenName], prefix: ['Dr'] }],
    gender: gp.gender,
  };
}

const VERIFICATION: Record<'01' | '02' | '03', string> = {
  '01': 'Number present and verified',
  '02': 'Number present but not traced',
  '03': 'Trace required',
};

const ENCOUNTER_CLASS = {
  AMB: { system: FHIR_SYSTEMS.actCode, code: 'AMB', display: 'ambulatory' },
  IMP: { system: FHIR_SYSTEMS.actCode, code: 'IMP', display: 'inpatient encounter' },
  EMER: { system: FHIR_SYSTEMS.actCode, code: 'EMER', display: 'emergency' },
} as const;

type GpEncounter = CareEncounter;

/** Builds one person's GP record from their own random stream. */
class GpRecordBuilder {
  readonly patientId: string;
  readonly defects: DefectKind[];
  /** Filled by `build()`: the GP visits and the Condition written per condition, for the care record. */
  readonly encounters: GpEncounter[] = [];
  readonly conditionIds = new Map<ConditionKey, string>();
  private readonly person: Person;
  private readonly random: Random;
  private readonly today: number;
  private readonly trust: Trust;
  private readonly copy: ReturnType<typeof sourceCopy>;

  constructor(person: Person, random: Random, referenceSeconds: number, trust: Trust) {
    this.person = person;
    this.random = random;
    this.today = Math.floor(referenceSeconds / DAY) * DAY;
    this.trust = trust;
    this.patientId = random.uuid();
    this.copy = sourceCopy(person.identity, GP_RECORD_DEFECTS, random);
    this.defects = this.copy.defects;
  }

  build(): FhirResource[] {
    const resources: FhirResource[] = [this.patient()];
    const encounters = this.encounters;
    const visits = this.random.weighted<number>([[0, 15], [1, 25], [2, 25], [3, 15], [4, 10], [5, 6], [6, 4]]) + (this.person.age >= 65 ? 1 : 0);
    for (let v = 0; v < visits; v++) {
      const { resource, encounter } = this.gpEncounter();
      resources.push(resource);
      encounters.push(encounter);
    }
    if ((this.person.inHospital && this.random.chance(0.5)) || this.random.chance(0.03)) resources.push(this.hospitalEncounter());
    for (const key of this.person.conditions) {
      const condition = this.condition(key);
      this.conditionIds.set(key, condition.id);
      resources.push(condition);
    }
    for (const result of this.labResults()) resources.push(this.observation(result, encounters));
    return resources;
  }

  /** `meta.lastUpdated`, never after the export's transactionTime. */
  private lastUpdated(seconds: number): { lastUpdated: string } {
    return { lastUpdated: isoInstant(Math.min(seconds, this.today - MINUTE)) };
  }

  /** A random instant between `from` and `to`, never before the person was born. */
  private instantBetween(from: number, to: number): number {
    const start = Math.max(from, this.person.birthSeconds + DAY);
    const end = Math.max(start + HOUR, to);
    return start + Math.floor(this.random.next() * (end - start));
  }

  private patient(): FhirResource {
    const id = this.copy.identity;
    const identifier = id.nhsNumber === null ? [] : [this.nhsIdentifier(id.nhsNumber, this.copy.nhsNumberState)];
    const address: Record<string, unknown> = { use: 'home', line: [...id.addressLines], city: id.town, district: id.county };
    if (id.postcode !== null) address['postalCode'] = id.postcode;
    return {
      resourceType: 'Patient',
      id: this.patientId,
      meta: this.lastUpdated(this.instantBetween(this.today - 700 * DAY, this.today - HOUR)),
      ...(identifier.length > 0 ? { identifier } : {}),
      name: [{ use: 'official', family: id.familyName, given: id.middleName === null ? [id.givenName] : [id.givenName, id.middleName] }],
      gender: id.sex,
      birthDate: id.birthDate,
      address: [address],
      generalPractitioner: [{ reference: `Organization/${this.person.practice.fhirId}` }],
      managingOrganization: { reference: `Organization/${this.person.practice.fhirId}` },
    };
  }

  private nhsIdentifier(value: string, state: NhsNumberState) {
    const status: keyof typeof VERIFICATION = state === 'invalid' ? '02' : this.random.chance(0.95) ? '01' : '03';
    return {
      extension: [
        {
          url: FHIR_SYSTEMS.verificationExtension,
          valueCodeableConcept: { coding: [{ system: FHIR_SYSTEMS.verificationStatus, code: status, display: VERIFICATION[status] }] },
        },
      ],
      system: FHIR_SYSTEMS.nhsNumber,
      value,
    };
  }

  private subject(): Reference {
    return { reference: `Patient/${this.patientId}` };
  }

  private gpEncounter(): { resource: FhirResource; encounter: GpEncounter } {
    const id = this.random.uuid();
    // Surgery hours: 08:00–18:00 on some day in the last two years.
    const day = Math.floor(this.instantBetween(this.today - 2 * YEAR, this.today - DAY) / DAY) * DAY;
    const start = Math.max(day + 8 * HOUR + this.random.int(0, 40) * 15 * MINUTE, this.person.birthSeconds + DAY);
    const gp = this.random.pick(this.person.practice.gps);
    return {
      encounter: { id, start, practitionerId: gp.fhirId },
      resource: {
        resourceType: 'Encounter',
        id,
        meta: this.lastUpdated(start + 2 * HOUR),
        status: 'finished',
        class: ENCOUNTER_CLASS.AMB,
        subject: this.subject(),
        participant: [{ individual: { reference: `Practitioner/${gp.fhirId}` } }],
        period: { start: isoInstant(start), end: isoInstant(start + this.random.int(8, 20) * MINUTE) },
        serviceProvider: { reference: `Organization/${this.person.practice.fhirId}` },
      },
    };
  }

  private hospitalEncounter(): FhirResource {
    const inpatient = this.random.chance(0.5);
    const start = this.instantBetween(this.today - 2 * YEAR, this.today - 12 * DAY);
    const end = Math.min(start + (inpatient ? this.random.int(1, 10) * DAY : this.random.int(2, 8) * HOUR), this.today - HOUR);
    return {
      resourceType: 'Encounter',
      id: this.random.uuid(),
      meta: this.lastUpdated(end + DAY),
      status: 'finished',
      class: inpatient ? ENCOUNTER_CLASS.IMP : ENCOUNTER_CLASS.EMER,
      subject: this.subject(),
      period: { start: isoInstant(start), end: isoInstant(end) },
      serviceProvider: { reference: `Organization/${this.trust.fhirId}` },
    };
  }

  private condition(key: ConditionKey): FhirResource {
    const definition = CONDITIONS[key];
    // Not before the first birthday (or half-way to today for babies), and at most 30 years back.
    const lived = this.today - this.person.birthSeconds;
    const onset = this.instantBetween(Math.max(this.today - 30 * YEAR, this.person.birthSeconds + Math.min(YEAR, Math.floor(lived / 2))), this.today - 60 * DAY);
    const recorded = Math.max(onset, Math.min(onset + this.random.int(0, 45) * DAY, this.today - DAY));
    const snomed: Coding = { system: SYSTEMS.snomed, code: definition.snomed, display: definition.snomedDisplay };
    const icd10: Coding = { system: SYSTEMS.icd10, code: definition.icd10, display: definition.icd10Display };
    const local: Coding = { system: SYSTEMS.localProblem, code: definition.local, display: definition.localDisplay };
    // Real GP extracts mix coding: SNOMED + ICD-10, one of them alone, or only the practice's own code.
    const coding = this.random.weighted<Coding[]>([
      [[snomed, icd10], 50],
      [[snomed], 25],
      [[icd10], 15],
      [[local], 10],
    ]);
    const code: CodeableConcept = { coding, text: definition.localDisplay };
    return {
      resourceType: 'Condition',
      id: this.random.uuid(),
      meta: this.lastUpdated(recorded + HOUR),
      clinicalStatus: { coding: [{ system: FHIR_SYSTEMS.conditionClinical, code: 'active' }] },
      category: [{ coding: [{ system: FHIR_SYSTEMS.conditionCategory, code: 'problem-list-item', display: 'Problem List Item' }] }],
      code,
      subject: this.subject(),
      onsetDateTime: isoInstant(onset),
      recordedDate: isoDate(recorded),
    };
  }

  private labResults(): LabResult[] {
    const { age, conditions } = this.person;
    const has = (key: ConditionKey) => conditions.includes(key);
    const tests: LabKey[] = [];
    if (has('t2dm')) for (let n = this.random.int(1, 3); n > 0; n--) tests.push('HBA1C');
    if (age >= 40 && this.random.chance(0.5)) tests.push('CHOL');
    if ((has('htn') || has('t2dm') || has('ckd3') || age >= 65) && this.random.chance(0.7)) {
      tests.push('CREA', 'EGFR');
      if (this.random.chance(0.5)) tests.push('NA', 'K');
    }
    if (has('hypothyroid') || this.random.chance(0.05)) tests.push('TSH');
    if (this.random.chance(0.2)) tests.push(...LAB_PANELS.FBC.tests);
    return tests.map((key) => sampleLabResult(LAB_TESTS[key], conditions, this.random));
  }

  private observation(result: LabResult, encounters: readonly GpEncounter[]): FhirResource {
    const { test } = result;
    const encounter = encounters.length > 0 && this.random.chance(0.5) ? this.random.pick(encounters) : null;
    const effective = encounter ? encounter.start + 10 * MINUTE : this.instantBetween(this.today - 3 * YEAR, this.today - DAY);
    const quantity = (value: number): Quantity => ({ value, unit: test.unit, system: SYSTEMS.ucum, code: test.ucum });
    const local: Coding = { system: SYSTEMS.localLab, code: test.key, display: test.display };
    const snomed: Coding = { system: SYSTEMS.snomed, code: test.snomed, display: test.snomedDisplay };
    const range: Record<string, Quantity> = {};
    if (test.low !== null) range['low'] = quantity(test.low);
    if (test.high !== null) range['high'] = quantity(test.high);
    return {
      resourceType: 'Observation',
      id: this.random.uuid(),
      meta: this.lastUpdated(effective + 6 * HOUR),
      status: 'final',
      category: [{ coding: [{ system: FHIR_SYSTEMS.observationCategory, code: 'laboratory', display: 'Laboratory' }] }],
      code: { coding: this.random.chance(0.9) ? [snomed, local] : [local], text: test.display },
      subject: this.subject(),
      ...(encounter ? { encounter: { reference: `Encounter/${encounter.id}` } } : {}),
      effectiveDateTime: isoInstant(effective),
      valueQuantity: quantity(result.value),
      interpretation: [{ coding: [{ system: FHIR_SYSTEMS.interpretation, code: result.flag }] }],
      referenceRange: [range],
    };
  }
}
