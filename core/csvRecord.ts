// One row from csv-parse run with `info: true`: the record (an array, or an object keyed by the
// header when `columns` is set) and the line it ended on, for errors that name the line.

import { CarelakeError, fileSystemError } from './errors.ts';

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

/**
 * An error from reading a CSV with csv-parse, made fit to show: a csv-parse error (`CSV_…`) becomes a
 * parse error with `code` at its line — by its code only, since csv-parse's messages quote the row — a
 * filesystem error names the path, and anything else passes through.
 */
export function csvReadError(err: unknown, file: string, code: string, what: string): unknown {
  if (err instanceof CarelakeError) return err;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') {
    if (err.code.startsWith('CSV_')) {
      const line = 'lines' in err && typeof err.lines === 'number' ? err.lines : undefined;
      const problem = err.code === 'CSV_RECORD_INCONSISTENT_COLUMNS' ? 'a row has a different number of fields from the header' : `cannot read the CSV (${err.code})`;
      return new CarelakeError({
        code,
        kind: 'parse',
        message: `Bad ${what}: ${problem}`,
        location: line === undefined ? { file } : { file, line },
        hint: 'every row needs as many fields as the header, and quotes must be balanced; quote fields that hold commas',
        cause: err,
      });
    }
    if ('syscall' in err) return fileSystemError('read', file, err);
  }
  return err;
}
