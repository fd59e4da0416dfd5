// Comparison levels and the comparison library, run in a real in-memory DuckDB: each level's SQL is
// evaluated over a one-row `(VALUES …) t(<col>_l, <col>_r)` pair, and each comparison's gamma over a
// pair holding exactly the columns `columnsRead()` names. Nothing compares SQL text.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb, type Json } from '../../../core/duckdb.ts';
import { quoteIdent } from '../../../core/sql.ts';
import { Comparison, ELSE_GAMMA, NULL_GAMMA } from '../../../transforms/linkage/comparison.ts';
import {
  ComparisonLevel,
  amongWordsLevel,
  containsLevel,
  crossedLevel,
  damerauLevenshteinLevel,
  dateWithinLevel,
  dayMonthSwapLevel,
  exactLevel,
  hammingLevel,
  jaroWinklerLevel,
  nullLevel,
} from '../../../transforms/linkage/comparisonLevel.ts';
import { comparisonsFor } from '../../../transforms/linkage/comparisonLibrary.ts';
import { nicknameKeys } from '../../../transforms/linkage/nicknames.ts';
import { LINKAGE_ROLES, type LinkageRole } from '../../../transforms/linkage/roles.ts';
import { STANDARDISED_COLUMNS } from '../../../transforms/linkage/standardise.ts';

type Value = string | null;
type Side = Readonly<Record<string, Value>>;

let db: DuckDb;
beforeAll(async () => {
  db = await DuckDb.open(':memory:');
});
afterAll(() => db?.close());

/** DATE for the date columns, VARCHAR for the rest (as in the standardised record table). */
function sqlType(column: string): string {
  return column === 'birth_date' || column.endsWith('_date') ? 'DATE' : 'VARCHAR';
}

/** One pair as `(VALUES (…)) t(pair_id, "<col>_l", "<col>_r", …)`, values bound as parameters. */
function pairRelation(columns: readonly string[], l: Side, r: Side): { sql: string; params: Value[] } {
  const params = columns.flatMap((c) => [l[c] ?? null, r[c] ?? null]);
  const values = ['1', ...columns.flatMap((c, i) => [`CAST($${2 * i + 1} AS ${sqlType(c)})`, `CAST($${2 * i + 2} AS ${sqlType(c)})`])];
  const names = ['pair_id', ...columns.flatMap((c) => [quoteIdent(`${c}_l`), quoteIdent(`${c}_r`)])];
  return { sql: `(VALUES (${values.join(', ')})) t(${names.join(', ')})`, params };
}

async function evaluateLevel(level: ComparisonLevel, l: Side, r: Side): Promise<Json> {
  const columns = [...new Set([...Object.keys(l), ...Object.keys(r)])];
  const pair = pairRelation(columns, l, r);
  const rows = await db.all(`SELECT ${level.toSql()} AS hit FROM ${pair.sql}`, pair.params);
  return rows[0]!['hit']!;
}

interface LevelCase {
  description: string;
  l: Side;
  r: Side;
  /** SQL's answer: true, false, or null (unknown, which a CASE WHEN treats as no match). */
  expected: boolean | null;
}

interface LevelGroup {
  name: string;
  level: ComparisonLevel;
  label: string;
  cases: LevelCase[];
}

/** Shorthand for the single-column levels: `{ description, l, r, expected }` on column `x`. */
function on(column: string, cases: readonly { description: string; l: Value; r: Value; expected: boolean | null }[]): LevelCase[] {
  return cases.map(({ description, l, r, expected }) => ({ description, l: { [column]: l }, r: { [column]: r }, expected }));
}

