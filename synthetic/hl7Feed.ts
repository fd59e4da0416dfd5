// The hospital feed: HL7 v2.4 ADT (A01 admit, A03 discharge, A08 update, A11 cancel admit, A40 merge)
// and ORU^R01 lab results for the share of the population seen in hospital. Each hospital patient's
// whole story (one to three episodes, a duplicate registration later merged by A40, results, DG1
// diagnoses) is generated at once and put on a time-ordered queue; a feed clock advances a fixed step
// per hospital patient and everything before it is written out, so files are chronological while the
// queue only ever holds stories still in progress (bounded by the longest story, not the population).
// Files rotate every N messages (`adt-000001.hl7`, `oru-000001.hl7`, names sort chronologically);
// every third file is batched FHS/BHS…BTS/FTS with correct counts, the rest are plain. Segments end
// CR, text is escaped, and files are Latin-1 as MSH-18 (`8859/1`) declares. PID-3 carries the NHS
// number as a second repetition only when the registration holds one; a person with no NHS number
// (beyond the 999 test range) never gets that repetition, not even after a PDS trace.

import { join } from 'node:path';
import { DAY, HOUR, MINUTE, YEAR, hl7Timestamp } from './calendar.ts';
import { ACUTE_DIAGNOSES, CONDITIONS, LAB_PANELS, LAB_TESTS, icd10NhsForm, referenceRangeText, sampleLabResult, type LabPanel } from './clinical.ts';
import { DUPLICATE_REGISTRATION_DEFECTS, HOSPITAL_DEFECTS, nhsNumberVerificationStatus, sourceCopy, type DefectRates, type NhsNumberState } from './defects.ts';
import { EventQueue } from './eventQueue.ts';
import { components, escapeText, headerSegment, repetitions, segment } from './hl7Segments.ts';
import { LineWriter } from './lineWriter.ts';
import { GP_SURNAMES, MALE_GIVEN_NAMES, FEMALE_GIVEN_NAMES } from './names.ts';
import type { Trust } from './organisations.ts';
import { hospitalShareOf, type Identity, type Person } from './population.ts';
import { Random } from './random.ts';
import type { TruthWriter } from './truth.ts';
import { MrnAllocator } from './ukIdentifiers.ts';

export type Hl7Family = 'adt' | 'oru';
export type Hl7MessageType = 'ADT^A01' | 'ADT^A03' | 'ADT^A08' | 'ADT^A11' | 'ADT^A40' | 'ORU^R01';

const MESSAGE_STRUCTURE: Readonly<Record<Hl7MessageType, string>> = {
  'ADT^A01': 'ADT^A01^ADT_A01',
  'ADT^A03': 'ADT^A03^ADT_A03',
  'ADT^A08': 'ADT^A08^ADT_A01',
  'ADT^A11': 'ADT^A11^ADT_A09',
  'ADT^A40': 'ADT^A40^ADT_A39',
  'ORU^R01': 'ORU^R01^ORU_R01',
};

/** The receiving side of every message: the carelake integration hub (an ICB-shaped code). */
export const RECEIVING_APPLICATION = 'CARELAKE';
export const RECEIVING_FACILITY = 'QCL';

interface PendingMessage {
  at: number;
  order: number;
  type: Hl7MessageType;
  sendingApplication: string;
  facility: string;
  /** Every segment after MSH, each ending CR. */
  body: string;
}

export interface Hl7FileSummary {
  path: string;
  family: Hl7Family;
  messages: number;
  batched: boolean;
  batches: number;
}

export interface Hl7Counts {
  messages: number;
  files: number;
  batched_files: number;
  batches: number;
  by_type: Record<Hl7MessageType, number>;
  patients: number;
  patients_distinct_mrn: number;
  merges: number;
  episodes: number;
  cancelled_admissions: number;
  dg1_segments: number;
  obx_segments: number;
}

/** A local registration: one MRN and the demographics the PAS holds under it. */
interface Registration {
  mrn: string;
  identity: Identity;
  nhsState: NhsNumberState;
  verification: string;
  corrected: boolean;
}

/** One hospital stay as PV1 describes it. */
interface Visit {
  visitNumber: string;
  patientClass: 'I' | 'O' | 'E';
  location: string;
  admissionType: string;
  doctor: string;
  service: string;
  /** Assigning authority of the visit number: the trust. */
  authority: string;
  admitted: number;
}

