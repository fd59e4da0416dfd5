// HL7 v2 date/times (DTM, and component 1 of the older TS) read into an instant without losing what
// was sent: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`. A value is a period at some precision
// (`2019` is a year), so the result keeps the precision, the instant the period starts and the FHIR
// string at that precision. macros/hl7_datetime.sql is the same grammar in SQL; the two are tested
// against one table of cases and must agree on every instant and precision.
//
// Decisions (the SQL macros make the same ones):
// - Only component 1 counts: a v2.3–2.4 TS tail such as `^S` (degree of precision) is ignored, and an
//   empty value or the explicit HL7 null `""` is no value at all (null).
// - A value without an offset is wall-clock time in the feed's IANA zone. Wall times the zone skips or
//   repeats resolve as DuckDB's ICU resolves them, because the SQL side is DuckDB: a time in a spring
//   gap is read with the offset before the change (Europe/London 2024-03-31 01:30 is 01:30Z, which the
//   clock showed as 02:30 BST); a time the autumn change repeats is read as its LATER occurrence, the
//   one after the change (2024-10-27 01:30 is 01:30Z, GMT — not 00:30Z).
// - Seconds run 00–59: a leap second `60` is rejected, since neither JavaScript nor DuckDB can hold it
//   and rolling it into the next minute would alter the value. Years run 0001–9999 (FHIR has no year 0).
//   Offsets run −14:00…+14:00 with minutes 00–59, FHIR's range.
// - A fraction (1–4 digits, only after seconds) is precision 'millisecond' whatever its length: HL7's
//   finest unit, 1/10,000 s, has no name of its own. Its digits are kept as sent in `fhir`, and the
//   instant carries a fourth fraction digit when one was sent, so nothing is rounded away.
// - `fhir` for a time carries seconds (FHIR requires them) and the offset as sent (`-0000` stays
//   `-00:00`), or else the zone's offset at the instant (`+00:00` in GMT). Before standard time (local
//   mean time, offsets with seconds FHIR cannot write) it is given in UTC with `Z`.
// - Reasons name what is wrong (digit counts, which part is out of range) but never echo the value:
//   date/times in a message can be dates of birth.
//
// Zone offsets come from Intl (no dependency), cached per UTC hour since Intl lookups are slow. Intl
// uses the Julian calendar before 1582; time zone rules before 1600 are all constant local mean time,
// so offsets are read at 1600 for earlier instants.

export type Hl7DateTimePrecision = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond';

export type Hl7DateTimeProblem = 'bad-character' | 'bad-length' | 'bad-fraction' | 'bad-offset' | 'out-of-range' | 'unknown-timezone';

export interface ParsedHl7DateTime {
  ok: true;
  precision: Hl7DateTimePrecision;
  /** UTC start of the period, ISO 8601 with milliseconds (a fourth fraction digit when one was sent). */
  instant: string;
  /** FHIR date or dateTime at the precision sent: `2019`, `2019-05`, `2019-05-14`, `2019-05-14T10:25:00+02:00`. */
  fhir: string;
  /** The calendar date as sent (`YYYY-MM-DD`, no zone conversion) when the value has a day; else null. */
  date: string | null;
  /** True when the value carried its own +/-ZZZZ offset; false when the time zone supplied one. */
  offsetSent: boolean;
}

export interface InvalidHl7DateTime {
  ok: false;
  problem: Hl7DateTimeProblem;
  /** What is wrong, without quoting the value. */
  reason: string;
}

export type Hl7DateTime = ParsedHl7DateTime | InvalidHl7DateTime;

const PRECISION_BY_DIGITS: Readonly<Record<number, Hl7DateTimePrecision>> = { 4: 'year', 6: 'month', 8: 'day', 10: 'hour', 12: 'minute', 14: 'second' };
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MAX_OFFSET_MINUTES = 14 * 60;
/** Offsets are read no earlier than this: see the header on Intl's Julian calendar. */
const EARLIEST_ZONE_LOOKUP_MS = Date.UTC(1600, 0, 1);

function invalid(problem: Hl7DateTimeProblem, reason: string): InvalidHl7DateTime {
  return { ok: false, problem, reason };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Milliseconds since the epoch of a proleptic Gregorian date-time read as UTC (years below 100 too). */
function utcMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(utcMs(year, month + 1, 0)).getUTCDate();
}

// ---- time zones ---------------------------------------------------------------------------------

/** A zone's formatter and the offsets already looked up, by UTC hour (Intl lookups are slow). */
interface Zone {
  format: Intl.DateTimeFormat;
  /** Offsets of whole UTC days that hold no change, by day number. */
  dayOffsets: Map<number, number>;
}

