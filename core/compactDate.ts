// `yyyyMMdd` dates, as ESR GO files and SNOMED CT RF2 release files both write them.

const DATE = /^(\d{4})(\d{2})(\d{2})$/;

/** Whether the numbers name a day that exists (no 30 February). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Whether text is a real `yyyyMMdd` date; a per-field check, so it allocates nothing on success. */
export function isCompactDate(text: string): boolean {
  const match = DATE.exec(text);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}
