// Commissioners' reports over HTTP: the index, each Markdown report as a page (`/reports/<path>`), any
// of its tables or charts as CSV (`/reports/<path>.csv?query=<name>`, the same disclosed values), the
// page as PDF where Chromium is installed (`/reports/<path>.pdf`, reportPdf.ts), and as JSON
// (`/api/reports/<path>`). A page is rendered whole before anything is sent: a query that fails gives
// an error page, never half a report. Queries run on the commissioner serving file only.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Json } from '../../core/duckdb.ts';
import type { Role } from '../auth/principal.ts';
import { describePolicy, policyLabel, type DisclosurePolicy } from '../disclosure/policy.ts';
import { checkStatement } from '../query/statementCheck.ts';
import { csvText } from '../query/resultFormats.ts';
import { matchReport, type ReportCatalog } from '../reports/markdown/reportCatalog.ts';
import { pageTitle, reportIndexHtml, reportPageHtml, SUPPRESSED_MARK, type PageContext } from '../reports/markdown/reportHtml.ts';
import { runReport, type DisclosedResult, type ReportRun } from '../reports/markdown/reportRun.ts';
import type { ServingReader } from '../serving/servingReader.ts';
import { HttpProblem } from './operationOutcome.ts';
import type { ReportPdfPrinter } from './reportPdf.ts';
import { signOutControl } from './session/signInRoutes.ts';

export interface ReportRoutesOptions {
  reader: ServingReader;
  policy: DisclosurePolicy;
  catalog: ReportCatalog;
  access: readonly Role[];
  /** Prints pages as PDF; null where no Chromium is installed (PDFs answer 501). */
  pdf: ReportPdfPrinter | null;
}

export function registerReportRoutes(app: FastifyInstance, options: ReportRoutesOptions): void {
  const { reader, catalog } = options;
  const config = { access: options.access };
  const policyName = policyLabel(options.policy);
  const policyDescription = describePolicy(options.policy);

  app.get('/', { config }, async (request, reply) => {
    const release = await reader.currentRelease();
    const context = release ? { release: release.releaseId, asOf: release.publishedAt, policyName, policyDescription } : null;
    return reply.type('text/html; charset=utf-8').send(reportIndexHtml(catalog.reports, context, catalog.broken.map((b) => b.file), signOutControl(request)));
  });

  app.get<{ Params: { '*': string }; Querystring: Record<string, unknown> }>('/reports/*', { config }, async (request, reply) => {
    const path = request.params['*'];
    if (path.endsWith('.csv')) {
      const { run } = await render(request, path.slice(0, -'.csv'.length), 'csv');
      const name = typeof request.query.query === 'string' ? request.query.query : '';
      request.audit.params = { ...request.audit.params, query: name.slice(0, 64) };
      const result = run.results.get(name);
      if (!result) throw new HttpProblem('not-found', `This report has no table or chart named '${name.slice(0, 64)}'.`);
      const file = `${fileStem(run)}-${result.name}.csv`;
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${file}"`).send(disclosedCsv(result));
    }
    if (path.endsWith('.pdf')) {
      if (!options.pdf) throw new HttpProblem('not-supported', 'PDF export needs Chromium on the server (reports.chromium in carelake.yml, or apt-get install chromium). The page prints to PDF from the browser too.');
      const { run, context } = await render(request, path.slice(0, -'.pdf'.length), 'pdf');
      const pdf = await options.pdf.print(reportPageHtml(run, context), context.path, pageTitle(run.report, run.route));
      return reply.type('application/pdf').header('content-disposition', `attachment; filename="${fileStem(run)}.pdf"`).send(pdf);
    }
    const { run, context } = await render(request, path, 'html');
    return reply.type('text/html; charset=utf-8').send(reportPageHtml(run, context));
  });

  app.get<{ Params: { '*': string }; Querystring: Record<string, unknown> }>('/api/reports/*', { config }, async (request) => {
    const { run, context } = await render(request, request.params['*'], 'json');
    return {
      id: run.report.id,
      title: run.report.title,
      route: run.route,
      asOf: context.asOf,
      release: context.release,
      policy: { scheme: options.policy.scheme, name: policyName, description: policyDescription },
      filters: run.filters.map((f) => ('options' in f ? { name: f.filter.name, selected: f.selected, options: f.options } : { name: f.filter.name, start: f.start, end: f.end, min: f.min, max: f.max })),
      queries: Object.fromEntries(
        [...run.results.values()].map((r) => [r.name, { columns: r.columns, counts: r.counts, measures: r.measures, rows: r.rows.map((row, i) => row.map((v, j) => (r.suppressed.has(`${i}:${j}`) ? null : v))), suppressed: [...r.suppressed].map((cell) => cell.split(':').map(Number)) }]),
      ),
    };
  });

  /** Runs the report a path names; the audit entry gets its id, the release, rows, and what was shown (format, route, filters). */
  async function render(request: FastifyRequest<{ Querystring: Record<string, unknown> }>, path: string, format: 'html' | 'csv' | 'pdf' | 'json'): Promise<{ run: ReportRun; context: PageContext }> {
    const match = matchReport(catalog, path);
    request.audit.reportId = path.slice(0, 80);
    if (!match) throw new HttpProblem('not-found', `There is no report at '${path.slice(0, 80)}'.`);
    return reader.use(async (db, release) => {
      request.audit.release = release.releaseId;
      const builtAt = await db.scalar('SELECT built_at FROM _release LIMIT 1', undefined, 'read the release metadata');
      const run = await runReport(match.report, db, { route: match.route, query: request.query }, { policy: options.policy, check: (sql) => checkStatement(sql, undefined, { parameters: true }) });
      request.audit.rows = [...run.results.values()].reduce((n, r) => n + r.rows.length, 0);
      request.audit.params = { format, ...run.route, ...filterChoices(run) };
      const search = new URLSearchParams(Object.entries(request.query).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'query')).toString();
      const context: PageContext = {
        release: release.releaseId,
        asOf: typeof builtAt === 'string' ? builtAt : release.publishedAt,
        policyName,
        policyDescription,
        search,
        path: `/reports/${path}`,
        account: signOutControl(request),
        pdf: options.pdf !== null,
      };
      return { run, context };
    });
  }
}

/** The filter values a run used (only ever values the data offered). */
function filterChoices(run: ReportRun): Record<string, string | null> {
  return Object.fromEntries(
    run.filters.flatMap((f) => ('options' in f ? [[f.filter.name, f.selected]] : [[`${f.filter.name}_start`, f.start], [`${f.filter.name}_end`, f.end]])),
  );
}

/** A download's file name: the page's address (route values included), safe in a header. */
function fileStem(run: ReportRun): string {
  const path = run.report.id.replace(/\[(\w+)\]/g, (_, name: string) => run.route[name] ?? name);
  return path.replace(/[^a-z0-9_.-]+/gi, '-');
}

/** A result as CSV, exactly as shown: suppressed cells are `*`. */
export function disclosedCsv(result: DisclosedResult): string {
  const cell = (value: Json): string => (value === null ? '' : csvText(typeof value === 'object' ? JSON.stringify(value) : String(value)));
  const lines = [result.columns.map((c) => csvText(c)).join(',')];
  result.rows.forEach((row, r) => lines.push(row.map((v, i) => (result.suppressed.has(`${r}:${i}`) ? SUPPRESSED_MARK : cell(v))).join(',')));
  return `${lines.join('\r\n')}\r\n`;
}

