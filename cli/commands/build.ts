// `carelake build`: models into the warehouse, the ledger into ops.*, and new serving releases.

import { buildWarehouse, describeFailures } from '../../warehouse/build/warehouseBuild.ts';
import type { Console } from '../console.ts';
import { withLake, type CommandContext } from '../context.ts';

export async function buildCommand(ctx: CommandContext, out: Console): Promise<void> {
  await withLake(ctx, async (ledger, logger) => {
    const started = Date.now();
    const result = await buildWarehouse({ config: ctx.config, layout: ctx.layout, ledger, logger, env: process.env, now: new Date() });
    if (result.keyCreated) out.info(`Created a new pseudonymisation key at ${ctx.config.governance.keyFile} (mode 0600). Back it up: tokens cannot be reproduced without it.`);
    const ok = result.results.results.filter((r) => r.status === 'success').length;
    out.info(`Built ${ok}/${result.results.results.length} models into ${ctx.layout.warehouse} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    if (result.failed.length > 0) throw describeFailures(result.failed);
    for (const r of result.releases) out.info(`Published ${r.role} release ${r.releaseId}: ${r.tables.map((t) => `${t.name} (${t.rows})`).join(', ')}`);
  });
}
