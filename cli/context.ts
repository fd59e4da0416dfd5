// What every command starts from: the validated config and the lake layout. The ledger and the logger
// are opened only by commands that write, so a failing preflight leaves no trace in the lake.

import type { Logger } from 'pino';
import { loadConfig, type CarelakeConfig } from '../core/config.ts';
import { LakeLayout } from '../core/lake.ts';
import { createLogger } from '../core/logger.ts';
import { Ledger } from '../pipelines/ledger/ledger.ts';

export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

export interface CommandContext {
  config: CarelakeConfig;
  layout: LakeLayout;
}

export async function commandContext(options: GlobalOptions, cwd = process.cwd()): Promise<CommandContext> {
  const config = await loadConfig({ file: options.config, cwd });
  return { config, layout: new LakeLayout(config.lake) };
}

/** Opens the ledger and the log for a command that writes to the lake, and closes them after. */
export async function withLake<T>(ctx: CommandContext, work: (ledger: Ledger, logger: Logger) => Promise<T>): Promise<T> {
  const ledger = Ledger.open(ctx.layout.ledger);
  const logger = createLogger(ctx.layout.logs);
  try {
    return await work(ledger, logger);
  } finally {
    ledger.close();
    logger.flush();
  }
}
