// The governed query API over loopback with real API keys, real serving files and the real audit log:
// who may do what, every escape attempt refused and audited, limits, disclosure of aggregate counts,
// and a publish during a long query.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quoteLiteral } from '../../../core/sql.ts';
import type { AuditEntry } from '../../../warehouse/audit/auditEntry.ts';
import { verifyAuditLog } from '../../../warehouse/audit/auditVerify.ts';
import { publishServingRelease } from '../../../warehouse/publish/servingBuild.ts';
import type { ReportCatalog } from '../../../warehouse/reports/markdown/reportCatalog.ts';
import { startGovernedServer, type GovernedServer } from '../../support/governedServer.ts';
import { EXAMPLE_COUNTS_REPORT, reportCatalogOf } from '../../support/reportFolder.ts';
import { analystTables, CATEGORY_COUNTS, commissionerTables, makeLake, type TestLake } from './fixtures.ts';

let lake: TestLake;
let server: GovernedServer;
let reports: ReportCatalog;

async function publish(role: 'analyst' | 'commissioner', releaseId: string): Promise<void> {
  await publishServingRelease({
    warehouse: lake.warehouse,
    layout: lake.layout,
    role,
    releaseId,
    tables: role === 'analyst' ? [...analystTables, { name: 'srv_category', sql: 'SELECT category FROM fct_category_counts, range(n)' }] : commissionerTables,
    pseudonymiser: lake.pseudonymiser,
  });
}

/**
 * The audit log as it stands once `count` entries are in: a request is written down just after its
 * response has gone, so a client can read the response a moment before the entry lands.
 */
