// Labelled patient records for record-linkage tests and benchmarks: every person of the synthetic
// population (real names, birth dates, postcodes and 999-range NHS numbers) as the sources that hold
// them record them — a GP copy for most people, a hospital PAS copy for the two in five the demo lake
// sends to hospital, now and then a second PAS registration under a new record id (the duplicate a
// rushed registration leaves behind), and sometimes a pathology (lab) copy that often lacks an address.
// The damage is the project's own: `sourceCopy()` with GP_RECORD_DEFECTS, HOSPITAL_DEFECTS and
// DUPLICATE_REGISTRATION_DEFECTS, so linkage is scored against the same defects as the demo lake.
// `personId` is the truth label; record ids never encode it. People are generated one at a time, in
// index order, and never kept, so memory stays flat at a million people. Each person's copies draw
// from their own stream (`Random.derive(seed, 'linkage-records', i)`) and record ids come from
// per-source counters, so person i's records are the same whatever `people` is.

import { CarelakeError } from '../core/errors.ts';
import { DAY, YEAR, isoDate, parseIsoDate } from './calendar.ts';
import { DUPLICATE_REGISTRATION_DEFECTS, GP_RECORD_DEFECTS, HOSPITAL_DEFECTS, nhsNumberVerificationStatus, sourceCopy, type SourceCopy } from './defects.ts';
import { DEFAULT_REFERENCE_DATE, MAX_PATIENTS } from './generate.ts';
import { LineWriter } from './lineWriter.ts';
import { CareSettings, practiceCountFor } from './organisations.ts';
import { Population, type Person, type Sex } from './population.ts';
import { AffinePermutation, Random } from './random.ts';
import { csvField } from './truth.ts';

export type LinkageSource = 'gp' | 'pas' | 'lab';

export const LINKAGE_SOURCES: readonly LinkageSource[] = ['gp', 'pas', 'lab'];

export interface LinkageRecord {
  /** `<source>-<six base-36 characters>`, unique per run; says nothing about the person. */
  recordId: string;
  /** Truth label, `P0000001`, as in the demo lake's truth files. */
  personId: string;
  source: LinkageSource;
  givenName: string;
  familyName: string;
  /** `YYYY-MM-DD`. */
  birthDate: string;
  /** FHIR administrative gender: male, female, other or unknown. */
  sex: Sex;
  postcode: string | null;
  /** First address line and town, joined with ', '. */
  address: string | null;
  nhsNumber: string | null;
  /** UK Core NHS number verification status (`01` verified … `07`); null on lab copies. */
  nhsNumberVerificationStatus: string | null;
  /** `YYYY-MM-DD`: when the source recorded this copy. */
  recordedAt: string;
}

export interface LinkageRecordsOptions {
  people: number;
  seed: number;
}

/** Share of hospital patients registered a second time under a new record id (the HL7 feed's ~4%). */
const DUPLICATE_REGISTRATION_SHARE = 0.04;
/** Share of people with a pathology copy. With GP (~97%) and PAS (40%) copies: ~1.73 records a person. */
const LAB_SHARE = 0.35;
/** Lab requests often carry only name, birth date, sex and NHS number. */
const LAB_WITHOUT_ADDRESS_SHARE = 0.6;
/** How far back a GP registration may be recorded; hospital and lab copies are from the last two years. */
const GP_HISTORY_DAYS = Math.floor((15 * YEAR) / DAY);
const RECENT_DAYS = Math.floor((2 * YEAR) / DAY);

/**
 * 36^6 record ids per source — two hundred times MAX_PATIENTS — and small enough that
 * AffinePermutation's split arithmetic stays below 2^53 (its products peak near 1.5·10^14).
 */
const RECORD_ID_SPACE = 36 ** 6;

/** Hands out `<source>-<base36>` ids: a per-source counter through a seeded permutation, so ids are unique and scattered. */
class RecordIds {
  private readonly permutations: Record<LinkageSource, AffinePermutation>;
  private readonly counters: Record<LinkageSource, number> = { gp: 0, pas: 0, lab: 0 };

  constructor(seed: number) {
    const permutation = (source: LinkageSource) => new AffinePermutation(RECORD_ID_SPACE, Random.derive(seed, 'linkage-record-id', source));
    this.permutations = { gp: permutation('gp'), pas: permutation('pas'), lab: permutation('lab') };
  }

  next(source: LinkageSource): string {
    const n = this.permutations[source].at(this.counters[source]++);
    return `${source}-${n.toString(36).padStart(6, '0')}`;
  }
}

/** Hospital systems send sex as HL7 M/F/U (as the HL7 feed does), so `other` comes back as `unknown`. */
function hospitalSex(sex: Sex): Sex {
  return sex === 'other' ? 'unknown' : sex;
}

function validate(options: LinkageRecordsOptions): void {
  const problems: string[] = [];
  const { people, seed } = options;
  if (!Number.isInteger(people) || people < 0 || people > MAX_PATIENTS) problems.push(`people must be a whole number from 0 to ${MAX_PATIENTS}, got ${String(people)}`);
  if (!Number.isSafeInteger(seed)) problems.push(`seed must be a whole number, got ${String(seed)}`);
  if (problems.length > 0) {
    throw new CarelakeError({
      code: 'synthetic.invalid_options',
      kind: 'config',
      message: `Cannot generate linkage records: ${problems.join('; ')}.`,
      hint: 'fix the options and run again',
    });
  }
}

/**
 * Every source copy of every person, person by person in index order. Options are checked when this
 * is called (not at the first `next()`), so a bad call fails where it is made.
 */
export function linkageRecords(options: LinkageRecordsOptions): Generator<LinkageRecord> {
  validate(options);
  return generateLinkageRecords(options.people, options.seed);
}

