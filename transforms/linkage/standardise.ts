// Standardisation: one SQL SELECT that turns the caller's columns (mapped onto roles) into the cleaned
// record table every later stage reads. Names lose case, accents, punctuation and digits; postcodes
// take the UK `OUTWARD INWARD` form with district and sector when they are UK-shaped (other postcodes
// are kept as compacted text); dates are parsed from ISO, compact, UK day-first and timestamp forms;
// NHS numbers are checked with Modulus 11 and classed as evidence or not. Pure: builds SQL only.

import { nhsNumberValidSql } from '../identifiers/nhsNumber.ts';
import { quoteIdent } from '../../core/sql.ts';
import { nicknameKeys } from './nicknames.ts';
import type { LinkageField, RoleMapping } from './roles.ts';

export interface StandardiseOptions {
  /** The input relation (a table name, or a `read_csv(…)` / `read_parquet(…)` call). */
  from: string;
  /** The input column naming each record. */
  idColumn: string;
  mapping: RoleMapping;
  /**
   * NHS numbers in the 999 test range are not evidence in production; test and synthetic
   * environments, where they stand in for real numbers, set this to true.
   */
  acceptTestNhsNumbers: boolean;
}

/** The columns of the standardised record table, for readers that need to know them. */
export const STANDARDISED_COLUMNS = [
  'rid', 'record_id', 'source', 'given_name', 'given_names', 'given_nickname_key', 'family_name',
  'birth_date', 'birth_date_text',
  'sex', 'postcode', 'postcode_sector', 'postcode_district', 'nhs_number', 'nhs_number_verified', 'address', 'email', 'email_user', 'phone',
  'linked_record_id', 'recorded_at',
] as const;

/** The mapped column(s) as one VARCHAR expression; NULL when the role is unmapped. */
function input(mapping: RoleMapping, field: LinkageField, alias?: string): string | null {
  const columns = mapping[field];
  if (columns === undefined) return null;
  const parts = columns.map((c) => `nullif(trim(CAST(${alias === undefined ? '' : `${alias}.`}${quoteIdent(c)} AS VARCHAR)), '')`);
  return parts.length === 1 ? parts[0]! : `nullif(concat_ws(' ', ${parts.join(', ')}), '')`;
}

/** Lower case, no accents, letters and single spaces only (hyphens and apostrophes split or vanish). */
export function cleanNameSql(expr: string): string {
  return `nullif(trim(regexp_replace(regexp_replace(lower(strip_accents(${expr})), '[^a-z\\s-]', '', 'g'), '[\\s-]+', ' ', 'g')), '')`;
}

/** A MAP literal from each known given name to its nickname group's key. */
function nicknameMapSql(): string {
  const entries = [...nicknameKeys()].filter(([name, key]) => name !== key).map(([name, key]) => `'${name}': '${key}'`);
  return `MAP {${entries.join(', ')}}`;
}

/** Street words people write either way. */
const ADDRESS_ABBREVIATIONS: readonly (readonly [string, string])[] = [
  ['street', 'st'], ['road', 'rd'], ['avenue', 'ave'], ['lane', 'ln'], ['drive', 'dr'], ['close', 'cl'], ['place', 'pl'],
  ['crescent', 'cres'], ['court', 'ct'], ['terrace', 'ter'], ['gardens', 'gdns'], ['square', 'sq'], ['grove', 'gr'],
  ['flat', 'flt'], ['apartment', 'flt'], ['house', 'ho'], ['north', 'n'], ['south', 's'], ['east', 'e'], ['west', 'w'],
];

export function cleanAddressSql(expr: string): string {
  let sql = `regexp_replace(lower(strip_accents(${expr})), '[^a-z0-9]+', ' ', 'g')`;
  for (const [long, short] of ADDRESS_ABBREVIATIONS) sql = `regexp_replace(${sql}, '\\b${long}\\b', '${short}', 'g')`;
  return `nullif(trim(regexp_replace(${sql}, '\\s+', ' ', 'g')), '')`;
}

