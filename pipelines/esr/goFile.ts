// Reads an ESR GO file as a stream of events — header, records, rejects, trailer — without holding the
// file in memory. Splitting uses csv-parse (`~`-delimited, quoting off: ESR never quotes, and a stray
// `"` in a name must stay data) so CRLF/LF handling and line counting are not hand-rolled. Record events
// carry the field texts as split (no per-record object: this loop is the landing's bottleneck); typed
// fields (dates, timestamps, numbers, per the layout) are checked here so a bad one rejects its record,
// and `esrRecordValues` reads them as values. `|` sub-fields are split by the consumer.
//
// What is checked, and how it is reported:
// - HDR must come first and have 7 fields; records before it are rejected (`esr.before-header`).
// - Every record needs exactly its layout's field count (`esr.field-count`, expected vs actual, file
//   and line); unknown record types are rejected (`esr.unknown-record-type`); a date, timestamp or
//   number field that is not one rejects the record, naming the field (`esr.bad-value`).
// - TRL-1 must equal the number of lines up to and including the TRL line (its physical line number:
//   blank lines count, as they are lines of the file). The trailer event says ok or not; a file with
//   no TRL ends with a trailer event `{ line: null, declared: null, ok: false }` so the caller has one
//   place to decide quarantine. Lines after TRL are rejected (`esr.after-trailer`).
// Reject messages name file, line, record type and field but never quote values (names, NI numbers).
// Blank lines are skipped. Whether a file with rejects or a bad trailer lands is the caller's decision;
// the spec says a trailer mismatch quarantines the whole file.

