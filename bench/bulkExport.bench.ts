// Bulk Data export end to end: carelake's fhir-bulk source (kick-off, poll, parallel streamed
// downloads, line checks, Parquet, ledger) against the floor of the same work — plain parallel
// downloads with Node's fetch (undici) to disk, then DuckDB read_ndjson_objects → Parquet — from the
// same test server. Server and each variant run in their own processes, so each peak RSS is its own;
// two export sizes show whether memory stays flat as the export grows.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateDemoSources } from '../synthetic/generate.ts';
import { fmt } from './measure.ts';

const SIZES = [25_000, 125_000] as const;
const SEED = 11;

interface WorkerResult {
  seconds: number;
  bytes: number;
  records: number;
  files: number;
  maxRssMb: number;
}

export async function benchBulkExport(): Promise<void> {
  const rows: string[] = [];
  for (const patients of SIZES) rows.push(...(await benchOne(patients)));
  for (const row of rows) console.log(row);
}

async function benchOne(patients: number): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-bulk-'));
  let server: ChildProcess | null = null;
  try {
    await generateDemoSources({ patients, seed: SEED, outDir: join(dir, 'src') });
    const started = await startProcess('bulkServerProcess.ts', [join(dir, 'src', 'fhir')]);
    server = started.child;
    const { baseUrl } = started.first as { baseUrl: string };
    const results: Record<string, WorkerResult> = {};
    for (const variant of ['baseline', 'carelake']) {
      const work = join(dir, variant);
      await mkdir(work);
      const worker = await startProcess('bulkExportWorker.ts', [variant, baseUrl, work]);
      results[variant] = worker.first as WorkerResult;
    }
    const b = results.baseline!;
    const c = results.carelake!;
    const mb = c.bytes / 2 ** 20;
    if (c.records !== b.records) throw new Error(`carelake landed ${c.records} resources, the baseline ${b.records}`);
    return [
      `export: ${patients.toLocaleString('en-GB')} patients, ${fmt(mb)} MB NDJSON, ${c.records.toLocaleString('en-GB')} resources in ${c.files} files`,
      `  baseline  fetch → disk, then read_ndjson_objects → Parquet: ${fmt(mb / b.seconds)} MB/s (${fmt(b.seconds, 2)} s), peak RSS ${fmt(b.maxRssMb, 0)} MB`,
      `  carelake  fhir-bulk run (kick-off … ledger):              ${fmt(mb / c.seconds)} MB/s (${fmt(c.seconds, 2)} s), peak RSS ${fmt(c.maxRssMb, 0)} MB`,
      `  ratio     carelake / baseline throughput: ${fmt(b.seconds / c.seconds, 2)}×`,
    ];
  } finally {
    server?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts a bench script in its own Node process and returns its first JSON line. */
async function startProcess(script: string, args: string[]): Promise<{ child: ChildProcess; first: unknown }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) return { child, first: JSON.parse(line) as unknown };
  throw new Error(`${script} exited before reporting`);
}
