// `carelake start` (what `npm start` runs): the demo end to end. Generates the bundled sample sources
// if the config points at the demo folder and it is absent, then runs every source, builds, and serves.

import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import type { Console } from '../console.ts';
import type { CommandContext } from '../context.ts';
import { buildCommand } from './build.ts';
import { generateCommand } from './generate.ts';
import { loadCommand } from './load.ts';
import { serveCommand } from './serve.ts';

export async function startCommand(ctx: CommandContext, out: Console): Promise<void> {
  const demo = ctx.config.demo;
  const usesDemo = ctx.config.sources.some((s) => 'path' in s && s.path !== undefined && (s.path === demo.dir || s.path.startsWith(demo.dir + sep)));
  if (usesDemo && !existsSync(demo.dir)) {
    out.info(`Generating demo sources (${demo.patients} patients, seed ${demo.seed}) into ${demo.dir} …`);
    await generateCommand({ patients: demo.patients, seed: demo.seed, out: demo.dir }, out);
  }
  await loadCommand(ctx, [], out, 'start');
  await buildCommand(ctx, out);
  await serveCommand(ctx, {}, out);
}
