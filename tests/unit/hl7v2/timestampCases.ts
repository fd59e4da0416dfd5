// One table of HL7 v2 date/time cases for both executions of the grammar: parseHl7DateTime
// (pipelines/hl7v2/timestamp.ts) and the SQL macros (macros/hl7_datetime.sql). Both tests walk every
// row, so a case added here is checked in TypeScript and in DuckDB alike.

import type { Hl7DateTimePrecision, Hl7DateTimeProblem } from '../../../pipelines/hl7v2/timestamp.ts';

export interface ValidDateTimeCase {
  precision: Hl7DateTimePrecision;
  instant: string;
  fhir: string;
  date: string | null;
  offsetSent: boolean;
}

export interface Hl7DateTimeCase {
  description: string;
  value: string;
  timezone: string;
  /** null: no value (empty); a problem: invalid; otherwise the parsed result. */
  expected: ValidDateTimeCase | { problem: Hl7DateTimeProblem } | null;
}

const LONDON = 'Europe/London';

const valid = (
  description: string,
  value: string,
  expected: ValidDateTimeCase,
  timezone = LONDON,
): Hl7DateTimeCase => ({ description, value, timezone, expected });

const invalid = (description: string, value: string, problem: Hl7DateTimeProblem, timezone = LONDON): Hl7DateTimeCase => ({
  description,
  value,
  timezone,
  expected: { problem },
});

