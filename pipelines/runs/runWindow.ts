// A backfill's window: the half-open interval [from, to) a run is limited to. Each source kind reads it
// in its own terms — a Bulk Data export asks the server for `_since=from&_until=to`; file sources take
// only files last modified inside it (local mtime, SFTP mtime) or, for a Bulk export folder, the
// export whose transactionTime falls inside it. Pure.

import { CarelakeError } from '../../core/errors.ts';

export interface RunWindow {
  from: Date;
  to: Date;
}

/** Dates (YYYY-MM-DD, read as UTC midnight) or ISO instants; `to` must be after `from` and not in the future. */
export function parseRunWindow(from: string, to: string, now: Date): RunWindow {
  const window = { from: parseInstant(from, '--from'), to: parseInstant(to, '--to') };
  if (window.to.getTime() <= window.from.getTime()) {
    throw new CarelakeError({ code: 'backfill.window', kind: 'config', message: `The backfill window is empty: --to (${to}) must be after --from (${from})` });
  }
  if (window.from.getTime() > now.getTime()) {
    throw new CarelakeError({ code: 'backfill.window', kind: 'config', message: `The backfill window starts in the future (--from ${from})` });
  }
  return window;
}

function parseInstant(text: string, flag: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const date = new Date(dateOnly ? `${text}T00:00:00Z` : text);
  if ((!dateOnly && !instant) || Number.isNaN(date.getTime()) || (dateOnly && date.toISOString().slice(0, 10) !== text)) {
    throw new CarelakeError({ code: 'backfill.window', kind: 'config', message: `${flag} '${text}' is not a date (YYYY-MM-DD) or an ISO instant with a zone (2026-03-01T00:00:00Z)` });
  }
  return date;
}

export function inWindow(at: Date | number, window: RunWindow): boolean {
  const t = typeof at === 'number' ? at : at.getTime();
  return t >= window.from.getTime() && t < window.to.getTime();
}

export function describeWindow(window: RunWindow): string {
  return `${window.from.toISOString()} to ${window.to.toISOString()}`;
}
