// Keyed tokens and minimisation helpers: per-project keys, stable tokens, no token for an invalid NHS number.

import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import {
  ageBand,
  derivePseudonymKey,
  type IdentifierKind,
  postcodeDistrict,
  Pseudonymiser,
  yearOfBirth,
} from '../../../transforms/pseudonymisation/pseudonymiser.ts';

const MASTER = Buffer.alloc(32, 0x5a);
const OTHER_MASTER = Buffer.alloc(32, 0x3c);
const VALID_NHS = '9434765919';

describe('derivePseudonymKey', () => {
  it('gives 32-byte keys that differ per project and repeat for the same project', () => {
    const a = derivePseudonymKey(MASTER, 'commissioning');
    const b = derivePseudonymKey(MASTER, 'research');
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
    expect(a.equals(derivePseudonymKey(MASTER, 'commissioning'))).toBe(true);
    expect(a.equals(derivePseudonymKey(OTHER_MASTER, 'commissioning'))).toBe(false);
  });

  it('refuses a short master key and an empty project id', () => {
    expect(() => derivePseudonymKey(Buffer.alloc(16), 'p')).toThrow(/at least 32/);
    expect(() => derivePseudonymKey(MASTER, ' ')).toThrow(CarelakeError);
  });
});

describe('Pseudonymiser.token', () => {
  const key = derivePseudonymKey(MASTER, 'commissioning');
  const pseudonymiser = new Pseudonymiser(key);

  it('is the hex HMAC-SHA256 of <kind>:<normalised value>', () => {
    const expected = createHmac('sha256', key).update(`nhs_number:${VALID_NHS}`).digest('hex');
    expect(pseudonymiser.token('nhs_number', VALID_NHS)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable for the same key and differs for another project key or another kind', () => {
    const again = new Pseudonymiser(derivePseudonymKey(MASTER, 'commissioning'));
    const other = new Pseudonymiser(derivePseudonymKey(MASTER, 'research'));
    expect(again.token('nhs_number', VALID_NHS)).toBe(pseudonymiser.token('nhs_number', VALID_NHS));
    expect(other.token('nhs_number', VALID_NHS)).not.toBe(pseudonymiser.token('nhs_number', VALID_NHS));
    expect(pseudonymiser.token('mrn', VALID_NHS)).not.toBe(pseudonymiser.token('nhs_number', VALID_NHS));
  });

  const cases: { description: string; kind: IdentifierKind; value: string | null; sameAs?: string; nullToken?: true }[] = [
    { description: 'NHS number with spaces matches the compact form', kind: 'nhs_number', value: '943 476 5919', sameAs: VALID_NHS },
    { description: 'NHS number with dashes matches the compact form', kind: 'nhs_number', value: '943-476-5919', sameAs: VALID_NHS },
    { description: 'NHS number failing Mod 11 is not tokenised', kind: 'nhs_number', value: '9434765918', nullToken: true },
    { description: 'NHS number whose check digit would be 10 is not tokenised', kind: 'nhs_number', value: '1000000010', nullToken: true },
    { description: 'NHS number with letters is not tokenised', kind: 'nhs_number', value: '94347A5919', nullToken: true },
    { description: 'NHS number too short is not tokenised', kind: 'nhs_number', value: '943476591', nullToken: true },
    { description: 'missing NHS number', kind: 'nhs_number', value: null, nullToken: true },
    { description: 'blank NHS number', kind: 'nhs_number', value: '   ', nullToken: true },
    { description: 'MRN is trimmed and upper-cased', kind: 'mrn', value: '  rhq12345 ', sameAs: 'RHQ12345' },
    { description: 'blank MRN', kind: 'mrn', value: '  ', nullToken: true },
    { description: 'ESR employee number is trimmed', kind: 'esr_employee', value: ' 00123 ', sameAs: '00123' },
    { description: 'ESR person id is upper-cased', kind: 'esr_person', value: 'p-42', sameAs: 'P-42' },
    { description: 'NI number ignores case and inner spaces', kind: 'ni_number', value: 'ab 12 34 56 c', sameAs: 'AB123456C' },
    { description: 'FHIR patient id is trimmed', kind: 'fhir_patient', value: ' pat-1 ', sameAs: 'pat-1' },
  ];

  it.each(cases)('$description', ({ kind, value, sameAs, nullToken }) => {
    const token = pseudonymiser.token(kind, value);
    if (nullToken) expect(token).toBeNull();
    else expect(token).toBe(pseudonymiser.token(kind, sameAs ?? null));
    if (!nullToken) expect(token).not.toBeNull();
  });

  it('keeps FHIR ids case-sensitive, since FHIR logical ids are', () => {
    expect(pseudonymiser.token('fhir_patient', 'abc')).not.toBe(pseudonymiser.token('fhir_patient', 'ABC'));
  });

  it('never serialises or prints the key', () => {
    expect(JSON.stringify({ p: pseudonymiser })).not.toContain(key.toString('hex'));
    const printed = inspect(pseudonymiser, { depth: 5, showHidden: true });
    expect(printed).not.toContain(key.toString('hex').slice(0, 8));
    expect(printed).not.toMatch(new RegExp(`${key[0]!.toString(16).padStart(2, '0')} ${key[1]!.toString(16).padStart(2, '0')} ${key[2]!.toString(16).padStart(2, '0')}`));
  });

  it('refuses a key shorter than 32 bytes', () => {
    expect(() => new Pseudonymiser(Buffer.alloc(31))).toThrow(/at least 32 bytes/);
  });
});

describe('yearOfBirth', () => {
  const cases = [
    { description: 'date', value: '1984-07-12', expected: 1984 },
    { description: 'date-time', value: '1984-07-12T10:00:00Z', expected: 1984 },
    { description: 'impossible date', value: '1984-02-30', expected: null },
    { description: 'not a date', value: '12/07/1984', expected: null },
    { description: 'missing', value: null, expected: null },
  ];
  it.each(cases)('$description', ({ value, expected }) => expect(yearOfBirth(value)).toBe(expected));
});

describe('ageBand', () => {
  const cases = [
    { description: 'newborn', birth: '2024-06-01', asOf: '2024-06-01', expected: '0-4' },
    { description: 'day before 5th birthday', birth: '2019-06-02', asOf: '2024-06-01', expected: '0-4' },
    { description: 'on 5th birthday', birth: '2019-06-01', asOf: '2024-06-01', expected: '5-9' },
    { description: 'middle band', birth: '1980-01-15', asOf: '2024-06-01', expected: '40-44' },
    { description: 'last closed band', birth: '1940-06-02', asOf: '2024-06-01', expected: '80-84' },
    { description: 'turns 85', birth: '1939-06-01', asOf: '2024-06-01', expected: '85+' },
    { description: 'very old', birth: '1920-01-01', asOf: '2024-06-01', expected: '85+' },
    { description: 'leap-day birth, non-leap year, 28 Feb', birth: '2004-02-29', asOf: '2009-02-28', expected: '0-4' },
    { description: 'leap-day birth, non-leap year, 1 Mar', birth: '2004-02-29', asOf: '2009-03-01', expected: '5-9' },
    { description: 'born after as-of date', birth: '2025-01-01', asOf: '2024-06-01', expected: null },
    { description: 'invalid birth date', birth: '2020-13-01', asOf: '2024-06-01', expected: null },
    { description: 'missing birth date', birth: null, asOf: '2024-06-01', expected: null },
  ];
  it.each(cases)('$description', ({ birth, asOf, expected }) => expect(ageBand(birth, asOf)).toBe(expected));
});

describe('postcodeDistrict', () => {
  const cases = [
    { description: 'standard', value: 'LS1 4AP', expected: 'LS1' },
    { description: 'no space', value: 'LS14AP', expected: 'LS1' },
    { description: 'lower case', value: 'ls1 4ap', expected: 'LS1' },
    { description: 'two-digit district', value: 'LS12 3AB', expected: 'LS12' },
    { description: 'single-letter area', value: 'M1 1AE', expected: 'M1' },
    { description: 'district with letter', value: 'EC1A 1BB', expected: 'EC1A' },
    { description: 'W1A form', value: 'w1a0ax', expected: 'W1A' },
    { description: 'extra spaces', value: '  SW1A   2AA ', expected: 'SW1A' },
    { description: 'outward code only', value: 'LS1', expected: null },
    { description: 'nonsense', value: 'not a postcode', expected: null },
    { description: 'empty', value: '', expected: null },
    { description: 'missing', value: null, expected: null },
  ];
  it.each(cases)('$description', ({ value, expected }) => expect(postcodeDistrict(value)).toBe(expected));
});
