// standardiseSql run in a real in-memory DuckDB over synthetic input rows: names, dates, sex codes,
// postcodes, NHS numbers, contact details, multi-column addresses, input columns that share a name with
// an output column, and rid numbering. Also the role-mapping parser the CLI feeds it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb, type Row } from '../../../core/duckdb.ts';
import { quoteIdent } from '../../../core/sql.ts';
import { nhsCheckDigit } from '../../../transforms/identifiers/nhsNumber.ts';
import { mappedRoles, parseRoleMapping, type RoleMapping } from '../../../transforms/linkage/roles.ts';
import { STANDARDISED_COLUMNS, standardiseSql } from '../../../transforms/linkage/standardise.ts';

type Value = string | null;

let db: DuckDb;
beforeAll(async () => {
  db = await DuckDb.open(':memory:');
});
afterAll(() => db?.close());

/** A valid NHS number (Modulus 11) in the 999 test range. */
const TEST_RANGE_NUMBER = `999000001${nhsCheckDigit('999000001')}`;
/** The NHS Data Dictionary's example number. */
const VALID_NUMBER = '9434765919';

/** Standardises input rows given as VARCHAR columns (bound as parameters); rows come back in rid order. */
async function standardise(rows: readonly Readonly<Record<string, Value>>[], mapping: RoleMapping, options: { idColumn?: string; acceptTestNhsNumbers?: boolean } = {}): Promise<Row[]> {
  const columns = Object.keys(rows[0]!);
  let n = 0;
  const values = rows.map((row) => `(${columns.map(() => `CAST($${++n} AS VARCHAR)`).join(', ')})`);
  const from = `(SELECT * FROM (VALUES ${values.join(', ')}) t(${columns.map(quoteIdent).join(', ')}))`;
  const sql = standardiseSql({ from, idColumn: options.idColumn ?? 'id', mapping, acceptTestNhsNumbers: options.acceptTestNhsNumbers ?? false });
  return db.all(`SELECT * FROM (${sql}) ORDER BY rid`, rows.flatMap((row) => columns.map((c) => row[c] ?? null)));
}

/** One input row with column `value` mapped to `role` (plus any extra columns and mappings). */
async function standardiseValue(mapping: RoleMapping, row: Readonly<Record<string, Value>>, acceptTestNhsNumbers = false): Promise<Row> {
  return (await standardise([{ id: 'r1', ...row }], mapping, { acceptTestNhsNumbers }))[0]!;
}

/** The listed output columns of a standardised row. */
function pick(row: Row, keys: readonly string[]): Row {
  return Object.fromEntries(keys.map((k) => [k, row[k] ?? null]));
}

describe('standardiseSql: output shape', () => {
  it('writes the STANDARDISED_COLUMNS in order, NULL (or false) for unmapped roles', async () => {
    const [row] = await standardise([{ id: 'r1', first: 'Ann' }], { given_name: ['first'] });
    expect(Object.keys(row!)).toEqual([...STANDARDISED_COLUMNS]);
    const { rid, record_id, given_name, given_names, given_nickname_key, nhs_number_verified, ...rest } = row!;
    expect({ rid, record_id, given_name, given_names, given_nickname_key, nhs_number_verified }).toEqual({
      rid: '1', record_id: 'r1', given_name: 'ann', given_names: 'ann', given_nickname_key: 'ann', nhs_number_verified: false,
    });
    expect(Object.values(rest).every((v) => v === null)).toBe(true);
  });
});

