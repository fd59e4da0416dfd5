import { describe, expect, it } from 'vitest';
import { parseHl7DateTime } from '../../../pipelines/hl7v2/timestamp.ts';
import { generatedHl7DateTimes, HL7_DATETIME_CASES } from './timestampCases.ts';

describe('parseHl7DateTime', () => {
  it.each(HL7_DATETIME_CASES)('$description: $value ($timezone)', ({ value, timezone, expected }) => {
    const result = parseHl7DateTime(value, timezone);
    if (expected === null) {
      expect(result).toBeNull();
    } else if ('problem' in expected) {
      expect(result).toEqual({ ok: false, problem: expected.problem, reason: expect.any(String) });
    } else {
      expect(result).toEqual({ ok: true, ...expected });
    }
  });

  it('gives a specific reason for each kind of mistake', () => {
    const reason = (value: string) => {
      const result = parseHl7DateTime(value, 'Europe/London');
      return result && !result.ok ? result.reason : null;
    };
    expect(reason('20190')).toBe(
      'the date/time has 5 digits before any fraction or offset; expected 4 (YYYY), 6 (YYYYMM), 8 (YYYYMMDD), 10 (…HH), 12 (…HHMM) or 14 (…HHMMSS)',
    );
    expect(reason('2019x')).toBe("character 5 is not a digit, '.', '+' or '-': an HL7 date/time is YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]");
    expect(reason('2019-05-14')).toBe("the date is written with '-' separators (ISO 8601 style); an HL7 date/time is digits only: YYYYMMDD…");
    expect(reason('20230229')).toBe('the day must be 01 to the last day of its month (leap years counted)');
    expect(reason('20161231235960')).toBe('the second must be 00–59 (leap seconds are not accepted)');
    expect(reason('201905141025.5')).toBe('a fraction of a second must follow all 14 digits YYYYMMDDHHMMSS');
    expect(reason('20190514102527.12345')).toBe('the fraction of a second has 5 digits; expected 1 to 4');
    expect(reason('20190514+01')).toBe('the offset must be + or - followed by four digits (HHMM) and end the value');
    expect(reason('20190514+1401')).toBe('the offset must be between -1400 and +1400');
  });

  it('never quotes the value in a reason: date/times can be dates of birth', () => {
    for (const { value, expected } of HL7_DATETIME_CASES) {
      if (expected === null || !('problem' in expected) || value.length < 4) continue;
      const result = parseHl7DateTime(value, 'Europe/London');
      expect(result?.ok).toBe(false);
      if (result && !result.ok) expect(result.reason).not.toContain(value.slice(0, 4));
    }
  });

  it('reports an unknown time zone instead of throwing', () => {
    expect(parseHl7DateTime('20190514', 'Europe/Atlantis')).toEqual({
      ok: false,
      problem: 'unknown-timezone',
      reason: "the time zone 'Europe/Atlantis' is not an IANA time zone this runtime knows",
    });
    expect(parseHl7DateTime('', 'Europe/Atlantis')).toBeNull();
  });

  it('never throws, and every instant it gives is a real date', () => {
    for (const value of generatedHl7DateTimes(3000)) {
      const result = parseHl7DateTime(value, 'Europe/London');
      if (result?.ok) expect(Number.isNaN(Date.parse(result.instant))).toBe(false);
      else if (result) expect(result.reason).not.toBe('');
    }
  });
});
