// Encoders for analyst query results: JSON, CSV and Arrow IPC, each STREAMED chunk by chunk as the
// runner hands rows over, so a response never holds the whole result (the runner already caps rows).
// Each encoder is an async generator of Buffers, usable as `Readable.from(…)` or via `writeResult`.
// If the query fails part-way (e.g. the time limit), the generator throws after some bytes have gone:
// the HTTP layer must then abort the response, and a client sees a broken body rather than a
// well-formed partial one. Failures before the first row surface from `runQuery` instead.
//
// Decisions:
// - JSON: `{"columns":[{"name","type"}],"rows":[[…]],"rowCount":n,"truncated":bool}` with rowCount and
//   truncated last, because they are only known at the end. Integers (incl. BIGINT/HUGEINT) are numbers
//   when within ±(2^53−1), else strings; DECIMAL is a number up to 15 significant digits (exact as a
//   double), else its exact text; NaN/±Infinity are strings; DATE is `YYYY-MM-DD`, TIMESTAMP
//   `YYYY-MM-DDTHH:MM:SS[.ffffff]` (no zone: DuckDB's TIMESTAMP has none), TIMESTAMPTZ the same in UTC
//   with `Z`; lists, arrays and structs are JSON arrays/objects, a MAP is `[{"key","value"}…]`; other
//   types (INTERVAL, TIME, UUID, BLOB, …) are DuckDB's own text for them.
// - CSV (RFC 4180): header row, CRLF, a field quoted only when it holds `"`, `,`, CR or LF; NULL is an
//   empty unquoted field and '' an empty quoted one. Formula-injection guard, ON by default: a TEXT
//   value (and a header) starting with = + - @ TAB or CR gets a leading `'` so a spreadsheet shows it
//   as text instead of running it (OWASP's advice). Numbers, dates etc. are never altered. This changes
//   such text values, so programs that need exact values should use JSON or Arrow (never altered), or
//   pass `{ csvFormulaGuard: false }`.
// - Arrow IPC stream, one record batch per runner chunk; field metadata `duckdb_type` keeps DuckDB's
//   type name. BOOLEAN→Bool; TINYINT/SMALLINT/INTEGER/BIGINT→Int8/16/32/64 (unsigned likewise);
//   FLOAT/DOUBLE→Float32/64; DECIMAL(w≤15)→Float64 (exact to 15 digits), wider DECIMAL, HUGEINT,
//   UHUGEINT and BIGNUM→Utf8 exact text (no lossy binary form, and Arrow JS has poor Decimal128
//   support); DATE→DateDay; TIMESTAMP→Timestamp[µs] without zone, TIMESTAMPTZ→Timestamp[µs, UTC],
//   TIMESTAMP_S/_MS/_NS→Timestamp[s/ms/ns]; TIME→Time[µs]; BLOB→Binary; VARCHAR/ENUM/UUID/JSON→Utf8;
//   lists, arrays, structs, maps and unions→Utf8 holding the JSON text above; anything else→Utf8 text.
//   apache-arrow's writer pushes into an internal queue with no back-pressure, so each batch is
//   serialised synchronously on its own and its message cut out of the stream bytes (schema message
//   first, then batches, then the end-of-stream marker); the framing is checked each time.