describe('standardiseSql: names', () => {
  const NAME_KEYS = ['given_name', 'given_names', 'given_nickname_key', 'family_name'] as const;
  const cases: { description: string; first: Value; last: Value; expected: Partial<Record<(typeof NAME_KEYS)[number], Value>> }[] = [
    { description: 'upper case is lowered', first: 'JOHN', last: 'SMITH', expected: { given_name: 'john', given_names: 'john', given_nickname_key: 'john', family_name: 'smith' } },
    { description: 'accents are stripped (Zoë)', first: 'Zoë', last: 'Brontë', expected: { given_name: 'zoe', given_names: 'zoe', given_nickname_key: 'zoe', family_name: 'bronte' } },
    { description: "apostrophes vanish (O'Neil)", first: "D'Arcy", last: "O'Neil", expected: { given_name: 'darcy', given_names: 'darcy', given_nickname_key: 'darcy', family_name: 'oneil' } },
    { description: 'a typographic apostrophe vanishes too', first: 'Ann', last: 'O’Brien', expected: { family_name: 'obrien' } },
    {
      description: 'hyphens split given names and join family names',
      first: 'Anne-Marie',
      last: 'Smith-Jones',
      expected: { given_name: 'anne', given_names: 'anne marie', given_nickname_key: 'ann', family_name: 'smithjones' },
    },
    { description: 'family name particles are closed up', first: 'Piet', last: 'van der Berg', expected: { family_name: 'vanderberg' } },
    { description: 'digits are dropped', first: 'J0hn2', last: 'Sm1th', expected: { given_name: 'jhn', family_name: 'smth' } },
    { description: 'a name of digits only is missing', first: '123', last: '4', expected: { given_name: null, given_names: null, given_nickname_key: null, family_name: null } },
    {
      description: 'extra spaces collapse; the first token is the given name',
      first: '  John   Paul  George ',
      last: ' Smith ',
      expected: { given_name: 'john', given_names: 'john paul george', given_nickname_key: 'john', family_name: 'smith' },
    },
    { description: 'a nickname gets its group key (Bob → robert)', first: 'Bob', last: 'Smith', expected: { given_name: 'bob', given_names: 'bob', given_nickname_key: 'robert' } },
    { description: 'the nickname key comes from the first given name only', first: 'James Bob', last: 'Smith', expected: { given_name: 'james', given_nickname_key: 'james' } },
    { description: 'an unknown name is its own key', first: 'Ebenezer', last: 'Quarshie', expected: { given_nickname_key: 'ebenezer', family_name: 'quarshie' } },
    { description: 'empty text is missing', first: '', last: '   ', expected: { given_name: null, given_names: null, given_nickname_key: null, family_name: null } },
    { description: 'NULL is missing', first: null, last: null, expected: { given_name: null, given_names: null, given_nickname_key: null, family_name: null } },
  ];
  it.each(cases)('$description', async ({ first, last, expected }) => {
    const row = await standardiseValue({ given_name: ['first'], family_name: ['last'] }, { first, last });
    expect(pick(row, Object.keys(expected))).toEqual(expected);
  });
});

describe('standardiseSql: nickname groups', () => {
  it('groups sharing a name share one key (Harry is in both Henry and Harold)', async () => {
    const rows = await standardise(
      ['Henry', 'Harry', 'Harold', 'Hal', 'Robert'].map((first, i) => ({ id: `r${i}`, first })),
      { given_name: ['first'] },
    );
    const keys = rows.map((r) => r['given_nickname_key']);
    expect(new Set(keys.slice(0, 4)).size).toBe(1);
    expect(keys[4]).toBe('robert');
    expect(keys[0]).not.toBe('robert');
  });
});

