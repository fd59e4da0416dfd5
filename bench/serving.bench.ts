// The governed serving layer on a serving release built by the real pipeline from 100,000 generated
// patients, in two parts.
// 1. Under load: 32 concurrent clients for 30 s, sending a mix of commissioner report requests (JSON)
//    and analyst SQL queries (authenticated, rate limits high enough not to bite, statement check,
//    disclosure, audit log on) to `carelake serve` over loopback. The baseline runs the same SQL
//    (for a report, each of its statements with the values the server bound) directly on DuckDB in
//    this process — 32 concurrent connections to the same serving files, for 30 s — so the ratio is the
//    cost of everything the API adds: HTTP, authentication, checks, disclosure, encoding, the audit.
// 2. Report pages one at a time: each bundled report's HTML page (a templated one on its first page)
//    requested in turn, its p50/p95 beside the raw DuckDB time of the same statements run in turn on
//    one connection. The target for a page is p95 < 300 ms.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { text } from 'node:stream/consumers';
import { DuckDb } from '../core/duckdb.ts';
import { DISCLOSURE_POLICIES } from '../warehouse/disclosure/policy.ts';
import { checkStatement } from '../warehouse/query/statementCheck.ts';
import { loadReportCatalog } from '../warehouse/reports/markdown/reportCatalog.ts';
import { sampleRoutes } from '../warehouse/reports/markdown/reportCheck.ts';
import { runReport, type ReportRun } from '../warehouse/reports/markdown/reportRun.ts';
import { readServingPointer, resolveRelease } from '../warehouse/serving/servingPointer.ts';
import { SERVING_CONNECTION_SETTINGS, ServingReader } from '../warehouse/serving/servingReader.ts';
import { startGovernedServer } from '../tests/support/governedServer.ts';
import { fmt, measure } from './measure.ts';
import type { ClientRequest, ClientsInput, ClientsOutput } from './servingClients.ts';
import { buildDemoLake } from '../tests/support/demoLake.ts';

const PATIENTS = 100_000;
const SEED = 20261121;
const CLIENTS = 32;
const DURATION_MS = 30_000;


/** Analyst questions of the kind the serving layer is for: counts by band, joins to conditions, stays. */
const ANALYST_SQL: Record<string, string> = {
  'analyst: people by age band and sex': 'SELECT age_band, sex, count(*) AS people FROM person GROUP BY ALL ORDER BY ALL',
  'analyst: top conditions by people': `SELECT c.snomed_display, count(DISTINCT c.person_token) AS people FROM condition c JOIN person p USING (person_token)
     WHERE c.snomed_code IS NOT NULL GROUP BY ALL ORDER BY people DESC LIMIT 20`,
  'analyst: length of stay by provider': `SELECT provider_ods, count(*) AS stays, avg(length_of_stay_days) AS mean_days FROM encounter
     WHERE class_code = 'IMP' AND length_of_stay_days IS NOT NULL GROUP BY ALL ORDER BY provider_ods`,
};
/** Reports in the load mix, requested as JSON with their default filters. */
const LOAD_REPORTS = ['condition-prevalence', 'admissions', 'workforce'];
/** Requests per report page when timing pages one at a time (after a few unmeasured ones). */
const PAGE_REQUESTS = 60;
const PAGE_WARMUP = 5;
const PAGE_TARGET_P95_MS = 300;

type Statement = ReportRun['statements'][number];
interface MixItem {
  name: string;
  role: 'analyst' | 'commissioner';
  path: string;
  body?: string;
  /** What the baseline runs for it on DuckDB directly. */
  statements: Pick<Statement, 'sql' | 'params'>[];
}

