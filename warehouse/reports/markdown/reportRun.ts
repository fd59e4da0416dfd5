// Runs a compiled report on a connection to the commissioner serving file: first each filter's choices,
// then the choice made (a query-string value is taken only if it is one of the choices, or a date inside
// the range), then every query with its parameters bound — never spliced into SQL. Each statement
// passes the serving layer's statement check first, and the connection can only see the commissioner
// file (warehouse/serving), so a report cannot select from anything else.
//
// Every result leaves through disclosure control: count columns pass the policy cell by cell (a NULL
// count was suppressed at publish and stays suppressed), measure columns are shown as published except
// in a row where a count is suppressed (there they are suppressed too), and a numeric column that is
// neither is refused — a number whose disclosure role nobody declared is never shown. A suppressed
// cell's value is NULL in the result itself, not only marked, so no caller can show it by mistake.

import type { DuckDb, Json } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { applyToCount, type DisclosurePolicy } from '../../disclosure/policy.ts';
import { type CompiledReport, type DateRangeFilter, type DropdownFilter, type ReportQuery } from './reportCompile.ts';

export interface ReportInputs {
  /** Route segments by name (`practice/[code]` → { code }). */
  route: Record<string, string>;
  /** The query string (filters' choices). */
  query: Record<string, unknown>;
}

export type FilterState =
  | { filter: DropdownFilter; options: { value: string; label: string }[]; selected: string | null }
  | { filter: DateRangeFilter; min: string | null; max: string | null; start: string | null; end: string | null };

export interface DisclosedResult {
  name: string;
  columns: string[];
  types: string[];
  rows: Json[][];
  counts: string[];
  measures: string[];
  /** `row:column` of each suppressed cell. */
  suppressed: Set<string>;
}

export interface ReportRun {
  report: CompiledReport;
  route: Record<string, string>;
  filters: FilterState[];
  results: Map<string, DisclosedResult>;
  /** Each statement as it ran, with the values bound to it (what a reader or a benchmark can re-run). */
  statements: { name: string; sql: string; params: Record<string, string | null> }[];
}

export interface RunDeps {
  policy: DisclosurePolicy;
  /** The serving layer's statement check (throws when refused). */
  check: (sql: string) => Promise<unknown>;
}

const ROUTE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;

export async function runReport(report: CompiledReport, db: DuckDb, inputs: ReportInputs, deps: RunDeps): Promise<ReportRun> {
  const route: Record<string, string> = {};
  for (const name of report.routeParams) {
    const value = inputs.route[name];
    if (typeof value !== 'string' || !ROUTE_VALUE.test(value)) {
      throw new CarelakeError({ code: 'reports.bad-route', kind: 'runtime', message: `The page address needs a ${name} of letters, digits, '.', '_' or '-'` });
    }
    route[name] = value;
  }
  const values: Record<string, string> = { ...route };
  const results = new Map<string, DisclosedResult>();
  const filters: FilterState[] = [];
  const statements: ReportRun['statements'] = [];
  const run = async (query: ReportQuery): Promise<DisclosedResult> => {
    const cached = results.get(query.name);
    if (cached) return cached;
    const params = Object.fromEntries(query.params.map((p) => [p, values[p] ?? null]));
    statements.push({ name: query.name, sql: query.sql, params });
    const result = await runQuery(report, query, db, params, deps);
    results.set(query.name, result);
    return result;
  };

  for (const filter of report.filters) {
    const data = await run(queryNamed(report, filter.data));
    const chosen = inputs.query[filter.type === 'Dropdown' ? filter.name : `${filter.name}_start`];
    if (filter.type === 'Dropdown') {
      const options = column(report, data, filter.value, filter).map((value, i) => ({ value: String(value ?? ''), label: String(column(report, data, filter.label, filter)[i] ?? '') }));
      const selected = typeof chosen === 'string' && options.some((o) => o.value === chosen) ? chosen : (options[0]?.value ?? null);
      filters.push({ filter, options, selected });
      if (selected !== null) values[filter.name] = selected;
    } else {
      const dates = column(report, data, filter.column, filter).filter((d): d is string => typeof d === 'string' && ISO_DATE.test(d.slice(0, 10))).map((d) => d.slice(0, 10)).sort();
      const min = dates[0] ?? null;
      const max = dates[dates.length - 1] ?? null;
      const pick = (value: unknown, fallback: string | null) => (typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value)) ? value : fallback);
      let start = pick(chosen, min);
      let end = pick(inputs.query[`${filter.name}_end`], max);
      if (start && end && start > end) [start, end] = [end, start];
      filters.push({ filter, min, max, start, end });
      if (start) values[`${filter.name}_start`] = start;
      if (end) values[`${filter.name}_end`] = end;
    }
  }
  // A filter with no choices (no data) leaves its parameters NULL; queries needing them return nothing.
  for (const query of report.queries) await run(query);
  checkComponentColumns(report, results);
  return { report, route, filters, results, statements };
}

