// A commissioner's whole job in real headless Chromium, on a lake the real pipeline built from a small
// generated population and served by `carelake serve`'s own server with the bundled Markdown reports:
// sign in, open every report, change filters, drill down to a practice and to where a count came from,
// download CSVs (no count in any is one the policy suppresses), print a PDF, sign out. Every page is
// checked with axe-core (no serious or critical WCAG 2.2 A/AA violation), and screenshots are left in
// tests/artifacts/reports/. `carelake reports check` passes on the bundled reports and fails, naming
// file and line, on a broken one, and `carelake build` will not publish a commissioner release that
// a report fails on.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../cli/context.ts';
import type { AuditEntry } from '../../warehouse/audit/auditEntry.ts';
import { DISCLOSURE_POLICIES } from '../../warehouse/disclosure/policy.ts';
import { loadReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';
import { artifactPath, CHROMIUM_PATH, HAS_CHROMIUM, launchChromium, warnIfNoChromium } from '../support/browser.ts';
import { carelakeCli } from '../support/carelakeCli.ts';
import { startGovernedServer, type GovernedServer } from '../support/governedServer.ts';
import { buildDemoLake } from '../support/demoLake.ts';

warnIfNoChromium('the commissioner report journey');

const PATIENTS = 400;
const SEED = 11;
const KEY = 'cd'.repeat(32);
const HES = DISCLOSURE_POLICIES.hes;

/** The JSON of a page (GET /api/reports/<path>), as far as these tests read it. */
interface ReportJson {
  filters: { name: string; selected?: string | null; options?: { value: string }[] }[];
  queries: Record<string, { columns: string[]; counts: string[]; measures: string[]; rows: (string | number | null)[][]; suppressed: [number, number][] }>;
}

describe.skipIf(!HAS_CHROMIUM)('commissioner reports in Chromium', () => {
  let dir: string;
  let ctx: CommandContext;
  let server: GovernedServer;
  let browser: Browser;
  let release: string;
  const env = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-reports-e2e-'));
    process.env.CARELAKE_PSEUDONYM_KEY = KEY;
    ({ ctx } = await buildDemoLake(dir, { patients: PATIENTS, seed: SEED }));
    server = await startGovernedServer({ layout: ctx.layout, reports: await loadReportCatalog(), chromium: CHROMIUM_PATH, operations: { config: ctx.config } });
    release = ((await (await fetch(`${server.base}/api/health`)).json()) as { releases: { commissioner: { releaseId: string } } }).releases.commissioner.releaseId;
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    process.env = env;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh browser signed in through the form, as a person would; every console error and blocked load is collected. */
  async function signedIn(role: 'commissioner' | 'engineer', options: { javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...options });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
    await page.goto(`${server.base}/sign-in`);
    await page.getByLabel('API key or access token').fill(server.tokens[role]);
    await Promise.all([page.waitForURL((url) => url.pathname !== '/sign-in'), page.getByRole('button', { name: 'Sign in' }).click()]);
    return { context, page, problems };
  }

  const auditEntries = (): AuditEntry[] =>
    readFileSync(ctx.layout.auditLog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEntry);

  const reportJson = async (context: BrowserContext, path: string): Promise<ReportJson> => {
    const response = await context.request.get(`${server.base}/api/reports/${path}`);
    expect(response.status(), path).toBe(200);
    return (await response.json()) as ReportJson;
  };

  async function seriousViolations(page: Page): Promise<string[]> {
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${new URL(page.url()).pathname}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  }

  it('signs in, and opens every report from the index with its provenance, charts drawn and nothing blocked', async () => {
    const { context, page, problems } = await signedIn('commissioner');
    try {
      expect(new URL(page.url()).pathname).toBe('/');
      await page.screenshot({ path: await artifactPath('reports/index.png'), fullPage: true });
      const links = await page.locator('main ul a').evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href') ?? ''));
      // The bundled reports listed on the index; the templated drill-down pages are reached from them.
      expect(links.sort()).toEqual(['/reports/admissions', '/reports/condition-prevalence', '/reports/data-quality', '/reports/lab-activity', '/reports/workforce']);
      for (const href of links) {
        const response = await page.goto(`${server.base}${href}`);
        expect(response?.status(), href).toBe(200);
        await expect.poll(() => page.locator('h1').count()).toBe(1);
        const provenance = await page.locator('.carelake-provenance').innerText();
        expect(provenance, href).toContain(release);
        expect(provenance, href).toContain('NHS Digital HES rules');
        expect(await page.locator('#suppression-legend').count(), href).toBe(1);
        const charts = await page.locator('.carelake-chart').count();
        if (charts > 0) {
          await page.waitForSelector('html[data-charts-drawn]', { state: 'attached' });
          expect(await page.locator('.carelake-chart__canvas svg').count(), href).toBe(charts);
        }
        await page.screenshot({ path: await artifactPath(`reports/${href.slice('/reports/'.length)}.png`), fullPage: true });
      }
      expect(problems).toEqual([]);
      // Every page view is in the audit trail, with the principal, the release and what was shown.
      const viewed = (id: string) => auditEntries().find((e) => e.endpoint === 'GET /reports/*' && e.role === 'commissioner' && e.reportId === id);
      for (const href of links) {
        const id = href.slice('/reports/'.length);
        await expect.poll(() => viewed(id), id).toMatchObject({ outcome: 'ok', release, params: { format: 'html' } });
      }
    } finally {
      await context.close();
    }
  });

  it('changes a dropdown and a date range, and the page shows only the data chosen', async () => {
    const { context, page, problems } = await signedIn('commissioner');
    try {
      await page.goto(`${server.base}/reports/condition-prevalence`);
      const options = await page.locator('#filter-condition option').evaluateAll((els) => els.map((o) => o.getAttribute('value') ?? ''));
      expect(options.length).toBeGreaterThan(1);
      const chosen = options[1]!;
      await page.selectOption('#filter-condition', chosen);
      await Promise.all([page.waitForURL((url) => url.searchParams.get('condition') === chosen), page.getByRole('button', { name: 'Apply filters' }).click()]);
      expect(await page.locator('#filter-condition').inputValue()).toBe(chosen);
      const byPractice = page.locator('table', { has: page.locator('caption', { hasText: 'By GP practice' }) });
      const codes = await byPractice.locator('tbody tr td:nth-child(2)').allInnerTexts();
      expect(codes.length).toBeGreaterThan(0);
      expect(new Set(codes)).toEqual(new Set([chosen]));
      await page.screenshot({ path: await artifactPath('reports/condition-prevalence-filtered.png'), fullPage: true });

      await page.goto(`${server.base}/reports/admissions`);
      const min = await page.locator('#filter-period-start').getAttribute('min');
      const max = await page.locator('#filter-period-end').getAttribute('max');
      expect(min && max).toBeTruthy();
      // A window of about three months in the middle of the data.
      const middle = new Date((Date.parse(min!) + Date.parse(max!)) / 2);
      const start = middle.toISOString().slice(0, 10);
      const end = new Date(middle.getTime() + 90 * 86_400_000).toISOString().slice(0, 10);
      await page.fill('#filter-period-start', start);
      await page.fill('#filter-period-end', end);
      await Promise.all([page.waitForURL((url) => url.searchParams.get('period_start') === start), page.getByRole('button', { name: 'Apply filters' }).click()]);
      const weeks = await page.locator('table').last().locator('tbody tr td:first-child').allInnerTexts();
      expect(weeks.length).toBeGreaterThan(0);
      for (const week of weeks) expect(week >= start && week <= end, week).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('works with JavaScript off: filters, tables and drill-down are plain HTML; only the chart pictures are missing', async () => {
    const { context, page } = await signedIn('commissioner', { javaScriptEnabled: false });
    try {
      await page.goto(`${server.base}/reports/condition-prevalence`);
      const chosen = (await page.locator('#filter-condition option').nth(2).getAttribute('value'))!;
      await page.selectOption('#filter-condition', chosen);
      await Promise.all([page.waitForURL((url) => url.searchParams.get('condition') === chosen), page.getByRole('button', { name: 'Apply filters' }).click()]);
      // Each chart's numbers are in the page as a table; the picture is what needs scripts.
      expect(await page.locator('.carelake-chart table').count()).toBe(await page.locator('.carelake-chart').count());
      expect(await page.locator('.carelake-chart__canvas svg').count()).toBe(0);
      const practice = page.locator('a[href^="/reports/practice/"]').first();
      await Promise.all([page.waitForURL(/\/reports\/practice\//), practice.click()]);
      expect(await page.locator('h1').innerText()).toMatch(/^Conditions at GP practice: /);
    } finally {
      await context.close();
    }
  });

  it('drills down from prevalence to a practice, and from a count to where it came from', async () => {
    const { context, page, problems } = await signedIn('commissioner');
    try {
      await page.goto(`${server.base}/reports/condition-prevalence`);
      const practiceLink = page.locator('a[href^="/reports/practice/"]').first();
      const ods = (await practiceLink.innerText()).trim();
      await Promise.all([page.waitForURL(`${server.base}/reports/practice/${ods}`), practiceLink.click()]);
      expect(await page.locator('h1').innerText()).toBe(`Conditions at GP practice: ${ods}`);
      await page.screenshot({ path: await artifactPath('reports/practice.png'), fullPage: true });

      const explainLink = page.locator(`a[href^="/reports/explain/"][href$="/${ods}"]`).first();
      const href = (await explainLink.getAttribute('href'))!;
      await Promise.all([page.waitForURL(`${server.base}${href}`), explainLink.click()]);
      const [, , , snomed] = href.split('/');
      expect(await page.locator('h1').innerText()).toBe(`Explain this number: ${snomed}, ${ods}`);
      // The lineage: contributing records by source and run, never a row of anyone's data.
      const lineage = await reportJson(context, href.slice('/reports/'.length));
      expect(lineage.queries.lineage!.columns).toEqual(['source', 'run_id', 'loaded_on', 'records', 'patients']);
      expect(lineage.queries.lineage!.rows.length).toBeGreaterThan(0);
      await page.screenshot({ path: await artifactPath('reports/explain.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('downloads every table as CSV with the page’s values, and no count in any is one the policy suppresses', async () => {
    const { context, page } = await signedIn('commissioner');
    try {
      await page.goto(`${server.base}/reports/condition-prevalence`);
      const practice = (await page.locator('a[href^="/reports/practice/"]').first().getAttribute('href'))!.slice('/reports/'.length);
      const pages = ['admissions', 'condition-prevalence', 'data-quality', 'lab-activity', 'workforce', practice];
      let checkedCounts = 0;
      for (const path of pages) {
        await page.goto(`${server.base}/reports/${path}`);
        const csvLinks = await page.locator('a[download][href*=".csv?"]').evaluateAll((anchors) => anchors.map((a) => a.getAttribute('href') ?? ''));
        expect(csvLinks.length, path).toBeGreaterThan(0);
        const json = await reportJson(context, path);
        // One download per page as a person gets it, by clicking a link in view (a chart's own table
        // is folded away); the rest fetched with the same session.
        const clicked = await page.locator('a[download][href*=".csv?"]').filter({ visible: true }).first().getAttribute('href');
        for (const link of csvLinks) {
          let text: string;
          if (link === clicked) {
            const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`a[href="${link}"]`).filter({ visible: true }).first().click()]);
            expect(download.suggestedFilename()).toMatch(/\.csv$/);
            text = readFileSync((await download.path())!, 'utf8');
          } else {
            text = await (await context.request.get(`${server.base}${link}`)).text();
          }
          const name = new URL(link, server.base).searchParams.get('query')!;
          const query = json.queries[name]!;
          const [header, ...rows] = parseCsv(text) as string[][];
          expect(header, link).toEqual(query.columns);
          expect(rows.length, link).toBe(query.rows.length);
          for (const [r, row] of rows.entries()) {
            const hidden = query.counts.some((c) => row[query.columns.indexOf(c)] === '*');
            for (const column of query.counts) {
              const cell = row[query.columns.indexOf(column)]!;
              if (cell === '*') continue;
              const n = Number(cell);
              // HES: 1–7 never appear; what does appear is rounded to 5.
              expect(Number.isInteger(n) && (n === 0 || n > HES.threshold) && n % HES.roundingBase === 0, `${link} row ${r + 1} ${column}=${cell}`).toBe(true);
              checkedCounts++;
            }
            // A rate or mean beside a suppressed count is suppressed with it.
            if (hidden) for (const column of query.measures) expect(row[query.columns.indexOf(column)], `${link} row ${r + 1} ${column}`).toBe('*');
            // The CSV holds exactly what the page's data holds: the same values, * where suppressed.
            row.forEach((cell, c) => {
              const suppressed = query.suppressed.some(([sr, sc]) => sr === r && sc === c);
              expect(cell, `${link} row ${r + 1} column ${query.columns[c]}`).toBe(suppressed ? '*' : String(query.rows[r]![c] ?? ''));
            });
          }
        }
      }
      expect(checkedCounts).toBeGreaterThan(50);
    } finally {
      await context.close();
    }
  });

  it('prints a report as PDF from its page', async () => {
    const { context, page } = await signedIn('commissioner');
    try {
      await page.goto(`${server.base}/reports/condition-prevalence`);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download this page as PDF' }).click()]);
      expect(download.suggestedFilename()).toBe('condition-prevalence.pdf');
      const pdf = readFileSync((await download.path())!);
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(pdf.length).toBeGreaterThan(10_000);
      writeFileSync(await artifactPath('reports/condition-prevalence.pdf'), pdf);
      // A printed page is audited as a view of the report, like the page itself.
      // (The entry is written once the response has gone, so it may land a moment after the download.)
      await expect
        .poll(() => auditEntries().some((e) => e.reportId === 'condition-prevalence' && (e.params as { format?: string } | null)?.format === 'pdf' && e.status === 200))
        .toBe(true);
    } finally {
      await context.close();
    }
  });

  it('finds no serious or critical accessibility violation on any page', async () => {
    const found: string[] = [];
    const visited: string[] = [];
    const anonymous = await browser.newContext({ locale: 'en-GB' });
    try {
      const page = await anonymous.newPage();
      await page.goto(`${server.base}/sign-in`);
      found.push(...(await seriousViolations(page)));
      await page.getByLabel('API key or access token').fill('not-a-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForSelector('.nhsuk-error-summary');
      found.push(...(await seriousViolations(page)));
      visited.push('/sign-in', '/sign-in (refused)');
    } finally {
      await anonymous.close();
    }

    const commissioner = await signedIn('commissioner');
    try {
      const { page } = commissioner;
      await page.goto(`${server.base}/reports/condition-prevalence`);
      const practice = (await page.locator('a[href^="/reports/practice/"]').first().getAttribute('href'))!;
      await page.goto(`${server.base}${practice}`);
      const explain = (await page.locator('a[href^="/reports/explain/"]').first().getAttribute('href'))!;
      const pages = ['/', '/reports/admissions', '/reports/condition-prevalence', '/reports/data-quality', '/reports/lab-activity', '/reports/workforce', practice, explain, '/reports/no-such-report'];
      for (const path of pages) {
        await page.goto(`${server.base}${path}`);
        if ((await page.locator('.carelake-chart').count()) > 0) await page.waitForSelector('html[data-charts-drawn]', { state: 'attached' });
        found.push(...(await seriousViolations(page)));
        visited.push(path);
      }
    } finally {
      await commissioner.context.close();
    }

    const engineer = await signedIn('engineer');
    try {
      const { page } = engineer;
      await page.goto(`${server.base}/ops/runs`);
      const run = (await page.locator('a[href^="/ops/runs/"]').first().getAttribute('href'))!;
      for (const path of ['/ops', '/ops/runs', run]) {
        await page.goto(`${server.base}${path}`);
        found.push(...(await seriousViolations(page)));
        visited.push(path);
      }
    } finally {
      await engineer.context.close();
    }
    expect(visited.length).toBe(14);
    expect(found).toEqual([]);
  });

  it('signs out from the header of a report page, after which pages ask for sign-in again', async () => {
    const { context, page } = await signedIn('commissioner');
    try {
      await page.goto(`${server.base}/reports/workforce`);
      expect(await page.locator('.carelake-account').innerText()).toContain('Signed in as test-commissioner');
      await Promise.all([page.waitForURL(/\/sign-in$/), page.getByRole('button', { name: 'Sign out' }).click()]);
      await page.goto(`${server.base}/reports/workforce`);
      expect(new URL(page.url()).pathname).toBe('/sign-in');
    } finally {
      await context.close();
    }
  });

  it('`carelake reports check` passes on the bundled reports and fails on a broken one, naming file and line; the build then publishes no commissioner release', async () => {
    const ok = await carelakeCli(dir, ['reports', 'check'], KEY);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/All \d+ report page\(s\) in .* compiled and ran/);

    mkdirSync(join(dir, 'broken-reports'));
    writeFileSync(
      join(dir, 'broken-reports', 'admissions.md'),
      '---\ntitle: Admissions\n---\n\n```sql weekly counts=admissions\nSELECT admitted_week, admissions, mean_length_of_stay_days FROM agg_admissions_by_week\n```\n\n<DataTable data="weekly" title="Weekly"/>\n',
    );
    writeFileSync(join(dir, 'broken-reports', 'typo.md'), '---\ntitle: Typo\n---\n\n<Datatable data="x" title="X"/>\n');
    writeFileSync(join(dir, 'broken.yml'), `${readFileSync(join(dir, 'carelake.yml'), 'utf8')}reports: { dir: ./broken-reports }\n`);
    const broken = await carelakeCli(dir, ['--config', 'broken.yml', 'reports', 'check'], KEY);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken-reports\/admissions\.md:5.*mean_length_of_stay_days/);
    expect(broken.stderr).toMatch(/broken-reports\/typo\.md:5.*Datatable/);

    // The build runs the reports on a new commissioner release before publishing it: with a broken
    // report it publishes none, and commissioners keep the release they had.
    const build = await carelakeCli(dir, ['--config', 'broken.yml', 'build'], KEY);
    expect(build.code).toBe(1);
    expect(build.stderr).toContain('The commissioner release was not published');
    expect(build.stderr).toMatch(/broken-reports\/admissions\.md:5/);
    const health = (await (await fetch(`${server.base}/api/health`)).json()) as { releases: Record<string, { releaseId: string }> };
    expect(health.releases.commissioner!.releaseId).toBe(release);
    expect(health.releases.analyst!.releaseId).not.toBe(release);
  });
});
