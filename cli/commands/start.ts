// `carelake start` (what `npm start` runs): the demo end to end. Generates the bundled sample sources
// if the config points at the demo folder and it is absent, then runs every source, builds, and serves.
// Every API call needs a key, so a lake with no active key gets one demo key per role, shown once.

import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import type { Console } from '../console.ts';
import type { CommandContext } from '../context.ts';
import { buildCommand } from './build.ts';
import { generateCommand } from './generate.ts';
import { loadCommand } from './load.ts';
import { createApiKey, listApiKeys } from '../../warehouse/auth/apiKeys.ts';
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
  await issueDemoKeys(ctx, out);
  await serveCommand(ctx, {}, out);
}

async function issueDemoKeys(ctx: CommandContext, out: Console): Promise<void> {
  const file = ctx.config.serve.auth.apiKeysFile;
  if ((await listApiKeys(file)).some((key) => key.revokedAt === null)) return;
  const url = `http://${ctx.config.serve.host}:${ctx.config.serve.port}`;
  const analyst = await createApiKey(file, { name: 'demo-analyst', role: 'analyst' });
  const commissioner = await createApiKey(file, { name: 'demo-commissioner', role: 'commissioner' });
  const engineer = await createApiKey(file, { name: 'demo-engineer', role: 'engineer' });
  out.info(
    [
      `Created demo API keys (stored hashed in ${file}; shown only now):`,
      `  analyst:      ${analyst.token}`,
      `  commissioner: ${commissioner.token}`,
      `  engineer:     ${engineer.token}`,
      `Open ${url}/ in a browser and sign in with the commissioner key to read the reports (the engineer key for ${url}/ops).`,
      `Try:`,
      `  curl -H "Authorization: Bearer ${commissioner.token}" ${url}/api/reports/condition-prevalence`,
      `  curl -H "Authorization: Bearer ${analyst.token}" -H "content-type: application/json" -d '{"sql":"SELECT age_band, count(*) AS people FROM person GROUP BY ALL ORDER BY 1"}' ${url}/api/query`,
      `  curl -H "Authorization: Bearer ${engineer.token}" ${url}/metrics`,
    ].join('\n'),
  );
}
