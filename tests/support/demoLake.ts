// A lake the real pipeline built from a generated population: `carelake generate` into demo/, a
// carelake.yml over its three sources (FHIR Bulk files, HL7 v2, ESR) with the demo code map, then
// load and build, as `npm start` does. For end-to-end tests and benchmarks; the caller puts the
// pseudonymisation key in the environment variable the config names.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCommand } from '../../cli/commands/build.ts';
import { generateCommand } from '../../cli/commands/generate.ts';
import { loadCommand } from '../../cli/commands/load.ts';
import type { Console } from '../../cli/console.ts';
import { commandContext, type CommandContext } from '../../cli/context.ts';
import type { RunSummary } from '../../pipelines/runs/runSource.ts';

export const SILENT: Console = { info: () => {}, warn: () => {}, progress: () => {}, done: () => {} };

export interface DemoLakeOptions {
  patients: number;
  seed: number;
  /** The environment variable holding the pseudonymisation key; default CARELAKE_PSEUDONYM_KEY (the CLI's). */
  keyEnv?: string;
  /** More top-level YAML for carelake.yml (e.g. `models: { vars: … }`). */
  extraConfig?: string;
}

export interface DemoLake {
  ctx: CommandContext;
  /** The first load's run of each source. */
  firstRun: RunSummary[];
}

export async function buildDemoLake(dir: string, options: DemoLakeOptions): Promise<DemoLake> {
  await generateCommand({ patients: options.patients, seed: options.seed, out: join(dir, 'demo') }, SILENT);
  await writeFile(
    join(dir, 'carelake.yml'),
    `lake: ./lake
sources:
  - { name: gp, kind: fhir-bulk-files, path: ./demo/fhir }
  - { name: pas, kind: hl7v2, path: "./demo/hl7/*.hl7" }
  - { name: esr, kind: esr, path: ./demo/esr }
terminology: { demoMap: true }
${options.keyEnv ? `governance: { keyEnv: ${options.keyEnv} }\n` : ''}${options.extraConfig ?? ''}`,
  );
  const ctx = await commandContext({ config: join(dir, 'carelake.yml') });
  const firstRun = await loadCommand(ctx, [], SILENT);
  await buildCommand(ctx, SILENT);
  return { ctx, firstRun };
}
