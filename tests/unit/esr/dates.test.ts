import { describe, expect, it } from 'vitest';
import { parseEsrDate, parseEsrTimestamp } from '../../../pipelines/esr/dates.ts';

describe('parseEsrDate', () => {
  const cases = [
    { description: 'a date', text: '20240131', expected: '2024-01-31' },
    { description: '29 February in a leap year', text: '20240229', expected: '2024-02-29' },
    { description: 'empty text is null', text: '', expected: null },
    { description: 'null is null', text: null, expected: null },
  ];
  it.each(cases)('reads $description', ({ text, expected }) => {
    expect(parseEsrDate(text)).toBe(expected);
  });

  const invalid = [
    { description: 'month 13', text: '20241301' },
    { description: '29 February in a common year', text: '20230229' },
    { description: 'seven digits', text: '2024013' },
    { description: 'an ISO date', text: '2024-01-31' },
    { description: 'a timestamp', text: '20240131 235959' },
  ];
  it.each(invalid)('rejects $description without quoting it', ({ text }) => {
    expect(() => parseEsrDate(text, 'date_of_birth')).toThrow("ESR field 'date_of_birth' is not a valid date: expected yyyyMMdd, a real calendar date");
  });
});

describe('parseEsrTimestamp', () => {
  const cases = [
    { description: 'a timestamp', text: '20240131 235959', expected: '2024-01-31T23:59:59' },
    { description: 'midnight', text: '20121113 000000', expected: '2012-11-13T00:00:00' },
    { description: 'empty text is null', text: '', expected: null },
  ];
  it.each(cases)('reads $description', ({ text, expected }) => {
    expect(parseEsrTimestamp(text)).toBe(expected);
  });

  const invalid = [
    { description: 'hour 24', text: '20240131 240000' },
    { description: 'minute 60', text: '20240131 236000' },
    { description: 'an impossible date', text: '20240230 120000' },
    { description: 'a date alone', text: '20240131' },
    { description: 'a T separator', text: '20240131T235959' },
  ];
  it.each(invalid)('rejects $description', ({ text }) => {
    expect(() => parseEsrTimestamp(text)).toThrow(/ESR value is not a valid timestamp/);
  });
});
