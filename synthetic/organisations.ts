// The care settings a synthetic population is registered with and treated by: regions (a town, its
// postcode districts and its local acute trust), GP practices with ODS codes in the real `A81001`
// shape, the GPs who work there, and NHS trusts with three-character codes (`RX1`). Practices scale
// with the population (about one per 2,000 patients) and are built once up front — a few hundred
// objects even for a million patients — so people can point at them by index.

import { Random } from './random.ts';
import { GP_SURNAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, STREET_NAMES } from './names.ts';
import { gmpCode, postcode, sdsUserId } from './ukIdentifiers.ts';

export interface Trust {
  ods: string;
  name: string;
  fhirId: string;
  /** Hospital site codes (`RX101`), used as the PV1-3 facility. */
  sites: readonly string[];
}

export interface Region {
  index: number;
  town: string;
  county: string;
  outwardCodes: readonly string[];
  /** First letter of every practice code in this region, as in the old health-authority prefixes. */
  practiceLetter: string;
  trust: Trust;
}

export interface Practice {
  index: number;
  ods: string;
  name: string;
  fhirId: string;
  region: Region;
  addressLine: string;
  postcode: string;
  gps: readonly GeneralPractitioner[];
}

export interface GeneralPractitioner {
  fhirId: string;
  sdsUserId: string;
  gmpCode: string;
  givenName: string;
  familyName: string;
  gender: 'male' | 'female';
}

const TRUSTS: readonly Trust[] = [
  { ods: 'RX1', name: 'Carelake Teaching Hospitals NHS Trust', fhirId: 'org-RX1', sites: ['RX101', 'RX102'] },
  { ods: 'RR8', name: 'Northern Dales Hospitals NHS Foundation Trust', fhirId: 'org-RR8', sites: ['RR801', 'RR802', 'RR803'] },
  { ods: 'RM3', name: 'Riverside & Moorland Hospitals NHS Trust', fhirId: 'org-RM3', sites: ['RM301'] },
];

function trust(ods: string): Trust {
  const found = TRUSTS.find((t) => t.ods === ods);
  if (!found) throw new RangeError(`unknown trust ${ods}`);
  return found;
}

export const REGIONS: readonly Region[] = [
  { index: 0, town: 'Leeds', county: 'West Yorkshire', outwardCodes: ['LS1', 'LS2', 'LS6', 'LS7', 'LS8', 'LS9', 'LS11', 'LS17'], practiceLetter: 'B', trust: trust('RR8') },
  { index: 1, town: 'Manchester', county: 'Greater Manchester', outwardCodes: ['M1', 'M8', 'M13', 'M14', 'M20', 'M21'], practiceLetter: 'P', trust: trust('RM3') },
  { index: 2, town: 'Sheffield', county: 'South Yorkshire', outwardCodes: ['S1', 'S2', 'S6', 'S10', 'S11'], practiceLetter: 'C', trust: trust('RR8') },
  { index: 3, town: 'Birmingham', county: 'West Midlands', outwardCodes: ['B1', 'B12', 'B13', 'B15', 'B29'], practiceLetter: 'M', trust: trust('RX1') },
  { index: 4, town: 'Newcastle upon Tyne', county: 'Tyne and Wear', outwardCodes: ['NE1', 'NE2', 'NE4', 'NE6'], practiceLetter: 'A', trust: trust('RR8') },
  { index: 5, town: 'Bristol', county: 'City of Bristol', outwardCodes: ['BS1', 'BS3', 'BS6', 'BS8'], practiceLetter: 'L', trust: trust('RX1') },
  { index: 6, town: 'Nottingham', county: 'Nottinghamshire', outwardCodes: ['NG1', 'NG5', 'NG7', 'NG9'], practiceLetter: 'K', trust: trust('RX1') },
  { index: 7, town: 'Liverpool', county: 'Merseyside', outwardCodes: ['L1', 'L8', 'L15', 'L17'], practiceLetter: 'N', trust: trust('RM3') },
];

export function practiceCountFor(patients: number): number {
  return Math.max(REGIONS.length, Math.ceil(patients / 2000));
}

export class CareSettings {
  readonly trusts: readonly Trust[] = TRUSTS;
  readonly practices: readonly Practice[];

  constructor(seed: number, practiceCount: number) {
    const practices: Practice[] = [];
    for (let index = 0; index < practiceCount; index++) practices.push(buildPractice(seed, index));
    this.practices = practices;
  }

  /** Practices are dealt round-robin to regions, so region r holds indexes r, r + 8, r + 16, … */
  practicesInRegion(region: Region): number {
    return Math.floor((this.practices.length - region.index - 1) / REGIONS.length) + 1;
  }

  practiceInRegion(region: Region, k: number): Practice {
    const practice = this.practices[region.index + k * REGIONS.length];
    if (!practice) throw new RangeError(`region ${region.index} has no practice ${k}`);
    return practice;
  }
}

function buildPractice(seed: number, index: number): Practice {
  const random = Random.derive(seed, 'practice', index);
  const region = REGIONS[index % REGIONS.length]!;
  // Mixed radix over (letter, 81–99, 001–999) makes every code distinct, e.g. B81001, B82001, …
  const j = Math.floor(index / REGIONS.length);
  const ods = `${region.practiceLetter}${81 + (j % 19)}${String(1 + Math.floor(j / 19)).padStart(3, '0')}`;
  const street = random.pick(STREET_NAMES.filter((s) => !s.includes('&')));
  const gps: GeneralPractitioner[] = [];
  const gpCount = 2 + (index % 3);
  for (let g = 0; g < gpCount; g++) {
    const gender = random.chance(0.55) ? 'female' : 'male';
    gps.push({
      fhirId: random.uuid(),
      sdsUserId: sdsUserId(index, g),
      gmpCode: gmpCode(index, g),
      givenName: random.pick(gender === 'female' ? FEMALE_GIVEN_NAMES : MALE_GIVEN_NAMES),
      familyName: random.pick(GP_SURNAMES),
      gender,
    });
  }
  const leadGp = gps[0]!;
  // Partnership names carry an '&', which HL7 must escape as \T\ in PD1-3.
  const name = random.weighted<string>([
    [`${street.replace(/ (Road|Street|Lane|Avenue|Way)$/, '')} Surgery`, 3],
    [`${region.town} ${random.pick(['Medical Centre', 'Health Centre', 'Family Practice'])}`, 3],
    [`Dr ${leadGp.familyName} & Partners`, 2],
    [`The ${random.pick(['Willows', 'Beeches', 'Limes', 'Orchard'])} Practice`, 1],
  ]);
  return {
    index,
    ods,
    name,
    fhirId: random.uuid(),
    region,
    addressLine: `${random.int(1, 120)} ${street}`,
    postcode: postcode(random.pick(region.outwardCodes), random),
    gps,
  };
}
