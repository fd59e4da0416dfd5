// The care side of one person's GP record, as UK Core-shaped FHIR R4: MedicationRequest (dm+d coded
// repeat prescriptions for their long-term conditions), Procedure (reviews, checks and screening),
// Immunization (seasonal influenza, COVID-19 and pneumococcal, some declined: status not-done) and
// AllergyIntolerance (a minority of people, some with a recorded reaction).
//
// Everything here draws from its own stream, `Random.derive(seed, 'fhir-care', index)`, never from the
// stream that builds the Patient, Encounters, Conditions and Observations. So adding or changing care
// content cannot move a byte of those files (nor the HL7 or ESR output, which have their own streams),
// and the care record is still fully determined by the seed. What it needs from the rest of the record
// (the Patient id, the GP visits and who saw the patient, the Condition ids) is passed in as values.

import { DAY, HOUR, MINUTE, YEAR, isoDate, isoInstant, parseIsoDate } from './calendar.ts';
import {
  ALLERGENS,
  CARE_SYSTEMS,
  CONDITION_MEDICATIONS,
  MEDICATIONS,
  PROCEDURES,
  REACTIONS,
  VACCINES,
  type AllergenDefinition,
  type CodedConcept,
  type ConditionKey,
  type MedicationKey,
  type ProcedureKey,
  type VaccineKey,
} from './clinical.ts';
import type { FhirResource } from './fhirExport.ts';
import type { Person } from './population.ts';
import type { Random } from './random.ts';

export const CARE_SYSTEMS_FHIR = {
  vaccinationProcedure: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  medicationRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  courseOfTherapy: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy',
} as const;

/** A GP visit from the clinical record: the care record hangs prescriptions and checks off some of them. */
export interface CareEncounter {
  id: string;
  start: number;
  practitionerId: string;
}

export interface CareRecordInput {
  person: Person;
  patientId: string;
  encounters: readonly CareEncounter[];
  /** The Condition resource written for each of the person's conditions. */
  conditionIds: ReadonlyMap<ConditionKey, string>;
  /** The person's own 'fhir-care' stream. */
  random: Random;
  referenceSeconds: number;
}

const snomed = (concept: CodedConcept) => ({ system: CARE_SYSTEMS.snomed, code: concept.code, display: concept.display });

/** Builds one person's care record; `build()` returns MedicationRequests, Procedures, Immunizations, AllergyIntolerances in that order. */
export class GpCareRecordBuilder {
  private readonly person: Person;
  private readonly patientId: string;
  private readonly encounters: readonly CareEncounter[];
  private readonly conditionIds: ReadonlyMap<ConditionKey, string>;
  private readonly random: Random;
  private readonly today: number;
  private readonly year: number;

  constructor(input: CareRecordInput) {
    this.person = input.person;
    this.patientId = input.patientId;
    this.encounters = input.encounters;
    this.conditionIds = input.conditionIds;
    this.random = input.random;
    this.today = Math.floor(input.referenceSeconds / DAY) * DAY;
    this.year = Number(isoDate(this.today).slice(0, 4));
  }

  build(): FhirResource[] {
    return [...this.medicationRequests(), ...this.procedures(), ...this.immunizations(), ...this.allergies()];
  }

  private has(key: ConditionKey): boolean {
    return this.person.conditions.includes(key);
  }

  /** `meta.lastUpdated`, never after the export's transactionTime. */
  private lastUpdated(seconds: number): { lastUpdated: string } {
    return { lastUpdated: isoInstant(Math.min(seconds, this.today - MINUTE)) };
  }

  /** A random instant between `from` and `to`, never before the person was born nor after yesterday. */
  private instantBetween(from: number, to: number): number {
    const start = Math.max(from, this.person.birthSeconds + DAY);
    const end = Math.min(Math.max(start + HOUR, to), this.today - HOUR);
    return start + Math.floor(this.random.next() * Math.max(0, end - start));
  }