describe('standardiseSql: birth dates', () => {
  const cases: { description: string; dob: Value; expected: Value }[] = [
    { description: 'ISO', dob: '1971-06-24', expected: '1971-06-24' },
    { description: 'compact', dob: '19710624', expected: '1971-06-24' },
    { description: 'UK day-first with slashes', dob: '24/06/1971', expected: '1971-06-24' },
    { description: 'UK day-first with dashes', dob: '24-06-1971', expected: '1971-06-24' },
    { description: 'UK day-first with dots', dob: '24.06.1971', expected: '1971-06-24' },
    { description: 'year first with slashes', dob: '1971/06/24', expected: '1971-06-24' },
    { description: 'an ISO timestamp keeps its date', dob: '1971-06-24T10:00:00Z', expected: '1971-06-24' },
    { description: 'a timestamp with a space keeps its date', dob: '1971-06-24 23:59:59', expected: '1971-06-24' },
    { description: 'surrounding spaces are ignored', dob: '  1971-06-24 ', expected: '1971-06-24' },
    { description: 'garbage is NULL', dob: 'garbage', expected: null },
    { description: 'an impossible date is NULL', dob: '31/02/1971', expected: null },
    { description: 'US month-first is not guessed at', dob: '06/24/1971', expected: null },
    { description: 'empty is NULL', dob: '', expected: null },
    { description: 'NULL stays NULL', dob: null, expected: null },
  ];
  it.each(cases)('$description', async ({ dob, expected }) => {
    const row = await standardiseValue({ birth_date: ['dob'] }, { dob });
    expect(pick(row, ['birth_date', 'birth_date_text'])).toEqual({ birth_date: expected, birth_date_text: expected === null ? null : expected.replaceAll('-', '') });
  });
});

describe('standardiseSql: sex', () => {
  const cases: { description: string; sex: Value; expected: Value }[] = [
    { description: 'M', sex: 'M', expected: 'm' },
    { description: 'F', sex: 'F', expected: 'f' },
    { description: 'male (FHIR)', sex: 'male', expected: 'm' },
    { description: 'Female, any case', sex: 'Female', expected: 'f' },
    { description: '1 (ISO 5218 male)', sex: '1', expected: 'm' },
    { description: '2 (ISO 5218 female)', sex: '2', expected: 'f' },
    { description: 'padded', sex: ' m ', expected: 'm' },
    { description: 'unknown is not evidence', sex: 'unknown', expected: null },
    { description: 'other is not evidence', sex: 'other', expected: null },
    { description: 'U (HL7 unknown) is not evidence', sex: 'U', expected: null },
    { description: '9 (ISO 5218 not applicable) is not evidence', sex: '9', expected: null },
    { description: 'NULL', sex: null, expected: null },
  ];
  it.each(cases)('$description', async ({ sex, expected }) => {
    expect((await standardiseValue({ sex: ['gender'] }, { gender: sex }))['sex']).toBe(expected);
  });
});

describe('standardiseSql: postcodes', () => {
  const cases: { description: string; postcode: Value; expected: { postcode: Value; postcode_sector: Value; postcode_district: Value } }[] = [
    { description: 'lower case with a space', postcode: 'ls1 4ab', expected: { postcode: 'LS1 4AB', postcode_sector: 'LS1 4', postcode_district: 'LS1' } },
    { description: 'no space', postcode: 'LS14AB', expected: { postcode: 'LS1 4AB', postcode_sector: 'LS1 4', postcode_district: 'LS1' } },
    { description: 'a letter in the outward code', postcode: 'SW1A 1AA', expected: { postcode: 'SW1A 1AA', postcode_sector: 'SW1A 1', postcode_district: 'SW1A' } },
    { description: 'the shortest form', postcode: 'm11aa', expected: { postcode: 'M1 1AA', postcode_sector: 'M1 1', postcode_district: 'M1' } },
    { description: 'punctuation and spaces are dropped', postcode: ' ec1a-1bb ', expected: { postcode: 'EC1A 1BB', postcode_sector: 'EC1A 1', postcode_district: 'EC1A' } },
    { description: 'a non-UK postcode is kept compact, with no sector or district', postcode: '2119', expected: { postcode: '2119', postcode_sector: null, postcode_district: null } },
    { description: 'a non-UK postcode with letters', postcode: 'nsw 2119', expected: { postcode: 'NSW2119', postcode_sector: null, postcode_district: null } },
    { description: 'empty is NULL', postcode: '  ', expected: { postcode: null, postcode_sector: null, postcode_district: null } },
  ];
  it.each(cases)('$description', async ({ postcode, expected }) => {
    const row = await standardiseValue({ postcode: ['pc'] }, { pc: postcode });
    expect(pick(row, ['postcode', 'postcode_sector', 'postcode_district'])).toEqual(expected);
  });
});

