// Synthetic generation throughput and memory: the same seed at 100,000 and 1,000,000 patients, each
// into its own temp folder. Records/s should hold steady and peak RSS should barely move between the
// two sizes — the generator streams one person at a time, so memory must not grow with the population.
// The million-patient run passes the 999 NHS test range (909,091 numbers), so it also exercises the
// people generated without an NHS number. The larger run writes several GB to the temp folder.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDemoSources } from '../synthetic/generate.ts';
import { fmt, measure } from './measure.ts';

const SEED = 7;
const SMALL = 100_000;
const LARGE = 1_000_000;

interface GenerateRun {
  patients: number;
  withoutNhsNumber: number;
  records: number;
  seconds: number;
  peakRssMb: number;
  maxRssMb: number;
}

async function run(patients: number): Promise<GenerateRun> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-generate-'));
  try {
    const { result, seconds, peakRssMb } = await measure(() => generateDemoSources({ patients, seed: SEED, outDir: dir }));
    const records = result.files.reduce((n, f) => n + (f.kind === 'manifest' ? 0 : f.records), 0);
    // maxRSS is process-wide and never resets, so it bounds the whole run so far; peakRssMb is this phase's.
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    const withoutNhsNumber = result.counts['people_without_nhs_number'] ?? 0;
    console.log(
      `${fmt(patients, 0).padStart(9)} patients (${fmt(withoutNhsNumber, 0)} without NHS number): ${fmt(records, 0)} records in ${fmt(seconds, 2)} s = ` +
        `${fmt(records / seconds, 0)} records/s, peak RSS ${fmt(peakRssMb, 0)} MB (process maxRSS ${fmt(maxRssMb, 0)} MB)`,
    );
    return { patients, withoutNhsNumber, records, seconds, peakRssMb, maxRssMb };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchGenerate(): Promise<void> {
  const small = await run(SMALL);
  const large = await run(LARGE);
  console.log(
    `ratio     ${LARGE / SMALL}× patients: throughput ${fmt(large.records / large.seconds / (small.records / small.seconds), 2)}×, ` +
      `peak RSS ${fmt(large.peakRssMb / small.peakRssMb, 2)}× (flat memory ≈ 1.0×)`,
  );
}