  /** A time in surgery hours (08:00–18:00) on some day between `from` and `to`. */
  private surgeryTime(from: number, to: number): number {
    const day = Math.floor(this.instantBetween(from, to) / DAY) * DAY;
    const at = day + 8 * HOUR + this.random.int(0, 39) * 15 * MINUTE;
    return Math.min(Math.max(at, this.person.birthSeconds + DAY), this.today - HOUR);
  }

  private subject() {
    return { reference: `Patient/${this.patientId}` };
  }

  private anyGp(): string {
    return this.random.pick(this.person.practice.gps).fhirId;
  }

  /** A GP visit in [from, to) half the time, if there is one; otherwise a time with no visit and a practice GP. */
  private occasion(from: number, to: number): { at: number; encounter: CareEncounter | null; practitionerId: string } {
    const visits = this.encounters.filter((e) => e.start >= from && e.start < to);
    if (visits.length > 0 && this.random.chance(0.5)) {
      const encounter = this.random.pick(visits);
      return { at: encounter.start + this.random.int(2, 12) * MINUTE, encounter, practitionerId: encounter.practitionerId };
    }
    return { at: this.surgeryTime(from, to), encounter: null, practitionerId: this.anyGp() };
  }

  // --- MedicationRequest ----------------------------------------------------------------------------

  private medicationRequests(): FhirResource[] {
    const chosen = new Map<MedicationKey, ConditionKey>();
    for (const condition of this.person.conditions) {
      for (const [medication, p] of CONDITION_MEDICATIONS[condition]) {
        if (!chosen.has(medication) && this.random.chance(p)) chosen.set(medication, condition);
      }
    }
    const out: FhirResource[] = [];
    for (const [medication, condition] of chosen) {
      // The current repeat authorisation, and before it up to two earlier ones that ran their course.
      const earlier = this.random.weighted<number>([[0, 50], [1, 35], [2, 15]]);
      for (let n = earlier; n > 0; n--) out.push(this.medicationRequest(medication, condition, n));
      out.push(this.medicationRequest(medication, condition, 0));
    }
    return out;
  }

  /** `age` 0 is the current authorisation (active, or now and then stopped); older ones are completed. */
  private medicationRequest(key: MedicationKey, condition: ConditionKey, age: number): FhirResource {
    const medication = MEDICATIONS[key];
    const windowEnd = this.today - age * YEAR;
    const { at, encounter, practitionerId } = this.occasion(windowEnd - YEAR, windowEnd - DAY);
    const status = age > 0 ? 'completed' : this.random.chance(0.92) ? 'active' : 'stopped';
    const conditionId = this.conditionIds.get(condition);
    return {
      resourceType: 'MedicationRequest',
      id: this.random.uuid(),
      meta: this.lastUpdated(at + HOUR),
      status,
      intent: 'order',
      category: [{ coding: [{ system: CARE_SYSTEMS_FHIR.medicationRequestCategory, code: 'community', display: 'Community' }] }],
      medicationCodeableConcept: { coding: [{ system: CARE_SYSTEMS.dmd, code: medication.dmd, display: medication.display }], text: medication.display },
      subject: this.subject(),
      ...(encounter ? { encounter: { reference: `Encounter/${encounter.id}` } } : {}),
      authoredOn: isoInstant(at),
      requester: { reference: `Practitioner/${practitionerId}` },
      ...(conditionId ? { reasonReference: [{ reference: `Condition/${conditionId}` }] } : {}),
      courseOfTherapyType: { coding: [{ system: CARE_SYSTEMS_FHIR.courseOfTherapy, code: 'continuous', display: 'Continuous long term therapy' }] },
      dosageInstruction: [{ text: medication.dosage, ...(medication.asNeeded ? { asNeededBoolean: true } : {}) }],
      dispenseRequest: { numberOfRepeatsAllowed: this.random.pick([3, 5, 6, 11]) },
    };
  }

  // --- Procedure ------------------------------------------------------------------------------------

