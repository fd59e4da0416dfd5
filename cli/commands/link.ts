// `carelake link --input <csv|parquet> --id <col> --columns role=col,… --out clusters.csv`: patient
// linkage on any file, outside the pipeline. The file is read by DuckDB into an in-memory database,
// linked by transforms/linkage, and `record_id,person_id,match_probability` is written for every input
// record. `--save-model` keeps the trained parameters; `--model` scores with saved ones instead.
// `--previous` (an earlier clusters file) keeps its person ids stable. The I/O edge of linkage.

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { withDuckDb, type DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { quoteIdent, quoteLiteral } from '../../core/sql.ts';
import { DEFAULT_LINKAGE_SETTINGS, explainRecordPair, linkRecords, type LinkageRunReport, type LinkageSettings } from '../../transforms/linkage/linkRecords.ts';
import { parseLinkageModel, type LinkageModel } from '../../transforms/linkage/linkageModel.ts';
import { parseRoleMapping, type RoleMapping } from '../../transforms/linkage/roles.ts';
import type { PairExplanation } from '../../transforms/linkage/scoring.ts';
import { formatTable, type Console } from '../console.ts';

export interface LinkOptions {
  input: string;
  id: string;
  columns: string;
  out: string;
  model?: string;
  saveModel?: string;
  previous?: string;
  threshold?: number;
  review?: string;
  blocking?: string;
  acceptTestNhsNumbers?: boolean;
  explain?: string[];
}

function configError(code: string, message: string, hint?: string): CarelakeError {
  return new CarelakeError({ code, kind: 'config', message, ...(hint === undefined ? {} : { hint }) });
}

/** `read_csv` / `read_parquet` over the file, every CSV column as text (ids and NHS numbers keep their zeros). */
function readerFor(path: string): string {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return `read_parquet(${quoteLiteral(path)})`;
  if (ext === '.csv' || ext === '.txt' || ext === '.tsv') return `read_csv(${quoteLiteral(path)}, header = true, all_varchar = true)`;
  throw configError('link.input-format', `${path}: linkage reads .csv or .parquet files`);
}

export function parseBlockingRules(text: string): string[][] {
  return text.split(';').map((rule) => rule.split('+').map((k) => k.trim())).filter((rule) => rule.some((k) => k !== ''));
}

export function linkSettings(options: Pick<LinkOptions, 'threshold' | 'blocking' | 'acceptTestNhsNumbers'>): LinkageSettings {
  const settings: LinkageSettings = { ...DEFAULT_LINKAGE_SETTINGS };
  if (options.threshold !== undefined) {
    if (!(options.threshold > 0 && options.threshold < 1)) throw configError('link.threshold', '--threshold must be a probability between 0 and 1, e.g. 0.95');
    settings.threshold = options.threshold;
    settings.reviewLower = Math.min(settings.reviewLower, options.threshold);
  }
  if (options.blocking !== undefined) settings.blockingRules = parseBlockingRules(options.blocking);
  if (options.acceptTestNhsNumbers === true) settings.acceptTestNhsNumbers = true;
  return settings;
}

async function readModel(file: string): Promise<LinkageModel> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileSystemError('read the linkage model', file, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CarelakeError({ code: 'link.model', kind: 'parse', message: `${file} is not JSON`, location: { file } });
  }
  try {
    return parseLinkageModel(json, file);
  } catch (err) {
    throw new CarelakeError({ code: 'link.model', kind: 'parse', message: (err as Error).message, location: { file } });
  }
}