import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  DuckDBTypeId,
  DuckDBUnionValue,
  DuckDBVariantValue,
  type DuckDBDecimalType,
  type DuckDBValue,
} from '@duckdb/node-api';
import {
  Binary,
  Bool,
  DateDay,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimeMicrosecond,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { Json } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { QueryColumn, ResultSource } from './queryRunner.ts';

export type ResultFormat = 'json' | 'csv' | 'arrow';

export const RESULT_FORMATS: readonly ResultFormat[] = ['json', 'csv', 'arrow'];

export const RESULT_CONTENT_TYPES: Readonly<Record<ResultFormat, string>> = Object.freeze({
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  arrow: 'application/vnd.apache.arrow.stream',
});

export function isResultFormat(value: string): value is ResultFormat {
  return (RESULT_FORMATS as readonly string[]).includes(value);
}

export interface EncodeOptions {
  /** CSV only: prefix `'` to text starting with = + - @ TAB CR. Default true. */
  csvFormulaGuard?: boolean;
}

export function encodeResult(source: ResultSource, format: ResultFormat, options: EncodeOptions = {}): AsyncGenerator<Buffer> {
  switch (format) {
    case 'json':
      return encodeJson(source);
    case 'csv':
      return encodeCsv(source, options);
    case 'arrow':
      return encodeArrow(source);
  }
}

/** Streams the encoded result into `out` (e.g. an HTTP response), honouring back-pressure; rejects if the query or the write fails. */
export async function writeResult(source: ResultSource, format: ResultFormat, out: Writable, options: EncodeOptions = {}): Promise<void> {
  await pipeline(Readable.from(encodeResult(source, format, options), { objectMode: false }), out);
}

// ---- JSON -----------------------------------------------------------------------------------------

export async function* encodeJson(source: ResultSource): AsyncGenerator<Buffer> {
  const columns = source.columns.map((column) => ({ name: column.name, type: column.type }));
  yield Buffer.from(`{"columns":${JSON.stringify(columns)},"rows":[`);
  let first = true;
  for await (const rows of source) {
    let text = '';
    for (const row of rows) {
      text += (first ? '' : ',') + JSON.stringify(row.map(toJsonValue));
      first = false;
    }
    if (text) yield Buffer.from(text);
  }
  yield Buffer.from(`],"rowCount":${source.rowCount},"truncated":${source.truncated}}`);
}

/** A DuckDB value as JSON, by the rules in the header. */
export function toJsonValue(value: DuckDBValue): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
  if (value instanceof DuckDBDecimalValue) return value.width <= 15 ? Number(value.toString()) : value.toString();
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(toJsonValue);
  if (value instanceof DuckDBStructValue) {
    const object: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value.entries)) object[key] = toJsonValue(item);
    return object;
  }
  if (value instanceof DuckDBMapValue) return value.entries.map((entry) => ({ key: toJsonValue(entry.key), value: toJsonValue(entry.value) }));
  if (value instanceof DuckDBUnionValue || value instanceof DuckDBVariantValue) return toJsonValue(value.value);
  return scalarText(value);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Text for a non-nested value: ISO dates and timestamps, exact decimals, DuckDB's text for the rest. */
function scalarText(value: Exclude<DuckDBValue, null>): string {
  if (typeof value !== 'object') return String(value);
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBTimestampTZValue) return value.isFinite ? isoTimestamp(value.micros, 1_000_000n, true) : value.toString();
  if (value instanceof DuckDBTimestampValue) return value.isFinite ? isoTimestamp(value.micros, 1_000_000n, false) : value.toString();
  if (value instanceof DuckDBTimestampSecondsValue) return value.isFinite ? isoTimestamp(value.seconds, 1n, false) : value.toString();
  if (value instanceof DuckDBTimestampMillisecondsValue) return value.isFinite ? isoTimestamp(value.millis, 1000n, false) : value.toString();
  if (value instanceof DuckDBTimestampNanosecondsValue) return value.isFinite ? isoTimestamp(value.nanos, 1_000_000_000n, false) : value.toString();
  return value.toString();
}

/** `YYYY-MM-DDTHH:MM:SS[.fraction]`, plus `Z` for an instant; DuckDB's own text if out of JS Date range. */
function isoTimestamp(units: bigint, perSecond: bigint, utc: boolean): string {
  const fraction = ((units % perSecond) + perSecond) % perSecond;
  const seconds = (units - fraction) / perSecond;
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return `${units}`;
  const iso = date.toISOString();
  const base = iso.slice(0, iso.indexOf('.'));
  const digits = perSecond.toString().length - 1;
  const fractionText = fraction === 0n ? '' : `.${fraction.toString().padStart(digits, '0').replace(/0+$/, '')}`;
  return `${base}${fractionText}${utc ? 'Z' : ''}`;
}

/** A value as one piece of text (CSV cells, Arrow Utf8): nested values as their JSON text. */
function cellText(value: Exclude<DuckDBValue, null>): string {
  if (typeof value === 'string') return value;
  if (value instanceof DuckDBDecimalValue) return value.toString();
  const json = toJsonValue(value);
  return typeof json === 'object' && json !== null ? JSON.stringify(json) : typeof json === 'string' ? json : String(json);
}

