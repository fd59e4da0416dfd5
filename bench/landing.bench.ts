// Landing throughput: carelake's fhir-bulk-files landing (line checks, quarantine, lineage, ledger)
// against the floor of the same work in DuckDB alone — read_ndjson_objects straight to Parquet, with
// no per-line validation — on the same generated files, in the same process.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDuckDb } from '../core/duckdb.ts';
import { LakeLayout } from '../core/lake.ts';
import { createLogger } from '../core/logger.ts';
import { quoteLiteral } from '../core/sql.ts';
import { Ledger } from '../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../pipelines/runs/runSource.ts';
import { generateDemoSources } from '../synthetic/generate.ts';
import { fmt, measure } from './measure.ts';

const PATIENTS = 20_000;
const SEED = 7;

export async function benchLanding(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-landing-'));
  try {
    await generateDemoSources({ patients: PATIENTS, seed: SEED, outDir: join(dir, 'src') });
    const fhir = join(dir, 'src', 'fhir');
    const listed = await listSourceFiles({ name: 'bench', kind: 'fhir-bulk-files', path: fhir }, { layout: new LakeLayout(join(dir, 'lake')), logger: createLogger(null), ledger: () => { throw new Error('listing local files needs no ledger'); } });
    const files = { files: listed.files ?? [] };
    const bytes = files.files.reduce((n, f) => n + f.bytes, 0);
    const mb = bytes / 2 ** 20;

    const baseline = await measure(() =>
      withDuckDb(':memory:', { settings: { threads: '2' } }, async (db) => {
        for (const f of files.files) {
          await db.run(`COPY (SELECT json AS resource FROM read_ndjson_objects(${quoteLiteral(f.location)})) TO ${quoteLiteral(join(dir, `${f.sha256}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`);
        }
      }),
    );

    const layout = new LakeLayout(join(dir, 'lake'));
    const ledger = Ledger.open(layout.ledger);
    const ours = await measure(async () => {
      const source = { name: 'bench', kind: 'fhir-bulk-files' as const, path: fhir };
      return runSource(source, await listSourceFiles(source, { layout, logger: createLogger(null), ledger: () => ledger }), { layout, ledger, logger: createLogger(null), trigger: 'manual' });
    });
    ledger.close();
    const rawBytes = (await Promise.all(ours.result.files.flatMap((f) => f.parts.map((p) => stat(p.path).then((s) => s.size))))).reduce((a, b) => a + b, 0);

    console.log(`input: ${PATIENTS} patients, ${files.files.length} NDJSON files, ${fmt(mb)} MB, ${ours.result.run.records_in} resources`);
    console.log(`baseline  DuckDB read_ndjson_objects → Parquet: ${fmt(mb / baseline.seconds)} MB/s (${fmt(baseline.seconds, 2)} s), peak RSS ${fmt(baseline.peakRssMb, 0)} MB`);
    console.log(`carelake  fhir-bulk-files landing:            ${fmt(mb / ours.seconds)} MB/s (${fmt(ours.seconds, 2)} s), peak RSS ${fmt(ours.peakRssMb, 0)} MB, ${fmt(ours.result.run.records_in / ours.seconds, 0)} resources/s, raw Parquet ${fmt(rawBytes / 2 ** 20)} MB`);
    console.log(`ratio     carelake / baseline throughput: ${fmt(baseline.seconds / ours.seconds, 2)}×`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
