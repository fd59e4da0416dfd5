// Running a Markdown report on a real DuckDB holding commissioner-shaped tables: filter choices come
// from the data and only those are accepted, values reach SQL as bound parameters, every count passes
// the disclosure policy (a NULL count stays suppressed, measures on it too), and a number nobody
// declared, or a component naming a missing column, stops the page rather than half-rendering it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { DISCLOSURE_POLICIES } from '../../../warehouse/disclosure/policy.ts';
import { checkStatement } from '../../../warehouse/query/statementCheck.ts';
import { compileReport } from '../../../warehouse/reports/markdown/reportCompile.ts';
import { reportPageHtml } from '../../../warehouse/reports/markdown/reportHtml.ts';
import { runReport } from '../../../warehouse/reports/markdown/reportRun.ts';
import { parseReportSource } from '../../../warehouse/reports/markdown/reportSource.ts';
import { disclosedCsv } from '../../../warehouse/server/reportRoutes.ts';

let db: DuckDb;
const deps = { policy: DISCLOSURE_POLICIES.hes, check: (sql: string) => checkStatement(sql, undefined, { parameters: true }) };
const compile = (text: string, id = 'r') => compileReport(parseReportSource(`---\ntitle: Test\n---\n${text}`, 'reports/r.md'), id);

beforeAll(async () => {
  db = await DuckDb.open(':memory:');
  await db.run(`CREATE TABLE agg_admissions (week DATE, provider VARCHAR, admissions BIGINT, mean_los DOUBLE)`);
  await db.run(`INSERT INTO agg_admissions VALUES
    ('2026-01-05', 'RX1', 120, 4.2), ('2026-01-12', 'RX1', 3, 2.0), ('2026-01-19', 'RX1', NULL, NULL),
    ('2026-01-05', 'RX2', 57, 3.3), ('2026-01-12', 'RX2', 1000, 5.1)`);
});
afterAll(() => db.close());

const ADMISSIONS = `
\`\`\`sql providers
SELECT DISTINCT provider FROM agg_admissions ORDER BY provider
\`\`\`
<Dropdown name="provider" data="providers" value="provider" title="Provider"/>
\`\`\`sql weeks
SELECT DISTINCT week FROM agg_admissions ORDER BY week
\`\`\`
<DateRange name="period" data="weeks" column="week" title="Weeks"/>
\`\`\`sql weekly counts=admissions measures=mean_los
SELECT strftime(week, '%Y-%m-%d') AS week, admissions, mean_los FROM agg_admissions
WHERE provider = $provider AND week BETWEEN CAST($period_start AS DATE) AND CAST($period_end AS DATE) ORDER BY week
\`\`\`
<LineChart data="weekly" x="week" y="admissions" title="Admissions"/>
<DataTable data="weekly" title="Weekly"/>
`;

describe('runReport', () => {
  it('defaults each filter to its first choice and the whole date range, and discloses every count', async () => {
    const run = await runReport(compile(ADMISSIONS), db, { route: {}, query: {} }, deps);
    expect(run.filters.map((f) => ('options' in f ? f.selected : [f.start, f.end]))).toEqual(['RX1', ['2026-01-05', '2026-01-19']]);
    const weekly = run.results.get('weekly')!;
    // HES: 1–7 suppressed, others rounded to the nearest 5; a NULL count (suppressed at publish) stays suppressed, and a measure beside a suppressed count goes with it.
    expect(weekly.rows.map((r) => r[1])).toEqual([120, null, null]);
    expect([...weekly.suppressed].sort()).toEqual(['1:1', '1:2', '2:1', '2:2']);
    const csv = disclosedCsv(weekly);
    expect(csv).toBe('week,admissions,mean_los\r\n2026-01-05,120,4.2\r\n2026-01-12,*,*\r\n2026-01-19,*,*\r\n');
    const html = reportPageHtml(run, { release: 'r1', asOf: '2026-02-01T00:00:00Z', policyName: 'hes', policyDescription: 'counts from 1 to 7 are suppressed', search: '', path: '/reports/r' });
    expect(html).not.toMatch(/>3</);
    expect(html).toContain('aria-describedby="suppression-legend">*</td>');
  });

  it('takes a choice only if it is one of the filter’s options, and a date only if it is a date', async () => {
    const chosen = await runReport(compile(ADMISSIONS), db, { route: {}, query: { provider: 'RX2', period_start: '2026-01-10', period_end: '2026-01-31' } }, deps);
    expect(chosen.results.get('weekly')!.rows).toEqual([['2026-01-12', 1000, 5.1]]);
    const injected = await runReport(compile(ADMISSIONS), db, { route: {}, query: { provider: "RX2' OR '1'='1", period_start: "2026-01-01'; DROP TABLE x; --" } }, deps);
    expect(injected.filters[0]).toMatchObject({ selected: 'RX1' });
    expect(injected.results.get('weekly')!.rows.map((r) => r[0])).toEqual(['2026-01-05', '2026-01-12', '2026-01-19']);
  });

  it('binds a route segment as a parameter and refuses a malformed one', async () => {
    const report = compile("```sql p counts=admissions\nSELECT week::VARCHAR AS week, admissions FROM agg_admissions WHERE provider = $code\n```\n<DataTable data=\"p\" title=\"P\"/>", 'provider/[code]');
    const run = await runReport(report, db, { route: { code: 'RX2' }, query: {} }, deps);
    expect(run.results.get('p')!.rows).toHaveLength(2);
    await expect(runReport(report, db, { route: { code: "RX2' OR 1=1 --" }, query: {} }, deps)).rejects.toThrow(/needs a code of letters/);
  });

  it('refuses a number whose disclosure role is not declared, naming the file, line and column', async () => {
    const report = compile('```sql q counts=admissions\nSELECT provider, admissions, admissions * 2 AS doubled FROM agg_admissions\n```\n<DataTable data="q" title="Q"/>');
    await expect(runReport(report, db, { route: {}, query: {} }, deps)).rejects.toThrow(/reports\/r\.md:4 \(query 'q'\): numeric column 'doubled' is neither counts= nor measures=/);
  });

  it('refuses a component that names a column its query does not return', async () => {
    const report = compile('```sql q counts=admissions\nSELECT provider, admissions FROM agg_admissions\n```\n<BarChart data="q" x="week" y="admissions" title="Q"/>');
    await expect(runReport(report, db, { route: {}, query: {} }, deps)).rejects.toThrow(/r\.md:7: BarChart names 'week', which query 'q' does not return/);
  });

  it('refuses a statement the serving check refuses (a file read), before running it', async () => {
    const report = compile("```sql q\nSELECT * FROM read_csv('/etc/passwd')\n```\n<DataTable data=\"q\" title=\"Q\"/>");
    await expect(runReport(report, db, { route: {}, query: {} }, deps)).rejects.toThrow(/query 'q'.*read_csv/);
  });
});
