// Every report compiled and run against a commissioner serving file — each report with its filters'
// default choices, a templated page with the first few route values its `paths:` query gives — so a
// report that fails to compile or query is found before anyone opens it: by `carelake reports check`
// on the current release, and by the build on a new release before it is published.

import { CarelakeError, toCarelakeError } from '../../../core/errors.ts';
import type { DisclosurePolicy } from '../../disclosure/policy.ts';
import { checkStatement } from '../../query/statementCheck.ts';
import { DuckDb } from '../../../core/duckdb.ts';
import { SERVING_CONNECTION_SETTINGS } from '../../serving/servingReader.ts';
import type { ReportCatalog } from './reportCatalog.ts';
import type { CompiledReport } from './reportCompile.ts';
import { runReport } from './reportRun.ts';

export interface ReportCheckOutcome {
  report: string;
  file: string;
  /** The route values it was run with, for templated pages. */
  route: Record<string, string> | null;
  ok: boolean;
  rows: number;
  error: CarelakeError | null;
}

/** Route values to try a templated page with. */
const SAMPLE_ROUTES = 3;

/** Runs work on a read-only connection to the commissioner file being checked (ServingReader.use, or one file). */
export type CommissionerConnection = <T>(work: (db: DuckDb) => Promise<T>) => Promise<T>;

export async function checkReports(catalog: ReportCatalog, use: CommissionerConnection, policy: DisclosurePolicy): Promise<ReportCheckOutcome[]> {
  const outcomes: ReportCheckOutcome[] = catalog.broken.map((b) => ({ report: b.file, file: b.file, route: null, ok: false, rows: 0, error: b.error }));
  const deps = { policy, check: (sql: string) => checkStatement(sql, undefined, { parameters: true }) };
  for (const report of catalog.reports) {
    let routes: (Record<string, string> | null)[] = [null];
    try {
      if (report.routeParams.length > 0) routes = await sampleRoutes(report, use);
    } catch (err) {
      outcomes.push({ report: report.id, file: report.file, route: null, ok: false, rows: 0, error: toCarelakeError(err) });
      continue;
    }
    for (const route of routes) {
      try {
        const run = await use((db) => runReport(report, db, { route: route ?? {}, query: {} }, deps));
        outcomes.push({ report: report.id, file: report.file, route, ok: true, rows: [...run.results.values()].reduce((n, r) => n + r.rows.length, 0), error: null });
      } catch (err) {
        outcomes.push({ report: report.id, file: report.file, route, ok: false, rows: 0, error: toCarelakeError(err) });
      }
    }
  }
  return outcomes;
}

/** Route values for the first few pages of a templated report, from its `paths:` query. */
export async function sampleRoutes(report: CompiledReport, use: CommissionerConnection): Promise<Record<string, string>[]> {
  const sql = report.paths;
  if (!sql) {
    throw new CarelakeError({ code: 'reports.no-paths', kind: 'config', message: `${report.file}:1: a templated page needs \`paths:\` in its front matter: a query returning ${report.routeParams.join(', ')} for the pages that exist`, location: { file: report.file, line: 1 } });
  }
  await checkStatement(sql);
  const rows = await use((db) => db.all(`SELECT * FROM (${sql}) LIMIT ${SAMPLE_ROUTES}`, undefined, `list the pages of ${report.file}`));
  if (rows.length === 0) {
    throw new CarelakeError({ code: 'reports.no-pages', kind: 'config', message: `${report.file}:1: its paths query returns no rows, so no page of it could be checked`, location: { file: report.file, line: 1 } });
  }
  return rows.map((row) => Object.fromEntries(report.routeParams.map((p) => [p, String(row[p] ?? '')])));
}

/** The reports run on one commissioner file (a release about to be published), read-only as the server reads it. */
export async function checkReportsOnFile(catalog: ReportCatalog, file: string, policy: DisclosurePolicy): Promise<ReportCheckOutcome[]> {
  const db = await DuckDb.open(file, { readOnly: true, settings: { ...SERVING_CONNECTION_SETTINGS } });
  try {
    return await checkReports(catalog, (work) => work(db), policy);
  } finally {
    db.close();
  }
}

/** The failed checks as one error naming each report's file and line, or null when all passed. */
export function reportCheckFailure(outcomes: readonly ReportCheckOutcome[], dir: string): CarelakeError | null {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return null;
  return new CarelakeError({
    code: 'reports.check-failed',
    kind: 'runtime',
    message: `${failed.length} report check${failed.length === 1 ? '' : 's'} failed:\n${failed.map((f) => `  - ${f.error!.message}`).join('\n')}`,
    hint: `fix the report files in ${dir}`,
  });
}
