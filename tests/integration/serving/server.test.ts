// The commissioner HTTP server on loopback with real fetch: health, a Markdown report's disclosure-
// controlled JSON, HTML and CSV, OperationOutcome errors, and 500s that never echo internals.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quoteLiteral } from '../../../core/sql.ts';
import { publishServingRelease } from '../../../warehouse/publish/servingBuild.ts';
import { startGovernedServer, type GovernedServer } from '../../support/governedServer.ts';
import { EXAMPLE_COUNTS_REPORT, reportCatalogOf } from '../../support/reportFolder.ts';
import { analystTables, BUILT_AT, CATEGORY_COUNTS, commissionerTables, makeLake, type TestLake } from './fixtures.ts';

let lake: TestLake;
let server: GovernedServer;
let base: string;
let logLines: string[];

const OUTSIDE_CSV = 'outside-secret.csv';

async function start(reports: Record<string, string>): Promise<void> {
  logLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const catalog = await reportCatalogOf(join(lake.dir, 'reports'), reports);
  server = await startGovernedServer({ layout: lake.layout, reports: catalog, logger: pino({ level: 'error' }, sink) });
  base = server.base;
}

async function publishCommissioner(releaseId: string): Promise<void> {
  await publishServingRelease({
    warehouse: lake.warehouse,
    layout: lake.layout,
    role: 'commissioner',
    releaseId,
    tables: commissionerTables,
    pseudonymiser: lake.pseudonymiser,
    builtAt: BUILT_AT,
  });
}

/** Tries to read a file, which the serving connection's statement check refuses. */
const brokenReport = (csv: string) => `---
title: Broken
---
\`\`\`sql q counts=n
SELECT n FROM read_csv(${quoteLiteral(csv)})
\`\`\`
<DataTable data="q" title="Q"/>
`;

beforeEach(async () => {
  lake = await makeLake();
  const csv = join(lake.dir, OUTSIDE_CSV);
  await writeFile(csv, 'n\n1\n');
  await start({ 'example-counts.md': EXAMPLE_COUNTS_REPORT, 'broken.md': brokenReport(csv) });
});
afterEach(async () => {
  await server.close();
  await lake.cleanup();
});

interface OperationOutcomeBody {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics: string }[];
}