async function auditEntries(count: number): Promise<AuditEntry[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const text = await readFile(lake.layout.auditLog, 'utf8').catch(() => '');
    const entries = text.trim() === '' ? [] : text.trim().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    if (entries.length >= count || Date.now() > deadline) return entries;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Outcome {
  resourceType: string;
  issue: { code: string; diagnostics: string }[];
}

beforeEach(async () => {
  lake = await makeLake();
  await publish('analyst', 'a1');
  await publish('commissioner', 'c1');
  reports = await reportCatalogOf(join(lake.dir, 'reports'), { 'example-counts.md': EXAMPLE_COUNTS_REPORT });
  server = await startGovernedServer({ layout: lake.layout, reports });
});
afterEach(async () => {
  await server.close();
  await lake.cleanup();
});

describe('who may do what', () => {
  it('refuses a request without credentials or with a bad token (401), and the wrong role (403), each as JSON', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [fetch(`${server.base}/api/reports/example-counts`), 401, 'login'],
      [fetch(`${server.base}/api/query`, { method: 'POST', body: '{"sql":"SELECT 1"}', headers: { 'content-type': 'application/json' } }), 401, 'login'],
      [fetch(`${server.base}/api/reports/example-counts`, { headers: { authorization: 'Bearer clk_AAAAAAAAAA_forgedforgedforgedforgedforgedforgedforg' } }), 401, 'login'],
      [fetch(`${server.base}/api/reports/example-counts`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'login'],
      // A commissioner cannot run SQL; an analyst does not read commissioner reports; nor does an engineer query.
      [server.query('commissioner', 'SELECT 1'), 403, 'forbidden'],
      [server.query('engineer', 'SELECT 1'), 403, 'forbidden'],
      [server.as('analyst', '/api/reports/example-counts'), 403, 'forbidden'],
    ];
    for (const [response, status, code] of cases) {
      const r = await response;
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toContain('application/json');
      const body = (await r.json()) as Outcome;
      expect(body.issue[0]!.code).toBe(code);
      if (status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    // The requests ran concurrently, so their entries may be in any order.
    const outcomes = (await auditEntries(7)).map((e) => [e.outcome, e.status, e.role]).sort();
    expect(outcomes).toEqual(
      [
      ['unauthenticated', 401, null],
      ['unauthenticated', 401, null],
      ['unauthenticated', 401, null],
      ['unauthenticated', 401, null],
      ['denied', 403, 'commissioner'],
      ['denied', 403, 'engineer'],
      ['denied', 403, 'analyst'],
      ].sort(),
    );
  });

  it('keeps /api/health open and audited', async () => {
    expect((await fetch(`${server.base}/api/health`)).status).toBe(200);
    expect((await auditEntries(1)).map((e) => [e.endpoint, e.principal])).toEqual([['GET /api/health', 'anonymous']]);
  });
});

describe('analyst queries', () => {
  it('stream JSON, CSV and Arrow from the analyst release, audited with the query, rows and release', async () => {
    const sql = 'SELECT sex, count(DISTINCT patient_token) AS tokens FROM srv_patient WHERE patient_token IS NOT NULL GROUP BY sex ORDER BY sex';
    const json = await server.query('analyst', sql, 'json');
    expect(json.status).toBe(200);
    expect(json.headers.get('x-carelake-release')).toBe('a1');
    const body = (await json.json()) as { columns: { name: string }[]; rows: unknown[][]; rowCount: number; truncated: boolean };
    expect(body.columns.map((c) => c.name)).toEqual(['sex', 'tokens']);
    expect(body.rowCount).toBe(2);

    const csv = await server.query('analyst', 'SELECT category, sex FROM srv_patient ORDER BY patient_token NULLS LAST', 'csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const rows = parseCsv(await csv.text(), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(8);

    const arrow = await server.query('analyst', 'SELECT category, 42::BIGINT AS answer FROM srv_patient LIMIT 3', 'arrow');
    expect(arrow.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    expect(table.numRows).toBe(3);
    expect(table.getChild('answer')!.get(0)).toBe(42n);

    const audited = (await auditEntries(3)).filter((e) => e.endpoint === 'POST /api/query');
    expect(audited.map((e) => [e.outcome, e.rows, e.release, e.params?.format])).toEqual([
      ['ok', 2, 'a1', 'json'],
      ['ok', 8, 'a1', 'csv'],
      ['ok', 3, 'a1', 'arrow'],
    ]);
    expect(audited[0]!.query).toBe(sql);
    expect(audited[0]!.principal).toMatch(/^key:/);
  });

  it('passes the counts of an aggregate query through disclosure control', async () => {
    const response = await server.query('analyst', 'SELECT category, count(*) AS n FROM srv_category GROUP BY category ORDER BY category');
    const body = (await response.json()) as { rows: [string, number | null][] };
    const published = Object.fromEntries(body.rows);
    for (const { category, n } of CATEGORY_COUNTS.filter((c) => c.n > 0)) {
      if (n <= 7) expect(published[category], category).toBeNull();
      else expect(published[category], category).toBe(Math.round(n / 5) * 5);
    }
    expect(response.headers.get('x-carelake-disclosure')).toBe('hes');
  });
});

describe('escape attempts', () => {
  // Each tries to reach something other than the analyst file's tables: refused, 400, and audited.
  const attempts = (dir: string, commissionerFile: string): string[] => [
    `SELECT * FROM read_parquet(${quoteLiteral(join(dir, 'raw', '*', '*', '*', '*.parquet'))})`,
    `SELECT * FROM read_csv('/etc/passwd')`,
    `SeLeCt * FrOm ReAd_CsV_AuTo('/etc/passwd')`,
    `SELECT * FROM ${quoteLiteral(commissionerFile)}`,
    `SELECT * FROM "/etc/passwd"`,
    `ATTACH ${quoteLiteral(commissionerFile)} AS c`,
    `SELECT 1; ATTACH ${quoteLiteral(commissionerFile)} AS c`,
    `SELECT 1 /* ; */ ; COPY srv_patient TO '/tmp/out.csv'`,
    `COPY (SELECT * FROM srv_patient) TO ${quoteLiteral(join(dir, 'out.csv'))}`,
    `SELECT * FROM glob('/**')`,
    `SELECT getenv('CARELAKE_PSEUDONYM_KEY')`,
    `SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')`,
    `WITH x AS (SELECT * FROM read_text('/etc/hostname')) SELECT * FROM x`,
    `SELECT * FROM srv_patient WHERE category IN (SELECT content FROM read_blob('/etc/hostname'))`,
    `PRAGMA database_list`,
    `SET enable_external_access = true`,
    `INSTALL httpfs`,
    `LOAD httpfs`,
    `-- just a comment\nSELECT current_setting('temp_directory')`,
    `SELECT * FROM duckdb_settings()`,
    `SELECT * FROM other_db.main.srv_example_counts`,
    `CREATE TABLE t AS SELECT 1`,
  ];

  it('refuses every one with a 400 that says what was refused, and audits each as refused', async () => {
    const commissionerFile = join(lake.layout.serving, 'commissioner-c1.duckdb');
    const tried = attempts(lake.dir, commissionerFile);
    for (const sql of tried) {
      const response = await server.query('analyst', sql);
      expect(response.status, sql).toBe(400);
      const body = (await response.json()) as Outcome;
      expect(body.issue[0]!.diagnostics, sql).toMatch(/refused|syntax|parse/i);
      // No internals: no lake path the caller did not send themselves.
      if (!sql.includes(lake.dir)) expect(body.issue[0]!.diagnostics, sql).not.toContain(lake.dir);
    }
    const audited = (await auditEntries(tried.length)).filter((e) => e.endpoint === 'POST /api/query');
    expect(audited.map((e) => e.query)).toEqual(tried);
    expect(new Set(audited.map((e) => e.outcome))).toEqual(new Set(['refused']));
    expect(audited.every((e) => e.error === 'query.refused' || e.error === 'query.syntax')).toBe(true);
  });
});

describe('limits', () => {
  it('cuts results at the row limit, stops a query at the time limit, and rate-limits a principal', async () => {
    await server.close();
    server = await startGovernedServer({ layout: lake.layout, reports, limits: { maxRows: 5, timeoutMs: 1_500, rateLimit: 4 } });
    const many = (await (await server.query('analyst', 'SELECT * FROM range(100)')).json()) as { rowCount: number; truncated: boolean };
    expect(many).toMatchObject({ rowCount: 5, truncated: true });

    const slow = await server.query('analyst', 'SELECT count(*) FROM range(100000000) a, range(1000) b');
    expect(slow.status).toBe(400);
    expect(((await slow.json()) as Outcome).issue[0]!.code).toBe('too-costly');

    // Two allowed above; the next two are within the limit of 4, the fifth is refused.
    expect((await server.query('analyst', 'SELECT 1')).status).toBe(200);
    expect((await server.query('analyst', 'SELECT 1')).status).toBe(200);
    const limited = await server.query('analyst', 'SELECT 1');
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as Outcome).issue[0]!.code).toBe('throttled');
    // Another principal is not held back by the first one's requests.
    expect((await server.as('commissioner', '/api/reports/example-counts')).status).toBe(200);

    const outcomes = (await auditEntries(6)).filter((e) => e.endpoint === 'POST /api/query').map((e) => e.outcome);
    expect(outcomes).toEqual(['ok', 'timeout', 'ok', 'ok', 'rate-limited']);
  });
});

describe('a client that goes away', () => {
  it('has its query stopped rather than left running, and the audit says so', async () => {
    const gone = new AbortController();
    const started = Date.now();
    const request = fetch(`${server.base}/api/query`, {
      method: 'POST',
      signal: gone.signal,
      headers: { authorization: `Bearer ${server.tokens.analyst}`, 'content-type': 'application/json' },
      // Minutes of work if left to run.
      body: JSON.stringify({ sql: 'SELECT sum(hash(a.range + b.range)) FROM range(100000000) a, range(1000) b' }),
    });
    setTimeout(() => gone.abort(), 300);
    await expect(request).rejects.toThrow();
    const [entry] = await auditEntries(1);
    expect(entry).toMatchObject({ endpoint: 'POST /api/query', outcome: 'error', status: 499, error: 'client.aborted' });
    expect(entry!.query).toContain('range(100000000)');
    // The query was stopped: the next one is answered at once, not after minutes of the first.
    const next = await server.query('analyst', 'SELECT 1 AS one');
    expect(next.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('releases and the audit trail', () => {
  it('finishes a long query on the release it started on while a new one is published', async () => {
    // Slow enough (about a second) to still be running when the publish completes.
    let answered = 0;
    const long = server.query('analyst', 'SELECT sum(hash(a.range + b.range)) AS h FROM range(20000000) a, range(10) b').then((r) => {
      answered = Date.now();
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await publish('analyst', 'a2');
    const published = Date.now();
    const response = await long;
    expect(answered).toBeGreaterThan(published);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-carelake-release')).toBe('a1');
    expect(((await response.json()) as { rows: unknown[][] }).rows).toHaveLength(1);
    const next = await server.query('analyst', 'SELECT count(*) AS n FROM srv_patient');
    expect(next.headers.get('x-carelake-release')).toBe('a2');
  });

  it('leaves a chain that verifies, and detects a line changed afterwards', async () => {
    await server.query('analyst', 'SELECT 1');
    await server.query('analyst', 'SELECT * FROM read_csv(\'/etc/passwd\')');
    await server.as('commissioner', '/api/reports/example-counts');
    await auditEntries(3);
    expect(await verifyAuditLog(lake.layout.auditLog, lake.layout.auditHead)).toMatchObject({ ok: true, entries: 3 });

    const lines = (await readFile(lake.layout.auditLog, 'utf8')).split('\n');
    // Someone hides the refused attempt by rewriting it as an innocent query.
    lines[1] = lines[1]!.replace(`read_csv('/etc/passwd')`, 'srv_patient').replace('"refused"', '"ok"');
    await writeFile(lake.layout.auditLog, lines.join('\n'));
    const verdict = await verifyAuditLog(lake.layout.auditLog, lake.layout.auditHead);
    expect(verdict.ok).toBe(false);
    expect(verdict.firstProblem?.line).toBe(2);
  });
});
