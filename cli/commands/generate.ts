// `carelake generate`: a deterministic synthetic population for all three source kinds.

import { resolve } from 'node:path';
import { generateDemoSources, type GenerateSummary } from '../../synthetic/generate.ts';
import type { Console } from '../console.ts';

export async function generateCommand(options: { patients: number; seed: number; out: string }, out: Console): Promise<GenerateSummary> {
  const outDir = resolve(options.out);
  const started = Date.now();
  const summary = await generateDemoSources({ patients: options.patients, seed: options.seed, outDir });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  out.info(`Generated ${summary.patients} patients and ${summary.staff} staff into ${outDir} (${summary.files.length} files, ${secs}s); truth in ${resolve(outDir, 'truth')}`);
  return summary;
}
