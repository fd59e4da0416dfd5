// A report source checked and made ready to run: its title, its queries (with the parameters each
// uses and the disclosure role of its columns), its filters and components, and its prose as HTML.
// Everything that can be known without the data is checked here, and every problem is reported with
// the file and line (`carelake reports check` shows them all). Pure.
//
// Parameters reach SQL only as bound values (`$name`): a route segment (`practice/[code].md` gives
// `$code`), a Dropdown's choice (`$<name>`) or a DateRange's ends (`$<name>_start`, `$<name>_end`).

import MarkdownIt from 'markdown-it';
import { CarelakeError } from '../../../core/errors.ts';
import { problem, type ReportSource } from './reportSource.ts';

export interface ReportQuery {
  name: string;
  line: number;
  sql: string;
  /** Columns holding counts of people or events: each cell passes the disclosure policy. */
  counts: string[];
  /** Columns derived from counts (rates, means, FTE): shown as published, suppressed where NULL. */
  measures: string[];
  /** Parameters the SQL uses, in order of first use. */
  params: string[];
}

interface ComponentBase {
  line: number;
  title: string;
}
export interface TableComponent extends ComponentBase {
  type: 'DataTable';
  data: string;
  /** A drill-down: a report path with {column} placeholders, e.g. practice/{practice_ods}. */
  link: string | null;
  /** The columns the placeholders name, in order. */
  linkColumns: string[];
  /** The column whose cells carry the link (`linkOn`, default the first placeholder's). */
  linkOn: string | null;
}
export interface ChartComponent extends ComponentBase {
  type: 'BarChart' | 'LineChart';
  data: string;
  x: string;
  y: string[];
  series: string | null;
}
export interface BigValueComponent extends ComponentBase {
  type: 'BigValue';
  data: string;
  value: string;
}
export interface DropdownFilter extends ComponentBase {
  type: 'Dropdown';
  name: string;
  data: string;
  value: string;
  label: string;
}
export interface DateRangeFilter extends ComponentBase {
  type: 'DateRange';
  name: string;
  data: string;
  column: string;
}
export type ReportFilter = DropdownFilter | DateRangeFilter;
export type ReportComponent = TableComponent | ChartComponent | BigValueComponent | ReportFilter;

export type CompiledBlock = { kind: 'prose'; html: string } | { kind: 'component'; component: ReportComponent };

export interface CompiledReport {
  /** The path under the reports folder without `.md`, e.g. `admissions` or `practice/[code]`. */
  id: string;
  file: string;
  title: string;
  description: string;
  /** Route segments in brackets, in path order. */
  routeParams: string[];
  queries: ReportQuery[];
  filters: ReportFilter[];
  blocks: CompiledBlock[];
  /** Listed on the index (a drill-down page is reached from its parent, not listed). */
  listed: boolean;
  /** For a templated page: front matter `paths:`, a query returning the route values of the pages that exist. */
  paths: string | null;
}

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: true });
const ID_SEGMENT = /^(?:[a-z0-9][a-z0-9_-]*|\[[a-z][a-z0-9_]*\])$/;
const COLUMN_LIST = /^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Compiles one report; throws one error listing every problem found. */
export function compileReport(source: ReportSource, id: string): CompiledReport {
  const problems: CarelakeError[] = [];
  const file = source.file;
  const segments = id.split('/');
  if (!segments.every((s) => ID_SEGMENT.test(s))) problems.push(problem(file, 1, `the report's path '${id}' must be lower-case names and [param] segments`));
  const routeParams = segments.filter((s) => s.startsWith('[')).map((s) => s.slice(1, -1));

  const title = source.frontMatter.title;
  if (typeof title !== 'string' || title.trim() === '') problems.push(problem(file, 1, 'the front matter needs a title'));
  const description = typeof source.frontMatter.description === 'string' ? source.frontMatter.description : '';

  const queries: ReportQuery[] = [];
  const blocks: CompiledBlock[] = [];
  const filters: ReportFilter[] = [];
  for (const block of source.blocks) {
    if (block.kind === 'prose') {
      blocks.push({ kind: 'prose', html: markdown.render(block.markdown) });
    } else if (block.kind === 'query') {
      try {
        if (queries.some((q) => q.name === block.name)) throw problem(file, block.line, `a query named '${block.name}' is defined twice`);
        const unknown = Object.keys(block.attributes).filter((k) => k !== 'counts' && k !== 'measures');
        if (unknown.length > 0) throw problem(file, block.line, `unknown block setting ${unknown.map((u) => `'${u}'`).join(', ')} (counts=…, measures=…)`);
        if (block.sql === '') throw problem(file, block.line, `the query '${block.name}' is empty`);
        queries.push({ name: block.name, line: block.line, sql: block.sql, counts: columnList(block.attributes.counts, file, block.line), measures: columnList(block.attributes.measures, file, block.line), params: sqlParams(block.sql) });
      } catch (err) {
        problems.push(err as CarelakeError);
      }
    } else {
      try {
        const component = compileComponent(block.type, block.attributes, file, block.line);
        if (component.type === 'Dropdown' || component.type === 'DateRange') filters.push(component);
        blocks.push({ kind: 'component', component });
      } catch (err) {
        problems.push(err as CarelakeError);
      }
    }
  }

  // Every component's data must be a query defined above it; every parameter must come from somewhere.
  const defined = new Set<string>();
  const available = new Set(routeParams);
  for (const f of filters) for (const p of filterParams(f)) available.add(p);
  for (const block of source.blocks) {
    if (block.kind === 'query') defined.add(block.name);
    if (block.kind === 'component' && block.attributes.data !== undefined && !defined.has(block.attributes.data)) {
      problems.push(problem(file, block.line, `${block.type} uses data="${block.attributes.data}", but no sql block of that name comes before it`));
    }
  }
  for (const q of queries) {
    for (const p of q.params) if (!available.has(p)) problems.push(problem(file, q.line, `query '${q.name}' uses $${p}, which no route segment or filter provides`));
    const usedByFilter = filters.filter((f) => f.data === q.name);
    const own = usedByFilter.flatMap(filterParams).filter((p) => q.params.includes(p));
    if (own.length > 0) problems.push(problem(file, q.line, `query '${q.name}' lists the choices of a filter, so it cannot use that filter's own $${own[0]}`));
  }
  for (const [i, f] of filters.entries()) {
    if (filters.findIndex((g) => g.name === f.name) !== i) problems.push(problem(file, f.line, `two filters are named '${f.name}'`));
    if (routeParams.includes(f.name)) problems.push(problem(file, f.line, `the filter '${f.name}' has the name of a route segment`));
  }
  if (problems.length > 0) throw reportProblems(file, problems);
  const paths = typeof source.frontMatter.paths === 'string' ? source.frontMatter.paths.trim() : null;
  if (source.frontMatter.paths !== undefined && !paths) problems.push(problem(file, 1, 'paths: must be a SQL query returning the route values'));
  if (problems.length > 0) throw reportProblems(file, problems);
  return { id, file, title: (title as string).trim(), description, routeParams, queries, filters, blocks, listed: routeParams.length === 0, paths };
}

