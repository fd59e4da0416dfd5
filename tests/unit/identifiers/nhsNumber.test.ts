import { describe, expect, it } from 'vitest';
import { isTestNhsNumber, nhsCheckDigit, nhsNumberStatus } from '../../../transforms/identifiers/nhsNumber.ts';

describe('NHS number Modulus 11', () => {
  const cases = [
    { description: 'the NHS Data Dictionary example', value: '9434765919', status: 'valid' },
    { description: 'spaces are allowed', value: '943 476 5919', status: 'valid' },
    { description: 'a wrong check digit', value: '9434765918', status: 'invalid-check-digit' },
    { description: 'a remainder of 10 is never valid', value: '1000000010', status: 'invalid-check-digit' },
    { description: 'nine digits', value: '943476591', status: 'malformed' },
    { description: 'letters', value: '94347659AB', status: 'malformed' },
    { description: 'empty', value: '', status: 'missing' },
    { description: 'check 11 becomes 0', value: '9990000018', status: nhsCheckDigit('999000001') === 8 ? 'valid' : 'invalid-check-digit' },
  ] as const;
  it.each(cases)('$description', ({ value, status }) => {
    expect(nhsNumberStatus(value)).toBe(status);
  });

  it('computes check digits, and null where none exists', () => {
    expect(nhsCheckDigit('943476591')).toBe(9);
    // 100000001: 1*10 + 1*2 = 12, 12 % 11 = 1, 11 - 1 = 10 → no valid number
    expect(nhsCheckDigit('100000001')).toBeNull();
  });

  it('recognises the 999 test range', () => {
    expect(isTestNhsNumber('999 123 4560')).toBe(true);
    expect(isTestNhsNumber('9434765919')).toBe(false);
  });
});
