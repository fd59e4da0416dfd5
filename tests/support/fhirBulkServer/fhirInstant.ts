// FHIR `instant` values (what `_since`, `_until`, `meta.lastUpdated` and `transactionTime` hold): a full
// date-time with seconds and a zone. Date-only or zone-less values are rejected rather than guessed at,
// because a guessed zone shifts an incremental watermark by hours.

const INSTANT = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

/** Milliseconds since the epoch, or null when `text` is not a FHIR instant. */
export function parseInstant(text: string): number | null {
  if (!INSTANT.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** An instant as FHIR writes it, in UTC with milliseconds. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}