export const HL7_DATETIME_CASES: readonly Hl7DateTimeCase[] = [
  // Precision, from the number of digits.
  valid('year only (GMT in January)', '2019', { precision: 'year', instant: '2019-01-01T00:00:00.000Z', fhir: '2019', date: null, offsetSent: false }),
  valid('month (starts at midnight BST)', '201905', { precision: 'month', instant: '2019-04-30T23:00:00.000Z', fhir: '2019-05', date: null, offsetSent: false }),
  valid('day', '20190514', { precision: 'day', instant: '2019-05-13T23:00:00.000Z', fhir: '2019-05-14', date: '2019-05-14', offsetSent: false }),
  valid('10 digits are hour precision', '2019051410', {
    precision: 'hour',
    instant: '2019-05-14T09:00:00.000Z',
    fhir: '2019-05-14T10:00:00+01:00',
    date: '2019-05-14',
    offsetSent: false,
  }),
  valid('12 digits are minute precision; FHIR still gets seconds', '201905141025', {
    precision: 'minute',
    instant: '2019-05-14T09:25:00.000Z',
    fhir: '2019-05-14T10:25:00+01:00',
    date: '2019-05-14',
    offsetSent: false,
  }),
  valid('seconds in winter (GMT)', '20240115093000', {
    precision: 'second',
    instant: '2024-01-15T09:30:00.000Z',
    fhir: '2024-01-15T09:30:00+00:00',
    date: '2024-01-15',
    offsetSent: false,
  }),

  // Fractions of a second: 1–4 digits, kept as sent.
  valid('one fraction digit', '20190514102527.1', {
    precision: 'millisecond',
    instant: '2019-05-14T09:25:27.100Z',
    fhir: '2019-05-14T10:25:27.1+01:00',
    date: '2019-05-14',
    offsetSent: false,
  }),
  valid('three fraction digits', '20190514102527.123', {
    precision: 'millisecond',
    instant: '2019-05-14T09:25:27.123Z',
    fhir: '2019-05-14T10:25:27.123+01:00',
    date: '2019-05-14',
    offsetSent: false,
  }),
  valid('four fraction digits: the instant keeps the fourth', '20190514102527.1234+0000', {
    precision: 'millisecond',
    instant: '2019-05-14T10:25:27.1234Z',
    fhir: '2019-05-14T10:25:27.1234+00:00',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('a fraction of zeros', '20190514102527.0000+0000', {
    precision: 'millisecond',
    instant: '2019-05-14T10:25:27.0000Z',
    fhir: '2019-05-14T10:25:27.0000+00:00',
    date: '2019-05-14',
    offsetSent: true,
  }),

  // Offsets sent with the value win over the time zone.
  valid('+0200 (the HL7 example)', '20190514102527+0200', {
    precision: 'second',
    instant: '2019-05-14T08:25:27.000Z',
    fhir: '2019-05-14T10:25:27+02:00',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('+0530, a half-hour offset', '201905141025+0530', {
    precision: 'minute',
    instant: '2019-05-14T04:55:00.000Z',
    fhir: '2019-05-14T10:25:00+05:30',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('-0500', '20190514102527-0500', {
    precision: 'second',
    instant: '2019-05-14T15:25:27.000Z',
    fhir: '2019-05-14T10:25:27-05:00',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('-0000 is UTC, written as sent', '20190514102527-0000', {
    precision: 'second',
    instant: '2019-05-14T10:25:27.000Z',
    fhir: '2019-05-14T10:25:27-00:00',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('+1400, the largest offset', '20190514102527+1400', {
    precision: 'second',
    instant: '2019-05-13T20:25:27.000Z',
    fhir: '2019-05-14T10:25:27+14:00',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('-1400', '20190514102527-1400', {
    precision: 'second',
    instant: '2019-05-15T00:25:27.000Z',
    fhir: '2019-05-14T10:25:27-14:00',
    date: '2019-05-14',
    offsetSent: true,
  }),
  valid('an offset on a date: the day starts at the offset’s midnight', '20190514+0530', {
    precision: 'day',
    instant: '2019-05-13T18:30:00.000Z',
    fhir: '2019-05-14',
    date: '2019-05-14',
    offsetSent: true,
  }),

  // Europe/London clock changes, resolved as DuckDB resolves them.
  valid('spring gap: 01:30 on 2024-03-31 does not exist and moves forward to 02:30 BST', '20240331013000', {
    precision: 'second',
    instant: '2024-03-31T01:30:00.000Z',
    fhir: '2024-03-31T02:30:00+01:00',
    date: '2024-03-31',
    offsetSent: false,
  }),
  valid('spring gap at hour precision', '2024033101', {
    precision: 'hour',
    instant: '2024-03-31T01:00:00.000Z',
    fhir: '2024-03-31T02:00:00+01:00',
    date: '2024-03-31',
    offsetSent: false,
  }),
  valid('the second before the spring change', '20240331005959', {
    precision: 'second',
    instant: '2024-03-31T00:59:59.000Z',
    fhir: '2024-03-31T00:59:59+00:00',
    date: '2024-03-31',
    offsetSent: false,
  }),
  valid('02:00 after the spring change is BST', '20240331020000', {
    precision: 'second',
    instant: '2024-03-31T01:00:00.000Z',
    fhir: '2024-03-31T02:00:00+01:00',
    date: '2024-03-31',
    offsetSent: false,
  }),
  valid('autumn overlap: 01:30 on 2024-10-27 happens twice; the later (GMT) one is taken', '20241027013000', {
    precision: 'second',
    instant: '2024-10-27T01:30:00.000Z',
    fhir: '2024-10-27T01:30:00+00:00',
    date: '2024-10-27',
    offsetSent: false,
  }),
  valid('autumn overlap at hour precision', '2024102701', {
    precision: 'hour',
    instant: '2024-10-27T01:00:00.000Z',
    fhir: '2024-10-27T01:00:00+00:00',
    date: '2024-10-27',
    offsetSent: false,
  }),
  valid('the second before the autumn overlap is still BST', '20241027005959', {
    precision: 'second',
    instant: '2024-10-26T23:59:59.000Z',
    fhir: '2024-10-27T00:59:59+01:00',
    date: '2024-10-27',
    offsetSent: false,
  }),
  valid('an offset sent inside the gap is taken as sent', '20240331013000+0000', {
    precision: 'second',
    instant: '2024-03-31T01:30:00.000Z',
    fhir: '2024-03-31T01:30:00+00:00',
    date: '2024-03-31',
    offsetSent: true,
  }),

  // Other zones.
  valid('America/New_York in summer', '20190514102527', {
    precision: 'second',
    instant: '2019-05-14T14:25:27.000Z',
    fhir: '2019-05-14T10:25:27-04:00',
    date: '2019-05-14',
    offsetSent: false,
  }, 'America/New_York'),
  valid('America/New_York spring gap moves forward', '20240310023000', {
    precision: 'second',
    instant: '2024-03-10T07:30:00.000Z',
    fhir: '2024-03-10T03:30:00-04:00',
    date: '2024-03-10',
    offsetSent: false,
  }, 'America/New_York'),
  valid('America/New_York autumn overlap takes the later (EST) instant', '20241103013000', {
    precision: 'second',
    instant: '2024-11-03T06:30:00.000Z',
    fhir: '2024-11-03T01:30:00-05:00',
    date: '2024-11-03',
    offsetSent: false,
  }, 'America/New_York'),
  valid('Asia/Kolkata (+05:30) date', '20190514', {
    precision: 'day',
    instant: '2019-05-13T18:30:00.000Z',
    fhir: '2019-05-14',
    date: '2019-05-14',
    offsetSent: false,
  }, 'Asia/Kolkata'),
  valid('Australia/Lord_Howe half-hour overlap takes the later instant', '20240407014500', {
    precision: 'second',
    instant: '2024-04-06T15:15:00.000Z',
    fhir: '2024-04-07T01:45:00+10:30',
    date: '2024-04-07',
    offsetSent: false,
  }, 'Australia/Lord_Howe'),
  valid('America/Sao_Paulo 2018-11-04 had no midnight: the day starts at 01:00', '20181104', {
    precision: 'day',
    instant: '2018-11-04T03:00:00.000Z',
    fhir: '2018-11-04',
    date: '2018-11-04',
    offsetSent: false,
  }, 'America/Sao_Paulo'),
  valid('UTC', '20190514102527', {
    precision: 'second',
    instant: '2019-05-14T10:25:27.000Z',
    fhir: '2019-05-14T10:25:27+00:00',
    date: '2019-05-14',
    offsetSent: false,
  }, 'UTC'),

  // Calendar edges.
  valid('29 February in a leap year', '20240229', { precision: 'day', instant: '2024-02-29T00:00:00.000Z', fhir: '2024-02-29', date: '2024-02-29', offsetSent: false }),
  valid('29 February 2000 (divisible by 400)', '20000229', { precision: 'day', instant: '2000-02-29T00:00:00.000Z', fhir: '2000-02-29', date: '2000-02-29', offsetSent: false }),
  valid('the last second of 9999', '99991231235959', {
    precision: 'second',
    instant: '9999-12-31T23:59:59.000Z',
    fhir: '9999-12-31T23:59:59+00:00',
    date: '9999-12-31',
    offsetSent: false,
  }, 'UTC'),
  valid('year 0001 in London: local mean time, 1 min 15 s behind GMT', '0001', {
    precision: 'year',
    instant: '0001-01-01T00:01:15.000Z',
    fhir: '0001',
    date: null,
    offsetSent: false,
  }),
  valid('a time in 1800: the LMT offset has seconds, which FHIR cannot write, so FHIR gets UTC', '180006011200', {
    precision: 'minute',
    instant: '1800-06-01T12:01:15.000Z',
    fhir: '1800-06-01T12:01:15Z',
    date: '1800-06-01',
    offsetSent: false,
  }),

  // Only component 1 counts: the v2.3–2.4 TS degree-of-precision tail is ignored.
  valid('a TS with ^M (degree of precision) after the value', '201905141025^M', {
    precision: 'minute',
    instant: '2019-05-14T09:25:00.000Z',
    fhir: '2019-05-14T10:25:00+01:00',
    date: '2019-05-14',
    offsetSent: false,
  }),
  valid('a TS with an offset and ^S', '20190514102527+0100^S', {
    precision: 'second',
    instant: '2019-05-14T09:25:27.000Z',
    fhir: '2019-05-14T10:25:27+01:00',
    date: '2019-05-14',
    offsetSent: true,
  }),

  // No value.
  { description: 'empty', value: '', timezone: LONDON, expected: null },
  { description: 'the explicit HL7 null ""', value: '""', timezone: LONDON, expected: null },
  { description: 'an empty component 1 with a tail', value: '^S', timezone: LONDON, expected: null },

  // Wrong layout.
  invalid('2 digits', '19', 'bad-length'),
  invalid('5 digits', '20190', 'bad-length'),
  invalid('7 digits', '2019051', 'bad-length'),
  invalid('9 digits', '201905141', 'bad-length'),
  invalid('15 digits', '201905141025271', 'bad-length'),
  invalid('an offset with no date', '+0100', 'bad-length'),
  invalid('a letter', '2019x', 'bad-character'),
  invalid('letters only', 'unknown', 'bad-character'),
  invalid('ISO 8601 with dashes', '2019-05-14', 'bad-character'),
  invalid('a space inside', '20190514 1025', 'bad-character'),
  invalid('a trailing space', '2019 ', 'bad-character'),
  invalid('an offset of two digits', '20190514+01', 'bad-offset'),
  invalid('an offset of five digits', '20190514+01000', 'bad-offset'),
  invalid('two offsets', '20190514102527+0100+0100', 'bad-offset'),
  invalid('a dot with no fraction', '20190514102527.', 'bad-fraction'),
  invalid('five fraction digits', '20190514102527.12345', 'bad-fraction'),
  invalid('a fraction without seconds', '201905141025.5', 'bad-fraction'),
  invalid('two dots', '20190514102527.1.2', 'bad-fraction'),

  // Out of range.
  invalid('year 0000', '0000', 'out-of-range'),
  invalid('month 00', '201900', 'out-of-range'),
  invalid('month 13', '201913', 'out-of-range'),
  invalid('day 00', '20190500', 'out-of-range'),
  invalid('29 February in a common year', '20230229', 'out-of-range'),
  invalid('29 February 2100 (divisible by 100, not 400)', '21000229', 'out-of-range'),
  invalid('31 April', '20240431', 'out-of-range'),
  invalid('hour 24', '2019051424', 'out-of-range'),
  invalid('minute 60', '201905142360', 'out-of-range'),
  invalid('second 60 (leap seconds are not accepted)', '20161231235960', 'out-of-range'),
  invalid('offset minutes 60', '20190514+0160', 'out-of-range'),
  invalid('offset beyond +1400', '20190514+1401', 'out-of-range'),
  invalid('offset beyond -1400', '20190514-1500', 'out-of-range'),
];

/**
 * Deterministic pseudo-random values near the grammar (digit runs of 2–16, sometimes a fraction, an
 * offset, a TS tail or a stray character), so the two executions are also compared on values no one
 * thought to write down. Most are invalid, many are valid; every field is exercised at its edges.
 */
export function generatedHl7DateTimes(count: number, seed = 20240331): string[] {
  let state = seed >>> 0;
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const digits = (n: number): string => Array.from({ length: n }, () => String(next(10))).join('');
  const pair = (max: number): string => String(next(max + 1)).padStart(2, '0');
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    // Mostly plausible parts (each may sit just past its range), sometimes any digits at all.
    const plausible = `${String(next(3) === 0 ? next(10_000) : 1900 + next(200)).padStart(4, '0')}${pair(13)}${pair(31)}${pair(24)}${pair(60)}${pair(60)}`;
    const length = [4, 6, 8, 10, 12, 14][next(6)]!;
    let value = next(8) === 0 ? digits(2 + next(15)) : plausible.slice(0, length);
    if (next(4) === 0) value += `.${digits(next(6))}`;
    if (next(3) === 0) value += `${next(2) === 0 ? '+' : '-'}${next(5) === 0 ? digits(next(6)) : `${pair(15)}${pair(60)}`}`;
    if (next(10) === 0) value += '^S';
    if (next(25) === 0) value = value.slice(0, next(value.length + 1)) + ' x-:T'.charAt(next(5)) + value.slice(next(value.length + 1));
    values.push(value);
  }
  return values;
}