describe('standardiseSql: NHS numbers', () => {
  const cases: {
    description: string;
    nhs: Value;
    /** undefined: no status column mapped. */
    status?: Value;
    acceptTest?: boolean;
    expected: { nhs_number: Value; nhs_number_verified: boolean };
  }[] = [
    { description: 'valid and traced (01): kept and verified', nhs: VALID_NUMBER, status: '01', expected: { nhs_number: VALID_NUMBER, nhs_number_verified: true } },
    { description: 'spaces are removed', nhs: '943 476 5919', status: '01', expected: { nhs_number: VALID_NUMBER, nhs_number_verified: true } },
    { description: 'dashes are removed', nhs: '943-476-5919', status: '01', expected: { nhs_number: VALID_NUMBER, nhs_number_verified: true } },
    { description: 'a padded status still reads as 01', nhs: VALID_NUMBER, status: ' 01 ', expected: { nhs_number: VALID_NUMBER, nhs_number_verified: true } },
    { description: 'status 02 (not traced): kept but not verified', nhs: VALID_NUMBER, status: '02', expected: { nhs_number: VALID_NUMBER, nhs_number_verified: false } },
    { description: 'no status on the record: kept but not verified', nhs: VALID_NUMBER, status: null, expected: { nhs_number: VALID_NUMBER, nhs_number_verified: false } },
    { description: 'invalid check digit: dropped', nhs: '9434765918', status: '01', expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'the 999 test range: dropped in production', nhs: TEST_RANGE_NUMBER, status: '01', expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'the 999 test range: kept when test numbers are accepted', nhs: TEST_RANGE_NUMBER, status: '01', acceptTest: true, expected: { nhs_number: TEST_RANGE_NUMBER, nhs_number_verified: true } },
    { description: 'a temporary local number (TMP1234567): dropped', nhs: 'TMP1234567', status: '01', expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'nine digits: dropped', nhs: '943476591', status: '01', expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'missing', nhs: null, status: '01', expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'no status column mapped: a valid number counts as verified', nhs: VALID_NUMBER, expected: { nhs_number: VALID_NUMBER, nhs_number_verified: true } },
    { description: 'no status column mapped: an invalid number is still not verified', nhs: '9434765918', expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'no status column mapped: a 999 number is not verified in production', nhs: TEST_RANGE_NUMBER, expected: { nhs_number: null, nhs_number_verified: false } },
    { description: 'no status column mapped: a 999 number is verified when accepted', nhs: TEST_RANGE_NUMBER, acceptTest: true, expected: { nhs_number: TEST_RANGE_NUMBER, nhs_number_verified: true } },
  ];
  it.each(cases)('$description', async ({ nhs, status, acceptTest, expected }) => {
    const withStatus = status !== undefined;
    const mapping: RoleMapping = withStatus ? { nhs_number: ['nhs'], nhs_number_verification_status: ['trace'] } : { nhs_number: ['nhs'] };
    const row = await standardiseValue(mapping, withStatus ? { nhs, trace: status } : { nhs }, acceptTest ?? false);
    expect(pick(row, ['nhs_number', 'nhs_number_verified'])).toEqual(expected);
  });
});

describe('standardiseSql: email', () => {
  const cases: { description: string; email: Value; expected: { email: Value; email_user: Value } }[] = [
    { description: 'lower cased', email: 'John.Smith@NHS.net', expected: { email: 'john.smith@nhs.net', email_user: 'john.smith' } },
    { description: 'spaces removed', email: ' j smith @nhs.net ', expected: { email: 'jsmith@nhs.net', email_user: 'jsmith' } },
    { description: 'no @: not an email', email: 'not an email', expected: { email: null, email_user: null } },
    { description: 'NULL', email: null, expected: { email: null, email_user: null } },
  ];
  it.each(cases)('$description', async ({ email, expected }) => {
    expect(pick(await standardiseValue({ email: ['mail'] }, { mail: email }), ['email', 'email_user'])).toEqual(expected);
  });
});

