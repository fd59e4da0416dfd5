// Commissioners' reports over HTTP: the index, each Markdown report as a page (`/reports/<path>`), any
// of its tables or charts as CSV (`/reports/<path>.csv?query=<name>`, the same disclosed values) and as
// JSON (`/api/reports/<path>`), and the static assets the pages use (NHS.UK frontend CSS, ECharts and
// carelake's chart script). A page is rendered whole before anything is sent: a query that fails gives
// an error page, never half a report. Queries run on the commissioner serving file only.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Json } from '../../core/duckdb.ts';
import type { Role } from '../auth/principal.ts';
import { describePolicy, type DisclosurePolicy } from '../disclosure/policy.ts';
import { checkStatement } from '../query/statementCheck.ts';
import { csvText } from '../query/resultFormats.ts';
import { matchReport, type ReportCatalog } from '../reports/markdown/reportCatalog.ts';
import { reportIndexHtml, reportPageHtml, SUPPRESSED_MARK, type PageContext } from '../reports/markdown/reportHtml.ts';
import { runReport, type DisclosedResult, type ReportRun } from '../reports/markdown/reportRun.ts';
import type { ServingReader } from '../serving/servingReader.ts';
import { HttpProblem } from './operationOutcome.ts';

export interface ReportRoutesOptions {
  reader: ServingReader;
  policy: DisclosurePolicy;
  policyName: string;
  catalog: ReportCatalog;
  access: readonly Role[];
}

const require = createRequire(import.meta.url);
const ASSETS_DIR = join(import.meta.dirname, '..', 'reports', 'assets');
/** Served by name only: no path from the request ever reaches the file system. */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  'nhsuk-frontend.min.css': { file: () => require.resolve('nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css'), type: 'text/css; charset=utf-8' },
  'echarts.min.js': { file: () => require.resolve('echarts/dist/echarts.min.js'), type: 'text/javascript; charset=utf-8' },
  'carelake-charts.js': { file: () => join(ASSETS_DIR, 'carelake-charts.js'), type: 'text/javascript; charset=utf-8' },
  'carelake.css': { file: () => join(ASSETS_DIR, 'carelake.css'), type: 'text/css; charset=utf-8' },
};

export function registerReportRoutes(app: FastifyInstance, options: ReportRoutesOptions): void {
  const { reader, catalog } = options;
  const config = { access: options.access };
  const assetCache = new Map<string, Buffer>();

  app.get<{ Params: { name: string } }>('/assets/:name', { config: { access: 'public', rateLimit: false } }, async (request, reply) => {
    const asset = ASSETS[request.params.name];
    if (!asset) throw new HttpProblem('not-found', 'Not found.');
    let body = assetCache.get(request.params.name);
    if (!body) assetCache.set(request.params.name, (body = await readFile(asset.file())));
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(body);
  });

  app.get('/', { config }, async (_request, reply) => {
    const release = await reader.currentRelease();
    const context = release ? { release: release.releaseId, asOf: release.publishedAt, policyName: options.policyName, policyDescription: describePolicy(options.policy) } : null;
    return reply.type('text/html; charset=utf-8').send(reportIndexHtml(catalog.reports, context, catalog.broken.map((b) => b.file)));
  });

  app.get<{ Params: { '*': string }; Querystring: Record<string, unknown> }>('/reports/*', { config }, async (request, reply) => {
    const path = request.params['*'];
    if (path.endsWith('.csv')) {
      const { run } = await render(request, path.slice(0, -'.csv'.length));
      const name = typeof request.query.query === 'string' ? request.query.query : '';
      const result = run.results.get(name);
      if (!result) throw new HttpProblem('not-found', `This report has no table or chart named '${name.slice(0, 64)}'.`);
      const file = `${run.report.id.replace(/[^a-z0-9_-]+/gi, '-')}-${result.name}.csv`;
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${file}"`).send(disclosedCsv(result));
    }
    const { run, context } = await render(request, path);
    return reply.type('text/html; charset=utf-8').send(reportPageHtml(run, context));
  });

  app.get<{ Params: { '*': string }; Querystring: Record<string, unknown> }>('/api/reports/*', { config }, async (request) => {
    const { run, context } = await render(request, request.params['*']);
    return {
      id: run.report.id,
      title: run.report.title,
      route: run.route,
      asOf: context.asOf,
      release: context.release,
      policy: { name: options.policyName, description: context.policyDescription },
      filters: run.filters.map((f) => ('options' in f ? { name: f.filter.name, selected: f.selected, options: f.options } : { name: f.filter.name, start: f.start, end: f.end, min: f.min, max: f.max })),
      queries: Object.fromEntries(
        [...run.results.values()].map((r) => [r.name, { columns: r.columns, counts: r.counts, measures: r.measures, rows: r.rows.map((row, i) => row.map((v, j) => (r.suppressed.has(`${i}:${j}`) ? null : v))), suppressed: [...r.suppressed].map((cell) => cell.split(':').map(Number)) }]),
      ),
    };
  });

  async function render(request: FastifyRequest<{ Querystring: Record<string, unknown> }>, path: string): Promise<{ run: ReportRun; context: PageContext }> {
    const match = matchReport(catalog, path);
    request.audit.reportId = path.slice(0, 80);
    if (!match) throw new HttpProblem('not-found', `There is no report at '${path.slice(0, 80)}'.`);
    return reader.use(async (db, release) => {
      request.audit.release = release.releaseId;
      const builtAt = await db.scalar('SELECT built_at FROM _release LIMIT 1', undefined, 'read the release metadata');
      const run = await runReport(match.report, db, { route: match.route, query: request.query }, { policy: options.policy, check: (sql) => checkStatement(sql, undefined, { parameters: true }) });
      request.audit.rows = [...run.results.values()].reduce((n, r) => n + r.rows.length, 0);
      const search = new URLSearchParams(Object.entries(request.query).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'query')).toString();
      const context: PageContext = {
        release: release.releaseId,
        asOf: typeof builtAt === 'string' ? builtAt : release.publishedAt,
        policyName: options.policyName,
        policyDescription: describePolicy(options.policy),
        search,
        path: `/reports/${path}`,
      };
      return { run, context };
    });
  }
}

/** A result as CSV, exactly as shown: suppressed cells are `*`. */
export function disclosedCsv(result: DisclosedResult): string {
  const cell = (value: Json): string => (value === null ? '' : csvText(typeof value === 'object' ? JSON.stringify(value) : String(value)));
  const lines = [result.columns.map((c) => csvText(c)).join(',')];
  result.rows.forEach((row, r) => lines.push(row.map((v, i) => (result.suppressed.has(`${r}:${i}`) ? SUPPRESSED_MARK : cell(v))).join(',')));
  return `${lines.join('\r\n')}\r\n`;
}