interface Summary {
  requests: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

function summarise(latencies: number[], seconds: number): Summary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { requests: sorted.length, perSecond: sorted.length / seconds, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

function line(name: string, s: Summary): string {
  return `${name.padEnd(42)} ${String(s.requests).padStart(7)} req  ${fmt(s.perSecond).padStart(8)}/s  p50 ${fmt(s.p50).padStart(7)} ms  p95 ${fmt(s.p95).padStart(7)} ms  p99 ${fmt(s.p99).padStart(7)} ms`;
}

/** The baseline: the same SQL on DuckDB, one connection per client, no HTTP and no governance. */
async function directDuckDb(files: { analyst: string; commissioner: string }, mix: MixItem[]) {
  const dbs = {
    analyst: await DuckDb.open(files.analyst, { readOnly: true, settings: { ...SERVING_CONNECTION_SETTINGS } }),
    commissioner: await DuckDb.open(files.commissioner, { readOnly: true, settings: { ...SERVING_CONNECTION_SETTINGS } }),
  };
  const latencies: Record<string, number[]> = {};
  try {
    const until = performance.now() + DURATION_MS;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const connections = { analyst: await dbs.analyst.connect(), commissioner: await dbs.commissioner.connect() };
        try {
          for (let i = client; performance.now() < until; i++) {
            const query = mix[i % mix.length]!;
            const started = performance.now();
            for (const statement of query.statements) await connections[query.role].table(statement.sql, statement.params);
            (latencies[query.name] ??= []).push(performance.now() - started);
          }
        } finally {
          connections.analyst.close();
          connections.commissioner.close();
        }
      }),
    );
  } finally {
    dbs.analyst.close();
    dbs.commissioner.close();
  }
  return latencies;
}