/** The input table, with column names trimmed (FEBRL writes `rec_id, given_name`). */
async function loadInput(db: DuckDb, path: string): Promise<string[]> {
  if (!existsSync(path)) throw configError('link.input', `${path} does not exist`);
  await db.run(`CREATE TABLE link_input AS SELECT * FROM ${readerFor(path)}`, undefined, `read ${path}`);
  const columns = (await db.all(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'link_input' ORDER BY column_index`)).map((r) => String(r.column_name));
  for (const column of columns) {
    if (column.trim() !== column) await db.run(`ALTER TABLE link_input RENAME ${quoteIdent(column)} TO ${quoteIdent(column.trim())}`);
  }
  return columns.map((c) => c.trim());
}

function checkColumns(path: string, columns: readonly string[], id: string, mapping: RoleMapping): void {
  const wanted = [id, ...Object.values(mapping).flat()];
  const missing = wanted.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw configError('link.columns', `${path} has no column ${missing.map((c) => `'${c}'`).join(', ')}`, `its columns are: ${columns.join(', ')}`);
  }
}

export interface LinkResult {
  report: LinkageRunReport;
  explanations: { pair: [string, string]; explanation: PairExplanation }[];
}

export async function linkCommand(options: LinkOptions, out: Console, clock: () => number = () => performance.now()): Promise<LinkResult> {
  let mapping: RoleMapping;
  try {
    mapping = parseRoleMapping(options.columns);
  } catch (err) {
    throw configError('link.columns', `--columns: ${(err as Error).message}`, 'e.g. --columns given_name=first_name,family_name=surname,birth_date=dob');
  }
  const settings = linkSettings(options);
  const model = options.model === undefined ? null : await readModel(options.model);
  const input = resolve(options.input);
  return withDuckDb(':memory:', {}, async (db) => {
    const columns = await loadInput(db, input);
    checkColumns(options.input, columns, options.id, mapping);
    let previous = null;
    if (options.previous !== undefined) {
      await db.run(`CREATE TABLE link_previous AS SELECT CAST(record_id AS VARCHAR) AS record_id, CAST(person_id AS VARCHAR) AS person_id FROM read_csv(${quoteLiteral(resolve(options.previous))}, header = true, all_varchar = true)`, undefined, `read ${options.previous}`);
      previous = { xref: 'link_previous', registry: '(SELECT person_id, NULL::TIMESTAMP AS created_at FROM link_previous WHERE false)' };
    }
    let report: LinkageRunReport;
    try {
      report = await linkRecords(db, {
        from: 'link_input',
        idColumn: options.id,
        mapping,
        settings,
        model,
        ...(options.model === undefined ? {} : { modelFile: options.model }),
        previous,
        schema: 'main',
        prefix: 'link_',
        now: new Date(),
        clock,
      });
    } catch (err) {
      if (err instanceof CarelakeError) throw err;
      throw new CarelakeError({ code: 'link.failed', kind: 'config', message: `${options.input}: ${(err as Error).message}`, cause: err });
    }
    await db.run(`COPY (SELECT record_id, person_id, round(match_probability, 6) AS match_probability FROM ${report.tables.xref} ORDER BY record_id) TO ${quoteLiteral(resolve(options.out))} (HEADER, DELIMITER ',')`, undefined, `write ${options.out}`);
    if (options.review !== undefined) {
      await db.run(`COPY (SELECT * FROM ${report.tables.review}) TO ${quoteLiteral(resolve(options.review))} (HEADER, DELIMITER ',')`, undefined, `write ${options.review}`);
    }
    if (options.saveModel !== undefined) {
      try {
        await writeFile(options.saveModel, `${JSON.stringify(report.model, null, 2)}\n`);
      } catch (err) {
        throw fileSystemError('write the linkage model', options.saveModel, err);
      }
    }
    const explanations = [];
    for (const pair of options.explain ?? []) {
      const [a, b] = pair.split(',').map((s) => s.trim());
      if (a === undefined || b === undefined || a === '' || b === '') throw configError('link.explain', `--explain takes two record ids: <id>,<id> (got '${pair}')`);
      try {
        explanations.push({ pair: [a, b] as [string, string], explanation: await explainRecordPair(db, report.tables.records, report.model, a, b) });
      } catch (err) {
        if (err instanceof CarelakeError) throw err;
        throw configError('link.explain', `--explain ${pair}: ${(err as Error).message}`);
      }
    }
    printReport(report, options, out);
    for (const { pair, explanation } of explanations) printExplanation(pair, explanation, out);
    return { report, explanations };
  });
}

function printReport(report: LinkageRunReport, options: LinkOptions, out: Console): void {
  out.info(`Linked ${report.records} records into ${report.people} people (${report.linkedPairs} links, ${report.candidatePairs} pairs compared); wrote ${options.out}`);
  if (report.refusedLinks > 0) out.info(`${report.refusedLinks} link(s) refused: they would have joined two different verified NHS numbers`);
  for (const u of report.unreadable) {
    out.warn(`${u.records} record(s) have a ${u.role} that could not be used (first: record ${u.firstRecordId}); they link on their other fields`);
  }
  if (report.forcedLinksUnresolved > 0) out.warn(`${report.forcedLinksUnresolved} merge link(s) name a record that is not in the input`);
  if (report.reviewPairs > 0) out.info(`${report.reviewPairs} pair(s) in the review band${options.review === undefined ? ' (write them with --review <file>)' : `, written to ${options.review}`}`);
  const rows = report.stages.map((s) => [s.stage, s.seconds.toFixed(2)]);
  out.info(formatTable(['stage', 'seconds'], rows));
}

function printExplanation(pair: [string, string], e: PairExplanation, out: Console): void {
  out.info(`\n${pair[0]} ↔ ${pair[1]}: match weight ${e.match_weight.toFixed(2)}, probability ${e.match_probability.toFixed(4)}`);
  const rows = [['prior', '', e.prior_weight.toFixed(2)], ...e.fields.map((f) => [f.comparison, f.level, f.weight.toFixed(2)])];
  out.info(formatTable(['field', 'level', 'weight'], rows));
}