  private procedures(): FhirResource[] {
    const { age, identity } = this.person;
    const out: FhirResource[] = [];
    if (this.has('t2dm')) {
      // Annual diabetic foot check, in each of the last two years, usually done.
      for (let y = 0; y < 2; y++) if (this.random.chance(0.8)) out.push(this.procedure('diabetic_foot', this.today - (y + 1) * YEAR, this.today - y * YEAR));
    }
    if ((this.has('af') || this.has('htn')) && this.random.chance(0.3)) out.push(this.procedure('ecg', this.today - 2 * YEAR, this.today));
    if ((this.has('copd') && this.random.chance(0.5)) || (this.has('asthma') && this.random.chance(0.2))) out.push(this.procedure('spirometry', this.today - 2 * YEAR, this.today));
    if (this.person.conditions.length > 0 && this.random.chance(0.6)) out.push(this.procedure('medication_review', this.today - YEAR, this.today));
    if (identity.sex === 'female' && age >= 25 && age <= 64 && this.random.chance(0.35)) out.push(this.procedure('cervical_screening', this.today - 3 * YEAR, this.today));
    if (this.random.chance(0.015)) out.push(this.procedure('suture_removal', this.today - 2 * YEAR, this.today));
    return out;
  }

  private procedure(key: ProcedureKey, from: number, to: number): FhirResource {
    const { at, encounter, practitionerId } = this.occasion(from, to);
    // A screening invitation is sometimes declined: recorded as not-done with a reason.
    const notDone = key === 'cervical_screening' && this.random.chance(0.1);
    // Longer procedures carry a period; quick ones a single time.
    const minutes = key === 'spirometry' || key === 'ecg' ? this.random.int(10, 30) : 0;
    const performed = notDone
      ? {}
      : minutes > 0
        ? { performedPeriod: { start: isoInstant(at), end: isoInstant(at + minutes * MINUTE) } }
        : { performedDateTime: isoInstant(at) };
    return {
      resourceType: 'Procedure',
      id: this.random.uuid(),
      meta: this.lastUpdated(at + 2 * HOUR),
      status: notDone ? 'not-done' : 'completed',
      ...(notDone ? { statusReason: { coding: [{ system: CARE_SYSTEMS_FHIR.actReason, code: 'PATOBJ', display: 'patient objection' }] } } : {}),
      code: { coding: [snomed(PROCEDURES[key])], text: PROCEDURES[key].display },
      subject: this.subject(),
      ...(encounter ? { encounter: { reference: `Encounter/${encounter.id}` } } : {}),
      ...performed,
      ...(notDone ? {} : { performer: [{ actor: { reference: `Practitioner/${practitionerId}` } }] }),
    };
  }

  // --- Immunization ---------------------------------------------------------------------------------

  private immunizations(): FhirResource[] {
    const { age } = this.person;
    const atRisk = this.has('asthma') || this.has('copd') || this.has('t2dm') || this.has('ckd3') || this.has('af');
    const out: FhirResource[] = [];
    // The last two autumn campaigns: September to December of each year, both before today.
    for (let back = 0; back < 3; back++) {
      const seasonStart = parseIsoDate(`${this.year - back}-09-15`)!;
      const seasonEnd = parseIsoDate(`${this.year - back}-12-20`)!;
      if (seasonEnd >= this.today) continue;
      if (seasonStart < this.today - 2 * YEAR - 60 * DAY) break;
      if (age >= 65 || atRisk || (age >= 2 && age <= 16 && this.random.chance(0.5))) out.push(...this.seasonal('influenza', seasonStart, seasonEnd, age >= 65 ? 0.75 : 0.5));
      if (age >= 75) out.push(...this.seasonal('covid19', seasonStart, seasonEnd, 0.6));
    }
    if (age >= 65 && this.random.chance(0.7)) {
      // Pneumococcal: once, at or after 65 — somewhere in the last few years for the record.
      const sixtyFive = this.person.birthSeconds + 65 * YEAR;
      out.push(this.immunization('pneumococcal', Math.max(sixtyFive, this.today - 5 * YEAR), this.today, false));
    }
    return out;
  }

  /** One campaign: given with probability `uptake`; otherwise, now and then, recorded as declined. */
  private seasonal(key: VaccineKey, from: number, to: number, uptake: number): FhirResource[] {
    if (this.random.chance(uptake)) return [this.immunization(key, from, to, false)];
    return this.random.chance(0.4) ? [this.immunization(key, from, to, true)] : [];
  }

