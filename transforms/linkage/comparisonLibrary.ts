// The comparisons carelake uses for each identity role, strongest level first. Thresholds follow
// Splink's published name, date and postcode comparisons (Jaro-Winkler 0.92 / 0.8 for names), with
// the health-record errors our sources show added as levels of their own: nicknames, a middle name
// used as the first name, given and family names swapped, day and month transposed, one mistyped digit.
// Pure: builds Comparisons only.

import { Comparison } from './comparison.ts';
import {
  ComparisonLevel,
  amongWordsLevel,
  containsLevel,
  crossedLevel,
  damerauLevenshteinLevel,
  dayMonthSwapLevel,
  exactLevel,
  hammingLevel,
  jaroWinklerLevel,
  nullLevel,
} from './comparisonLevel.ts';
import type { LinkageRole } from './roles.ts';

type ComparisonFactory = (roles: ReadonlySet<LinkageRole>) => Comparison;

const COMPARISONS: Readonly<Record<LinkageRole, ComparisonFactory>> = {
  given_name: (roles) =>
    new Comparison('given_name', ['given_name'], nullLevel('given_name'), [
      exactLevel('given_name', { termFrequency: true }),
      ...(roles.has('family_name') ? [crossedLevel('given_name', 'family_name')] : []),
      new ComparisonLevel('given_name nickname', `"given_nickname_key_l" = "given_nickname_key_r"`),
      jaroWinklerLevel('given_name', 0.92),
      amongWordsLevel('given_name', 'given_names'),
      jaroWinklerLevel('given_name', 0.8),
    ]),
  family_name: (roles) =>
    new Comparison('family_name', ['family_name'], nullLevel('family_name'), [
      exactLevel('family_name', { termFrequency: true }),
      ...(roles.has('given_name') ? [crossedLevel('family_name', 'given_name')] : []),
      jaroWinklerLevel('family_name', 0.92),
      containsLevel('family_name', 3),
      jaroWinklerLevel('family_name', 0.8),
    ]),
  birth_date: () =>
    new Comparison('birth_date', ['birth_date'], nullLevel('birth_date'), [
      exactLevel('birth_date'),
      hammingLevel('birth_date_text', 1),
      dayMonthSwapLevel('birth_date'),
      hammingLevel('birth_date_text', 2),
    ]),
  sex: () => new Comparison('sex', ['sex'], nullLevel('sex'), [exactLevel('sex')]),
  postcode: () =>
    new Comparison('postcode', ['postcode'], nullLevel('postcode'), [
      exactLevel('postcode'),
      exactLevel('postcode_sector'),
      jaroWinklerLevel('postcode', 0.9),
      exactLevel('postcode_district'),
    ]),
  nhs_number: () => new Comparison('nhs_number', ['nhs_number'], nullLevel('nhs_number'), [exactLevel('nhs_number')]),
  address: () =>
    new Comparison('address', ['address'], nullLevel('address'), [
      exactLevel('address'),
      jaroWinklerLevel('address', 0.9),
      jaroWinklerLevel('address', 0.7),
    ]),
  email: () =>
    new Comparison('email', ['email'], nullLevel('email'), [
      exactLevel('email'),
      exactLevel('email_user'),
      jaroWinklerLevel('email', 0.88),
    ]),
  phone: () =>
    new Comparison('phone', ['phone'], nullLevel('phone'), [
      exactLevel('phone'),
      hammingLevel('phone', 1),
    ]),
};

/** The comparisons for the mapped roles, in role order. */
export function comparisonsFor(roles: readonly LinkageRole[]): Comparison[] {
  const set = new Set(roles);
  return roles.map((role) => COMPARISONS[role](set));
}