describe('standardiseSql: phone', () => {
  const cases: { description: string; phone: Value; expected: Value }[] = [
    { description: 'UK +44 goes back to the trunk 0', phone: '+44 7700 900123', expected: '07700900123' },
    { description: 'UK 0044 goes back to the trunk 0', phone: '0044 7700 900123', expected: '07700900123' },
    { description: 'national form, punctuation dropped', phone: '(0113) 243-1234', expected: '01132431234' },
    { description: 'too few digits', phone: '12345', expected: null },
    { description: 'NULL', phone: null, expected: null },
  ];
  it.each(cases)('$description', async ({ phone, expected }) => {
    expect((await standardiseValue({ phone: ['tel'] }, { tel: phone }))['phone']).toBe(expected);
  });
});

describe('standardiseSql: addresses', () => {
  const cases: { description: string; street_number: Value; address_1: Value; expected: Value }[] = [
    { description: 'two columns joined with a space, street words shortened', street_number: '12', address_1: 'High Street', expected: '12 high st' },
    { description: 'a missing part is skipped', street_number: null, address_1: 'High Street', expected: 'high st' },
    { description: 'both parts missing', street_number: null, address_1: null, expected: null },
    { description: 'punctuation and case', street_number: 'Flat 3,', address_1: '12 North Road.', expected: 'flt 3 12 n rd' },
    { description: 'whole words only (Streetly Lane)', street_number: '7', address_1: 'Streetly Lane', expected: '7 streetly ln' },
    { description: 'apartment and flat read the same', street_number: 'Apartment 4', address_1: 'Rose Gardens', expected: 'flt 4 rose gdns' },
  ];
  it.each(cases)('$description', async ({ street_number, address_1, expected }) => {
    const mapping = parseRoleMapping('address=street_number+address_1');
    expect((await standardiseValue(mapping, { street_number, address_1 }))['address']).toBe(expected);
  });
});

describe('standardiseSql: input columns named like output columns', () => {
  it('reads the input columns, whatever their names', async () => {
    const from = `(SELECT * FROM (VALUES
      ('r2', 'Ann', DATE '1971-06-24', 'F', 'ls1 4ab', '12', 'High Road', 'Ann@Example.org', 'pas', 'r1', '2024-01-02 03:04:05'),
      ('r1', 'Bob', DATE '1980-01-02', 'male', 'SW1A1AA', NULL, 'Low Lane', NULL, 'gp', NULL, 'not a time')
    ) t(record_id, given_name, birth_date, sex, postcode, street_number, address, email, source, linked_record_id, recorded_at))`;
    const mapping = parseRoleMapping(
      'given_name=given_name,birth_date=birth_date,sex=sex,postcode=postcode,address=street_number+address,email=email,source=source,linked_record_id=linked_record_id,recorded_at=recorded_at',
    );
    const rows = await db.all(`SELECT * FROM (${standardiseSql({ from, idColumn: 'record_id', mapping, acceptTestNhsNumbers: false })}) ORDER BY rid`);
    const keys = ['rid', 'record_id', 'given_name', 'birth_date', 'birth_date_text', 'sex', 'postcode', 'address', 'email', 'email_user', 'source', 'linked_record_id', 'recorded_at'];
    expect(rows.map((r) => pick(r, keys))).toEqual([
      {
        rid: '1', record_id: 'r1', given_name: 'bob', birth_date: '1980-01-02', birth_date_text: '19800102', sex: 'm', postcode: 'SW1A 1AA',
        address: 'low ln', email: null, email_user: null, source: 'gp', linked_record_id: null, recorded_at: null,
      },
      {
        rid: '2', record_id: 'r2', given_name: 'ann', birth_date: '1971-06-24', birth_date_text: '19710624', sex: 'f', postcode: 'LS1 4AB',
        address: '12 high rd', email: 'ann@example.org', email_user: 'ann', source: 'pas', linked_record_id: 'r1', recorded_at: '2024-01-02 03:04:05',
      },
    ]);
  });
});

