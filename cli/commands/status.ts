// `carelake status`: the last run of each source, with its counts.

import { existsSync } from 'node:fs';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export function statusCommand(ctx: CommandContext, out: Console): void {
  if (!existsSync(ctx.layout.ledger)) {
    out.info(`No runs yet: ${ctx.layout.ledger} does not exist. Run \`carelake load\` first.`);
    return;
  }
  const ledger = Ledger.open(ctx.layout.ledger);
  try {
    const runs = new Map(ledger.lastRuns().map((r) => [r.source, r]));
    const names = [...new Set([...ctx.config.sources.map((s) => s.name), ...runs.keys()])];
    const rows = names.map((name) => {
      const r = runs.get(name);
      return r
        ? [name, r.status, r.started_at, r.finished_at ?? '', r.files_landed, r.files_skipped, r.records_in, r.records_landed, r.records_quarantined, r.run_id]
        : [name, 'never run', '', '', '', '', '', '', '', ''];
    });
    out.info(formatTable(['source', 'status', 'started', 'finished', 'files', 'skipped', 'records_in', 'landed', 'quarantined', 'run_id'], rows));
    for (const r of runs.values()) if (r.error) out.info(`\n${r.source} (${r.run_id}): ${r.error}`);
  } finally {
    ledger.close();
  }
}