import { Readable, pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { csvRecordAt } from '../../core/csvRecord.ts';
import { CarelakeError } from '../../core/errors.ts';
import { isEsrDate, isEsrTimestamp, parseEsrDate, parseEsrTimestamp } from './dates.ts';
import type { EsrAction, EsrDataset, EsrFieldType, EsrLayout, EsrRecordLayout } from './layout.ts';

export interface EsrHeaderFields {
  file_name: string;
  created_at: string;
  vpd: string;
  previous_run_at: string | null;
  run_at: string;
  interface_version: string;
}

export interface EsrHeaderEvent {
  type: 'header';
  line: number;
  /** Raw text as in the file (timestamps `yyyyMMdd HHmmss`; use parseEsrTimestamp for ISO). */
  fields: EsrHeaderFields;
  /** The HDR line as in the file. */
  raw: string;
}

export interface EsrRecordEvent {
  type: 'record';
  line: number;
  recordType: string;
  action: EsrAction;
  dataset: EsrDataset;
  /** Field texts after the record type, in layout column order; '' is an empty field. */
  fields: readonly string[];
  /** The line as in the file, without its line break. */
  raw: string;
}

/** A field's value: text, ISO date or local timestamp text, number, or sub-fields; empty is null. */
export type EsrValue = string | number | readonly string[] | null;

export type EsrRejectCode =
  | 'esr.before-header'
  | 'esr.duplicate-header'
  | 'esr.bad-header'
  | 'esr.unknown-record-type'
  | 'esr.field-count'
  | 'esr.bad-value'
  | 'esr.after-trailer'
  | 'esr.missing-header';

export interface EsrRejectEvent {
  type: 'reject';
  /** null only for `esr.missing-header`, which concerns the whole file. */
  line: number | null;
  code: EsrRejectCode;
  recordType?: string;
  field?: string;
  message: string;
  raw: string;
}

export interface EsrTrailerEvent {
  type: 'trailer';
  /** null when the file has no TRL line. */
  line: number | null;
  /** TRL-1, or null when missing or not a whole number. */
  declared: number | null;
  /** Lines in the file up to and including the TRL line (or the last line, when TRL is missing). */
  actual: number;
  ok: boolean;
  /** Why not ok; absent when ok. */
  message?: string;
}

export type EsrEvent = EsrHeaderEvent | EsrRecordEvent | EsrRejectEvent | EsrTrailerEvent;

export interface ReadEsrGoFileOptions {
  /** How to decode byte chunks; default utf8. String chunks are used as they are. */
  encoding?: 'utf8' | 'latin1';
}

const HEADER_FIELDS = 7;
const TRAILER_FIELDS = 2;
const FIELD_SEPARATOR = '~';

function describeType(recordType: string): string {
  return /^[A-Z]{3}$/.test(recordType) ? `record type ${recordType}` : 'a line that does not start with a 3-letter record type';
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Streams the events of one GO file. `fileName` is used in messages; parse it with parseEsrGoFileName. */
export async function* readEsrGoFile(
  input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  fileName: string,
  layout: EsrLayout,
  options: ReadEsrGoFileOptions = {},
): AsyncGenerator<EsrEvent> {
  const parser = parse({
    delimiter: FIELD_SEPARATOR,
    quote: false,
    relax_column_count: true,
    record_delimiter: ['\r\n', '\n'],
    skip_empty_lines: true,
    bom: true,
    info: true,
    encoding: options.encoding ?? 'utf8',
  });
  // pipeline() forwards a failing source into the parser and tears both down if we stop early.
  pipeline(Readable.from(input), parser, () => {});

  let headerSeen = false;
  let trailerSeen = false;
  let lastLine = 0;
  const at = (line: number): string => `${fileName} line ${line}`;

  try {
    for await (const item of parser as AsyncIterable<unknown>) {
      const { record, line } = csvRecordAt<string[]>(item);
      lastLine = line;
      const raw = record.join(FIELD_SEPARATOR);
      const recordType = record[0] ?? '';
      const reject = (code: EsrRejectCode, message: string, field?: string): EsrRejectEvent => ({
        type: 'reject',
        line,
        code,
        ...(/^[A-Z]{3}$/.test(recordType) ? { recordType } : {}),
        ...(field !== undefined ? { field } : {}),
        message,
        raw,
      });

      if (trailerSeen) {
        yield reject('esr.after-trailer', `${at(line)}: ${describeType(recordType)} comes after the TRL trailer`);
        continue;
      }
      if (recordType === 'HDR') {
        if (headerSeen) {
          yield reject('esr.duplicate-header', `${at(line)}: a second HDR line; the header was already read`);
          continue;
        }
        headerSeen = true;
        yield* readHeader(record, line, at(line), reject);
        continue;
      }
      if (recordType === 'TRL') {
        trailerSeen = true;
        yield readTrailer(record, line, at(line));
        continue;
      }
      if (!headerSeen) {
        yield reject('esr.before-header', `${at(line)}: ${describeType(recordType)} comes before the HDR header line`);
        continue;
      }
      const recordLayout = layout.recordTypes[recordType];
      if (recordLayout === undefined) {
        yield reject('esr.unknown-record-type', `${at(line)}: ${describeType(recordType)} is not in layout ${layout.id}`);
        continue;
      }
      const actual = record.length - 1;
      const expected = recordLayout.columns.length;
      if (actual !== expected) {
        yield reject(
          'esr.field-count',
          `${at(line)}: ${recordType} record has ${plural(actual, 'field')} after the record type, expected ${expected} ` +
            `(${expected + 1} '~'-separated fields including ${recordType})`,
        );
        continue;
      }
      const fields = record.slice(1);
      const bad = firstBadField(recordLayout, fields);
      if (bad !== null) {
        const column = recordLayout.columns[bad]!;
        yield reject('esr.bad-value', `${at(line)}: ${recordType} field ${bad + 1} (${column.name}) is not ${FIELD_TYPE_TEXT[column.type]}`, column.name);
        continue;
      }
      yield { type: 'record', line, recordType, action: recordLayout.action, dataset: recordLayout.dataset, fields, raw };
    }
  } catch (err) {
    throw translateParseError(err, fileName);
  } finally {
    parser.destroy();
  }

  if (!headerSeen) {
    yield {
      type: 'reject',
      line: null,
      code: 'esr.missing-header',
      message: `${fileName}: the file has no HDR header line`,
      raw: '',
    };
  }
  if (!trailerSeen) {
    yield {
      type: 'trailer',
      line: null,
      declared: null,
      actual: lastLine,
      ok: false,
      message: `${fileName}: the file ends at line ${lastLine} without a TRL trailer line; it may be truncated`,
    };
  }
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)$/;

const FIELD_CHECKS: Record<EsrFieldType, ((text: string) => boolean) | null> = {
  text: null,
  subfields: null,
  date: isEsrDate,
  timestamp: isEsrTimestamp,
  number: (text) => NUMBER.test(text),
};

const FIELD_TYPE_TEXT: Record<EsrFieldType, string> = {
  text: 'text',
  subfields: 'text',
  date: 'a yyyyMMdd date',
  timestamp: 'a yyyyMMdd HHmmss timestamp',
  number: 'a number',
};

/** Per record layout, the typed fields to check: their index and check (text fields need none). */
const typedFields = new WeakMap<EsrRecordLayout, { index: number; check: (text: string) => boolean }[]>();

/** The index of the first non-empty typed field whose text is not of its type, or null. */
function firstBadField(layout: EsrRecordLayout, fields: readonly string[]): number | null {
  let checks = typedFields.get(layout);
  if (checks === undefined) {
    checks = layout.columns.flatMap((c, index) => {
      const check = FIELD_CHECKS[c.type];
      return check === null ? [] : [{ index, check }];
    });
    typedFields.set(layout, checks);
  }
  for (const { index, check } of checks) {
    const text = fields[index]!;
    if (text !== '' && !check(text)) return index;
  }
  return null;
}

/** One record's values by column name, read by type (a record event's fields have passed the checks). */
export function esrRecordValues(layout: EsrRecordLayout, fields: readonly string[]): Record<string, EsrValue> {
  const values: Record<string, EsrValue> = {};
  layout.columns.forEach(({ name, type }, index) => {
    const text = fields[index] ?? '';
    values[name] =
      text === '' ? null
      : type === 'date' ? parseEsrDate(text, name)
      : type === 'timestamp' ? parseEsrTimestamp(text, name)
      : type === 'number' ? Number(text)
      : type === 'subfields' ? text.split('|')
      : text;
  });
  return values;
}

function* readHeader(
  record: string[],
  line: number,
  where: string,
  reject: (code: EsrRejectCode, message: string, field?: string) => EsrRejectEvent,
): Generator<EsrEvent> {
  if (record.length !== HEADER_FIELDS) {
    yield reject('esr.bad-header', `${where}: HDR has ${plural(record.length, 'field')}, expected ${HEADER_FIELDS} (HDR and 6 values)`);
    return;
  }
  const [, fileNameField = '', createdAt = '', vpd = '', previousRunAt = '', runAt = '', interfaceVersion = ''] = record;
  const fields: EsrHeaderFields = {
    file_name: fileNameField,
    created_at: createdAt,
    vpd,
    previous_run_at: previousRunAt === '' ? null : previousRunAt,
    run_at: runAt,
    interface_version: interfaceVersion,
  };
  const problems: { field: string; message: string }[] = [];
  for (const [field, value, required] of [
    ['created_at', createdAt, true],
    ['previous_run_at', previousRunAt, false],
    ['run_at', runAt, true],
  ] as const) {
    if (value === '') {
      if (required) problems.push({ field, message: `HDR ${field} is empty` });
      continue;
    }
    try {
      parseEsrTimestamp(value, field);
    } catch {
      problems.push({ field, message: `HDR ${field} is not a yyyyMMdd HHmmss timestamp` });
    }
  }
  for (const [field, value] of [['file_name', fileNameField], ['vpd', vpd], ['interface_version', interfaceVersion]] as const) {
    if (value === '') problems.push({ field, message: `HDR ${field} is empty` });
  }
  if (problems.length > 0) {
    for (const problem of problems) yield reject('esr.bad-header', `${where}: ${problem.message}`, problem.field);
    return;
  }
  yield { type: 'header', line, fields, raw: record.join(FIELD_SEPARATOR) };
}

function readTrailer(record: string[], line: number, where: string): EsrTrailerEvent {
  const text = record[1] ?? '';
  const declared = record.length === TRAILER_FIELDS && /^\d+$/.test(text) ? Number(text) : null;
  if (declared === null) {
    return {
      type: 'trailer',
      line,
      declared: null,
      actual: line,
      ok: false,
      message: `${where}: TRL must be 'TRL~<line count>' (${TRAILER_FIELDS} fields, a whole number), found ${plural(record.length, 'field')}`,
    };
  }
  if (declared !== line) {
    return {
      type: 'trailer',
      line,
      declared,
      actual: line,
      ok: false,
      message: `${where}: TRL declares ${plural(declared, 'line')} but the file has ${plural(line, 'line')} up to and including TRL`,
    };
  }
  return { type: 'trailer', line, declared, actual: line, ok: true };
}

/** csv-parse errors become CarelakeErrors naming the file; anything else (e.g. the source failing) passes through. */
function translateParseError(err: unknown, fileName: string): unknown {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('CSV_')) {
    return new CarelakeError({
      code: 'esr.read-failed',
      kind: 'parse',
      message: `Cannot read ESR GO file ${fileName}: ${err.code}`,
      location: { file: fileName },
      cause: err,
    });
  }
  return err;
}
