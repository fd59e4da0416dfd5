// Time for the synthetic generator. Every instant is whole seconds since 1970-01-01 UTC, anchored on
// the caller's reference date — nothing here reads the clock, so a run is reproducible on any day.
// Formatting goes through Date's UTC getters only (no time zones, no locale), in the shapes each
// source uses: FHIR `date`/`instant`, HL7 `YYYYMMDDHHMMSS`, ESR `yyyyMMdd` and `yyyyMMdd HHmmss`.

export const MINUTE = 60;
export const HOUR = 3600;
export const DAY = 86_400;
export const YEAR = 365 * DAY;

/** Seconds at 00:00Z on an ISO date (`2026-01-01`), or null when the text is not a real calendar date. */
export function parseIsoDate(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return null;
  return ms / 1000;
}

/** Midnight at or before an instant. */
export function startOfDay(seconds: number): number {
  return Math.floor(seconds / DAY) * DAY;
}

interface Parts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

function parts(seconds: number): Parts {
  const d = new Date(seconds * 1000);
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  return {
    year: String(d.getUTCFullYear()).padStart(4, '0'),
    month: two(d.getUTCMonth() + 1),
    day: two(d.getUTCDate()),
    hour: two(d.getUTCHours()),
    minute: two(d.getUTCMinutes()),
    second: two(d.getUTCSeconds()),
  };
}

/** FHIR `date`: `2024-03-05`. */
export function isoDate(seconds: number): string {
  const p = parts(seconds);
  return `${p.year}-${p.month}-${p.day}`;
}

/** FHIR `instant` / `dateTime` in UTC: `2024-03-05T09:15:00Z`. */
export function isoInstant(seconds: number): string {
  const p = parts(seconds);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}Z`;
}

/** HL7 DTM to the second: `20240305091500`. */
export function hl7Timestamp(seconds: number): string {
  const p = parts(seconds);
  return `${p.year}${p.month}${p.day}${p.hour}${p.minute}${p.second}`;
}

/** HL7 DT and ESR dates: `20240305`. */
export function compactDate(seconds: number): string {
  const p = parts(seconds);
  return `${p.year}${p.month}${p.day}`;
}

/** ESR timestamps: `20240305 091500`. */
export function esrTimestamp(seconds: number): string {
  const p = parts(seconds);
  return `${p.year}${p.month}${p.day} ${p.hour}${p.minute}${p.second}`;
}