/** ISO (`1971-06-24`, with or without a time), compact (`19710624`), UK day-first (`24/06/1971`, `24-06-1971`) and `1971/06/24`. */
export function parseDateSql(expr: string): string {
  const text = `regexp_extract(${expr}, '^[^T ]+')`;
  const formats = ['%Y-%m-%d', '%Y%m%d', '%d/%m/%Y', '%d-%m-%Y', '%Y/%m/%d', '%d.%m.%Y'];
  const parsed = `CAST(coalesce(${formats.map((f) => `try_strptime(${text}, '${f}')`).join(', ')}) AS DATE)`;
  // A two-digit year (`24/06/71`) parses as year 71: no living person was born before 1850.
  return `(SELECT CASE WHEN year(d) BETWEEN 1850 AND 2200 THEN d END FROM (SELECT ${parsed} AS d))`;
}

/** Lower case without spaces; NULL unless it has an `@`. */
function emailSql(expr: string | null): string {
  if (expr === null) return 'NULL::VARCHAR';
  return `CASE WHEN contains(${expr}, '@') THEN lower(replace(${expr}, ' ', '')) END`;
}

/** Digits only, a UK +44 prefix taken back to the trunk 0; NULL when fewer than 7 digits remain. */
function phoneSql(expr: string | null): string {
  if (expr === null) return 'NULL::VARCHAR';
  const digits = `regexp_replace(regexp_replace(${expr}, '[^0-9+]', '', 'g'), '^(\\+|00)44', '0')`;
  return `CASE WHEN length(regexp_replace(${digits}, '[^0-9]', '', 'g')) >= 7 THEN regexp_replace(${digits}, '[^0-9]', '', 'g') END`;
}

/** FHIR codes, HL7 v2 table 0001 and ISO 5218 digits; anything else (other, unknown) is not evidence. */
export function sexSql(expr: string): string {
  return `CASE lower(${expr}) WHEN 'm' THEN 'm' WHEN 'male' THEN 'm' WHEN '1' THEN 'm' WHEN 'f' THEN 'f' WHEN 'female' THEN 'f' WHEN '2' THEN 'f' END`;
}

const UK_POSTCODE = `'^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9])([A-Z]{2})$'`;

function postcodeColumns(expr: string | null): string[] {
  if (expr === null) return ['NULL::VARCHAR AS postcode', 'NULL::VARCHAR AS postcode_sector', 'NULL::VARCHAR AS postcode_district'];
  const compact = `nullif(upper(regexp_replace(${expr}, '[^A-Za-z0-9]', '', 'g')), '')`;
  const part = (n: number): string => `nullif(regexp_extract(${compact}, ${UK_POSTCODE}, ${n}), '')`;
  return [
    `coalesce(${part(1)} || ' ' || ${part(2)} || ${part(3)}, ${compact}) AS postcode`,
    `${part(1)} || ' ' || ${part(2)} AS postcode_sector`,
    `${part(1)} AS postcode_district`,
  ];
}

function nhsNumberColumns(number: string | null, status: string | null, acceptTest: boolean): string[] {
  if (number === null) return ['NULL::VARCHAR AS nhs_number', 'false AS nhs_number_verified'];
  const digits = `regexp_replace(${number}, '[\\s-]', '', 'g')`;
  // Only valid numbers are compared: a mistyped number fails Modulus 11 and says nothing either way.
  const usable = `(${nhsNumberValidSql(digits)}${acceptTest ? '' : ` AND NOT starts_with(${digits}, '999')`})`;
  // Without a verification status column every usable number is taken as traced.
  const verified = status === null ? usable : `(${usable} AND coalesce(trim(${status}) = '01', false))`;
  return [`CASE WHEN ${usable} THEN ${digits} END AS nhs_number`, `${verified} AS nhs_number_verified`];
}