/** Writes one family's files (adt-NNNNNN.hl7 or oru-NNNNNN.hl7), rotating and batching as it goes. */
class Hl7FileSeries {
  private readonly dir: string;
  private readonly family: Hl7Family;
  private readonly perFile: number;
  private readonly perBatch: number;
  private readonly summaries: Hl7FileSummary[] = [];
  private writer: LineWriter | null = null;
  private current: Hl7FileSummary | null = null;
  private inBatch = 0;

  constructor(dir: string, family: Hl7Family, perFile: number) {
    this.dir = dir;
    this.family = family;
    this.perFile = perFile;
    this.perBatch = Math.max(5, Math.ceil(perFile / 4));
  }

  async append(message: string, at: number): Promise<void> {
    if (this.current !== null && this.current.messages >= this.perFile) await this.finishFile();
    if (this.writer === null || this.current === null) await this.startFile(at);
    const current = this.current!;
    const writer = this.writer!;
    if (current.batched) {
      if (this.inBatch >= this.perBatch) await this.endBatch();
      if (this.inBatch === 0) {
        current.batches++;
        await writer.write(headerSegment('BHS', { 3: 'HUB', 4: 'CARELAKE', 5: RECEIVING_APPLICATION, 6: RECEIVING_FACILITY, 7: hl7Timestamp(at), 11: `B${this.fileNumber()}-${current.batches}` }));
      }
      this.inBatch++;
    }
    current.messages++;
    await writer.write(message);
  }

  async close(): Promise<Hl7FileSummary[]> {
    if (this.current !== null) await this.finishFile();
    return this.summaries;
  }

  destroy(): void {
    this.writer?.destroy();
  }

  private fileNumber(): string {
    return String(this.summaries.length).padStart(6, '0');
  }

  private async startFile(at: number): Promise<void> {
    const n = this.summaries.length + 1;
    const name = `${this.family}-${String(n).padStart(6, '0')}.hl7`;
    // Every third file (2, 5, 8, …) uses the batch envelope; HL7 UK prefers plain files, so most are.
    this.current = { path: `hl7/${name}`, family: this.family, messages: 0, batched: n % 3 === 2, batches: 0 };
    this.summaries.push(this.current);
    this.writer = await LineWriter.open(join(this.dir, name), 'latin1');
    this.inBatch = 0;
    if (this.current.batched) {
      await this.writer.write(headerSegment('FHS', { 3: 'HUB', 4: 'CARELAKE', 5: RECEIVING_APPLICATION, 6: RECEIVING_FACILITY, 7: hl7Timestamp(at), 9: name, 11: `F${this.family.toUpperCase()}${this.fileNumber()}` }));
    }
  }

  private async endBatch(): Promise<void> {
    await this.writer!.write(segment('BTS', { 1: String(this.inBatch) }));
    this.inBatch = 0;
  }

  private async finishFile(): Promise<void> {
    const current = this.current!;
    if (current.batched) {
      if (this.inBatch > 0) await this.endBatch();
      await this.writer!.write(segment('FTS', { 1: String(current.batches) }));
    }
    await this.writer!.close();
    this.writer = null;
    this.current = null;
  }
}

export interface Hl7FeedOptions {
  dir: string;
  seed: number;
  patients: number;
  referenceSeconds: number;
  truth: TruthWriter;
}

export class Hl7Feed {
  private readonly seed: number;
  private readonly truth: TruthWriter;
  private readonly start: number;
  private readonly step: number;
  private readonly queue = new EventQueue<PendingMessage>();
  private readonly series: Record<Hl7Family, Hl7FileSeries>;
  private readonly mrns = new Map<string, MrnAllocator>();
  private ordinal = 0;
  private order = 0;
  private controlId = 0;
  private visitCounter = 0;
  private orderCounter = 0;
  private readonly counts: Omit<Hl7Counts, 'files' | 'batched_files' | 'batches'> = {
    messages: 0,
    by_type: { 'ADT^A01': 0, 'ADT^A03': 0, 'ADT^A08': 0, 'ADT^A11': 0, 'ADT^A40': 0, 'ORU^R01': 0 },
    patients: 0,
    patients_distinct_mrn: 0,
    merges: 0,
    episodes: 0,
    cancelled_admissions: 0,
    dg1_segments: 0,
    obx_segments: 0,
  };

  constructor(options: Hl7FeedOptions) {
    this.seed = options.seed;
    this.truth = options.truth;
    const expected = hospitalShareOf(options.patients);
    // Two years of admissions for small demos; at scale one admission per five minutes, so the
    // queue (stories in progress) stays the same size however many patients there are.
    this.step = Math.max(5 * MINUTE, Math.floor((2 * YEAR) / Math.max(1, expected)));
    // The longest story (three stays, gaps and a merge) is under 55 days, so the feed ends before the reference date.
    this.start = Math.floor(options.referenceSeconds / DAY) * DAY - 60 * DAY - expected * this.step;
    const perFile = Math.min(2000, Math.max(25, Math.round(options.patients / 4)));
    this.series = { adt: new Hl7FileSeries(options.dir, 'adt', perFile), oru: new Hl7FileSeries(options.dir, 'oru', perFile) };
  }

