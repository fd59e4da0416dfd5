// The governed serving API under load: 32 concurrent clients for 30 s, sending a mix of commissioner
// report requests and analyst SQL queries (authenticated, rate limits high enough not to bite,
// statement check, disclosure, audit log on) to `carelake serve` over loopback, against a serving
// release built by the real pipeline from 100,000 generated patients. The baseline runs the same SQL
// directly on DuckDB in this process — 32 concurrent connections to the same serving files, for 30 s
// — so the ratio is the cost of everything the API adds: HTTP, authentication, checks, disclosure,
// encoding and the audit trail.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { text } from 'node:stream/consumers';
import { buildCommand } from '../cli/commands/build.ts';
import { generateCommand } from '../cli/commands/generate.ts';
import { loadCommand } from '../cli/commands/load.ts';
import { commandContext } from '../cli/context.ts';
import type { Console } from '../cli/console.ts';
import { DuckDb } from '../core/duckdb.ts';
import { commissionerReports } from '../warehouse/reports/commissionerReports.ts';
import { readServingPointer, resolveRelease } from '../warehouse/serving/servingPointer.ts';
import { SERVING_CONNECTION_SETTINGS } from '../warehouse/serving/servingReader.ts';
import { startGovernedServer } from '../tests/support/governedServer.ts';
import { fmt, measure } from './measure.ts';
import type { ClientRequest, ClientsInput, ClientsOutput } from './servingClients.ts';

const PATIENTS = 100_000;
const SEED = 20261121;
const CLIENTS = 32;
const DURATION_MS = 30_000;

const silent: Console = { info() {}, warn() {}, progress() {}, done() {} };

/** Analyst questions of the kind the serving layer is for: counts by band, joins to conditions, stays. */
const ANALYST_SQL: Record<string, string> = {
  'analyst: people by age band and sex': 'SELECT age_band, sex, count(*) AS people FROM person GROUP BY ALL ORDER BY ALL',
  'analyst: top conditions by people': `SELECT c.snomed_display, count(DISTINCT c.person_token) AS people FROM condition c JOIN person p USING (person_token)
     WHERE c.snomed_code IS NOT NULL GROUP BY ALL ORDER BY people DESC LIMIT 20`,
  'analyst: length of stay by provider': `SELECT provider_ods, count(*) AS stays, avg(length_of_stay_days) AS mean_days FROM encounter
     WHERE class_code = 'IMP' AND length_of_stay_days IS NOT NULL GROUP BY ALL ORDER BY provider_ods`,
};
const REPORTS = ['condition-prevalence', 'admissions-by-week', 'workforce-monthly'];

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
async function directDuckDb(files: { analyst: string; commissioner: string }, mix: { name: string; role: 'analyst' | 'commissioner'; sql: string }[]) {
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
            await connections[query.role].table(query.sql);
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
    await writeFile(
      join(dir, 'carelake.yml'),
      `lake: ./lake
sources:
  - { name: gp, kind: fhir-bulk-files, path: ./demo/fhir }
  - { name: pas, kind: hl7v2, path: "./demo/hl7/*.hl7" }
  - { name: esr, kind: esr, path: ./demo/esr }
models: { vars: { linkage_accept_test_nhs_numbers: true } }
terminology: { demoMap: true }
governance: { keyEnv: CARELAKE_BENCH_KEY }
`,
    );
    const ctx = await commandContext({ config: join(dir, 'carelake.yml') });
    const setup = await measure(async () => {
      await generateCommand({ patients: PATIENTS, seed: SEED, out: join(dir, 'demo') }, silent);
      await loadCommand(ctx, [], silent);
      await buildCommand(ctx, silent);
    });
    const pointer = await readServingPointer(ctx.layout);
    const files = { analyst: resolveRelease(ctx.layout, 'analyst', pointer)!.file, commissioner: resolveRelease(ctx.layout, 'commissioner', pointer)!.file };
    const people = await DuckDb.open(files.analyst, { readOnly: true }).then(async (db) => {
      const n = Number(await db.scalar('SELECT count(*) FROM person'));
      db.close();
      return n;
    });
    console.log(`serving release from ${PATIENTS.toLocaleString('en-GB')} generated patients (${people.toLocaleString('en-GB')} linked people): generate, load and build in ${fmt(setup.seconds)} s`);

    const reports = commissionerReports.filter((r) => REPORTS.includes(r.id));
    const mix = [
      ...reports.map((r) => ({ name: `report: ${r.id}`, role: 'commissioner' as const, sql: r.sql, path: `/api/reports/${r.id}` })),
      ...Object.entries(ANALYST_SQL).map(([name, sql]) => ({ name, role: 'analyst' as const, sql, path: '/api/query' })),
    ];

    const server = await startGovernedServer({ layout: ctx.layout, reports: commissionerReports, limits: { rateLimit: 1_000_000_000 } });
    let api: ClientsOutput;
    try {
      const requests: ClientRequest[] = mix.map((m) => ({
        name: m.name,
        path: m.path,
        token: server.tokens[m.role],
        ...(m.role === 'analyst' ? { body: JSON.stringify({ sql: m.sql, format: 'json' }) } : {}),
      }));
      const input: ClientsInput = { base: server.base, clients: CLIENTS, durationMs: DURATION_MS, mix: requests };
      const clients = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'servingClients.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
      clients.stdin.end(JSON.stringify(input));
      api = JSON.parse(await text(clients.stdout)) as ClientsOutput;
    } finally {
      await server.close();
    }
    const direct = await directDuckDb(files, mix);

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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
