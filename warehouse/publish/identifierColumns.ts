// Minimisation by construction: a serving table may not have a column whose name says it holds a
// direct identifier. Names are a backstop, not proof — a renamed identifier passes — but they catch
// the common mistake of `SELECT *` over a curated table. Pure.

/** Direct identifiers named in the governance spec, plus common spellings of the same things. */
export const IDENTIFIER_COLUMN_NAMES: readonly string[] = [
  'nhs_number',
  'mrn',
  'given_name',
  'family_name',
  'name',
  'birth_date',
  'postcode',
  'address',
  'phone',
  'email',
  'ni_number',
  'date_of_birth',
  'dob',
  'surname',
  'forename',
  'first_name',
  'last_name',
  'full_name',
  'patient_name',
  'telephone',
  'mobile',
];

// Terms that are identifying wherever they appear in a name (`patient_nhs_number`, `home_postcode`,
// `address_line_1`, `nhs_number_l`). `name` alone is not here: `practice_name` or `report_name` are not
// about a person, so only the exact names above catch it.
const IDENTIFYING_TERMS: readonly (readonly string[])[] = [
  ['nhs', 'number'],
  ['mrn'],
  ['given', 'name'],
  ['family', 'name'],
  ['birth', 'date'],
  ['date', 'of', 'birth'],
  ['dob'],
  ['postcode'],
  ['address'],
  ['phone'],
  ['telephone'],
  ['email'],
  ['ni', 'number'],
  ['surname'],
  ['forename'],
];

// A term followed by one of these describes a minimised or derived form (`postcode_district`,
// `birth_date_year`, `nhs_number_valid`, `nhs_number_token`), not the identifier itself.
const MINIMISED_SUFFIXES = new Set(['district', 'sector', 'area', 'lsoa', 'msoa', 'region', 'year', 'band', 'token', 'valid', 'verified', 'status', 'present', 'count', 'source']);

// Linkage pair suffixes (`_l`/`_r`) do not change what a column holds.
const PAIR_SUFFIX = /_(l|r)$/;

/** The identifier a column name looks like, or null when it does not look like one. */
export function identifierLikeColumn(column: string): string | null {
  const name = column.trim().toLowerCase().replace(PAIR_SUFFIX, '');
  if (IDENTIFIER_COLUMN_NAMES.includes(name)) return name;
  const segments = name.split(/[^a-z0-9]+/).filter((s) => s !== '');
  for (const term of IDENTIFYING_TERMS) {
    for (let start = 0; start + term.length <= segments.length; start++) {
      if (!term.every((part, i) => segments[start + i] === part)) continue;
      const after = segments.slice(start + term.length);
      if (!after.some((segment) => MINIMISED_SUFFIXES.has(segment))) return term.join('_');
    }
  }
  return null;
}
