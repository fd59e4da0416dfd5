// `carelake link eval --clusters <out.csv> --truth <file> --truth-id <col> --truth-cluster <col|pattern>`:
// scores a linkage run's clusters against a known truth (pairwise and B-cubed precision, recall and F1;
// the arithmetic is transforms/linkage/evaluation.ts). This is the I/O edge: it streams both CSVs,
// checks their columns and values, and prints a small table.
//
// Both files are CSV with a header line. Headers and values are trimmed, since FEBRL writes
// `rec_id, given_name` with a space after each comma. The clusters file's columns default to
// `record_id` and `person_id`. `--truth-cluster` names a truth column when the header has one by that
// name; otherwise it is a regular expression over the truth id column, e.g. `rec-(\d+)` for FEBRL's
// `rec-123-org` / `rec-123-dup-4`, and the first capture group is the true cluster.
// Messages name files, lines, columns and record ids (record keys), never other field values.

import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { csvReadError, csvRecordAt } from '../../core/csvRecord.ts';
import { CarelakeError } from '../../core/errors.ts';
import { scoreClusters, truthClusterFromPattern, type ClusterAssignment, type LinkageScores } from '../../transforms/linkage/evaluation.ts';
import { formatTable, type Console } from '../console.ts';

export interface LinkEvalOptions {
  /** The linkage output: one row per record with its cluster. */
  clusters: string;
  /** The known truth. */
  truth: string;
  /** The truth column holding record ids (the same ids as the clusters file). */
  truthId: string;
  /** A truth column holding the true cluster, or a pattern over the truth id (see above). */
  truthCluster: string;
  /** Record id column of the clusters file; `record_id` by default. */
  clustersId?: string;
  /** Cluster column of the clusters file; `person_id` by default. */
  clustersCluster?: string;
}

const DEFAULT_CLUSTERS_ID = 'record_id';
const DEFAULT_CLUSTERS_CLUSTER = 'person_id';
const PROGRESS_EVERY = 100_000;

export async function linkEvalCommand(opts: LinkEvalOptions, out: Console): Promise<LinkageScores> {
  const clustersId = opts.clustersId ?? DEFAULT_CLUSTERS_ID;
  const clustersCluster = opts.clustersCluster ?? DEFAULT_CLUSTERS_CLUSTER;
  requireCsv(opts.clusters, '--clusters');
  requireCsv(opts.truth, '--truth');

  const predicted = await readAssignments(opts.clusters, out, (columns) => {
    requireColumns(opts.clusters, 'clusters file', columns, [
      { column: clustersId, option: '--clusters-id' },
      { column: clustersCluster, option: '--clusters-cluster' },
    ]);
    return (values, line) => ({
      recordId: requireValue(values, clustersId, opts.clusters, line),
      clusterId: requireValue(values, clustersCluster, opts.clusters, line),
    });
  });

  const truth = await readAssignments(opts.truth, out, (columns) => {
    requireColumns(opts.truth, 'truth file', columns, [{ column: opts.truthId, option: '--truth-id' }]);
    if (columns.includes(opts.truthCluster)) {
      return (values, line) => ({
        recordId: requireValue(values, opts.truthId, opts.truth, line),
        clusterId: requireValue(values, opts.truthCluster, opts.truth, line),
      });
    }
    const readAsPattern = `'${opts.truthCluster}' is not a column of the truth file (its columns are ${columns.join(', ')}), so it was read as a pattern over ${opts.truthId}`;
    const clusterOf = compilePattern(opts.truthCluster, opts.truth, readAsPattern);
    return (values, line) => {
      const recordId = requireValue(values, opts.truthId, opts.truth, line);
      const clusterId = clusterOf(recordId);
      if (clusterId === null) {
        throw new CarelakeError({
          code: 'linkage.truth-id-unmatched',
          kind: 'parse',
          message: `Truth id '${recordId}' does not match the --truth-cluster pattern '${opts.truthCluster}'`,
          location: { file: opts.truth, line, field: opts.truthId },
          hint: `${readAsPattern}; every truth id must match it and capture a non-empty cluster`,
        });
      }
      return { recordId, clusterId };
    };
  });

  const scores = scoreClusters(predicted, truth, {
    predicted: `the clusters file ${opts.clusters}`,
    truth: `the truth file ${opts.truth}`,
  });
  out.info(formatScores(scores));
  return scores;
}