const LEVEL_GROUPS: LevelGroup[] = [
  {
    name: 'nullLevel',
    level: nullLevel('name'),
    label: 'name missing',
    cases: on('name', [
      { description: 'left missing', l: null, r: 'smith', expected: true },
      { description: 'right missing', l: 'smith', r: null, expected: true },
      { description: 'both missing', l: null, r: null, expected: true },
      { description: 'both present, even when different', l: 'smith', r: 'jones', expected: false },
    ]),
  },
  {
    name: 'exactLevel',
    level: exactLevel('name'),
    label: 'name exact',
    cases: on('name', [
      { description: 'equal', l: 'smith', r: 'smith', expected: true },
      { description: 'different', l: 'smith', r: 'smyth', expected: false },
      { description: 'case matters (standardisation lowers it first)', l: 'Smith', r: 'smith', expected: false },
      { description: 'a NULL is unknown, never equal', l: null, r: 'smith', expected: null },
      { description: 'two NULLs are not equal', l: null, r: null, expected: null },
    ]),
  },
  {
    name: 'exactLevel on dates',
    level: exactLevel('birth_date'),
    label: 'birth_date exact',
    cases: on('birth_date', [
      { description: 'same date', l: '1971-06-24', r: '1971-06-24', expected: true },
      { description: 'a day apart', l: '1971-06-24', r: '1971-06-25', expected: false },
    ]),
  },
  {
    name: 'jaroWinklerLevel',
    level: jaroWinklerLevel('name', 0.92),
    label: 'name Jaro-Winkler >= 0.92',
    cases: on('name', [
      { description: 'identical', l: 'jonathan', r: 'jonathan', expected: true },
      { description: 'one letter wrong late in the name (0.95)', l: 'jonathan', r: 'jonathon', expected: true },
      { description: 'exactly at the threshold counts (marie/maria 0.92)', l: 'marie', r: 'maria', expected: true },
      { description: 'a vowel swapped early (smith/smyth 0.893)', l: 'smith', r: 'smyth', expected: false },
      { description: 'unrelated names', l: 'john', r: 'mary', expected: false },
      { description: 'NULL', l: 'john', r: null, expected: null },
    ]),
  },
  {
    name: 'jaroWinklerLevel with a lower threshold',
    level: jaroWinklerLevel('name', 0.8),
    label: 'name Jaro-Winkler >= 0.8',
    cases: on('name', [
      { description: 'smith/smyth passes 0.8', l: 'smith', r: 'smyth', expected: true },
      { description: 'graham/graeme (0.844) passes 0.8', l: 'graham', r: 'graeme', expected: true },
      { description: 'leigh/lee (0.689) does not', l: 'leigh', r: 'lee', expected: false },
    ]),
  },
  {
    name: 'damerauLevenshteinLevel',
    level: damerauLevenshteinLevel('name', 1),
    label: 'name Damerau-Levenshtein <= 1',
    cases: on('name', [
      { description: 'identical (distance 0)', l: 'smith', r: 'smith', expected: true },
      { description: 'two adjacent letters transposed is one edit', l: 'smith', r: 'smiht', expected: true },
      { description: 'one substitution', l: 'smith', r: 'smoth', expected: true },
      { description: 'one letter missing', l: 'thompson', r: 'thomson', expected: true },
      { description: 'two substitutions', l: 'smith', r: 'smyte', expected: false },
      { description: 'NULL', l: null, r: 'smith', expected: null },
    ]),
  },
  {
    name: 'hammingLevel',
    level: hammingLevel('text', 1),
    label: 'text Hamming <= 1',
    cases: on('text', [
      { description: 'identical', l: '19710624', r: '19710624', expected: true },
      { description: 'one digit mistyped', l: '19710624', r: '19710625', expected: true },
      { description: 'one digit mistyped in the year', l: '19710624', r: '19810624', expected: true },
      { description: 'two digits differ', l: '19710624', r: '19810625', expected: false },
      { description: 'NULL', l: null, r: '19710624', expected: null },
    ]),
  },
  {
    name: 'dayMonthSwapLevel',
    level: dayMonthSwapLevel('birth_date'),
    label: 'birth_date day and month swapped',
    cases: on('birth_date', [
      { description: 'day and month transposed', l: '1971-06-04', r: '1971-04-06', expected: true },
      { description: 'transposed the other way round', l: '1971-04-06', r: '1971-06-04', expected: true },
      { description: 'transposed but a different year', l: '1971-06-04', r: '1972-04-06', expected: false },
      { description: 'a different day only', l: '1971-06-04', r: '1971-06-05', expected: false },
      { description: 'day equal to month: the same date reads the same swapped', l: '1971-06-06', r: '1971-06-06', expected: true },
      { description: 'NULL', l: null, r: '1971-06-04', expected: null },
    ]),
  },
  {
    name: 'dateWithinLevel',
    level: dateWithinLevel('birth_date', 30),
    label: 'birth_date within 30 days',
    cases: on('birth_date', [
      { description: 'same day', l: '1971-06-24', r: '1971-06-24', expected: true },
      { description: '16 days later', l: '1971-06-24', r: '1971-07-10', expected: true },
      { description: '16 days earlier (order does not matter)', l: '1971-07-10', r: '1971-06-24', expected: true },
      { description: 'exactly 30 days apart', l: '1971-06-01', r: '1971-07-01', expected: true },
      { description: '31 days apart', l: '1971-06-01', r: '1971-07-02', expected: false },
      { description: 'a year apart', l: '1971-06-24', r: '1972-06-24', expected: false },
      { description: 'NULL', l: '1971-06-24', r: null, expected: null },
    ]),
  },
  {
    name: 'containsLevel',
    level: containsLevel('name', 3),
    label: 'name one contains the other',
    cases: on('name', [
      { description: 'a double-barrelled name holds the other', l: 'smith', r: 'smithjones', expected: true },
      { description: 'either side may hold the other', l: 'smithjones', r: 'jones', expected: true },
      { description: 'too short to count (2 < 3 letters)', l: 'jo', r: 'jones', expected: false },
      { description: 'exactly the minimum length', l: 'ann', r: 'joann', expected: true },
      { description: 'neither inside the other', l: 'smith', r: 'smyth', expected: false },
      { description: 'NULL', l: null, r: 'smith', expected: null },
    ]),
  },
  {
    name: 'amongWordsLevel',
    level: amongWordsLevel('given_name', 'given_names'),
    label: "given_name among the other's given_names",
    cases: [
      {
        description: 'the right record uses its middle name as first name',
        l: { given_name: 'james', given_names: 'james robert' },
        r: { given_name: 'robert', given_names: 'robert' },
        expected: true,
      },
      {
        description: 'the left record uses its middle name as first name',
        l: { given_name: 'robert', given_names: 'robert' },
        r: { given_name: 'james', given_names: 'james robert' },
        expected: true,
      },
      {
        description: 'a whole word only: a prefix of a middle name does not count',
        l: { given_name: 'rob', given_names: 'rob' },
        r: { given_name: 'james', given_names: 'james robert' },
        expected: false,
      },
      {
        description: 'no shared word',
        l: { given_name: 'james', given_names: 'james' },
        r: { given_name: 'robert', given_names: 'robert william' },
        expected: false,
      },
    ],
  },
  {
    name: 'crossedLevel',
    level: crossedLevel('given_name', 'family_name'),
    label: 'given_name and family_name swapped',
    cases: [
      {
        description: 'given and family names entered the wrong way round',
        l: { given_name: 'john', family_name: 'smith' },
        r: { given_name: 'smith', family_name: 'john' },
        expected: true,
      },
      {
        description: 'swapped, with a small typo (jonathan/jonathon 0.95)',
        l: { given_name: 'jonathan', family_name: 'thompson' },
        r: { given_name: 'thompson', family_name: 'jonathon' },
        expected: true,
      },
      {
        description: 'swapped, with a typo below 0.92 (smith/smyth)',
        l: { given_name: 'john', family_name: 'smith' },
        r: { given_name: 'smyth', family_name: 'john' },
        expected: false,
      },
      {
        description: 'not swapped: the same names in the same places',
        l: { given_name: 'john', family_name: 'smith' },
        r: { given_name: 'john', family_name: 'smith' },
        expected: false,
      },
      {
        description: 'only one of the two crossed over',
        l: { given_name: 'john', family_name: 'smith' },
        r: { given_name: 'smith', family_name: 'jones' },
        expected: false,
      },
    ],
  },
  {
    name: 'and()',
    level: exactLevel('a').and(exactLevel('b')),
    label: 'a exact and b exact',
    cases: [
      { description: 'both agree', l: { a: 'x', b: 'y' }, r: { a: 'x', b: 'y' }, expected: true },
      { description: 'one disagrees', l: { a: 'x', b: 'y' }, r: { a: 'x', b: 'z' }, expected: false },
      { description: 'unknown and false is false', l: { a: null, b: 'y' }, r: { a: 'x', b: 'z' }, expected: false },
      { description: 'unknown and true is unknown', l: { a: null, b: 'y' }, r: { a: 'x', b: 'y' }, expected: null },
    ],
  },
  {
    name: 'or()',
    level: exactLevel('a').or(exactLevel('b')),
    label: 'a exact or b exact',
    cases: [
      { description: 'either agrees', l: { a: 'x', b: 'y' }, r: { a: 'q', b: 'y' }, expected: true },
      { description: 'neither agrees', l: { a: 'x', b: 'y' }, r: { a: 'q', b: 'z' }, expected: false },
      { description: 'unknown or true is true', l: { a: null, b: 'y' }, r: { a: 'x', b: 'y' }, expected: true },
      { description: 'unknown or false is unknown', l: { a: null, b: 'y' }, r: { a: 'x', b: 'z' }, expected: null },
    ],
  },
  {
    name: 'not()',
    level: exactLevel('a').not(),
    label: 'not (a exact)',
    cases: [
      { description: 'agreeing values', l: { a: 'x' }, r: { a: 'x' }, expected: false },
      { description: 'different values', l: { a: 'x' }, r: { a: 'y' }, expected: true },
      { description: 'an unknown condition counts as not holding, so not() holds', l: { a: null }, r: { a: 'x' }, expected: true },
    ],
  },
  {
    name: 'composition',
    level: exactLevel('a').and(exactLevel('b').not()).or(nullLevel('c')),
    label: 'a exact and not (b exact) or c missing',
    cases: [
      { description: 'a agrees, b differs', l: { a: 'x', b: 'y', c: '1' }, r: { a: 'x', b: 'z', c: '1' }, expected: true },
      { description: 'a and b agree, c present', l: { a: 'x', b: 'y', c: '1' }, r: { a: 'x', b: 'y', c: '1' }, expected: false },
      { description: 'a and b agree, c missing', l: { a: 'x', b: 'y', c: null }, r: { a: 'x', b: 'y', c: '1' }, expected: true },
    ],
  },
];

