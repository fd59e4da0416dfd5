// One variant of the Bulk Data export bench, in its own process so its peak RSS is its own:
// `baseline` (fetch → disk, then read_ndjson_objects → Parquet) or `carelake` (a fhir-bulk run).
// Prints one JSON line: { seconds, bytes, records, files, maxRssMb }.

import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import PQueue from 'p-queue';
import { sourceConfig, type SourceConfig } from '../core/config.ts';
import { withDuckDb } from '../core/duckdb.ts';
import { LakeLayout } from '../core/lake.ts';
import { createLogger } from '../core/logger.ts';
import { quoteLiteral } from '../core/sql.ts';
import { makeFhirBulkConnector } from '../pipelines/fhir-bulk/bulkConnector.ts';
import { Ledger } from '../pipelines/ledger/ledger.ts';
import { LedgerSourceState } from '../pipelines/ledger/sourceState.ts';
import { runSource } from '../pipelines/runs/runSource.ts';

export const CONCURRENCY = 4;
const WAITS = { minMs: 50, maxMs: 1_000 };

const [variant, baseUrl, dir] = process.argv.slice(2) as [string, string, string];
const started = process.hrtime.bigint();
const result = variant === 'baseline' ? await baseline() : await carelake();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ seconds, ...result, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);

async function baseline(): Promise<{ bytes: number; records: number; files: number }> {
  const manifest = await plainExport();
  const queue = new PQueue({ concurrency: CONCURRENCY });
  const files = await Promise.all(
    manifest.output.map((o, i) =>
      queue.add(async () => {
        const path = join(dir, `plain-${i}.ndjson`);
        const response = await fetch(o.url, { headers: { Accept: 'application/fhir+ndjson' } });
        await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(path));
        return path;
      }),
    ),
  );
  let records = 0;
  await withDuckDb(':memory:', { settings: { threads: '2' } }, async (db) => {
    for (const path of files) {
      await db.run(`COPY (SELECT json AS resource FROM read_ndjson_objects(${quoteLiteral(path)})) TO ${quoteLiteral(`${path}.parquet`)} (FORMAT parquet, COMPRESSION zstd)`);
      records += Number(await db.scalar(`SELECT count(*) FROM read_parquet(${quoteLiteral(`${path}.parquet`)})`));
    }
  });
  let bytes = 0;
  for (const path of files) bytes += (await stat(path)).size;
  return { bytes, records, files: files.length };
}

async function carelake(): Promise<{ bytes: number; records: number; files: number }> {
  const layout = new LakeLayout(join(dir, 'lake'));
  const ledger = Ledger.open(layout.ledger);
  try {
    const source = sourceConfig.parse({ name: 'bench', kind: 'fhir-bulk', baseUrl, since: 'none', concurrency: CONCURRENCY }) as Extract<SourceConfig, { kind: 'fhir-bulk' }>;
    const logger = createLogger(null);
    const connector = makeFhirBulkConnector({ waits: WAITS })(source, { layout, logger, state: new LedgerSourceState('bench', () => ledger) });
    const summary = await runSource(source, { connector, files: null }, { layout, ledger, logger, trigger: 'manual' });
    if (summary.run.status !== 'succeeded') throw new Error(`bench run ended ${summary.run.status}`);
    const bytes = ledger.files('bench').reduce((n, f) => n + f.bytes, 0);
    return { bytes, records: summary.run.records_in, files: summary.files.length };
  } finally {
    ledger.close();
  }
}

/** Kick-off and poll with no error handling at all: the baseline's share of the protocol. */
async function plainExport(): Promise<{ output: { url: string }[] }> {
  const kickoff = await fetch(`${baseUrl}/$export`, { headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' } });
  const statusUrl = kickoff.headers.get('content-location')!;
  for (;;) {
    const status = await fetch(statusUrl, { headers: { Accept: 'application/json' } });
    if (status.status === 200) return (await status.json()) as { output: { url: string }[] };
    await status.body?.cancel();
    await new Promise((r) => setTimeout(r, WAITS.minMs));
  }
}