function* generateLinkageRecords(people: number, seed: number): Generator<LinkageRecord> {
  // Dated like the demo lake, so person i here has the same identity as person i there. Practices are
  // not part of a linkage record, so the smallest set keeps the population independent of `people`.
  const referenceSeconds = parseIsoDate(DEFAULT_REFERENCE_DATE)!;
  const referenceDay = Math.floor(referenceSeconds / DAY);
  const population = new Population(seed, new CareSettings(seed, practiceCountFor(0)), referenceSeconds);
  const ids = new RecordIds(seed);

  for (let i = 0; i < people; i++) {
    const person = population.person(i);
    const random = Random.derive(seed, 'linkage-records', i);
    const firstDay = Math.floor(person.birthSeconds / DAY) + 1;
    // A day in the last `days` days before the reference date, never before the day after birth.
    const recentDay = (days: number) => random.int(Math.min(Math.max(firstDay, referenceDay - days), referenceDay - 1), referenceDay - 1);

    if (person.inGpRecord) {
      const copy = sourceCopy(person.identity, GP_RECORD_DEFECTS, random);
      yield record(ids.next('gp'), person, 'gp', copy, person.identity.sex, nhsNumberVerificationStatus(copy.nhsNumberState, random), true, recentDay(GP_HISTORY_DAYS));
    }
    if (person.inHospital) {
      const sex = hospitalSex(person.identity.sex);
      const copy = sourceCopy(person.identity, HOSPITAL_DEFECTS, random);
      const registeredDay = recentDay(RECENT_DAYS);
      yield record(ids.next('pas'), person, 'pas', copy, sex, nhsNumberVerificationStatus(copy.nhsNumberState, random), true, registeredDay);
      if (random.chance(DUPLICATE_REGISTRATION_SHARE)) {
        const duplicate = sourceCopy(person.identity, DUPLICATE_REGISTRATION_DEFECTS, random);
        const laterDay = Math.min(registeredDay + random.int(1, 365), referenceDay - 1);
        yield record(ids.next('pas'), person, 'pas', duplicate, sex, nhsNumberVerificationStatus(duplicate.nhsNumberState, random), true, laterDay);
      }
    }
    if (random.chance(LAB_SHARE)) {
      const copy = sourceCopy(person.identity, HOSPITAL_DEFECTS, random);
      const withAddress = !random.chance(LAB_WITHOUT_ADDRESS_SHARE);
      // Pathology systems receive the NHS number on the request, not its verification status.
      yield record(ids.next('lab'), person, 'lab', copy, hospitalSex(person.identity.sex), null, withAddress, recentDay(RECENT_DAYS));
    }
  }
}

function record(
  recordId: string,
  person: Person,
  source: LinkageSource,
  copy: SourceCopy,
  sex: Sex,
  verification: string | null,
  withAddress: boolean,
  recordedDay: number,
): LinkageRecord {
  const id = copy.identity;
  return {
    recordId,
    personId: person.personId,
    source,
    givenName: id.givenName,
    familyName: id.familyName,
    birthDate: id.birthDate,
    sex,
    postcode: withAddress ? id.postcode : null,
    address: withAddress ? `${id.addressLines[0] ?? ''}, ${id.town}` : null,
    nhsNumber: id.nhsNumber,
    nhsNumberVerificationStatus: verification,
    recordedAt: isoDate(recordedDay * DAY),
  };
}

/** The CSV header, in order; `person_id` (last) is the truth column. */
export const LINKAGE_RECORD_COLUMNS = [
  'record_id',
  'given_name',
  'family_name',
  'birth_date',
  'sex',
  'postcode',
  'address',
  'nhs_number',
  'nhs_number_verification_status',
  'source',
  'recorded_at',
  'person_id',
] as const;

export type LinkageRecordColumn = (typeof LINKAGE_RECORD_COLUMNS)[number];

/** Each column's value; keyed by column so the compiler flags a column without one. Null is written as an empty field. */
const COLUMN_VALUES: Readonly<Record<LinkageRecordColumn, (r: LinkageRecord) => string | null>> = {
  record_id: (r) => r.recordId,
  given_name: (r) => r.givenName,
  family_name: (r) => r.familyName,
  birth_date: (r) => r.birthDate,
  sex: (r) => r.sex,
  postcode: (r) => r.postcode,
  address: (r) => r.address,
  nhs_number: (r) => r.nhsNumber,
  nhs_number_verification_status: (r) => r.nhsNumberVerificationStatus,
  source: (r) => r.source,
  recorded_at: (r) => r.recordedAt,
  person_id: (r) => r.personId,
};

const COLUMN_ORDER = LINKAGE_RECORD_COLUMNS.map((column) => COLUMN_VALUES[column]);

function csvLine(r: LinkageRecord): string {
  let line = '';
  for (let c = 0; c < COLUMN_ORDER.length; c++) {
    const value = COLUMN_ORDER[c]!(r);
    if (c > 0) line += ',';
    if (value !== null) line += csvField(value);
  }
  return `${line}\n`;
}

/** Streams every record to `path` (UTF-8, RFC 4180 quoting, header first); memory stays flat. */
export async function writeLinkageRecordsCsv(path: string, options: LinkageRecordsOptions): Promise<{ records: number; people: number }> {
  const records = linkageRecords(options);
  const writer = await LineWriter.open(path);
  let count = 0;
  try {
    await writer.write(`${LINKAGE_RECORD_COLUMNS.join(',')}\n`);
    for (const r of records) {
      await writer.write(csvLine(r));
      count++;
    }
    await writer.close();
  } catch (err) {
    writer.destroy();
    throw err;
  }
  return { records: count, people: options.people };
}
