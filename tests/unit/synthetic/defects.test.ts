import { describe, expect, it } from 'vitest';
import { DUPLICATE_REGISTRATION_DEFECTS, oneEdit, sourceCopy, swapDayMonth } from '../../../synthetic/defects.ts';
import type { TrueIdentity } from '../../../synthetic/population.ts';
import { Random } from '../../../synthetic/random.ts';

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

describe('oneEdit', () => {
  const cases = [
    { description: 'a plain surname', name: 'Smith' },
    { description: 'a name with an apostrophe', name: "O'Neil" },
    { description: 'a double-barrelled name', name: 'Smith-Jones' },
    { description: 'a short name', name: 'Lee' },
    { description: 'an accented name', name: 'Siân' },
  ];
  it.each(cases)('changes $description by exactly one edit', ({ name }) => {
    const random = Random.derive(1, 'typo', name);
    for (let i = 0; i < 300; i++) expect(levenshtein(name, oneEdit(name, random))).toBe(1);
  });
});

describe('swapDayMonth', () => {
  const cases = [
    { description: 'swaps when the day could be a month', date: '1980-03-07', expected: '1980-07-03' },
    { description: 'cannot swap a day above 12', date: '1980-03-17', expected: null },
    { description: 'a swap that changes nothing is no defect', date: '1980-05-05', expected: null },
  ];
  it.each(cases)('$description', ({ date, expected }) => expect(swapDayMonth(date)).toBe(expected));
});

describe('sourceCopy', () => {
  const truth: TrueIdentity = {
    givenName: 'William',
    middleName: null,
    familyName: 'Smith',
    birthDate: '1970-02-03',
    sex: 'male',
    nhsNumber: '9990000018',
    addressLines: ['1 High Street'],
    town: 'Leeds',
    county: 'West Yorkshire',
    postcode: 'LS1 4AP',
  };

  it('reports exactly the defects it applied, and leaves the truth alone', () => {
    const random = Random.derive(2, 'copies');
    const before = JSON.stringify(truth);
    for (let i = 0; i < 500; i++) {
      const { identity, defects } = sourceCopy(truth, DUPLICATE_REGISTRATION_DEFECTS, random);
      expect(identity.givenName !== truth.givenName).toBe(defects.includes('nickname') || (defects.includes('name_typo') && identity.familyName === truth.familyName));
      if (defects.includes('nickname') && !defects.includes('name_typo')) expect(['Bill', 'Will', 'Billy']).toContain(identity.givenName);
      expect(identity.birthDate !== truth.birthDate).toBe(defects.includes('swapped_day_month'));
      expect(identity.postcode === null).toBe(defects.includes('missing_postcode'));
      expect(identity.nhsNumber === null).toBe(defects.includes('missing_nhs_number'));
      if (defects.includes('temporary_nhs_number')) expect(identity.nhsNumber).toMatch(/^TMP\d{7}$/);
    }
    expect(JSON.stringify(truth)).toBe(before);
  });

  it('gives a person with no NHS number copies without one, and never an NHS-number defect', () => {
    const unnumbered: TrueIdentity = { ...truth, nhsNumber: null };
    const random = Random.derive(3, 'copies');
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const { identity, nhsNumberState, defects } = sourceCopy(unnumbered, DUPLICATE_REGISTRATION_DEFECTS, random);
      expect(identity.nhsNumber).toBeNull();
      expect(nhsNumberState).toBe('none');
      for (const d of ['missing_nhs_number', 'invalid_nhs_check_digit', 'temporary_nhs_number'] as const) expect(defects).not.toContain(d);
      expect(identity.postcode === null).toBe(defects.includes('missing_postcode'));
      for (const d of defects) seen.add(d);
    }
    // The other defects still apply to them.
    expect([...seen].sort()).toEqual(['missing_postcode', 'name_typo', 'nickname', 'swapped_day_month']);
  });
});
