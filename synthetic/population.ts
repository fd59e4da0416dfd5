// The synthetic patient population: one person at a time, by index, with their TRUE identity (the
// values the truth files record), GP practice, long-term conditions and which sources know them.
// People are never kept: the generator asks for person i, writes every source copy, and moves on.
// Each person draws from their own random stream, so person i is the same whatever else changes;
// NHS numbers are the one sequential piece (a permutation counter), which is fine because people are
// always produced in index order. The 999 test range runs out after 909,091 people; everyone after
// that has no NHS number at all (`nhsNumber: null`), like an unregistered person or overseas visitor.

import { DAY, YEAR, isoDate } from './calendar.ts';
import { sampleConditions, type ConditionKey } from './clinical.ts';
import { FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, STREET_NAMES } from './names.ts';
import { REGIONS, type CareSettings, type Practice } from './organisations.ts';
import { Random } from './random.ts';
import { NhsNumberAllocator, postcode } from './ukIdentifiers.ts';

export type Sex = 'male' | 'female' | 'other' | 'unknown';

/** A person as one source records them; `Identity` with the true values is the ground truth. */
export interface Identity {
  givenName: string;
  middleName: string | null;
  familyName: string;
  /** `YYYY-MM-DD`. */
  birthDate: string;
  sex: Sex;
  nhsNumber: string | null;
  addressLines: readonly string[];
  town: string;
  county: string;
  postcode: string | null;
}

export interface TrueIdentity extends Identity {
  /** Null only once the 999 test range is used up: the person has no NHS number anywhere. */
  nhsNumber: string | null;
  postcode: string;
}

export interface Person {
  index: number;
  /** Truth key, `P0000001`; never written into a source. */
  personId: string;
  identity: TrueIdentity;
  birthSeconds: number;
  age: number;
  practice: Practice;
  conditions: readonly ConditionKey[];
  /** In the hospital feed (HL7): exactly two people in every block of five, so the feed's size is known up front. */
  inHospital: boolean;
  /** In the GP extract (FHIR): everyone not seen in hospital, and most who are. */
  inGpRecord: boolean;
}

const HOSPITAL_BLOCK = 5;
const HOSPITAL_PER_BLOCK = 2;

export function hospitalShareOf(patients: number): number {
  return Math.ceil(patients / HOSPITAL_BLOCK) * HOSPITAL_PER_BLOCK;
}

const AGE_BANDS: readonly (readonly [readonly [number, number], number])[] = [
  [[0, 17], 21],
  [[18, 39], 28],
  [[40, 64], 32],
  [[65, 84], 16],
  [[85, 100], 3],
];

export class Population {
  private readonly seed: number;
  private readonly settings: CareSettings;
  private readonly referenceSeconds: number;
  private readonly nhsNumbers: NhsNumberAllocator;
  private block = -1;
  private blockHospitalSlots: readonly number[] = [];

  constructor(seed: number, settings: CareSettings, referenceSeconds: number) {
    this.seed = seed;
    this.settings = settings;
    this.referenceSeconds = referenceSeconds;
    this.nhsNumbers = new NhsNumberAllocator(seed);
  }

  /** Must be called with index 0, 1, 2, … in order (NHS numbers are issued sequentially). */
  person(index: number): Person {
    const random = Random.derive(this.seed, 'person', index);
    const sex = random.weighted<Sex>([['female', 505], ['male', 490], ['other', 3], ['unknown', 2]]);
    const givenList = sex === 'female' ? FEMALE_GIVEN_NAMES : sex === 'male' ? MALE_GIVEN_NAMES : random.pick([FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES]);
    const givenName = random.pickSkewed(givenList);
    let middleName: string | null = null;
    if (random.chance(0.4)) {
      const candidate = random.pick(givenList);
      if (candidate !== givenName) middleName = candidate;
    }
    const familyName = random.pickSkewed(FAMILY_NAMES);

    const [minAge, maxAge] = random.weighted(AGE_BANDS);
    const age = random.int(minAge, maxAge);
    const birthSeconds = Math.floor(this.referenceSeconds / DAY) * DAY - age * YEAR - random.int(7, 364) * DAY;

    const region = random.pick(REGIONS);
    const practice = this.settings.practiceInRegion(region, random.int(0, this.settings.practicesInRegion(region) - 1));
    const street = `${random.int(1, 250)} ${random.pick(STREET_NAMES)}`;
    // A few address lines carry HL7 delimiters ('&', '\') so the feed has text that must be escaped.
    const addressLines = random.weighted<readonly string[]>([
      [[street], 930],
      [[`Flat ${random.int(1, 24)}`, street], 60],
      [["c/o O'Neil & Sons", street], 6],
      [[`Flat ${random.int(1, 9)}\\${random.int(1, 4)}`, street], 4],
    ]);

    const inHospital = this.isHospitalSlot(index);
    return {
      index,
      personId: `P${String(index + 1).padStart(7, '0')}`,
      identity: {
        givenName,
        middleName,
        familyName,
        birthDate: isoDate(birthSeconds),
        sex,
        nhsNumber: this.nhsNumbers.next(),
        addressLines,
        town: region.town,
        county: region.county,
        postcode: postcode(random.pick(region.outwardCodes), random),
      },
      birthSeconds,
      age,
      practice,
      conditions: sampleConditions(age, sex, random),
      inHospital,
      inGpRecord: !inHospital || random.chance(0.92),
    };
  }

  private isHospitalSlot(index: number): boolean {
    const block = Math.floor(index / HOSPITAL_BLOCK);
    if (block !== this.block) {
      const random = Random.derive(this.seed, 'hospital-block', block);
      const slots = [0, 1, 2, 3, 4];
      // Partial Fisher–Yates: the first two slots of a shuffled block are the hospital patients.
      for (let i = 0; i < HOSPITAL_PER_BLOCK; i++) {
        const j = random.int(i, slots.length - 1);
        [slots[i], slots[j]] = [slots[j]!, slots[i]!];
      }
      this.block = block;
      this.blockHospitalSlots = slots.slice(0, HOSPITAL_PER_BLOCK);
    }
    return this.blockHospitalSlots.includes(index % HOSPITAL_BLOCK);
  }
}