// ---- CSV ------------------------------------------------------------------------------------------

export async function* encodeCsv(source: ResultSource, options: EncodeOptions = {}): AsyncGenerator<Buffer> {
  const guard = options.csvFormulaGuard ?? true;
  const text = (value: string): string => csvField(guard ? guardFormula(value) : value);
  yield Buffer.from(`${source.columns.map((column) => text(column.name)).join(',')}\r\n`);
  for await (const rows of source) {
    let out = '';
    for (const row of rows) {
      out += row.map((value) => (value === null ? '' : typeof value === 'string' ? text(value) : csvField(cellText(value)))).join(',');
      out += '\r\n';
    }
    if (out) yield Buffer.from(out);
  }
}

/** One CSV field, quoted when needed, with a leading formula character neutralised (a spreadsheet would run it). */
export function csvText(value: string): string {
  return csvField(guardFormula(value));
}

function csvField(value: string): string {
  return value === '' || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function guardFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

// ---- Arrow ----------------------------------------------------------------------------------------

/** End-of-stream marker: continuation token, then a zero-length message. */
const ARROW_EOS = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

export async function* encodeArrow(source: ResultSource): AsyncGenerator<Buffer> {
  const plans = source.columns.map(arrowPlan);
  const fields = plans.map((plan, i) => new Field(source.columns[i]!.name, plan.type, true, new Map([['duckdb_type', source.columns[i]!.type]])));
  const schema = new Schema(fields);
  const schemaMessage = streamWithoutEos(new RecordBatchStreamWriter().reset(undefined, schema).finish().toUint8Array(true));
  yield Buffer.from(schemaMessage);
  for await (const rows of source) {
    if (rows.length === 0) continue;
    const children = plans.map((plan, i) => plan.build(rows.map((row) => row[i] ?? null)));
    const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }));
    const stream = streamWithoutEos(RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true));
    if (!startsWith(stream, schemaMessage)) throw framingError();
    yield Buffer.from(stream.subarray(schemaMessage.length));
  }
  yield Buffer.from(ARROW_EOS);
}