/** Every column a component names must be in its query's result: otherwise the page is refused, not half-drawn. */
function checkComponentColumns(report: CompiledReport, results: Map<string, DisclosedResult>): void {
  for (const block of report.blocks) {
    if (block.kind !== 'component') continue;
    const c = block.component;
    const named =
      c.type === 'DataTable' ? [...c.linkColumns, ...(c.linkOn ? [c.linkOn] : [])] : c.type === 'BigValue' ? [c.value] : c.type === 'BarChart' || c.type === 'LineChart' ? [c.x, ...c.y, ...(c.series ? [c.series] : [])] : [];
    const result = results.get(c.data)!;
    const missing = named.filter((column) => !result.columns.includes(column));
    if (missing.length > 0) {
      throw new CarelakeError({
        code: 'reports.missing-column',
        kind: 'config',
        message: `${report.file}:${c.line}: ${c.type} names ${missing.map((m) => `'${m}'`).join(', ')}, which query '${c.data}' does not return (it returns ${result.columns.join(', ')})`,
        location: { file: report.file, line: c.line, field: missing[0] },
      });
    }
  }
}

async function runQuery(report: CompiledReport, query: ReportQuery, db: DuckDb, params: Record<string, string | null>, deps: RunDeps): Promise<DisclosedResult> {
  const where = `${report.file}:${query.line} (query '${query.name}')`;
  try {
    await deps.check(query.sql);
  } catch (err) {
    throw new CarelakeError({ code: 'reports.query-refused', kind: 'config', message: `${where}: ${(err as Error).message}`, location: { file: report.file, line: query.line }, cause: err });
  }
  let result: { columns: string[]; types: string[]; rows: Json[][] };
  try {
    result = await db.table(query.sql, params, `run ${where}`);
  } catch (err) {
    throw new CarelakeError({ code: 'reports.query-failed', kind: 'config', message: `${where} failed: ${(err as Error).message.split('\n')[0]}`, location: { file: report.file, line: query.line }, cause: err });
  }
  const declared = [...query.counts, ...query.measures];
  for (const c of declared) {
    if (!result.columns.includes(c)) throw new CarelakeError({ code: 'reports.missing-column', kind: 'config', message: `${where}: counts/measures name '${c}', which the query does not return`, location: { file: report.file, line: query.line, field: c } });
  }
  const undeclared = result.columns.filter((c, i) => NUMERIC_TYPE.test(result.types[i] ?? '') && !declared.includes(c));
  if (undeclared.length > 0) {
    throw new CarelakeError({
      code: 'reports.undeclared-number',
      kind: 'config',
      message: `${where}: numeric column${undeclared.length > 1 ? 's' : ''} ${undeclared.map((c) => `'${c}'`).join(', ')} ${undeclared.length > 1 ? 'are' : 'is'} neither counts= nor measures=; every number shown must declare how it is disclosure-controlled`,
      location: { file: report.file, line: query.line, field: undeclared[0] },
      hint: 'add counts=<columns> for counts of people or events, measures=<columns> for rates, means and FTE; cast codes to VARCHAR',
    });
  }
  const suppressed = new Set<string>();
  const countIndexes = query.counts.map((c) => result.columns.indexOf(c));
  const measureIndexes = query.measures.map((c) => result.columns.indexOf(c));
  const rows = result.rows.map((row, r) => {
    const out = [...row];
    for (const i of countIndexes) {
      const value = row[i] ?? null;
      if (value === null) {
        suppressed.add(`${r}:${i}`);
        continue;
      }
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new CarelakeError({ code: 'reports.not-a-count', kind: 'config', message: `${where}: column '${result.columns[i]}' is declared a count but holds a value that is not one (row ${r + 1})`, location: { file: report.file, line: query.line, field: result.columns[i] } });
      }
      const disclosed = applyToCount(deps.policy, n);
      out[i] = disclosed.value;
      if (disclosed.suppressed) suppressed.add(`${r}:${i}`);
    }
    // A rate or mean beside a suppressed count could give it back, so it goes with it.
    const countHidden = countIndexes.some((i) => suppressed.has(`${r}:${i}`));
    for (const i of measureIndexes) {
      if (countHidden || (row[i] ?? null) === null) {
        suppressed.add(`${r}:${i}`);
        out[i] = null;
      }
    }
    return out;
  });
  return { name: query.name, columns: result.columns, types: result.types, rows, counts: query.counts, measures: query.measures, suppressed };
}

function queryNamed(report: CompiledReport, name: string): ReportQuery {
  return report.queries.find((q) => q.name === name)!;
}

function column(report: CompiledReport, result: DisclosedResult, name: string, filter: DropdownFilter | DateRangeFilter): Json[] {
  const index = result.columns.indexOf(name);
  if (index < 0) {
    throw new CarelakeError({
      code: 'reports.missing-column',
      kind: 'config',
      message: `${report.file}:${filter.line}: ${filter.type} '${filter.name}' reads column '${name}', which query '${result.name}' does not return`,
      location: { file: report.file, line: filter.line, field: name },
    });
  }
  return result.rows.map((row) => row[index] ?? null);
}
