// `carelake build`: seeds, models and tests into the warehouse in DAG order, the ledger into ops.*,
// and new serving releases when everything built and passed.

import { buildWarehouse, describeFailures } from '../../warehouse/build/warehouseBuild.ts';
import type { Console } from '../console.ts';
import { withLake, type CommandContext } from '../context.ts';
import { printRunSummary, type SelectionOptions } from './models.ts';

export async function buildCommand(ctx: CommandContext, out: Console, options: SelectionOptions & { publish?: boolean } = {}): Promise<void> {
  await withLake(ctx, async (ledger, logger) => {
    const result = await buildWarehouse({
      config: ctx.config,
      layout: ctx.layout,
      ledger,
      logger,
      env: process.env,
      now: new Date(),
      select: options.select,
      exclude: options.exclude,
      fullRefresh: options.fullRefresh,
      threads: options.threads,
      vars: options.vars,
      publish: options.publish,
    });
    if (result.keyCreated) out.info(`Created a new pseudonymisation key at ${ctx.config.governance.keyFile} (mode 0600). Back it up: tokens cannot be reproduced without it.`);
    for (const warning of result.warnings) out.warn(warning);
    printRunSummary(result.results, out);
    out.info(`Warehouse: ${ctx.layout.warehouse}`);
    if (result.failed.length > 0) throw describeFailures(result.failed);
    for (const r of result.releases) out.info(`Published ${r.role} release ${r.releaseId}: ${r.tables.map((t) => `${t.name} (${t.rows})`).join(', ')}`);
  });
}
