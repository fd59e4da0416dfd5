// Realistic data-quality defects in a source's copy of a person: a one-letter typo, a nickname, day
// and month swapped in the birth date, a missing / mistyped / temporary NHS number, a missing
// postcode. The truth files keep the true values, so linkage can be scored against them. Rates are
// small and every draw comes from the caller's random stream, so the same seed damages the same
// records. Each copy reports the defects it actually received (a swap is only a defect when it
// changes the date), which the truth files list per source record. A person with no NHS number at all
// (the 999 test range ran out) cannot have one lost, mistyped or replaced: their copies simply have none,
// state `none`, and no NHS-number defect is recorded.

import { nicknamesFor } from './names.ts';
import type { Identity, TrueIdentity } from './population.ts';
import type { Random } from './random.ts';
import { temporaryNumber, withWrongCheckDigit } from './ukIdentifiers.ts';

export type DefectKind =
  | 'nickname'
  | 'name_typo'
  | 'swapped_day_month'
  | 'missing_nhs_number'
  | 'invalid_nhs_check_digit'
  | 'temporary_nhs_number'
  | 'missing_postcode';

export const DEFECT_KINDS: readonly DefectKind[] = [
  'nickname',
  'name_typo',
  'swapped_day_month',
  'missing_nhs_number',
  'invalid_nhs_check_digit',
  'temporary_nhs_number',
  'missing_postcode',
];

export type DefectRates = Readonly<Record<DefectKind, number>>;

/** GP systems are traced against PDS regularly, so their NHS numbers are cleaner than a PAS's. */
export const GP_RECORD_DEFECTS: DefectRates = {
  nickname: 0.03,
  name_typo: 0.02,
  swapped_day_month: 0.02,
  missing_nhs_number: 0.02,
  invalid_nhs_check_digit: 0.01,
  temporary_nhs_number: 0,
  missing_postcode: 0.02,
};

export const HOSPITAL_DEFECTS: DefectRates = {
  nickname: 0.04,
  name_typo: 0.03,
  swapped_day_month: 0.03,
  missing_nhs_number: 0.03,
  invalid_nhs_check_digit: 0.01,
  temporary_nhs_number: 0.01,
  missing_postcode: 0.01,
};

/** A second registration under a new MRN is usually a rushed one — the reason it was not matched. */
export const DUPLICATE_REGISTRATION_DEFECTS: DefectRates = {
  nickname: 0.2,
  name_typo: 0.3,
  swapped_day_month: 0.1,
  missing_nhs_number: 0.5,
  invalid_nhs_check_digit: 0.05,
  temporary_nhs_number: 0.15,
  missing_postcode: 0.1,
};

/** `none`: the person has no NHS number anywhere (not a defect); `missing`: the source lost the one they have. */
export type NhsNumberState = 'valid' | 'none' | 'missing' | 'invalid' | 'temporary';

/**
 * The PDS trace status a source holds for its copy's NHS number: 01 for a number held and traced (most
 * valid ones), 02 for one held but not traced or failing Modulus 11, 04 for a temporary number (trace
 * attempted, no match), 03 or 07 when the record has no number (trace required / not required).
 */
export function nhsNumberVerificationStatus(state: NhsNumberState, random: Random): string {
  if (state === 'valid') return random.chance(0.92) ? '01' : '02';
  if (state === 'invalid') return '02';
  if (state === 'temporary') return '04';
  return random.pick(['03', '07']);
}

export interface SourceCopy {
  identity: Identity;
  nhsNumberState: NhsNumberState;
  defects: DefectKind[];
}

export function sourceCopy(truth: TrueIdentity, rates: DefectRates, random: Random): SourceCopy {
  const defects: DefectKind[] = [];
  let givenName = truth.givenName;
  let familyName = truth.familyName;
  let birthDate = truth.birthDate;
  let nhsNumber: string | null = truth.nhsNumber;
  let nhsNumberState: NhsNumberState = truth.nhsNumber === null ? 'none' : 'valid';
  let postcode: string | null = truth.postcode;

  const nicknames = nicknamesFor(givenName);
  if (random.chance(rates.nickname) && nicknames.length > 0) {
    givenName = random.pick(nicknames);
    defects.push('nickname');
  }
  if (random.chance(rates.name_typo)) {
    if (random.chance(0.6)) familyName = oneEdit(familyName, random);
    else givenName = oneEdit(givenName, random);
    defects.push('name_typo');
  }
  if (random.chance(rates.swapped_day_month)) {
    const swapped = swapDayMonth(birthDate);
    if (swapped !== null) {
      birthDate = swapped;
      defects.push('swapped_day_month');
    }
  }
  // One NHS-number fault at most: the three are alternatives, not independent. The draw is taken even
  // for someone without a number, so the rest of the copy comes from the same point in the stream.
  const nhsDraw = random.next();
  if (truth.nhsNumber === null) {
    // Nothing to lose, mistype or replace.
  } else if (nhsDraw < rates.missing_nhs_number) {
    nhsNumber = null;
    nhsNumberState = 'missing';
    defects.push('missing_nhs_number');
  } else if (nhsDraw < rates.missing_nhs_number + rates.invalid_nhs_check_digit) {
    nhsNumber = withWrongCheckDigit(truth.nhsNumber, random);
    nhsNumberState = 'invalid';
    defects.push('invalid_nhs_check_digit');
  } else if (nhsDraw < rates.missing_nhs_number + rates.invalid_nhs_check_digit + rates.temporary_nhs_number) {
    nhsNumber = temporaryNumber(random);
    nhsNumberState = 'temporary';
    defects.push('temporary_nhs_number');
  }
  if (random.chance(rates.missing_postcode)) {
    postcode = null;
    defects.push('missing_postcode');
  }
  return { identity: { ...truth, givenName, familyName, birthDate, nhsNumber, postcode }, nhsNumberState, defects };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * One Levenshtein edit on a letter (substitute, delete or double it), keeping the case of the
 * position it touches. Punctuation (O'Neil, Smith-Jones) is left alone.
 */
export function oneEdit(name: string, random: Random): string {
  const positions: number[] = [];
  for (let i = 0; i < name.length; i++) if (/[A-Za-z]/.test(name.charAt(i))) positions.push(i);
  if (positions.length === 0) return `${name}e`;
  const at = random.pick(positions);
  const original = name.charAt(at);
  const upper = original !== original.toLowerCase();
  const operation = name.length > 3 ? random.pick(['substitute', 'delete', 'double'] as const) : random.pick(['substitute', 'double'] as const);
  if (operation === 'delete') return name.slice(0, at) + name.slice(at + 1);
  if (operation === 'double') return name.slice(0, at + 1) + original.toLowerCase() + name.slice(at + 1);
  let replacement = original.toLowerCase();
  while (replacement === original.toLowerCase()) replacement = LETTERS.charAt(random.int(0, LETTERS.length - 1));
  return name.slice(0, at) + (upper ? replacement.toUpperCase() : replacement) + name.slice(at + 1);
}

/** `1980-03-07` → `1980-07-03`; null when the swap is impossible (day > 12) or changes nothing. */
export function swapDayMonth(isoDate: string): string | null {
  const [year, month, day] = isoDate.split('-');
  if (year === undefined || month === undefined || day === undefined) return null;
  if (Number(day) > 12 || day === month) return null;
  return `${year}-${day}-${month}`;
}