function streamWithoutEos(bytes: Uint8Array): Uint8Array {
  if (bytes.length < ARROW_EOS.length || !ARROW_EOS.every((byte, i) => bytes[bytes.length - ARROW_EOS.length + i] === byte)) throw framingError();
  return bytes.subarray(0, bytes.length - ARROW_EOS.length);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function framingError(): CarelakeError {
  return new CarelakeError({ code: 'query.arrow-framing', kind: 'internal', message: 'Unexpected Arrow IPC stream layout from apache-arrow' });
}

interface ArrowPlan {
  type: DataType;
  build(values: readonly DuckDBValue[]): Data;
}

function arrowPlan(column: QueryColumn): ArrowPlan {
  switch (column.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return { type: new Bool(), build: buildBool };
    case DuckDBTypeId.TINYINT:
      return numeric(new Int8(), Int8Array);
    case DuckDBTypeId.SMALLINT:
      return numeric(new Int16(), Int16Array);
    case DuckDBTypeId.INTEGER:
      return numeric(new Int32(), Int32Array);
    case DuckDBTypeId.UTINYINT:
      return numeric(new Uint8(), Uint8Array);
    case DuckDBTypeId.USMALLINT:
      return numeric(new Uint16(), Uint16Array);
    case DuckDBTypeId.UINTEGER:
      return numeric(new Uint32(), Uint32Array);
    case DuckDBTypeId.FLOAT:
      return numeric(new Float32(), Float32Array);
    case DuckDBTypeId.DOUBLE:
      return numeric(new Float64(), Float64Array);
    case DuckDBTypeId.BIGINT:
      return wide(new Int64(), BigInt64Array, (v) => v as bigint);
    case DuckDBTypeId.UBIGINT:
      return wide(new Uint64(), BigUint64Array, (v) => v as bigint);
    case DuckDBTypeId.DECIMAL:
      return (column.duckdbType as DuckDBDecimalType).width <= 15
        ? numeric(new Float64(), Float64Array, (v) => (v as DuckDBDecimalValue).toDouble())
        : { type: new Utf8(), build: (values) => buildBytes(new Utf8(), values) };
    case DuckDBTypeId.DATE:
      return numeric(new DateDay(), Int32Array, (v) => (v as DuckDBDateValue).days);
    case DuckDBTypeId.TIMESTAMP:
      return wide(new Timestamp(TimeUnit.MICROSECOND), BigInt64Array, (v) => (v as DuckDBTimestampValue).micros);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return wide(new Timestamp(TimeUnit.MICROSECOND, 'UTC'), BigInt64Array, (v) => (v as DuckDBTimestampTZValue).micros);
    case DuckDBTypeId.TIMESTAMP_S:
      return wide(new Timestamp(TimeUnit.SECOND), BigInt64Array, (v) => (v as DuckDBTimestampSecondsValue).seconds);
    case DuckDBTypeId.TIMESTAMP_MS:
      return wide(new Timestamp(TimeUnit.MILLISECOND), BigInt64Array, (v) => (v as DuckDBTimestampMillisecondsValue).millis);
    case DuckDBTypeId.TIMESTAMP_NS:
      return wide(new Timestamp(TimeUnit.NANOSECOND), BigInt64Array, (v) => (v as DuckDBTimestampNanosecondsValue).nanos);
    case DuckDBTypeId.TIME:
      return wide(new TimeMicrosecond(), BigInt64Array, (v) => (v as DuckDBTimeValue).micros);
    case DuckDBTypeId.BLOB:
      return { type: new Binary(), build: (values) => buildBytes(new Binary(), values) };
    default:
      return { type: new Utf8(), build: (values) => buildBytes(new Utf8(), values) };
  }
}

type NumberArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;

function numeric(
  type: DataType,
  Array_: { new (length: number): NumberArray },
  read: (value: Exclude<DuckDBValue, null>) => number = (v) => v as number,
): ArrowPlan {
  return {
    type,
    build(values) {
      const data = new Array_(values.length);
      const validity = nulls(values);
      values.forEach((value, i) => {
        if (value !== null) data[i] = read(value);
      });
      return makeData({ type, length: values.length, ...validity, data } as never);
    },
  };
}

function wide(
  type: DataType,
  Array_: { new (length: number): BigInt64Array | BigUint64Array },
  read: (value: Exclude<DuckDBValue, null>) => bigint,
): ArrowPlan {
  return {
    type,
    build(values) {
      const data = new Array_(values.length);
      const validity = nulls(values);
      values.forEach((value, i) => {
        if (value !== null) data[i] = read(value);
      });
      return makeData({ type, length: values.length, ...validity, data } as never);
    },
  };
}

function buildBool(values: readonly DuckDBValue[]): Data {
  const data = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, i) => {
    if (value === true) data[i >> 3]! |= 1 << (i & 7);
  });
  return makeData({ type: new Bool(), length: values.length, ...nulls(values), data });
}

const encoder = new TextEncoder();

/** Utf8 (text of any value) or Binary (BLOB bytes): offsets plus one byte buffer. */
function buildBytes(type: Utf8 | Binary, values: readonly DuckDBValue[]): Data {
  const parts: Uint8Array[] = [];
  const valueOffsets = new Int32Array(values.length + 1);
  let size = 0;
  values.forEach((value, i) => {
    if (value !== null) {
      const bytes = value instanceof DuckDBBlobValue ? value.bytes : encoder.encode(cellText(value));
      parts.push(bytes);
      size += bytes.length;
    }
    valueOffsets[i + 1] = size;
  });
  const data = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return makeData({ type, length: values.length, ...nulls(values), valueOffsets, data } as never);
}

/** The validity bitmap (bit set = value present), omitted when nothing is null. */
function nulls(values: readonly DuckDBValue[]): { nullCount: number; nullBitmap?: Uint8Array } {
  let nullCount = 0;
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, i) => {
    if (value === null) nullCount += 1;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return nullCount === 0 ? { nullCount } : { nullCount, nullBitmap: bitmap };
}

