// ESR date and timestamp text (`yyyyMMdd`, `yyyyMMdd HHmmss`) to ISO 8601 text. ESR times are UK
// local wall-clock times with no zone, so the result carries no offset either: attaching one here
// would invent information. Errors never quote the value — it may be a date of birth.

import { isCalendarDate, isCompactDate } from '../../core/compactDate.ts';
import { CarelakeError } from '../../core/errors.ts';

function invalid(code: string, what: string, field: string | undefined): CarelakeError {
  const subject = field ? `ESR field '${field}'` : 'ESR value';
  return new CarelakeError({ code, kind: 'parse', message: `${subject} is not a valid ${what}` });
}

const DATE = /^(\d{4})(\d{2})(\d{2})$/;
const TIMESTAMP = /^(\d{4})(\d{2})(\d{2}) (\d{2})(\d{2})(\d{2})$/;

/** Whether text is a real `yyyyMMdd` date; the reader's per-field check, so it allocates nothing on success. */
export const isEsrDate = isCompactDate;

/** Whether text is a real `yyyyMMdd HHmmss` timestamp. */
export function isEsrTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3])) && Number(match[4]) <= 23 && Number(match[5]) <= 59 && Number(match[6]) <= 59;
}

/** `'20240131'` → `'2024-01-31'`; empty → null; anything else throws (`esr.bad-date`). */
export function parseEsrDate(text: string | null | undefined, field?: string): string | null {
  if (text === null || text === undefined || text === '') return null;
  const match = DATE.exec(text);
  if (!match || !isEsrDate(text)) {
    throw invalid('esr.bad-date', 'date: expected yyyyMMdd, a real calendar date', field);
  }
  return `${match[1]}-${match[2]}-${match[3]}`;
}

/** `'20240131 235959'` → `'2024-01-31T23:59:59'`; empty → null; anything else throws (`esr.bad-timestamp`). */
export function parseEsrTimestamp(text: string | null | undefined, field?: string): string | null {
  if (text === null || text === undefined || text === '') return null;
  const match = TIMESTAMP.exec(text);
  if (match === null || !isEsrTimestamp(text)) {
    throw invalid('esr.bad-timestamp', 'timestamp: expected yyyyMMdd HHmmss, a real date and time', field);
  }
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}`;
}