function compileComponent(type: string, a: Record<string, string>, file: string, line: number): ReportComponent {
  const need = (key: string): string => {
    const value = a[key];
    if (value === undefined || value.trim() === '') throw problem(file, line, `${type} needs ${key}="…"`);
    return value.trim();
  };
  const allow = (...keys: string[]) => {
    const unknown = Object.keys(a).filter((k) => !keys.includes(k));
    if (unknown.length > 0) throw problem(file, line, `${type} has no attribute ${unknown.map((u) => `'${u}'`).join(', ')} (it takes ${keys.join(', ')})`);
  };
  const name = (key: string): string => {
    const value = need(key);
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(value)) throw problem(file, line, `${type} ${key}="${value}" must be lower-case letters, digits and _`);
    return value;
  };
  switch (type) {
    case 'DataTable': {
      allow('data', 'title', 'link', 'linkOn');
      const link = a.link?.trim() || null;
      const linkColumns = link ? [...link.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!) : [];
      if (link && (linkColumns.length === 0 || !/^[a-z0-9_/{}-]+$/i.test(link))) throw problem(file, line, `DataTable link="${link}" must be a report path with {column} placeholders, e.g. practice/{practice_ods}`);
      const linkOn = a.linkOn?.trim() || linkColumns[0] || null;
      return { type, line, title: need('title'), data: need('data'), link, linkColumns, linkOn };
    }
    case 'BarChart':
    case 'LineChart': {
      allow('data', 'title', 'x', 'y', 'series');
      const y = need('y');
      if (!COLUMN_LIST.test(y)) throw problem(file, line, `${type} y="${y}" must be one column or columns joined by commas`);
      return { type, line, title: need('title'), data: need('data'), x: need('x'), y: y.split(','), series: a.series?.trim() || null };
    }
    case 'BigValue':
      allow('data', 'title', 'value');
      return { type, line, title: need('title'), data: need('data'), value: need('value') };
    case 'Dropdown':
      allow('name', 'data', 'title', 'value', 'label');
      return { type, line, title: need('title'), name: name('name'), data: need('data'), value: need('value'), label: a.label?.trim() || need('value') };
    case 'DateRange':
      allow('name', 'data', 'title', 'column');
      return { type, line, title: need('title'), name: name('name'), data: need('data'), column: need('column') };
    default:
      throw problem(file, line, `there is no component <${type}/> (DataTable, BarChart, LineChart, BigValue, Dropdown, DateRange)`);
  }
}

export function filterParams(filter: ReportFilter): string[] {
  return filter.type === 'Dropdown' ? [filter.name] : [`${filter.name}_start`, `${filter.name}_end`];
}

function columnList(value: string | undefined, file: string, line: number): string[] {
  if (value === undefined) return [];
  if (!COLUMN_LIST.test(value)) throw problem(file, line, `'${value}' must be column names joined by commas, without spaces`);
  return value.split(',');
}

/** `$name` parameters outside string literals and comments, in order of first use. */
export function sqlParams(sql: string): string[] {
  const code = sql.replace(/'(?:[^']|'')*'/g, "''").replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  return [...new Set([...code.matchAll(/\$([a-z][a-z0-9_]*)/g)].map((m) => m[1]!))];
}

function reportProblems(file: string, problems: CarelakeError[]): CarelakeError {
  if (problems.length === 1) return problems[0]!;
  return new CarelakeError({
    code: 'reports.invalid',
    kind: 'config',
    message: `${file} has ${problems.length} problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
    location: { file },
  });
}
