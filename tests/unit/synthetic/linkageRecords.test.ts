import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { isValidNhsNumber } from '../../../transforms/identifiers/nhsNumber.ts';
import { LINKAGE_RECORD_COLUMNS, linkageRecords, writeLinkageRecordsCsv, type LinkageRecord } from '../../../synthetic/linkageRecords.ts';

const SEED = 29;
const PEOPLE = 600;

let records: LinkageRecord[];

beforeAll(() => {
  records = [...linkageRecords({ people: PEOPLE, seed: SEED })];
});

function byPerson(list: readonly LinkageRecord[]): Map<string, LinkageRecord[]> {
  const grouped = new Map<string, LinkageRecord[]>();
  for (const r of list) grouped.set(r.personId, [...(grouped.get(r.personId) ?? []), r]);
  return grouped;
}

describe('linkageRecords', () => {
  it('gives the same records for the same seed, and different ones for another seed', () => {
    expect([...linkageRecords({ people: PEOPLE, seed: SEED })]).toEqual(records);
    const other = [...linkageRecords({ people: PEOPLE, seed: SEED + 1 })];
    expect(other.map((r) => r.familyName)).not.toEqual(records.map((r) => r.familyName));
  });

  it('gives person i the same records whatever the number of people', () => {
    const ten = [...linkageRecords({ people: 10, seed: SEED })];
    const fifty = [...linkageRecords({ people: 50, seed: SEED })];
    expect(new Set(ten.map((r) => r.personId)).size).toBe(10);
    expect(fifty.filter((r) => ten.some((t) => t.personId === r.personId))).toEqual(ten);
    expect(records.slice(0, fifty.length)).toEqual(fifty);
  });

  it('gives every record a unique id that does not name the person', () => {
    expect(new Set(records.map((r) => r.recordId)).size).toBe(records.length);
    for (const r of records) {
      expect(r.recordId).toMatch(/^(gp|pas|lab)-[0-9a-z]{6}$/);
      expect(r.recordId.startsWith(`${r.source}-`)).toBe(true);
      expect(r.recordId).not.toContain(r.personId);
    }
    // Ids are not a running number in person order, so sorting by id does not regroup people.
    const gpIds = records.filter((r) => r.source === 'gp').map((r) => r.recordId);
    expect([...gpIds].sort()).not.toEqual(gpIds);
  });

  it('labels every record with a person, and every person has at least one record', () => {
    for (const r of records) expect(r.personId).toMatch(/^P\d{7}$/);
    expect(byPerson(records).size).toBe(PEOPLE);
  });

  it('gives 1.6 to 2.0 records a person, from all three sources', () => {
    const perPerson = records.length / PEOPLE;
    expect(perPerson).toBeGreaterThanOrEqual(1.6);
    expect(perPerson).toBeLessThanOrEqual(2.0);
    const sources = new Set(records.map((r) => r.source));
    expect([...sources].sort()).toEqual(['gp', 'lab', 'pas']);
    // Two in five people are hospital patients, as in the demo lake.
    const withPas = [...byPerson(records).values()].filter((copies) => copies.some((r) => r.source === 'pas')).length;
    expect(withPas).toBe(Math.ceil(PEOPLE / 5) * 2);
  });

  it('registers some hospital patients twice under different record ids', () => {
    const duplicated = [...byPerson(records).values()].filter((copies) => copies.filter((r) => r.source === 'pas').length === 2);
    expect(duplicated.length).toBeGreaterThan(0);
    expect(duplicated.length).toBeLessThan(PEOPLE * 0.05);
    for (const copies of duplicated) {
      const [first, second] = copies.filter((r) => r.source === 'pas');
      expect(first!.recordId).not.toBe(second!.recordId);
      expect(second!.recordedAt >= first!.recordedAt).toBe(true);
    }
  });

  const fieldDefects = [
    { description: 'given name', field: 'givenName' },
    { description: 'family name', field: 'familyName' },
    { description: 'birth date', field: 'birthDate' },
    { description: 'NHS number', field: 'nhsNumber' },
  ] as const;
  it.each(fieldDefects)('damages the $description in some copies of a person', ({ field }) => {
    const differing = [...byPerson(records).values()].filter((copies) => new Set(copies.map((r) => r[field])).size > 1);
    expect(differing.length).toBeGreaterThan(0);
  });

  it('has realistic values in the expected shapes', () => {
    for (const r of records) {
      expect(r.birthDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(r.recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      // Recorded before the reference date and not before the birth year (a day/month swap keeps the year).
      expect(r.recordedAt < '2026-01-01').toBe(true);
      expect(r.recordedAt.slice(0, 4) >= r.birthDate.slice(0, 4)).toBe(true);
      expect(['male', 'female', 'other', 'unknown']).toContain(r.sex);
      if (r.address !== null) expect(r.address).toMatch(/^.+, [A-Z][a-z]/);
      if (r.postcode !== null) expect(r.postcode).toMatch(/^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$/);
      if (r.source === 'lab') expect(r.nhsNumberVerificationStatus).toBeNull();
      else expect(['01', '02', '03', '04', '07']).toContain(r.nhsNumberVerificationStatus);
    }
    const numbers = records.filter((r) => r.nhsNumber !== null && r.nhsNumber.startsWith('999'));
    expect(numbers.length / records.length).toBeGreaterThan(0.9);
    // Verified numbers are valid ones.
    for (const r of records.filter((x) => x.nhsNumberVerificationStatus === '01')) expect(isValidNhsNumber(r.nhsNumber!)).toBe(true);
    expect(records.some((r) => r.source === 'lab' && r.address === null && r.postcode === null)).toBe(true);
  });

  const badOptions = [
    { description: 'a negative number of people', options: { people: -1, seed: 1 } },
    { description: 'a fractional number of people', options: { people: 1.5, seed: 1 } },
    { description: 'a seed that is not a whole number', options: { people: 1, seed: 0.5 } },
  ];
  it.each(badOptions)('refuses $description when called', ({ options }) => {
    expect(() => linkageRecords(options)).toThrow(CarelakeError);
  });
});

describe('writeLinkageRecordsCsv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carelake-linkage-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every record with its header and reads back the same', async () => {
    const path = join(dir, 'records.csv');
    const summary = await writeLinkageRecordsCsv(path, { people: PEOPLE, seed: SEED });
    expect(summary).toEqual({ records: records.length, people: PEOPLE });
    const rows: string[][] = parse(await readFile(path, 'utf8'));
    expect(rows[0]).toEqual([...LINKAGE_RECORD_COLUMNS]);
    expect(rows.length - 1).toBe(records.length);
    const column = (name: (typeof LINKAGE_RECORD_COLUMNS)[number]) => LINKAGE_RECORD_COLUMNS.indexOf(name);
    rows.slice(1).forEach((row, i) => {
      const r = records[i]!;
      expect(row[column('record_id')]).toBe(r.recordId);
      expect(row[column('person_id')]).toBe(r.personId);
      expect(row[column('family_name')]).toBe(r.familyName);
      expect(row[column('address')]).toBe(r.address ?? '');
      expect(row[column('nhs_number')]).toBe(r.nhsNumber ?? '');
    });
  });
});