const zones = new Map<string, Zone>();
const MAX_CACHED_DAYS = 100_000;

/** The zone, or null when Intl does not know it. */
function zoneFor(name: string): Zone | null {
  const known = zones.get(name);
  if (known) return known;
  try {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      calendar: 'gregory',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    const zone = { format, dayOffsets: new Map<number, number>() };
    zones.set(name, zone);
    return zone;
  } catch {
    return null;
  }
}

/** True when this runtime knows the IANA time zone, as parseHl7DateTime needs (e.g. Europe/London). */
export function isKnownTimeZone(name: string): boolean {
  return zoneFor(name) !== null;
}

/** The offset (ms) at a whole second, from the wall-clock parts Intl gives; LMT offsets keep their seconds. */
function lookUpOffsetMs(format: Intl.DateTimeFormat, second: number): number {
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(second)) parts[part.type] = Number(part.value);
  return utcMs(parts['year']!, parts['month']!, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!) - second;
}

/**
 * The zone's UTC offset in milliseconds at an instant. A UTC day whose first and last seconds have
 * the same offset holds no change (no zone changes twice within a day), so its offset is cached; a
 * day with a change is looked up second by second. Days, not hours: a feed's times spread over
 * years, and an hour cache missed on most messages (measured: 5 µs per timestamp).
 */
function zoneOffsetMs(zone: Zone, epochMs: number): number {
  const at = Math.floor(Math.max(epochMs, EARLIEST_ZONE_LOOKUP_MS) / 1000) * 1000;
  const day = Math.floor(at / DAY_MS);
  const cached = zone.dayOffsets.get(day);
  if (cached !== undefined) return cached;
  const first = lookUpOffsetMs(zone.format, day * DAY_MS);
  if (first !== lookUpOffsetMs(zone.format, (day + 1) * DAY_MS - 1000)) return lookUpOffsetMs(zone.format, at);
  if (zone.dayOffsets.size >= MAX_CACHED_DAYS) zone.dayOffsets.clear();
  zone.dayOffsets.set(day, first);
  return first;
}

/**
 * The instant a wall-clock time (given as if it were UTC) denotes in a zone, resolved as DuckDB's ICU
 * does: one fitting offset → that; two (autumn overlap) → the later instant; none (spring gap) → the
 * offset in force before the change, which moves the time forward by the gap. Assumes, as every zone
 * does, no two offset changes within a day of each other.
 */
function zonedInstantMs(zone: Zone, wallMs: number): number {
  const before = zoneOffsetMs(zone, wallMs - DAY_MS);
  const after = zoneOffsetMs(zone, wallMs + DAY_MS);
  const fitting = [before, after].filter((offset) => zoneOffsetMs(zone, wallMs - offset) === offset);
  if (fitting.length === 0) return wallMs - before;
  return wallMs - Math.min(...fitting);
}

// ---- grammar ------------------------------------------------------------------------------------

interface DtmParts {
  digits: string;
  fraction: string;
  /** `+HHMM` / `-HHMM` as sent, or '' when absent. */
  offset: string;
}

/** Cuts a value into its digits, fraction and offset, checking the characters and the layout. */
function dtmParts(value: string): DtmParts | InvalidHl7DateTime {
  if (/^[0-9]{4}-[0-9]{2}/.test(value)) {
    return invalid('bad-character', "the date is written with '-' separators (ISO 8601 style); an HL7 date/time is digits only: YYYYMMDD…");
  }
  const stray = value.search(/[^0-9.+-]/);
  if (stray !== -1) {
    return invalid('bad-character', `character ${stray + 1} is not a digit, '.', '+' or '-': an HL7 date/time is YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`);
  }
  const sign = value.search(/[+-]/);
  const offset = sign === -1 ? '' : value.slice(sign);
  if (offset !== '' && !/^[+-][0-9]{4}$/.test(offset)) {
    return invalid('bad-offset', 'the offset must be + or - followed by four digits (HHMM) and end the value');
  }
  const body = sign === -1 ? value : value.slice(0, sign);
  const [digits = '', fraction, ...more] = body.split('.');
  if (more.length > 0) return invalid('bad-fraction', "the value has more than one '.'");
  if (!(digits.length in PRECISION_BY_DIGITS)) {
    return invalid(
      'bad-length',
      `the date/time has ${digits.length} digit${digits.length === 1 ? '' : 's'} before any fraction or offset; expected 4 (YYYY), 6 (YYYYMM), 8 (YYYYMMDD), 10 (…HH), 12 (…HHMM) or 14 (…HHMMSS)`,
    );
  }
  if (fraction !== undefined) {
    if (digits.length !== 14) return invalid('bad-fraction', 'a fraction of a second must follow all 14 digits YYYYMMDDHHMMSS');
    if (fraction.length < 1 || fraction.length > 4) {
      return invalid('bad-fraction', `the fraction of a second has ${fraction.length} digits; expected 1 to 4`);
    }
  }
  return { digits, fraction: fraction ?? '', offset };
}

