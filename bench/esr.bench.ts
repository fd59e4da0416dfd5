// ESR GO files: parse + land (a real run: csv-parse reading and checking every record, staging, DuckDB
// typing and Parquet) against csv-parse alone splitting the same file, in the same process. Two files,
// one about five times the other, show whether memory stays flat as a file grows.
//
// Input: the synthetic workforce's full extract (ORA, POA, PRA, ASA, COA in their real proportions).

import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { sourceConfig } from '../core/config.ts';
import { LakeLayout } from '../core/lake.ts';
import { createLogger } from '../core/logger.ts';
import { Ledger } from '../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../pipelines/runs/runSource.ts';
import { DAY } from '../synthetic/calendar.ts';
import { writeEsrGoFiles } from '../synthetic/esrGoFiles.ts';
import { TruthWriter } from '../synthetic/truth.ts';
import { Workforce } from '../synthetic/workforce.ts';
import { fmt, measure } from './measure.ts';

/** Staff in the large file: about 3.8 records each, so over a million records. */
const LARGE_STAFF = 280_000;
const SMALL_STAFF = 56_000;
const SEED = 5;
const REFERENCE_SECONDS = Date.UTC(2026, 10, 1) / 1000;

/** Writes the full extract of a workforce of `staff` into `dir`; returns its path and record count. */
async function fullExtract(dir: string, staff: number): Promise<{ path: string; records: number; bytes: number }> {
  const work = join(dir, `gen-${staff}`);
  await mkdir(join(work, 'truth'), { recursive: true });
  const truth = await TruthWriter.open(join(work, 'truth'));
  const out = await writeEsrGoFiles(work, new Workforce(SEED, staff, REFERENCE_SECONDS - DAY), SEED, REFERENCE_SECONDS, truth);
  await truth.close();
  const full = out.files[0]!;
  const inbox = join(dir, `in-${staff}`);
  await mkdir(inbox);
  const path = join(inbox, full.name);
  await rename(join(work, full.name), path);
  await rm(work, { recursive: true, force: true });
  return { path, records: full.dataLines, bytes: (await stat(path)).size };
}

/** The baseline: csv-parse with the reader's options, every record split and counted, nothing else. */
async function csvParseAlone(path: string): Promise<number> {
  const parser = createReadStream(path).pipe(parse({ delimiter: '~', quote: false, relax_column_count: true, record_delimiter: ['\r\n', '\n'], skip_empty_lines: true, bom: true }));
  let records = 0;
  for await (const record of parser as AsyncIterable<string[]>) if (record.length > 0) records++;
  return records;
}

async function land(dir: string, inbox: string): Promise<number> {
  const layout = new LakeLayout(join(dir, `lake-${Date.now()}`));
  const ledger = Ledger.open(layout.ledger);
  try {
    const source = sourceConfig.parse({ name: 'esr', kind: 'esr', path: inbox });
    const logger = createLogger(null);
    const summary = await runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
    if (summary.run.records_quarantined !== 0) throw new Error(`bench input had ${summary.run.records_quarantined} quarantined records`);
    return summary.run.records_landed;
  } finally {
    ledger.close();
    await rm(layout.root, { recursive: true, force: true });
  }
}

const rate = (label: string, seconds: number, records: number, bytes: number, peakMb: number) =>
  `${label} ${fmt(seconds)} s, ${fmt(records / seconds / 1000)}k records/s, ${fmt(bytes / 2 ** 20 / seconds)} MB/s, peak RSS ${fmt(peakMb, 0)} MB`;

export async function benchEsr(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-esr-'));
  try {
    const small = await fullExtract(dir, SMALL_STAFF);
    const large = await fullExtract(dir, LARGE_STAFF);
    console.log(`input: full GO extracts of ${SMALL_STAFF} and ${LARGE_STAFF} staff: ${small.records} records (${fmt(small.bytes / 2 ** 20)} MB) and ${large.records} records (${fmt(large.bytes / 2 ** 20)} MB)`);
    const peaks: number[] = [];
    for (const input of [small, large]) {
      const baseline = await measure(() => csvParseAlone(input.path));
      const ours = await measure(() => land(dir, join(input.path, '..')));
      if (baseline.result !== input.records + 2 || ours.result !== input.records) throw new Error(`record counts disagree: ${baseline.result - 2} split, ${ours.result} landed, ${input.records} written`);
      peaks.push(ours.peakRssMb);
      console.log(`-- ${input.records} records`);
      console.log(rate('baseline  csv-parse alone (split only):      ', baseline.seconds, baseline.result, input.bytes, baseline.peakRssMb));
      console.log(rate('carelake  parse + check + land to Parquet:   ', ours.seconds, ours.result, input.bytes, ours.peakRssMb));
      console.log(`ratio     carelake / csv-parse throughput: ${fmt(baseline.seconds / ours.seconds, 2)}× (target ≥ 0.70×)`);
    }
    console.log(`memory    peak RSS ${fmt(peaks[0]!, 0)} → ${fmt(peaks[1]!, 0)} MB for ${fmt(large.records / small.records, 1)}× the records`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