describe.each(LEVEL_GROUPS)('$name', ({ level, label, cases }) => {
  it('labels itself', () => {
    expect(level.label()).toBe(label);
  });
  it.each(cases)('$description', async ({ l, r, expected }) => {
    expect(await evaluateLevel(level, l, r)).toBe(expected);
  });
});

describe('level options', () => {
  it('exactLevel carries its term-frequency column only when asked', () => {
    expect(exactLevel('given_name', { termFrequency: true }).tfColumn).toBe('given_name');
    expect(exactLevel('given_name').tfColumn).toBeNull();
    expect(jaroWinklerLevel('given_name', 0.9).tfColumn).toBeNull();
  });

  // DuckDB's hamming() throws on unequal lengths; the level must answer false instead.
  it('hammingLevel: texts of different lengths are not a match, not an error', async () => {
    expect(await evaluateLevel(hammingLevel('text', 1), { text: '1971062' }, { text: '19710624' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// The comparison library.

/** Standardised record values, as standardise.ts writes them (standardise.test.ts checks that). */
interface StdRecord {
  given_names?: string | null;
  family_name?: string | null;
  birth_date?: string | null;
  sex?: string | null;
  postcode?: string | null;
  nhs_number?: string | null;
  address?: string | null;
  email?: string | null;
  phone?: string | null;
}

const NICKNAMES = nicknameKeys();

/** The derived columns standardisation adds: first given name, nickname key, date text, postcode parts, email user. */
function standardised(record: StdRecord): Record<string, Value> {
  const givenNames = record.given_names ?? null;
  const given = givenNames === null ? null : givenNames.split(' ')[0]!;
  const postcode = record.postcode ?? null;
  const uk = postcode === null ? null : /^(\S+) (\d)[A-Z]{2}$/.exec(postcode);
  return {
    given_name: given,
    given_names: givenNames,
    given_nickname_key: given === null ? null : (NICKNAMES.get(given) ?? given),
    family_name: record.family_name ?? null,
    birth_date: record.birth_date ?? null,
    birth_date_text: record.birth_date == null ? null : record.birth_date.replaceAll('-', ''),
    sex: record.sex ?? null,
    postcode,
    postcode_sector: uk === null ? null : `${uk[1]} ${uk[2]}`,
    postcode_district: uk === null ? null : uk[1]!,
    nhs_number: record.nhs_number ?? null,
    address: record.address ?? null,
    email: record.email ?? null,
    email_user: record.email == null ? null : record.email.split('@')[0]!,
    phone: record.phone ?? null,
  };
}

const ALL = comparisonsFor([...LINKAGE_ROLES]);

function comparison(name: LinkageRole, roles: readonly LinkageRole[] = LINKAGE_ROLES): Comparison {
  const found = comparisonsFor([...roles]).find((c) => c.name === name);
  if (found === undefined) throw new Error(`no comparison ${name}`);
  return found;
}

/** The comparison's gamma for a pair holding exactly the columns it says it reads. */
async function gamma(c: Comparison, l: StdRecord, r: StdRecord, columns: readonly string[] = c.columnsRead()): Promise<number> {
  const pair = pairRelation(columns, standardised(l), standardised(r));
  const rows = await db.all(`SELECT ${c.gammaSql()} FROM ${pair.sql}`, pair.params);
  return Number(rows[0]![c.gammaColumn]);
}

interface GammaCase {
  description: string;
  l: StdRecord;
  r: StdRecord;
  expected: number;
}

const JOHN: StdRecord = { given_names: 'john', family_name: 'smith' };

const GAMMA_CASES: Record<LinkageRole, GammaCase[]> = {
  // 6 exact, 5 given/family swapped, 4 nickname, 3 JW 0.92, 2 middle name, 1 JW 0.8
  given_name: [
    { description: 'exact → top gamma', l: JOHN, r: JOHN, expected: 6 },
    { description: 'given and family swapped', l: JOHN, r: { given_names: 'smith', family_name: 'john' }, expected: 5 },
    { description: 'nickname bob/robert', l: { given_names: 'bob', family_name: 'smith' }, r: { given_names: 'robert', family_name: 'smith' }, expected: 4 },
    { description: 'Jaro-Winkler typo jonathan/jonathon', l: { given_names: 'jonathan' }, r: { given_names: 'jonathon' }, expected: 3 },
    { description: 'middle name used as first name', l: { given_names: 'james robert' }, r: { given_names: 'robert' }, expected: 2 },
    { description: 'weaker likeness shaun/sean (0.805)', l: { given_names: 'shaun' }, r: { given_names: 'sean' }, expected: 1 },
    { description: 'clearly different', l: { given_names: 'john' }, r: { given_names: 'mary' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { given_names: null }, r: { given_names: 'john' }, expected: NULL_GAMMA },
  ],
  // 5 exact, 4 swapped, 3 JW 0.92, 2 contains, 1 JW 0.8
  family_name: [
    { description: 'exact → top gamma', l: JOHN, r: JOHN, expected: 5 },
    { description: 'given and family swapped', l: JOHN, r: { given_names: 'smith', family_name: 'john' }, expected: 4 },
    { description: 'Jaro-Winkler typo thompson/thomson', l: { family_name: 'thompson' }, r: { family_name: 'thomson' }, expected: 3 },
    { description: 'double-barrelled name holds the other', l: { family_name: 'smith' }, r: { family_name: 'smithjones' }, expected: 2 },
    { description: 'weaker likeness smith/smyth', l: { family_name: 'smith' }, r: { family_name: 'smyth' }, expected: 1 },
    { description: 'clearly different', l: { family_name: 'smith' }, r: { family_name: 'patel' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { family_name: 'smith' }, r: { family_name: null }, expected: NULL_GAMMA },
  ],
  // 4 exact, 3 one digit, 2 day/month swap, 1 two digits
  birth_date: [
    { description: 'exact → top gamma', l: { birth_date: '1971-06-24' }, r: { birth_date: '1971-06-24' }, expected: 4 },
    { description: 'one-digit typo in the day', l: { birth_date: '1971-06-24' }, r: { birth_date: '1971-06-25' }, expected: 3 },
    { description: 'one-digit typo in the year', l: { birth_date: '1971-06-24' }, r: { birth_date: '1981-06-24' }, expected: 3 },
    { description: 'day and month swapped', l: { birth_date: '1971-06-04' }, r: { birth_date: '1971-04-06' }, expected: 2 },
    { description: 'two digits wrong', l: { birth_date: '1971-06-24' }, r: { birth_date: '1981-06-25' }, expected: 1 },
    { description: 'clearly different', l: { birth_date: '1971-06-24' }, r: { birth_date: '1985-11-02' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { birth_date: null }, r: { birth_date: '1971-06-24' }, expected: NULL_GAMMA },
  ],
  sex: [
    { description: 'exact → top gamma', l: { sex: 'f' }, r: { sex: 'f' }, expected: 1 },
    { description: 'different', l: { sex: 'f' }, r: { sex: 'm' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { sex: 'f' }, r: { sex: null }, expected: NULL_GAMMA },
  ],
  // 4 exact, 3 same sector, 2 JW 0.9, 1 same district
  postcode: [
    { description: 'exact → top gamma', l: { postcode: 'LS1 4AB' }, r: { postcode: 'LS1 4AB' }, expected: 4 },
    { description: 'same sector', l: { postcode: 'LS1 4AB' }, r: { postcode: 'LS1 4XY' }, expected: 3 },
    { description: 'transposed digits (LS1 4AB / LS4 1AB)', l: { postcode: 'LS1 4AB' }, r: { postcode: 'LS4 1AB' }, expected: 2 },
    { description: 'same district only', l: { postcode: 'LS1 4AB' }, r: { postcode: 'LS1 9ZZ' }, expected: 1 },
    { description: 'clearly different', l: { postcode: 'LS1 4AB' }, r: { postcode: 'SW1A 1AA' }, expected: ELSE_GAMMA },
    { description: 'a non-UK postcode still matches exactly', l: { postcode: '2119' }, r: { postcode: '2119' }, expected: 4 },
    { description: 'non-UK postcodes have no sector or district to fall back on', l: { postcode: '2119' }, r: { postcode: '2118' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { postcode: null }, r: { postcode: 'LS1 4AB' }, expected: NULL_GAMMA },
  ],
  nhs_number: [
    { description: 'NHS number exact → top gamma', l: { nhs_number: '9434765919' }, r: { nhs_number: '9434765919' }, expected: 1 },
    { description: 'different numbers', l: { nhs_number: '9434765919' }, r: { nhs_number: '4010232137' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { nhs_number: '9434765919' }, r: { nhs_number: null }, expected: NULL_GAMMA },
  ],
  // 3 exact, 2 JW 0.9, 1 JW 0.7
  address: [
    { description: 'exact → top gamma', l: { address: '1 high st' }, r: { address: '1 high st' }, expected: 3 },
    { description: 'house number digits transposed', l: { address: '12 high st' }, r: { address: '21 high st' }, expected: 2 },
    { description: 'a similar street (1 high st / 1 hill st, 0.91)', l: { address: '1 high st' }, r: { address: '1 hill st' }, expected: 2 },
    { description: 'clearly different', l: { address: '1 high st' }, r: { address: 'flt 3 low rd' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { address: null }, r: { address: '1 high st' }, expected: NULL_GAMMA },
  ],
  // 3 exact, 2 same user, 1 JW 0.88
  email: [
    { description: 'exact → top gamma', l: { email: 'jsmith@nhs.net' }, r: { email: 'jsmith@nhs.net' }, expected: 3 },
    { description: 'same user, different domain', l: { email: 'john.smith@nhs.net' }, r: { email: 'john.smith@gmail.com' }, expected: 2 },
    { description: 'a typo in the user', l: { email: 'jsmith@nhs.net' }, r: { email: 'jsmith1@nhs.net' }, expected: 1 },
    { description: 'clearly different', l: { email: 'a@b.com' }, r: { email: 'zz@qq.org' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { email: 'a@b.com' }, r: { email: null }, expected: NULL_GAMMA },
  ],
  // 2 exact, 1 one digit
  phone: [
    { description: 'exact → top gamma', l: { phone: '07700900123' }, r: { phone: '07700900123' }, expected: 2 },
    { description: 'one digit mistyped', l: { phone: '07700900123' }, r: { phone: '07700900124' }, expected: 1 },
    { description: 'clearly different, same length', l: { phone: '07700900123' }, r: { phone: '01132431234' }, expected: ELSE_GAMMA },
    { description: 'missing on one side', l: { phone: null }, r: { phone: '07700900123' }, expected: NULL_GAMMA },
  ],
};

describe('comparisonsFor every role', () => {
  it('gives one comparison per role, in role order', () => {
    expect(ALL.map((c) => c.name)).toEqual([...LINKAGE_ROLES]);
    expect(ALL.map((c) => c.gammaColumn)).toEqual(LINKAGE_ROLES.map((r) => `gamma_${r}`));
    expect(ALL.map((c) => c.roles)).toEqual(LINKAGE_ROLES.map((r) => [r]));
  });

  describe.each(LINKAGE_ROLES.map((role) => ({ role, cases: GAMMA_CASES[role] })))('$role', ({ role, cases }) => {
    it.each(cases)('$description', async ({ l, r, expected }) => {
      expect(await gamma(comparison(role), l, r)).toBe(expected);
    });

    it('the gamma is symmetric in its records', async () => {
      for (const { l, r, expected } of cases) expect(await gamma(comparison(role), r, l)).toBe(expected);
    });
  });

  it('phone: numbers of different lengths are "else", not an error', async () => {
    expect(await gamma(comparison('phone'), { phone: '07700900123' }, { phone: '0113243123' })).toBe(ELSE_GAMMA);
  });
});

describe('Comparison.levels()', () => {
  const cases: { description: string; comparison: Comparison; labels: string[] }[] = [
    {
      description: 'given_name with family_name mapped: the swap level is included',
      comparison: comparison('given_name'),
      labels: [
        'given_name exact',
        'given_name and family_name swapped',
        'given_name nickname',
        'given_name Jaro-Winkler >= 0.92',
        "given_name among the other's given_names",
        'given_name Jaro-Winkler >= 0.8',
        'else',
      ],
    },
    {
      description: 'given_name without family_name: no swap level',
      comparison: comparison('given_name', ['given_name', 'birth_date']),
      labels: ['given_name exact', 'given_name nickname', 'given_name Jaro-Winkler >= 0.92', "given_name among the other's given_names", 'given_name Jaro-Winkler >= 0.8', 'else'],
    },
    {
      description: 'birth_date',
      comparison: comparison('birth_date'),
      labels: ['birth_date exact', 'birth_date_text Hamming <= 1', 'birth_date day and month swapped', 'birth_date_text Hamming <= 2', 'else'],
    },
    { description: 'sex', comparison: comparison('sex'), labels: ['sex exact', 'else'] },
    { description: 'nhs_number', comparison: comparison('nhs_number'), labels: ['nhs_number exact', 'else'] },
  ];
  it.each(cases)('$description', ({ comparison: c, labels }) => {
    const levels = c.levels();
    expect(levels.map((l) => l.label)).toEqual(labels);
    // Strongest first and numbered highest, down to 0 for "else"; the missing level (-1) is not listed.
    expect(levels.map((l) => l.gamma)).toEqual(labels.map((_, i) => labels.length - 1 - i));
  });

  it.each(ALL.map((c) => ({ c, name: c.name })))('$name: numbered top…0 with "else" last', ({ c }) => {
    const levels = c.levels();
    const top = levels.length - 1;
    expect(levels.map((l) => l.gamma)).toEqual(Array.from({ length: top + 1 }, (_, i) => top - i));
    expect(levels.at(-1)).toEqual({ gamma: ELSE_GAMMA, label: 'else', tfColumn: null });
  });

  it('only exact name levels carry a term-frequency column', () => {
    const tf = ALL.flatMap((c) => c.levels().filter((l) => l.tfColumn !== null).map((l) => `${c.name}:${l.gamma}:${l.tfColumn}`));
    expect(tf).toEqual(['given_name:6:given_name', 'family_name:5:family_name']);
  });

  it('the gammas SQL gives match the numbers levels() lists', async () => {
    for (const role of LINKAGE_ROLES) {
      const listed = new Set(comparison(role).levels().map((l) => l.gamma));
      for (const { l, r, expected } of GAMMA_CASES[role]) {
        if (expected !== NULL_GAMMA) expect(listed.has(expected), `${role} gamma ${expected}`).toBe(true);
        expect(await gamma(comparison(role), l, r)).toBe(expected);
      }
    }
  });
});

describe('Comparison.columnsRead()', () => {
  const expected: Record<LinkageRole, string[]> = {
    given_name: ['family_name', 'given_name', 'given_names', 'given_nickname_key'],
    family_name: ['family_name', 'given_name'],
    birth_date: ['birth_date', 'birth_date_text'],
    sex: ['sex'],
    postcode: ['postcode', 'postcode_district', 'postcode_sector'],
    nhs_number: ['nhs_number'],
    address: ['address'],
    email: ['email', 'email_user'],
    phone: ['phone'],
  };

  it.each(LINKAGE_ROLES.map((role) => ({ role })))('$role lists the columns its SQL reads, all of them standardised columns', async ({ role }) => {
    const c = comparison(role);
    const columns = c.columnsRead();
    expect([...columns].sort()).toEqual(expected[role]);
    for (const column of columns) expect(STANDARDISED_COLUMNS as readonly string[]).toContain(column);
    // Runs over a pair with exactly these columns (nothing else is read)…
    await gamma(c, {}, {});
    // …and fails without any one of them (each listed column is read).
    for (const column of columns) {
      await expect(gamma(c, {}, {}, columns.filter((x) => x !== column))).rejects.toThrow(/column/i);
    }
  });

  it('a comparison reads no columns of roles that are not mapped', () => {
    expect(comparison('given_name', ['given_name']).columnsRead().sort()).toEqual(['given_name', 'given_names', 'given_nickname_key']);
    expect(comparison('family_name', ['family_name']).columnsRead()).toEqual(['family_name']);
  });
});

describe('Comparison construction', () => {
  const cases = [
    { description: 'a name that is not snake_case', make: () => new Comparison('Given-Name', ['given_name'], nullLevel('x'), [exactLevel('x')]), message: "comparison name 'Given-Name' must be snake_case" },
    { description: 'no agreeing level', make: () => new Comparison('x', ['given_name'], nullLevel('x'), []), message: 'comparison x needs at least one agreeing level' },
  ];
  it.each(cases)('rejects $description', ({ make, message }) => {
    expect(make).toThrow(message);
  });

  it('a hand-built comparison numbers its levels and gives -1 for missing, 0 for else', async () => {
    const c = new Comparison('code', ['sex'], nullLevel('code'), [exactLevel('code'), containsLevel('code', 2)]);
    const rows = await db.all(
      `SELECT ${c.gammaSql()} FROM (VALUES ('ab', 'ab'), ('ab', 'abc'), ('ab', 'xy'), (NULL, 'xy')) t(code_l, code_r)`,
    );
    expect(rows.map((r) => r['gamma_code'])).toEqual([2, 1, 0, -1]);
  });
});
