// One row from csv-parse run with `info: true`: the record (an array, or an object keyed by the
// header when `columns` is set) and the line it ended on, for errors that name the line.

import { CarelakeError } from './errors.ts';

/** csv-parse without `cast` yields strings only, so the record is typed by the caller. */
export function csvRecordAt<T extends object>(item: unknown): { record: T; line: number } {
  if (typeof item === 'object' && item !== null && 'record' in item && 'info' in item) {
    const { record, info } = item;
    if (typeof record === 'object' && record !== null && typeof info === 'object' && info !== null && 'lines' in info && typeof info.lines === 'number') {
      return { record: record as T, line: info.lines };
    }
  }
  throw new CarelakeError({ code: 'internal', kind: 'internal', message: 'csv-parse returned a row without record and info.lines' });
}