/** The scores as two small tables: the counts, then precision / recall / F1 to four decimals. */
export function formatScores(scores: LinkageScores): string {
  const counts = formatTable(
    ['records', 'true pairs', 'predicted pairs', 'true positive pairs'],
    [[scores.records, scores.truePairs, scores.predictedPairs, scores.truePositivePairs]],
  );
  const fixed = (x: number) => x.toFixed(4);
  const measures = formatTable(
    ['measure', 'precision', 'recall', 'F1'],
    [
      ['pairwise', fixed(scores.pairwise.precision), fixed(scores.pairwise.recall), fixed(scores.pairwise.f1)],
      ['B-cubed', fixed(scores.bcubed.precision), fixed(scores.bcubed.recall), fixed(scores.bcubed.f1)],
    ],
  );
  return `${counts}\n\n${measures}`;
}

type CsvValues = Readonly<Record<string, string>>;
type RowReader = (values: CsvValues, line: number) => ClusterAssignment;

/**
 * Streams a CSV and turns each row into an assignment. `start` sees the (trimmed) header once, before
 * any row — also for a file with a header and no rows — and returns the row reader.
 */
async function readAssignments(file: string, out: Console, start: (columns: readonly string[]) => RowReader): Promise<ClusterAssignment[]> {
  let header: string[] | undefined;
  const parser = parse({
    columns: (names: string[]) => {
      header = names.map((name) => name.trim());
      return header;
    },
    trim: true,
    bom: true,
    skip_empty_lines: true,
    info: true,
  });
  // pipeline() forwards a failing read (e.g. a missing file) into the parser and tears both down if we stop early.
  pipeline(createReadStream(file), parser, () => {});

  const assignments: ClusterAssignment[] = [];
  let read: RowReader | undefined;
  try {
    for await (const item of parser as AsyncIterable<unknown>) {
      const { record: values, line } = csvRecordAt<CsvValues>(item);
      read ??= start(header ?? []);
      assignments.push(read(values, line));
      if (assignments.length % PROGRESS_EVERY === 0) out.progress(`reading ${file}: ${assignments.length} rows`);
    }
  } catch (err) {
    throw csvReadError(err, file, 'linkage.csv-invalid', 'CSV');
  } finally {
    out.done();
  }
  if (header === undefined) {
    throw new CarelakeError({
      code: 'linkage.empty-file',
      kind: 'parse',
      message: 'The file is empty: it has no header line',
      location: { file },
      hint: 'give a CSV whose first line names the columns',
    });
  }
  if (read === undefined) start(header);
  return assignments;
}

function requireCsv(file: string, option: string): void {
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet' || ext === '.json' || ext === '.ndjson') {
    throw new CarelakeError({
      code: 'linkage.not-csv',
      kind: 'config',
      message: `${option} must be a CSV file, not ${ext}`,
      location: { file },
      hint: `export it first, e.g. in DuckDB: COPY (SELECT * FROM '${file}') TO 'out.csv' (HEADER)`,
    });
  }
}

function requireColumns(file: string, what: string, columns: readonly string[], wanted: readonly { column: string; option: string }[]): void {
  const missing = wanted.filter((w) => !columns.includes(w.column));
  if (missing.length === 0) return;
  const names = missing.map((m) => `'${m.column}' (${m.option})`).join(' and ');
  throw new CarelakeError({
    code: 'linkage.missing-column',
    kind: 'config',
    message: `The ${what} has no column${missing.length === 1 ? '' : 's'} ${names}; its columns are ${columns.length === 0 ? '(none)' : columns.join(', ')}`,
    location: { file, line: 1 },
    hint: `name existing columns with ${missing.map((m) => m.option).join(' and ')}`,
  });
}

function requireValue(values: CsvValues, column: string, file: string, line: number): string {
  const value = values[column];
  if (value === undefined || value === '') {
    throw new CarelakeError({
      code: 'linkage.empty-value',
      kind: 'parse',
      message: `The ${column} column is empty`,
      location: { file, line, field: column },
      hint: 'every row needs a record id and a cluster',
    });
  }
  return value;
}

function compilePattern(pattern: string, file: string, readAsPattern: string): (id: string) => string | null {
  try {
    return truthClusterFromPattern(pattern);
  } catch (err) {
    if (!(err instanceof CarelakeError)) throw err;
    throw new CarelakeError({ code: err.code, kind: err.kind, message: err.message, location: { file }, hint: `${readAsPattern}. ${err.hint ?? ''}`.trim(), cause: err });
  }
}