  /** Call for every hospital patient, in population order. Returns false if they were born after their slot. */
  async person(person: Person): Promise<boolean> {
    const h = this.ordinal++;
    const clock = this.start + h * this.step;
    const included = person.birthSeconds + DAY <= clock;
    if (included) await this.story(person, h, clock);
    await this.release(this.start + (h + 1) * this.step);
    return included;
  }

  async close(): Promise<{ files: Hl7FileSummary[]; counts: Hl7Counts }> {
    await this.release(Number.POSITIVE_INFINITY);
    const files = [...(await this.series.adt.close()), ...(await this.series.oru.close())];
    return {
      files,
      counts: {
        ...this.counts,
        by_type: { ...this.counts.by_type },
        files: files.length,
        batched_files: files.filter((f) => f.batched).length,
        batches: files.reduce((sum, f) => sum + f.batches, 0),
      },
    };
  }

  destroy(): void {
    this.series.adt.destroy();
    this.series.oru.destroy();
  }

  private async release(limit: number): Promise<void> {
    for (let next = this.queue.popBefore(limit); next !== undefined; next = this.queue.popBefore(limit)) {
      const family: Hl7Family = next.type === 'ORU^R01' ? 'oru' : 'adt';
      const controlId = `CL${String(++this.controlId).padStart(10, '0')}`;
      const msh = headerSegment('MSH', {
        3: next.sendingApplication,
        4: next.facility,
        5: RECEIVING_APPLICATION,
        6: RECEIVING_FACILITY,
        7: hl7Timestamp(next.at),
        9: MESSAGE_STRUCTURE[next.type],
        10: controlId,
        11: 'P',
        12: '2.4',
        15: 'AL',
        16: 'NE',
        18: '8859/1',
      });
      this.counts.messages++;
      this.counts.by_type[next.type]++;
      await this.series[family].append(msh + next.body, next.at);
    }
  }

  private schedule(at: number, type: Hl7MessageType, trust: Trust, body: string): void {
    this.queue.push({ at, order: this.order++, type, sendingApplication: type === 'ORU^R01' ? 'LIMS' : 'PAS', facility: trust.ods, body });
  }

  private mrnAllocator(trust: Trust): MrnAllocator {
    let allocator = this.mrns.get(trust.ods);
    if (allocator === undefined) {
      allocator = new MrnAllocator(this.seed, trust.ods);
      this.mrns.set(trust.ods, allocator);
    }
    return allocator;
  }

  private async register(person: Person, trust: Trust, rates: DefectRates, random: Random): Promise<Registration> {
    const mrn = this.mrnAllocator(trust).next();
    const copy = sourceCopy(person.identity, rates, random);
    this.counts.patients_distinct_mrn++;
    await this.truth.sourceRecord('hl7', 'mrn', mrn, person.personId);
    await this.truth.defects('hl7', 'mrn', mrn, copy.defects);
    return { mrn, identity: copy.identity, nhsState: copy.nhsNumberState, verification: nhsNumberVerificationStatus(copy.nhsNumberState, random), corrected: false };
  }

  private async story(person: Person, h: number, clock: number): Promise<void> {
    const random = Random.derive(this.seed, 'hl7', person.index);
    const trust = person.practice.region.trust;
    this.counts.patients++;
    // Fixed ordinals guarantee a merge and a cancellation even in a small demo.
    const duplicate = h % 40 === 5 || random.chance(0.015);
    const primary = await this.register(person, trust, HOSPITAL_DEFECTS, random);
    let secondary: Registration | null = null;
    let episodes = random.weighted<number>([[1, 70], [2, 22], [3, 8]]);
    if (duplicate) episodes = Math.max(2, episodes);
    let t = clock + random.int(0, this.step - 1);
    for (let e = 0; e < episodes; e++) {
      let registration = primary;
      if (duplicate && e === episodes - 1) {
        secondary = await this.register(person, trust, DUPLICATE_REGISTRATION_DEFECTS, random);
        registration = secondary;
      }
      const cancel = (e === 0 && h % 30 === 3) || random.chance(0.02);
      t = this.episode(person, registration, trust, t, cancel, random) + random.int(1, 5) * DAY + random.int(0, 23) * HOUR;
    }
    if (secondary !== null) {
      this.counts.merges++;
      const body =
        segment('EVN', { 1: 'A40', 2: hl7Timestamp(t) }) +
        this.pid(primary, trust) +
        this.pd1(person, random) +
        segment('MRG', { 1: components(secondary.mrn, null, null, trust.ods, 'MR') }) +
        segment('PV1', { 1: '1', 2: 'N' });
      this.schedule(t, 'ADT^A40', trust, body);
    }
  }