/** The standardised record table's SELECT: one row per input row, `rid` numbering records by id. */
export function standardiseSql(options: StandardiseOptions): string {
  const m = options.mapping;
  const given = input(m, 'given_name');
  const family = input(m, 'family_name');
  const birth = input(m, 'birth_date');
  const address = input(m, 'address');
  const cleanGiven = given === null ? 'NULL' : cleanNameSql(given);
  const cleanFamily = family === null ? 'NULL' : cleanNameSql(family);
  const parsedBirth = birth === null ? 'NULL::DATE' : parseDateSql(birth);
  const cleanAddress = address === null ? 'NULL' : cleanAddressSql(address);
  const sex = input(m, 'sex');
  const source = input(m, 'source');
  const linked = input(m, 'linked_record_id');
  const recorded = input(m, 'recorded_at');
  const columns = [
    `CAST(row_number() OVER (ORDER BY __std_record_id) AS BIGINT) AS rid`,
    '__std_record_id AS record_id',
    `${source ?? 'NULL::VARCHAR'} AS source`,
    `split_part(__std_given_names, ' ', 1) AS given_name`,
    '__std_given_names AS given_names',
    `coalesce(${nicknameMapSql()}[split_part(__std_given_names, ' ', 1)], split_part(__std_given_names, ' ', 1)) AS given_nickname_key`,
    `replace(__std_family_names, ' ', '') AS family_name`,
    '__std_birth_date AS birth_date',
    `strftime(__std_birth_date, '%Y%m%d') AS birth_date_text`,
    `${sex === null ? 'NULL::VARCHAR' : sexSql(sex)} AS sex`,
    ...postcodeColumns(input(m, 'postcode')),
    ...nhsNumberColumns(input(m, 'nhs_number'), input(m, 'nhs_number_verification_status'), options.acceptTestNhsNumbers),
    '__std_address AS address',
    `${emailSql(input(m, 'email'))} AS email`,
    `split_part(${emailSql(input(m, 'email'))}, '@', 1) AS email_user`,
    `${phoneSql(input(m, 'phone'))} AS phone`,
    `${linked ?? 'NULL::VARCHAR'} AS linked_record_id`,
    `${recorded === null ? 'NULL::TIMESTAMP' : `TRY_CAST(${recorded} AS TIMESTAMP)`} AS recorded_at`,
  ];
  // The inner SELECT names the cleaned values once, so each is computed once per row; their __std_
  // prefix keeps them apart from input columns of the same name.
  return `SELECT ${columns.join(',\n       ')}
FROM (
  SELECT *,
         nullif(trim(CAST(${quoteIdent(options.idColumn)} AS VARCHAR)), '') AS __std_record_id,
         ${cleanGiven} AS __std_given_names,
         ${cleanFamily} AS __std_family_names,
         ${parsedBirth} AS __std_birth_date,
         ${cleanAddress} AS __std_address
  FROM ${options.from}
)`;
}

/** Roles whose value can be present yet unusable: an unreadable date, an invalid or test NHS number, an unknown sex code. */
const CHECKED_ROLES = ['birth_date', 'nhs_number', 'sex'] as const;

/**
 * Per checked role, how many records sent a value that standardisation could not use, and the first
 * such record id (ids, never values, go into messages). The record still links on its other fields.
 */
export function unreadableValuesSql(options: StandardiseOptions, records: string): string | null {
  const parts = CHECKED_ROLES.flatMap((role) => {
    const raw = input(options.mapping, role, 'x');
    if (raw === null) return [];
    return [`SELECT '${role}' AS role, count(*) AS records, min(r.record_id) AS first_record_id
FROM ${options.from} x JOIN ${records} r ON r.record_id = nullif(trim(CAST(x.${quoteIdent(options.idColumn)} AS VARCHAR)), '')
WHERE ${raw} IS NOT NULL AND r.${quoteIdent(role)} IS NULL`];
  });
  return parts.length === 0 ? null : parts.join('\nUNION ALL\n');
}