export async function benchServing(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-serving-'));
  try {
    const key = 'cd'.repeat(32);
    process.env.CARELAKE_BENCH_KEY = key;
    const setup = await measure(() => buildDemoLake(dir, { patients: PATIENTS, seed: SEED, keyEnv: 'CARELAKE_BENCH_KEY', extraConfig: 'models: { vars: { linkage_accept_test_nhs_numbers: true } }\n' }));
    const { ctx } = setup.result;
    const pointer = await readServingPointer(ctx.layout);
    const files = { analyst: resolveRelease(ctx.layout, 'analyst', pointer)!.file, commissioner: resolveRelease(ctx.layout, 'commissioner', pointer)!.file };
    const people = await DuckDb.open(files.analyst, { readOnly: true }).then(async (db) => {
      const n = Number(await db.scalar('SELECT count(*) FROM person'));
      db.close();
      return n;
    });
    console.log(`serving release from ${PATIENTS.toLocaleString('en-GB')} generated patients (${people.toLocaleString('en-GB')} linked people): generate, load and build in ${fmt(setup.seconds)} s`);

    const catalog = await loadReportCatalog();
    const reader = new ServingReader(ctx.layout, 'commissioner');
    const deps = { policy: DISCLOSURE_POLICIES.hes, check: (sql: string) => checkStatement(sql, undefined, { parameters: true }) };
    /** Every bundled page: each report, a templated one on the first of its pages. */
    const pages: { path: string; statements: Statement[] }[] = [];
    try {
      for (const report of catalog.reports) {
        const route = report.routeParams.length > 0 ? (await sampleRoutes(report, (work) => reader.use((db) => work(db))))[0]! : {};
        const run = await reader.use((db) => runReport(report, db, { route, query: {} }, deps));
        const path = report.id.replace(/\[(\w+)\]/g, (_, name: string) => encodeURIComponent(route[name]!));
        pages.push({ path, statements: run.statements });
      }
    } finally {
      reader.close();
    }
    const mix: MixItem[] = [
      ...LOAD_REPORTS.map((id) => ({ name: `report: ${id}`, role: 'commissioner' as const, path: `/api/reports/${id}`, statements: pages.find((p) => p.path === id)!.statements })),
      ...Object.entries(ANALYST_SQL).map(([name, sql]) => ({ name, role: 'analyst' as const, path: '/api/query', body: JSON.stringify({ sql, format: 'json' }), statements: [{ sql, params: {} }] })),
    ];

    const server = await startGovernedServer({ layout: ctx.layout, reports: catalog, limits: { rateLimit: 1_000_000_000 } });
    let api: ClientsOutput;
    let pageTimes: Record<string, number[]>;
    try {
      const requests: ClientRequest[] = mix.map((m) => ({ name: m.name, path: m.path, token: server.tokens[m.role], ...(m.body ? { body: m.body } : {}) }));
      const input: ClientsInput = { base: server.base, clients: CLIENTS, durationMs: DURATION_MS, mix: requests };
      const clients = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'servingClients.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
      clients.stdin.end(JSON.stringify(input));
      api = JSON.parse(await text(clients.stdout)) as ClientsOutput;
      pageTimes = await timePages(server.base, server.tokens.commissioner, pages);
    } finally {
      await server.close();
    }
    const direct = await directDuckDb(files, mix);
    const rawPageTimes = await timeStatements(files.commissioner, pages);

    const seconds = DURATION_MS / 1000;
    const all = (record: Record<string, number[]>) => Object.values(record).flat();
    const apiAll = summarise(all(api.latencies), seconds);
    const directAll = summarise(all(direct), seconds);
    console.log(`\n${CLIENTS} clients for ${seconds} s — through carelake serve (HTTP, API keys, checks, disclosure, audit):`);
    for (const m of mix) console.log(line(m.name, summarise(api.latencies[m.name] ?? [], seconds)));
    console.log(line('all requests', apiAll));
    const failed = Object.entries(api.failures);
    if (failed.length > 0) console.log(`non-200 responses: ${failed.map(([n, c]) => `${n} ${c}`).join(', ')}`);
    console.log(`\nbaseline — the same SQL on DuckDB in this process, ${CLIENTS} connections:`);
    for (const m of mix) console.log(line(m.name, summarise(direct[m.name] ?? [], seconds)));
    console.log(line('all queries', directAll));
    console.log(
      `\nratio API / direct: throughput ${fmt(apiAll.perSecond / directAll.perSecond, 2)}×, p50 ${fmt(apiAll.p50 / directAll.p50, 2)}×, p95 ${fmt(apiAll.p95 / directAll.p95, 2)}×, p99 ${fmt(apiAll.p99 / directAll.p99, 2)}×`,
    );
    console.log(`\nreport pages one at a time, ${PAGE_REQUESTS} requests each — HTML rendered by carelake serve, beside the raw DuckDB time of the page's statements (target p95 < ${PAGE_TARGET_P95_MS} ms):`);
    for (const page of pages) {
      const served = summarise(pageTimes[page.path] ?? [], 1);
      const raw = summarise(rawPageTimes[page.path] ?? [], 1);
      const verdict = served.p95 < PAGE_TARGET_P95_MS ? 'within target' : 'OVER TARGET';
      console.log(
        `${page.path.padEnd(34)} ${String(page.statements.length).padStart(2)} queries  page p50 ${fmt(served.p50).padStart(6)} ms  p95 ${fmt(served.p95).padStart(6)} ms  |  raw DuckDB p50 ${fmt(raw.p50).padStart(6)} ms  p95 ${fmt(raw.p95).padStart(6)} ms  |  p95 ratio ${fmt(served.p95 / raw.p95, 2)}×  ${verdict}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Each page requested in turn over HTTP (the HTML, as a browser gets it), PAGE_REQUESTS times. */
async function timePages(base: string, token: string, pages: { path: string }[]): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  for (const page of pages) {
    for (let i = 0; i < PAGE_WARMUP + PAGE_REQUESTS; i++) {
      const started = performance.now();
      const response = await fetch(`${base}/reports/${page.path}`, { headers: { authorization: `Bearer ${token}` } });
      const html = await response.text();
      if (response.status !== 200) throw new Error(`/reports/${page.path} answered ${response.status}: ${html.slice(0, 200)}`);
      if (i >= PAGE_WARMUP) (times[page.path] ??= []).push(performance.now() - started);
    }
  }
  return times;
}

/** The baseline for a page: its statements, with the same bound values, run in turn on one connection. */
async function timeStatements(file: string, pages: { path: string; statements: Statement[] }[]): Promise<Record<string, number[]>> {
  const db = await DuckDb.open(file, { readOnly: true, settings: { ...SERVING_CONNECTION_SETTINGS } });
  const times: Record<string, number[]> = {};
  try {
    for (const page of pages) {
      for (let i = 0; i < PAGE_WARMUP + PAGE_REQUESTS; i++) {
        const started = performance.now();
        for (const statement of page.statements) await db.table(statement.sql, statement.params);
        if (i >= PAGE_WARMUP) (times[page.path] ??= []).push(performance.now() - started);
      }
    }
  } finally {
    db.close();
  }
  return times;
}
