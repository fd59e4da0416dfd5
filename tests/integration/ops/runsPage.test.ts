// The engineers' runs page in real headless Chromium against a real server on loopback and a real
// ledger (an HL7 v2 source really run; failed ESR attempts, a build and an alert recorded): the
// sources with their next run and freshness, a run's detail with its log and quarantined records, the
// history filtered by status, "Run now" and backfill forms that leave run requests in the ledger, and
// the role check. Leaves a full-page screenshot in tests/artifacts/runs-page.png.

import { statSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRunOf } from '../../../pipelines/scheduler/cronSchedule.ts';
import { artifactPath, HAS_CHROMIUM, launchChromium, signedInPage, warnIfNoChromium } from '../../support/browser.ts';
import { startGovernedServer, type GovernedServer } from '../../support/governedServer.ts';
import { FAILED_ESR_ERROR, makeOpsLake, type OpsLake } from './opsLake.ts';

warnIfNoChromium('tests/integration/ops/runsPage.test.ts');

const ZONED_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} (GMT|BST)$/;
const daysBefore = (at: Date, days: number) => new Date(at.getTime() - days * 86_400_000).toISOString().slice(0, 10);

describe.skipIf(!HAS_CHROMIUM)('the runs page in Chromium', () => {
  let lake: OpsLake;
  let server: GovernedServer;
  let browser: Browser;
  let page: Page;
  // A fixed clock a minute after the runs, so next runs and ages are known.
  let now: Date;

  beforeAll(async () => {
    lake = await makeOpsLake();
    now = new Date(Date.now() + 60_000);
    server = await startGovernedServer({ layout: lake.layout, operations: { config: lake.config, clock: () => now } });
    browser = await launchChromium();
    page = (await signedInPage(browser, server.tokens.engineer)).page;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    lake?.close();
  });

  const jobRow = (name: string) => page.locator(`#jobs tbody tr:has(th[scope="row"]:text-is("${name}"))`);
  const cell = (name: string, column: number) => jobRow(name).locator('td').nth(column - 1); // column 0 is the row header
  const COLUMNS = { kind: 1, schedule: 2, nextRun: 3, lastRun: 4, recordsIn: 5, landed: 6, quarantined: 7, freshness: 8, age: 9, action: 10 };

  it('lists each source and the build with schedule, next run in the scheduler zone, last run and freshness', async () => {
    const response = await page.goto(`${server.base}/ops`);
    expect(response?.status()).toBe(200);
    // One policy for every page: forms may post back here, and nothing else loads but from here.
    expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none';.*form-action 'self'/);
    expect(await page.title()).toBe('Loads and schedules – carelake operations');
    expect(await page.locator('html').getAttribute('lang')).toBe('en-GB');
    expect(await page.locator('h1').innerText()).toBe('Loads and schedules');
    expect(await page.locator('#jobs caption').innerText()).toBe('Sources and the warehouse build');
    expect(await page.locator('#scheduler-status').innerText()).toContain('not running: requests wait until carelake schedule starts');

    const cases = [
      { description: 'pas, landed a minute ago', name: 'pas', kind: 'hl7v2', cron: '*/15 * * * *', lastRun: 'succeeded', freshness: 'pass', age: /^1 min/ },
      { description: 'esr, failed and never landed', name: 'esr', kind: 'esr', cron: '30 6 * * *', lastRun: 'failed', freshness: 'error', age: /^never landed$/ },
      { description: 'the build, after pas', name: 'build', kind: 'build', cron: '0 3 * * *', lastRun: 'succeeded', freshness: 'none', age: /^$/ },
    ];
    for (const c of cases) {
      expect(await jobRow(c.name).count(), c.description).toBe(1);
      expect(await cell(c.name, COLUMNS.kind).innerText(), c.description).toBe(c.kind);
      expect(await cell(c.name, COLUMNS.schedule).innerText(), c.description).toContain(`${c.cron} (Europe/London)`);
      const next = cell(c.name, COLUMNS.nextRun).locator('time');
      expect(await next.getAttribute('datetime'), c.description).toBe(nextRunOf(c.cron, 'Europe/London', now)!.toISOString());
      expect(await next.innerText(), c.description).toMatch(ZONED_TIME);
      expect(await cell(c.name, COLUMNS.lastRun).locator('a').innerText(), c.description).toBe(c.lastRun);
      expect(await cell(c.name, COLUMNS.freshness).locator('.status').innerText(), c.description).toBe(c.freshness);
      expect((await cell(c.name, COLUMNS.age).innerText()).split('\n')[0], c.description).toMatch(c.age);
    }
    expect(await cell('build', COLUMNS.schedule).innerText()).toContain('after pas land new data');
    const [, second] = lake.pasRuns;
    expect(await cell('pas', COLUMNS.recordsIn).innerText()).toBe(String(second.run.records_in));
    expect(await page.locator('#alerts tbody').innerText()).toContain('esr failed after 2 attempts');
  });

  it('follows a run link to the run: its facts, files and log lines', async () => {
    await page.goto(`${server.base}/ops`);
    const [, second] = lake.pasRuns;
    await Promise.all([page.waitForURL(`**/ops/runs/${second.run.run_id}`), cell('pas', COLUMNS.lastRun).locator('a').click()]);
    expect(await page.locator('h1').innerText()).toBe(`Run ${second.run.run_id}`);
    const fact = (label: string) => page.locator(`#run-facts tr:has(th:text-is("${label}")) td`).innerText();
    expect(await fact('Status')).toBe('succeeded');
    expect(await fact('Records filtered')).toBe('1');
    expect(await fact('Records landed')).toBe('1');
    expect(await page.locator('#files tbody tr').count()).toBe(1);
    expect(await page.locator('#quarantine tbody').innerText()).toBe('Nothing was quarantined.');
    const messages = await page.locator('#log tbody tr td:nth-child(3)').allInnerTexts();
    expect(messages).toEqual(expect.arrayContaining(['run started', 'file done', 'run finished']));
    const started = page.locator('#log tbody tr:has(td:text-is("run started"))');
    expect(await started.locator('td').nth(1).innerText()).toBe('info');
    expect(await started.locator('td').nth(3).innerText()).toContain('trigger=schedule');
  });

  it('filters the history by status and shows a partial run with its quarantined records, and a failed one with its attempts', async () => {
    await page.goto(`${server.base}/ops/runs`);
    expect(await page.locator('#runs tbody tr').count()).toBe(5);
    await page.selectOption('#filter-status', 'partial');
    await Promise.all([page.waitForURL(/\/ops\/runs\?source=&status=partial$/), page.getByRole('button', { name: 'Filter' }).click()]);
    expect(await page.locator('#filter-status').inputValue()).toBe('partial');
    const [first] = lake.pasRuns;
    const rows = page.locator('#runs tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.locator('th').innerText()).toBe(first.run.run_id);

    await Promise.all([page.waitForURL(`**/ops/runs/${first.run.run_id}`), rows.locator('th a').click()]);
    const quarantined = page.locator('#quarantine tbody tr');
    expect(await quarantined.count()).toBe(1);
    const [location, record, , reason] = await quarantined.locator('td').allInnerTexts();
    expect(location).toContain('feed-1.hl7');
    expect(record).toMatch(/^offset \d+$/);
    expect(reason).toMatch(/MSH-10/);
    expect(await page.locator('#files tbody td').nth(6).innerText()).toMatch(/declared: 2/);

    await page.goto(`${server.base}/ops/runs`);
    await page.selectOption('#filter-status', 'failed');
    await Promise.all([page.waitForURL(/status=failed$/), page.getByRole('button', { name: 'Filter' }).click()]);
    expect(await page.locator('#runs tbody tr th').allInnerTexts()).toEqual([lake.retriedEsr.run_id]);
    await Promise.all([page.waitForURL(`**/ops/runs/${lake.retriedEsr.run_id}`), page.locator('#runs tbody tr th a').click()]);
    expect(await page.locator('#run-facts tr:has(th:text-is("Error")) td').innerText()).toBe(FAILED_ESR_ERROR);
    expect(await page.locator('#run-facts tr:has(th:text-is("Retry of")) td').innerText()).toBe(lake.failedEsr.run_id);
    expect(await page.locator('#retries tbody tr th').allInnerTexts()).toEqual([lake.failedEsr.run_id]);
    expect(await page.locator('#retries tbody tr td').nth(2).innerText()).toBe('retried');
    expect(await page.locator('#log').innerText()).toBe('This run left no log.');
  });

  it('records "Run now" and backfill requests in the ledger and confirms them; refuses a bad window', async () => {
    const before = lake.ledger.runRequests().length;
    await page.goto(`${server.base}/ops`);
    await Promise.all([page.waitForURL(/\/ops\?requested=\d+$/), page.getByRole('button', { name: 'Run now pas', exact: true }).click()]);
    const runRequest = lake.ledger.runRequests({ limit: 1 })[0]!;
    expect(runRequest).toMatchObject({ job: 'pas', kind: 'run', status: 'pending', window_from: null, window_to: null, requested_at: now.toISOString() });
    expect(runRequest.requested_by).toMatch(/^key:/);
    expect(page.url()).toBe(`${server.base}/ops?requested=${runRequest.request_id}`);
    expect(await page.locator('#request-banner').innerText()).toContain(`Request ${runRequest.request_id}: a run of pas`);

    const from = daysBefore(now, 10);
    const to = daysBefore(now, 3);
    await page.fill('#backfill-pas-from', from);
    await page.fill('#backfill-pas-to', to);
    await Promise.all([page.waitForURL(/\/ops\?requested=\d+$/), page.getByRole('button', { name: 'Request backfill of pas' }).click()]);
    const backfill = lake.ledger.runRequests({ limit: 1 })[0]!;
    expect(backfill).toMatchObject({ job: 'pas', kind: 'backfill', status: 'pending', window_from: `${from}T00:00:00.000Z`, window_to: `${to}T00:00:00.000Z` });
    expect(await page.locator('#request-banner').innerText()).toContain(`Request ${backfill.request_id}: a backfill of pas from ${from}`);

    await Promise.all([page.waitForURL(/\/ops\?requested=\d+$/), page.getByRole('button', { name: 'Run now build', exact: true }).click()]);
    expect(lake.ledger.runRequests({ limit: 1 })[0]).toMatchObject({ job: 'build', kind: 'run' });
    expect(await page.locator('#pending-requests tbody tr').count()).toBe(3);

    // A window that ends before it starts: the page comes back with the problem, and nothing is requested.
    await page.fill('#backfill-esr-from', to);
    await page.fill('#backfill-esr-to', from);
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/ops/sources/esr/backfill')), page.getByRole('button', { name: 'Request backfill of esr' }).click()]);
    expect(refused.status()).toBe(400);
    await page.waitForLoadState();
    expect(await page.locator('.error-summary').innerText()).toContain("'To' must be after 'From'");
    expect(await page.locator('#backfill-esr-to').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#backfill-esr-from').inputValue()).toBe(to);
    expect(lake.ledger.runRequests().length).toBe(before + 3);

    const screenshot = await artifactPath('runs-page.png');
    await page.goto(`${server.base}/ops?requested=${backfill.request_id}`);
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(0);
  });

  it('is for engineers only, refuses unknown sources and cross-site posts, and serves its facts as JSON', async () => {
    const commissioner = await signedInPage(browser, server.tokens.commissioner);
    try {
      expect((await commissioner.page.goto(`${server.base}/ops`))?.status()).toBe(403);
      expect((await commissioner.page.goto(`${server.base}/ops/runs`))?.status()).toBe(403);
    } finally {
      await commissioner.context.close();
    }
    const before = lake.ledger.runRequests().length;
    const post = (role: 'engineer' | 'commissioner', path: string, headers: Record<string, string> = {}) =>
      server.as(role, path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'from=2026-01-01&to=2026-01-02', redirect: 'manual' });
    const cases = [
      { description: 'a commissioner', response: () => post('commissioner', '/ops/sources/pas/run'), status: 403 },
      { description: 'an unknown source', response: () => post('engineer', '/ops/sources/nope/run'), status: 404 },
      { description: 'a backfill of the build', response: () => post('engineer', '/ops/sources/build/backfill'), status: 400 },
      { description: 'a post from another site', response: () => post('engineer', '/ops/sources/pas/run', { 'sec-fetch-site': 'cross-site' }), status: 403 },
    ];
    for (const c of cases) expect((await c.response()).status, c.description).toBe(c.status);
    expect(lake.ledger.runRequests().length).toBe(before);

    const json = (await (await server.as('engineer', '/api/ops/sources')).json()) as { scheduler: { running: boolean }; sources: { name: string; nextRunAt: string | null; freshness: { status: string } }[] };
    expect(json.scheduler).toEqual({ running: false });
    expect(json.sources.map((s) => [s.name, s.freshness.status])).toEqual([['pas', 'pass'], ['esr', 'error'], ['build', 'none']]);
    expect(json.sources[0]!.nextRunAt).toBe(nextRunOf('*/15 * * * *', 'Europe/London', now)!.toISOString());
    expect((await server.as('analyst', '/api/ops/sources')).status).toBe(403);
    // Every page shares that policy.
    expect((await server.as('commissioner', '/')).headers.get('content-security-policy')).toContain("form-action 'self'");
    // Form bodies are parsed for these pages only: the query API still takes JSON alone.
    const formQuery = await server.as('analyst', '/api/query', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'sql=SELECT%201' });
    expect(formQuery.status).toBe(400);
    expect(JSON.stringify(await formQuery.json())).toContain('could not be processed');
  });
});
