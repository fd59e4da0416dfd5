// `carelake load [source…]`: land the named sources (all by default). Every source's files are listed
// first; if any source cannot be read, nothing runs and the lake is left as it was.

import { CarelakeError } from '../../core/errors.ts';
import type { SourceConfig } from '../../core/config.ts';
import type { RunTrigger } from '../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource, type RunSummary } from '../../pipelines/runs/runSource.ts';
import { createDeferredLogger } from '../../core/logger.ts';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import type { Console } from '../console.ts';
import { withLake, type CommandContext } from '../context.ts';

export function selectSources(ctx: CommandContext, names: readonly string[]): SourceConfig[] {
  if (names.length === 0) return ctx.config.sources;
  const known = new Map(ctx.config.sources.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new CarelakeError({
      code: 'run.unknown-source',
      kind: 'config',
      message: `No source named ${unknown.map((n) => `'${n}'`).join(', ')} in ${ctx.config.file ?? 'the default config'}`,
      hint: `known sources: ${[...known.keys()].join(', ') || '(none)'}`,
    });
  }
  return names.map((n) => known.get(n)!);
}

export async function loadCommand(ctx: CommandContext, names: readonly string[], out: Console, trigger: RunTrigger = 'manual'): Promise<RunSummary[]> {
  const sources = selectSources(ctx, names);
  if (sources.length === 0) {
    out.warn(`no sources are configured in ${ctx.config.file ?? 'the default config'}`);
    return [];
  }
  // Preflight before the ledger or log is opened, so a failure here writes nothing. Only a source that
  // keeps state (a Bulk Data job in flight) opens the ledger during preflight.
  const held: { ledger: Ledger | null } = { ledger: null };
  const ledgerOnDemand = () => (held.ledger ??= Ledger.open(ctx.layout.ledger));
  // Connectors keep the logger they are made with; it writes to the lake's log only once the run starts.
  const deferred = createDeferredLogger();
  const listed: { source: SourceConfig; listing: Awaited<ReturnType<typeof listSourceFiles>> }[] = [];
  try {
    for (const source of sources) listed.push({ source, listing: await listSourceFiles(source, { layout: ctx.layout, logger: deferred.logger, ledger: ledgerOnDemand }) });
  } catch (err) {
    held.ledger?.close();
    throw err;
  }

  return withLake(ctx, async (ledger, logger) => {
    deferred.attach(ctx.layout.logs);
    // From here on, source state goes through the run's own ledger handle.
    held.ledger?.close();
    held.ledger = ledger;
    const summaries: RunSummary[] = [];
    for (const { source, listing: preflight } of listed) {
      const started = Date.now();
      let records = 0;
      let bytes = 0;
      // A remote source lists inside its run, so it gets the run's logger and ledger.
      const listing = preflight.files === null ? await listSourceFiles(source, { layout: ctx.layout, logger, ledger: () => ledger, progress: (text) => out.progress(text) }) : preflight;
      const summary = await runSource(source, listing, {
        layout: ctx.layout,
        ledger,
        logger,
        trigger,
        onFile: (e) => {
          if (e.outcome !== 'skipped') {
            records += e.outcome.recordsIn;
            bytes += e.file.bytes;
          }
          const secs = (Date.now() - started) / 1000;
          const mb = bytes / 2 ** 20;
          out.progress(`${e.source}: file ${e.index + 1}${e.total === null ? '' : `/${e.total}`}, ${records.toLocaleString('en-GB')} records, ${mb.toFixed(1)} MB, ${(mb / Math.max(secs, 0.001)).toFixed(1)} MB/s`);
        },
      });
      out.done();
      const r = summary.run;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      out.info(
        `${source.name}: ${r.status} — ${r.files_landed} file(s) landed, ${r.files_skipped} already landed; ` +
          `${r.records_in} records in = ${r.records_landed} landed + ${r.records_quarantined} quarantined${r.records_filtered ? ` + ${r.records_filtered} filtered out` : ''} (${secs}s, run ${r.run_id})`,
      );
      for (const f of summary.files) {
        for (const d of f.reconciliation) out.warn(`${source.name}: ${d.what}: declared ${d.declared ?? '(none)'}, read ${d.actual} (${f.location})`);
      }
      summaries.push(summary);
    }
    return summaries;
  });
}