  /** Schedules one stay's messages; returns when it ended. */
  private episode(person: Person, registration: Registration, trust: Trust, admitted: number, cancel: boolean, random: Random): number {
    this.counts.episodes++;
    const patientClass = random.weighted<'I' | 'O' | 'E'>([['I', 45], ['O', 35], ['E', 20]]);
    const site = random.pick(trust.sites);
    const consultantFamily = random.pick(GP_SURNAMES);
    const visit: Visit = {
      visitNumber: `V${String(++this.visitCounter).padStart(9, '0')}`,
      patientClass,
      location:
        patientClass === 'I'
          ? components(`WARD${random.int(1, 30)}`, `BAY${random.int(1, 6)}`, `BED${random.int(1, 8)}`, site)
          : patientClass === 'O'
            ? components(`OPD${random.int(1, 9)}`, null, null, site)
            : components('ED', random.pick(['MAJ', 'RESUS', 'MIN']), null, site),
      admissionType: patientClass === 'E' ? '21' : patientClass === 'I' ? random.pick(['11', '12', '21']) : '',
      doctor: components(`C${random.int(1_000_000, 9_999_999)}`, consultantFamily.toUpperCase(), random.pick(random.chance(0.5) ? FEMALE_GIVEN_NAMES : MALE_GIVEN_NAMES), null, null, 'Dr', null, null, 'GMC'),
      service: patientClass === 'E' ? '180' : random.pick(['300', '100', '320', '340', '430']),
      authority: trust.ods,
      admitted,
    };
    const header = () => this.pid(registration, trust) + this.pd1(person, random);
    const acute = random.pick(ACUTE_DIAGNOSES);
    const nhsForm = trust.ods === 'RR8';
    const dg1 = (n: number, code: string, display: string, at: number, type: 'A' | 'F') => {
      this.counts.dg1_segments++;
      return segment('DG1', { 1: String(n), 3: components(nhsForm ? icd10NhsForm(code) : code, display, 'I10'), 5: hl7Timestamp(at), 6: type });
    };

    let a01 = segment('EVN', { 1: 'A01', 2: hl7Timestamp(admitted) }) + header() + this.pv1(visit, null);
    if (patientClass !== 'O' && random.chance(0.4)) a01 += dg1(1, acute.icd10, acute.display, admitted, 'A');
    this.schedule(admitted, 'ADT^A01', trust, a01);

    if (cancel) {
      this.counts.cancelled_admissions++;
      const at = admitted + random.int(10, 180) * MINUTE;
      this.schedule(at, 'ADT^A11', trust, segment('EVN', { 1: 'A11', 2: hl7Timestamp(at) }) + header() + this.pv1(visit, null));
      return at;
    }

    const stay =
      patientClass === 'I' ? random.int(1, 10) * DAY + random.int(0, 23) * HOUR : patientClass === 'O' ? random.int(15, 90) * MINUTE : random.int(2, 10) * HOUR;
    const discharged = admitted + stay;

    if (random.chance(0.25)) {
      const at = admitted + Math.max(MINUTE, Math.floor(random.next() * (stay - MINUTE)));
      // Half the updates come from a PDS trace that corrects the registration; later messages keep it.
      if (!registration.corrected && random.chance(0.5)) {
        registration.identity = { ...person.identity, addressLines: registration.identity.addressLines };
        // A trace finds no NHS number for someone who has none: 04, trace attempted, no match.
        const hasNhsNumber = person.identity.nhsNumber !== null;
        registration.nhsState = hasNhsNumber ? 'valid' : 'none';
        registration.verification = hasNhsNumber ? '01' : '04';
        registration.corrected = true;
      }
      this.schedule(at, 'ADT^A08', trust, segment('EVN', { 1: 'A08', 2: hl7Timestamp(at) }) + header() + this.pv1(visit, null));
    }

    const resultChance = patientClass === 'I' ? 0.6 : patientClass === 'E' ? 0.35 : 0.15;
    if (random.chance(resultChance)) {
      const collected = admitted + Math.max(MINUTE, Math.floor(random.next() * Math.min(stay - MINUTE, 12 * HOUR)));
      this.schedule(collected + random.int(40, 180) * MINUTE, 'ORU^R01', trust, this.results(person, registration, trust, visit, collected, random));
    }

    let a03 = segment('EVN', { 1: 'A03', 2: hl7Timestamp(discharged) }) + header() + this.pv1(visit, discharged);
    if (patientClass !== 'O' && random.chance(0.6)) {
      let n = 1;
      a03 += dg1(n++, acute.icd10, acute.display, discharged, 'F');
      for (const key of person.conditions.slice(0, 3)) a03 += dg1(n++, CONDITIONS[key].icd10, CONDITIONS[key].icd10Display, discharged, 'F');
    }
    this.schedule(discharged, 'ADT^A03', trust, a03);
    return discharged;
  }

