// Reads a local code map CSV — a Trust's own lab or diagnosis codes mapped to SNOMED CT, the simplest
// form a hand-made map arrives in (specs/terminology.md) — as MapEntry rows, streamed with csv-parse
// (quoting, CRLF/LF and line counting are not hand-rolled). The header names the columns, in any order:
//
//   source_system, source_code, source_display, target_code, target_display, equivalence
//   [, target_system]   (optional; SNOMED CT when absent or empty)
//
// Header names and fields are trimmed (spreadsheets add spaces), header names and equivalences are read
// case-insensitively, a BOM is tolerated, and blank lines (also lines of bare commas, which spreadsheets
// write) are skipped. A missing, unknown or repeated column fails before the first row; a bad row throws
// a CarelakeError naming file, line and field, never the row's values.

import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { csvReadError, csvRecordAt } from '../../core/csvRecord.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { CODE_SYSTEMS, EQUIVALENCES, NOT_RF2, canonicalSystem, isEquivalence, type Equivalence, type MapEntry, type MapFile } from './mapEntry.ts';

export const CSV_REQUIRED_COLUMNS = ['source_system', 'source_code', 'source_display', 'target_code', 'target_display', 'equivalence'] as const;
export const CSV_OPTIONAL_COLUMNS = ['target_system'] as const;

type Column = (typeof CSV_REQUIRED_COLUMNS)[number] | (typeof CSV_OPTIONAL_COLUMNS)[number];
type CsvValues = Readonly<Partial<Record<Column, string>>>;

/** Equivalences that say there is no target, so a row with them needs no target_code. */
const NO_TARGET: ReadonlySet<Equivalence> = new Set(['unmatched', 'disjoint']);

/** Opens a CSV map: checks the file can be read now; the header and rows are checked as entries() streams. */
export async function openCsvCodeMap(file: string): Promise<MapFile> {
  try {
    await access(file);
  } catch (err) {
    throw fileSystemError('read', file, err);
  }
  return { format: 'csv', file, facts: {}, entries: () => readCsvEntries(file) };
}

/** The problem with a header (already trimmed and lower-cased), or null when it has the columns a map needs. */
export function csvHeaderProblem(columns: readonly string[]): string | null {
  const known: readonly string[] = [...CSV_REQUIRED_COLUMNS, ...CSV_OPTIONAL_COLUMNS];
  const missing = CSV_REQUIRED_COLUMNS.filter((name) => !columns.includes(name));
  if (missing.length > 0) return `the header lacks the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`;
  const extra = columns.filter((name) => !known.includes(name));
  if (extra.length > 0) return `the header has unknown column${extra.length === 1 ? '' : 's'} ${extra.map((name) => (name === '' ? '(unnamed)' : name)).join(', ')}`;
  const repeated = columns.filter((name, i) => columns.indexOf(name) !== i);
  if (repeated.length > 0) return `the header names ${[...new Set(repeated)].join(', ')} more than once`;
  return null;
}

async function* readCsvEntries(file: string): AsyncGenerator<MapEntry> {
  let headerSeen = false;
  const parser = parse({
    // Checked here, as the header is read, so a bad header fails before csv-parse counts row fields against it.
    columns: (names: string[]) => {
      headerSeen = true;
      const columns = names.map((name) => name.trim().toLowerCase());
      const problem = csvHeaderProblem(columns);
      if (problem !== null) {
        throw new CarelakeError({
          code: 'terminology.csv-header',
          kind: 'parse',
          message: `Bad CSV code map header: ${problem}`,
          location: { file, line: parser.info.lines },
          hint: `the columns are ${CSV_REQUIRED_COLUMNS.join(', ')} and optionally ${CSV_OPTIONAL_COLUMNS.join(', ')}, in any order`,
        });
      }
      return columns;
    },
    trim: true,
    bom: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    info: true,
  });
  // pipeline() forwards a failing read into the parser and tears both down if the consumer stops early.
  pipeline(createReadStream(file), parser, () => {});

  try {
    for await (const item of parser as AsyncIterable<unknown>) {
      const { record: values, line } = csvRecordAt<CsvValues>(item);
      yield csvEntry(values, file, line);
    }
  } catch (err) {
    throw csvReadError(err, file, 'terminology.csv-row', 'CSV code map');
  } finally {
    parser.destroy();
  }
  // csv-parse never calls `columns` for an empty file, so an empty file would otherwise read as an empty map.
  if (!headerSeen) {
    throw new CarelakeError({
      code: 'terminology.csv-header',
      kind: 'parse',
      message: 'Bad CSV code map: the file is empty, it has no header line',
      location: { file },
      hint: `the first line names the columns: ${CSV_REQUIRED_COLUMNS.join(', ')}`,
    });
  }
}

function rowError(file: string, line: number, field: Column, message: string): CarelakeError {
  return new CarelakeError({ code: 'terminology.csv-row', kind: 'parse', message: `Bad CSV code map row: ${message}`, location: { file, line, field } });
}

/** One checked row as a MapEntry; throws naming the first bad field. */
function csvEntry(values: CsvValues, file: string, line: number): MapEntry {
  const text = (column: Column): string | null => {
    const value = values[column] ?? '';
    return value === '' ? null : value;
  };
  const required = (column: Column): string => {
    const value = text(column);
    if (value === null) throw rowError(file, line, column, `${column} is empty`);
    return value;
  };
  const sourceSystem = canonicalSystem(required('source_system'));
  const sourceCode = required('source_code');
  const equivalenceText = required('equivalence').toLowerCase();
  if (!isEquivalence(equivalenceText)) throw rowError(file, line, 'equivalence', `equivalence is not one of ${EQUIVALENCES.join(', ')}`);
  const equivalence: Equivalence = equivalenceText;
  const noTarget = NO_TARGET.has(equivalence);
  // A code given with unmatched/disjoint is dropped: those say the source has no target in this system.
  const targetCode = noTarget ? null : text('target_code');
  if (!noTarget && targetCode === null) {
    throw rowError(file, line, 'target_code', `target_code is empty; only equivalence unmatched or disjoint may have no target`);
  }
  return {
    line,
    sourceSystem,
    sourceCode,
    sourceDisplay: text('source_display'),
    targetSystem: canonicalSystem(text('target_system') ?? CODE_SYSTEMS.snomed),
    targetCode,
    targetDisplay: noTarget ? null : text('target_display'),
    equivalence,
    comment: null,
    ...NOT_RF2,
  };
}