/** Checks each part's range; null when all are in range. */
function rangeProblem(y: number, mo: number, d: number, h: number, mi: number, s: number, offsetMinutes: number, offsetMm: number): InvalidHl7DateTime | null {
  const outOf = (reason: string) => invalid('out-of-range', reason);
  if (y < 1) return outOf('the year must be 0001–9999');
  if (mo < 1 || mo > 12) return outOf('the month must be 01–12');
  if (d < 1 || d > daysInMonth(y, mo)) return outOf('the day must be 01 to the last day of its month (leap years counted)');
  if (h > 23) return outOf('the hour must be 00–23');
  if (mi > 59) return outOf('the minute must be 00–59');
  if (s > 59) return outOf('the second must be 00–59 (leap seconds are not accepted)');
  if (offsetMm > 59) return outOf('the offset minutes must be 00–59');
  if (Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) return outOf('the offset must be between -1400 and +1400');
  return null;
}

/** `+HH:MM` for an offset in minutes. */
function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const magnitude = Math.abs(minutes);
  return `${sign}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`;
}

/** `YYYY-MM-DDTHH:MM:SS` of a UTC-read millisecond value (the fraction is added by the caller). */
function formatWall(ms: number): string {
  const t = new Date(ms);
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/**
 * Reads an HL7 v2 DTM/TS value. `timezone` (IANA, e.g. Europe/London) places values sent without an
 * offset. Returns null for an empty value or `""`, an InvalidHl7DateTime for anything malformed;
 * never throws.
 */
export function parseHl7DateTime(value: string, timezone: string): Hl7DateTime | null {
  const sent = value.split('^', 1)[0] ?? '';
  if (sent === '' || sent === '""') return null;
  const zone = zoneFor(timezone);
  if (zone === null) return invalid('unknown-timezone', `the time zone '${timezone}' is not an IANA time zone this runtime knows`);

  const parts = dtmParts(sent);
  if ('ok' in parts) return parts;
  const { digits, fraction, offset } = parts;
  const number = (from: number, fallback: number): number => (digits.length > from ? Number(digits.slice(from, from + 2)) : fallback);
  const [y, mo, d, h, mi, s] = [Number(digits.slice(0, 4)), number(4, 1), number(6, 1), number(8, 0), number(10, 0), number(12, 0)];
  const offsetMm = offset === '' ? 0 : Number(offset.slice(3, 5));
  const offsetMinutes = offset === '' ? 0 : (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + offsetMm);
  const problem = rangeProblem(y, mo, d, h, mi, s, offsetMinutes, offsetMm);
  if (problem) return problem;

  const precision = fraction === '' ? PRECISION_BY_DIGITS[digits.length]! : 'millisecond';
  const ms = fraction === '' ? 0 : Number(fraction.padEnd(3, '0').slice(0, 3));
  const wallMs = utcMs(y, mo, d, h, mi, s, ms);
  const instantMs = offset !== '' ? wallMs - offsetMinutes * MINUTE_MS : zonedInstantMs(zone, wallMs);
  const iso = new Date(instantMs).toISOString();
  const instant = fraction.length === 4 ? `${iso.slice(0, -1)}${fraction.charAt(3)}Z` : iso;

  const date = digits.length >= 8 ? `${pad(y, 4)}-${pad(mo)}-${pad(d)}` : null;
  let fhir: string;
  if (digits.length <= 8) {
    fhir = [pad(y, 4), digits.length >= 6 ? pad(mo) : null, date !== null ? pad(d) : null].filter((p) => p !== null).join('-');
  } else {
    const tail = fraction === '' ? '' : `.${fraction}`;
    if (offset !== '') {
      fhir = `${date}T${pad(h)}:${pad(mi)}:${pad(s)}${tail}${offset.slice(0, 3)}:${offset.slice(3)}`;
    } else {
      // The zone's offset at the instant, so a time in a spring gap shows as the clock showed it.
      // Local mean time offsets have seconds, which FHIR cannot write: such values are given in UTC.
      const zoneOffset = zoneOffsetMs(zone, instantMs);
      fhir =
        zoneOffset % MINUTE_MS === 0
          ? `${formatWall(instantMs + zoneOffset)}${tail}${formatOffset(zoneOffset / MINUTE_MS)}`
          : `${formatWall(instantMs)}${tail}Z`;
    }
  }
  return { ok: true, precision, instant, fhir, date, offsetSent: offset !== '' };
}