describe('standardiseSql: rid', () => {
  const cases: { description: string; ids: Value[]; expected: [string, Value][] }[] = [
    { description: 'numbers records in record id order, from 1', ids: ['c', 'a', 'b'], expected: [['1', 'a'], ['2', 'b'], ['3', 'c']] },
    { description: 'record ids are text: ordered as text', ids: ['10', '9', '100'], expected: [['1', '10'], ['2', '100'], ['3', '9']] },
    { description: 'record ids are trimmed', ids: [' x ', 'w'], expected: [['1', 'w'], ['2', 'x']] },
    { description: 'a blank record id is NULL (the runner rejects it)', ids: ['  ', 'a'], expected: [['1', 'a'], ['2', null]] },
  ];
  it.each(cases)('$description', async ({ ids, expected }) => {
    const rows = await standardise(ids.map((id) => ({ pid: id, first: 'ann' })), { given_name: ['first'] }, { idColumn: 'pid' });
    expect(rows.map((r) => [r['rid'], r['record_id']])).toEqual(expected);
  });

  it('is the same whatever order the input rows come in', async () => {
    const ids = ['p3', 'p1', 'p2', 'p5', 'p4'];
    const once = await standardise(ids.map((id) => ({ pid: id })), {}, { idColumn: 'pid' });
    const again = await standardise([...ids].reverse().map((id) => ({ pid: id })), {}, { idColumn: 'pid' });
    expect(again).toEqual(once);
  });
});

describe('parseRoleMapping', () => {
  const good: { description: string; text: string; expected: RoleMapping }[] = [
    { description: 'one column per role', text: 'given_name=first,family_name=surname', expected: { given_name: ['first'], family_name: ['surname'] } },
    { description: 'several columns joined with +', text: 'address=street_number+address_1', expected: { address: ['street_number', 'address_1'] } },
    {
      description: 'spaces and empty parts are ignored',
      text: ' given_name = first , , address = no + street ,',
      expected: { given_name: ['first'], address: ['no', 'street'] },
    },
    {
      description: 'auxiliary fields',
      text: 'nhs_number=nhs,nhs_number_verification_status=trace,linked_record_id=merged_into,source=src,recorded_at=ts',
      expected: { nhs_number: ['nhs'], nhs_number_verification_status: ['trace'], linked_record_id: ['merged_into'], source: ['src'], recorded_at: ['ts'] },
    },
    { description: 'nothing', text: '', expected: {} },
  ];
  it.each(good)('parses $description', ({ text, expected }) => {
    expect(parseRoleMapping(text)).toEqual(expected);
  });

  const bad: { description: string; text: string; message: string | RegExp }[] = [
    { description: 'an unknown role', text: 'given_name=first,name=x', message: /^'name' is not a linkage role; use given_name, family_name, .*, phone, nhs_number_verification_status, .*recorded_at$/ },
    { description: 'a role without =', text: 'given_name', message: 'role given_name needs a column: given_name=<column>' },
    { description: 'a role with an empty column', text: 'sex=', message: 'role sex needs a column: sex=<column>' },
    { description: 'a dangling +', text: 'address=street+', message: 'role address needs a column: address=<column>' },
    { description: 'a role mapped twice', text: 'sex=gender,sex=sex_code', message: 'role sex is mapped twice' },
  ];
  it.each(bad)('rejects $description', ({ text, message }) => {
    expect(() => parseRoleMapping(text)).toThrow(message);
  });

  it('mappedRoles lists the identity roles only, in role order', () => {
    expect(mappedRoles(parseRoleMapping('sex=g,nhs_number_verification_status=t,given_name=f,birth_date=d'))).toEqual(['given_name', 'birth_date', 'sex']);
  });
});