  private immunization(key: VaccineKey, from: number, to: number, notDone: boolean): FhirResource {
    const vaccine = VACCINES[key];
    const { at, encounter, practitionerId } = this.occasion(from, to);
    const reason = this.random.weighted<CodedConcept>([
      [{ code: 'PATOBJ', display: 'patient objection' }, 80],
      [{ code: 'MEDPREC', display: 'medical precaution' }, 15],
      [{ code: 'OSTOCK', display: 'product out of stock' }, 5],
    ]);
    return {
      resourceType: 'Immunization',
      id: this.random.uuid(),
      meta: this.lastUpdated(at + HOUR),
      extension: [{ url: CARE_SYSTEMS_FHIR.vaccinationProcedure, valueCodeableConcept: { coding: [snomed(vaccine.procedure)] } }],
      status: notDone ? 'not-done' : 'completed',
      ...(notDone ? { statusReason: { coding: [{ system: CARE_SYSTEMS_FHIR.actReason, code: reason.code, display: reason.display }] } } : {}),
      vaccineCode: { coding: [snomed(vaccine.vaccine)], text: vaccine.vaccine.display },
      patient: this.subject(),
      ...(encounter ? { encounter: { reference: `Encounter/${encounter.id}` } } : {}),
      occurrenceDateTime: isoInstant(at),
      recorded: isoInstant(at + this.random.int(5, 120) * MINUTE),
      primarySource: true,
      ...(notDone ? {} : { performer: [{ actor: { reference: `Practitioner/${practitionerId}` } }] }),
    };
  }

  // --- AllergyIntolerance ---------------------------------------------------------------------------

  private allergies(): FhirResource[] {
    const count = this.random.weighted<number>([[0, 900], [1, 85], [2, 15]]);
    const allergens = Object.values(ALLERGENS);
    const seen = new Set<string>();
    const out: FhirResource[] = [];
    for (let n = 0; n < count; n++) {
      const allergen = this.random.weighted(allergens.map((a): readonly [AllergenDefinition, number] => [a, a.weight]));
      if (seen.has(allergen.key)) continue;
      seen.add(allergen.key);
      out.push(this.allergy(allergen));
    }
    return out;
  }

  private allergy(allergen: AllergenDefinition): FhirResource {
    const recorded = this.surgeryTime(this.today - 15 * YEAR, this.today - DAY);
    const clinical = this.random.weighted<string>([['active', 90], ['inactive', 4], ['resolved', 6]]);
    const verification = this.random.weighted<string>([['confirmed', 70], ['unconfirmed', 30]]);
    const reactionCount = this.random.chance(0.6) ? 1 : 0;
    const reactions = [];
    for (let r = 0; r < reactionCount; r++) {
      const manifestation = this.random.pick(REACTIONS);
      const severe = manifestation.code === '39579001';
      reactions.push({
        manifestation: [{ coding: [snomed(manifestation)], text: manifestation.display }],
        severity: severe ? 'severe' : this.random.pick(['mild', 'moderate']),
      });
    }
    const severe = reactions.some((r) => r.severity === 'severe');
    const criticality = severe ? 'high' : this.random.weighted<string>([['low', 70], ['high', 15], ['unable-to-assess', 15]]);
    return {
      resourceType: 'AllergyIntolerance',
      id: this.random.uuid(),
      meta: this.lastUpdated(recorded + HOUR),
      clinicalStatus: { coding: [{ system: CARE_SYSTEMS_FHIR.allergyClinical, code: clinical }] },
      verificationStatus: { coding: [{ system: CARE_SYSTEMS_FHIR.allergyVerification, code: verification }] },
      type: allergen.category === 'medication' && !severe && this.random.chance(0.2) ? 'intolerance' : 'allergy',
      category: [allergen.category],
      criticality,
      code: { coding: [snomed(allergen)], text: allergen.display },
      patient: this.subject(),
      recordedDate: isoDate(recorded),
      recorder: { reference: `Practitioner/${this.anyGp()}` },
      ...(reactions.length > 0 ? { reaction: reactions } : {}),
    };
  }
}