describe('before anything is published', () => {
  it('health is 503 and reports say the service is unavailable', async () => {
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'unavailable', releases: {} });

    const report = await server.as('commissioner', `/api/reports/example-counts`);
    expect(report.status).toBe(503);
    expect(((await report.json()) as OperationOutcomeBody).issue[0]?.code).toBe('transient');

    const index = await server.as('commissioner', `/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('No serving release has been published yet');
  });
});

describe('with a published commissioner release', () => {
  beforeEach(async () => {
    await publishCommissioner('c1');
    await publishServingRelease({
      warehouse: lake.warehouse,
      layout: lake.layout,
      role: 'analyst',
      releaseId: 'a1',
      tables: analystTables,
      pseudonymiser: lake.pseudonymiser,
    });
  });

  it('health lists releases by role without file paths', async () => {
    const response = await fetch(`${base}/api/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; releases: Record<string, { releaseId: string; publishedAt: string }> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.releases).sort()).toEqual(['analyst', 'commissioner']);
    expect(body.releases.commissioner?.releaseId).toBe('c1');
    expect(JSON.stringify(body)).not.toContain('.duckdb');
  });

  it('report JSON passes every count through the HES policy', async () => {
    const response = await server.as('commissioner', `/api/reports/example-counts`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      id: string;
      title: string;
      asOf: string;
      release: string;
      policy: { scheme: string; name: string };
      queries: Record<string, { columns: string[]; counts: string[]; rows: [string, number | null][]; suppressed: [number, number][] }>;
    };
    expect(body).toMatchObject({ id: 'example-counts', release: 'c1', asOf: BUILT_AT, policy: { scheme: 'hes', name: 'NHS Digital HES' } });
    const counts = body.queries.counts!;
    expect(counts).toMatchObject({ columns: ['category', 'n'], counts: ['n'] });
    expect(counts.rows).toHaveLength(CATEGORY_COUNTS.length);
    for (const [row, [category, value]] of counts.rows.entries()) {
      const raw = CATEGORY_COUNTS.find((c) => c.category === category)!.n;
      const suppressed = counts.suppressed.some(([r, c]) => r === row && c === 1);
      if (raw >= 1 && raw <= 7) {
        expect({ category, value, suppressed }).toEqual({ category, value: null, suppressed: true });
      } else {
        expect(suppressed).toBe(false);
        expect(value! % 5).toBe(0);
        expect(Math.abs(value! - raw)).toBeLessThanOrEqual(2);
      }
    }
    expect(counts.rows.map((r) => r[1])).toEqual([0, null, null, 10, 10, 25, 100]);
  });

  it('report HTML is accessible, escaped, and marks suppressed cells with * and a legend', async () => {
    const response = await server.as('commissioner', `/reports/example-counts`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain('<html lang="en-GB">');
    expect(html).toMatch(/<title>Example: counts by category – carelake<\/title>/);
    expect(html).toMatch(/<caption class="nhsuk-table__caption" id="table-1-caption">Counts by category<\/caption>/);
    expect(html).toContain('<th scope="col" class="nhsuk-table__header">Category</th>');
    expect(html).toContain('<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">N</th>');
    expect(html.match(/aria-describedby="suppression-legend">\*<\/td>/g)).toHaveLength(2);
    expect(html).toContain('id="suppression-legend"');
    expect(html).toContain('serving release <code>c1</code>');
    expect(html).toContain(`datetime="${BUILT_AT}"`);
    expect(html).toContain('NHS Digital HES rules');
    expect(html).toContain('g-&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<style');
  });

  it('the CSV download holds the same disclosed values, * where suppressed', async () => {
    const response = await server.as('commissioner', `/reports/example-counts.csv?query=counts`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="example-counts-counts.csv"');
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('category,n');
    expect(lines.slice(1).map((l) => l.slice(l.lastIndexOf(',') + 1))).toEqual(['0', '*', '*', '10', '10', '25', '100']);
    expect((await server.as('commissioner', `/reports/example-counts.csv?query=nothing`)).status).toBe(404);
  });

  it('answers a PDF with 501 where the server has no Chromium, saying what would make it work', async () => {
    const response = await server.as('commissioner', `/reports/example-counts.pdf`);
    expect(response.status).toBe(501);
    expect(await response.text()).toContain('PDF export needs Chromium on the server');
    // And the page does not offer one.
    expect(await (await server.as('commissioner', `/reports/example-counts`)).text()).not.toContain('.pdf');
  });

  it('serves the pages’ assets by name only, to anyone, with no call-out to another site', async () => {
    const css = await fetch(`${base}/assets/nhsuk-frontend.min.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    const text = await css.text();
    expect(text).toContain('.nhsuk-header');
    expect(text).not.toMatch(/@font-face|https?:\/\//);
    expect((await fetch(`${base}/assets/images/nhsuk-icon-tick.svg`)).headers.get('content-type')).toBe('image/svg+xml');
    for (const path of ['/assets/..%2Fpackage.json', '/assets/images/..%2F..%2Fnhsuk-frontend.min.css', '/assets/nothing.js']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });

  it('the index links every report', async () => {
    const html = await (await server.as('commissioner', `/`)).text();
    expect(html).toContain('<a href="/reports/example-counts">Example: counts by category</a>');
    expect(html).toContain('serving release <code>c1</code>');
  });

  it('serves the new release after a publish', async () => {
    await publishCommissioner('c2');
    const body = (await (await server.as('commissioner', `/api/reports/example-counts`)).json()) as { release: string };
    expect(body.release).toBe('c2');
  });

  const notFound = [
    { description: 'unknown report id', path: '/api/reports/no-such-report', diagnostics: /no-such-report/ },
    { description: 'unknown API route', path: '/api/nothing-here', diagnostics: /Not found/ },
  ];
  it.each(notFound)('$description → 404 OperationOutcome', async ({ path, diagnostics }) => {
    const response = await server.as('commissioner', `${path}`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body = (await response.json()) as OperationOutcomeBody;
    expect(body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    expect(body.issue[0]?.diagnostics).toMatch(diagnostics);
  });

  it('unknown report page → 404 HTML with the id escaped', async () => {
    const response = await server.as('commissioner', `/reports/%3Cb%3Ex`);
    expect(response.status).toBe(404);
    const html = await response.text();
    expect(html).toContain('<html lang="en-GB">');
    expect(html).toContain('&lt;b&gt;x');
    expect(html).not.toContain('<b>x');
  });

  it('an unexpected failure is a generic 500 with a request id, logged but never echoed', async () => {
    for (const path of ['/api/reports/broken', '/reports/broken']) {
      const response = await server.as('commissioner', `${path}`);
      expect(response.status).toBe(500);
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const text = await response.text();
      expect(text).toContain(requestId!);
      for (const internal of [OUTSIDE_CSV, 'read_csv', 'Permission', 'DuckDB', lake.dir]) expect(text).not.toContain(internal);
      expect(logLines.join('')).toContain(requestId!);
    }
    const body = (await (await server.as('commissioner', `/api/reports/broken`)).json()) as OperationOutcomeBody;
    expect(body.issue[0]).toMatchObject({ severity: 'error', code: 'exception' });
  });
});