  private results(person: Person, registration: Registration, trust: Trust, visit: Visit, collected: number, random: Random): string {
    const has = (key: string) => person.conditions.some((c) => c === key);
    const panels: LabPanel[] =
      visit.patientClass === 'O'
        ? [has('t2dm') ? LAB_PANELS.HBA1C : has('hypothyroid') ? LAB_PANELS.TFT : random.pick([LAB_PANELS.LIPID, LAB_PANELS.UE])]
        : random.chance(0.7)
          ? [LAB_PANELS.UE, LAB_PANELS.FBC]
          : [random.pick([LAB_PANELS.UE, LAB_PANELS.FBC])];
    const received = collected + random.int(10, 40) * MINUTE;
    const reported = received + random.int(20, 120) * MINUTE;
    let body = this.pid(registration, trust) + this.pv1(visit, null);
    panels.forEach((panel, p) => {
      const orderNumber = String(++this.orderCounter).padStart(9, '0');
      const placer = components(`${trust.ods}P${orderNumber}`, 'PAS');
      const filler = components(`${trust.ods}L${orderNumber}`, 'LIMS');
      body += segment('ORC', { 1: 'RE', 2: placer, 3: filler });
      body += segment('OBR', {
        1: String(p + 1),
        2: placer,
        3: filler,
        4: components(panel.code, panel.display, 'L'),
        7: hl7Timestamp(collected),
        14: hl7Timestamp(received),
        16: visit.doctor,
        22: hl7Timestamp(reported),
        24: panel.code === 'FBC' ? 'HM' : 'CH',
        25: 'F',
      });
      panel.tests.forEach((key, i) => {
        const test = LAB_TESTS[key];
        const result = sampleLabResult(test, person.conditions, random);
        this.counts.obx_segments++;
        body += segment('OBX', {
          1: String(i + 1),
          2: 'NM',
          3: components(test.key, test.display, 'L', test.snomed, test.snomedDisplay, 'SCT'),
          5: result.text,
          6: escapeText(test.unit),
          7: escapeText(referenceRangeText(test)),
          8: result.flag,
          11: 'F',
          14: hl7Timestamp(collected),
        });
      });
    });
    return body;
  }

  private pid(registration: Registration, trust: Trust): string {
    const id = registration.identity;
    const identifiers = repetitions(
      components(registration.mrn, null, null, trust.ods, 'MR'),
      id.nhsNumber === null ? '' : components(id.nhsNumber, null, null, 'NHS', 'NH'),
    );
    const sex = id.sex === 'male' ? 'M' : id.sex === 'female' ? 'F' : 'U';
    return segment('PID', {
      1: '1',
      3: identifiers,
      5: components(id.familyName.toUpperCase(), id.givenName, id.middleName),
      7: id.birthDate.replace(/-/g, ''),
      8: sex,
      11: components(id.addressLines[0], id.addressLines[1], id.town, id.county, id.postcode, 'GBR', 'H'),
      32: registration.verification,
    });
  }

  private pd1(person: Person, random: Random): string {
    const practice = person.practice;
    const gp = random.pick(practice.gps);
    return segment('PD1', {
      3: components(practice.name, null, practice.ods),
      4: components(gp.gmpCode, gp.familyName, gp.givenName, null, null, 'Dr'),
    });
  }

  private pv1(visit: Visit, discharged: number | null): string {
    return segment('PV1', {
      1: '1',
      2: visit.patientClass,
      3: visit.location,
      4: visit.admissionType,
      7: visit.doctor,
      10: visit.service,
      19: components(visit.visitNumber, null, null, visit.authority, 'VN'),
      44: hl7Timestamp(visit.admitted),
      45: discharged === null ? '' : hl7Timestamp(discharged),
    });
  }
}

