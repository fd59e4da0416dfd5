// The raw datasets an ESR GO file lands in, and the SQL that turns a staged record type into rows.
// One dataset per record family (person, assignment, …): the union of its record types' columns,
// typed by the layout (dates, timestamps, numbers, `|` sub-fields as lists), after `record_type` and
// `action`, with the line as written in `_raw`. Plus `header`: one row per file, the HDR fields and
// what the file name says (VPD, full or changes, sequence), which models use to apply files in order.

import { CarelakeError } from '../../core/errors.ts';
import type { ColumnType } from '../../core/duckdb.ts';
import { quoteIdent, quoteLiteral } from '../../core/sql.ts';
import type { RawColumn, RawDatasetSchema } from '../landing/rawDataset.ts';
import type { EsrGoFileName } from './fileName.ts';
import type { EsrHeaderFields } from './goFile.ts';
import type { EsrFieldType, EsrLayout, EsrRecordLayout } from './layout.ts';

const COLUMN_TYPES: Record<EsrFieldType, ColumnType> = {
  text: 'VARCHAR',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  number: 'DOUBLE',
  subfields: 'VARCHAR[]',
};

/** One dataset per record family: record type, action, then its record types' columns. */
export function esrDatasets(layout: EsrLayout): Map<string, RawDatasetSchema> {
  const byDataset = new Map<string, RawColumn[]>();
  for (const [recordType, record] of Object.entries(layout.recordTypes)) {
    const columns = byDataset.get(record.dataset) ?? [];
    for (const { name, type } of record.columns) {
      const existing = columns.find((c) => c.name === name);
      if (existing === undefined) columns.push({ name, type: COLUMN_TYPES[type] });
      else if (existing.type !== COLUMN_TYPES[type]) {
        throw new CarelakeError({
          code: 'esr.bad-layout',
          kind: 'config',
          message: `ESR layout ${layout.id}: column '${name}' of ${recordType} is ${type}, but another ${record.dataset} record type has it as ${existing.type}`,
          hint: 'give a column one type in every record type of its dataset',
        });
      }
    }
    byDataset.set(record.dataset, columns);
  }
  return new Map(
    [...byDataset].map(([dataset, columns]) => [
      dataset,
      { dataset, columns: [{ name: 'record_type', type: 'VARCHAR' }, { name: 'action', type: 'VARCHAR' }, ...columns] },
    ]),
  );
}

/** One row per landed GO file. */
export const ESR_HEADER: RawDatasetSchema = {
  dataset: 'header',
  columns: [
    { name: 'file_name', type: 'VARCHAR' },
    { name: 'vpd', type: 'VARCHAR' },
    { name: 'extract', type: 'VARCHAR' },
    { name: 'file_sequence', type: 'BIGINT' },
    { name: 'file_date', type: 'DATE' },
    { name: 'created_at', type: 'TIMESTAMP' },
    { name: 'previous_run_at', type: 'TIMESTAMP' },
    { name: 'run_at', type: 'TIMESTAMP' },
    { name: 'interface_version', type: 'VARCHAR' },
    { name: 'lines', type: 'BIGINT' },
  ],
};

const ESR_TIMESTAMP_FORMAT = `'%Y%m%d %H%M%S'`;

/** The header row of one file, as a SELECT for FileLanding.landRows. */
export function headerRowSql(name: EsrGoFileName, header: EsrHeaderFields, line: number, raw: string, lines: number): string {
  const ts = (text: string | null) => (text === null ? 'NULL::TIMESTAMP' : `strptime(${quoteLiteral(text)}, ${ESR_TIMESTAMP_FORMAT})`);
  return (
    `SELECT ${line}::BIGINT AS _record, ${quoteLiteral(header.file_name)} AS file_name, ${quoteLiteral(name.vpd)} AS vpd, ` +
    `${quoteLiteral(name.extract)} AS extract, ${name.sequence}::BIGINT AS file_sequence, DATE ${quoteLiteral(name.date)} AS file_date, ` +
    `${ts(header.created_at)} AS created_at, ${ts(header.previous_run_at)} AS previous_run_at, ${ts(header.run_at)} AS run_at, ` +
    `${quoteLiteral(header.interface_version)} AS interface_version, ${lines}::BIGINT AS lines, ${quoteLiteral(raw)} AS _raw`
  );
}

/** The spool's columns as read_csv reads them: the line number, the record type, then every field as text. */
export function spoolColumns(record: EsrRecordLayout): string {
  return [`'_record': 'BIGINT'`, `'_type': 'VARCHAR'`, ...record.columns.map((_, i) => `'f${i}': 'VARCHAR'`)].join(', ');
}

function typed(field: string, type: EsrFieldType): string {
  switch (type) {
    case 'text':
      return field;
    case 'date':
      return `strptime(${field}, '%Y%m%d')::DATE`;
    case 'timestamp':
      return `strptime(${field}, ${ESR_TIMESTAMP_FORMAT})`;
    case 'number':
      return `${field}::DOUBLE`;
    case 'subfields':
      return `string_split(${field}, '|')`;
  }
}

/**
 * Rows of `dataset` from a spool of one record type (see EsrRecordSpool): typed columns, NULL for the
 * dataset's columns this record type lacks, and `_raw` rebuilt from the fields exactly as written —
 * the reader checked the field count and ESR has no quoting, so joining with `~` is the line.
 */
export function recordRowsSql(schema: RawDatasetSchema, record: EsrRecordLayout, readSql: string): string {
  const byName = new Map(record.columns.map((c, i) => [c.name, { field: `f${i}`, type: c.type }]));
  const select = schema.columns.map(({ name, type }) => {
    if (name === 'record_type') return `_type AS record_type`;
    if (name === 'action') return `${quoteLiteral(record.action)} AS action`;
    const column = byName.get(name);
    return column === undefined ? `NULL::${type} AS ${quoteIdent(name)}` : `${typed(column.field, column.type)} AS ${quoteIdent(name)}`;
  });
  const raw = ['_type', ...record.columns.map((_, i) => `coalesce(f${i}, '')`)].join(` || '~' || `);
  return `SELECT _record, ${select.join(', ')}, ${raw} AS _raw FROM (${readSql})`;
}
