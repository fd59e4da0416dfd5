// One run of one source: list its files (before anything is written, so a missing folder or an
// unreadable file leaves the lake unchanged), skip files already landed (same source + sha256), land
// the rest file by file, and record the run. Every record read is either landed or quarantined, and
// the ledger's counts are summed from the files, so `records_in = landed + quarantined` by construction.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SourceConfig } from '../../core/config.ts';
import { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, toCarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { withLock } from '../../core/lakeLock.ts';
import { connectors } from '../connectors/registry.ts';
import type { Connector, ConnectorContext } from '../connectors/connector.ts';
import { FileLanding, recoverLandings, type FileOutcome, type LandingContext, type SourceFile } from '../landing/fileLanding.ts';
import type { Ledger, RunRecord, RunTrigger } from '../ledger/ledger.ts';
import { LedgerSourceState } from '../ledger/sourceState.ts';
import { newRunId } from './runId.ts';

export interface RunSourceOptions {
  layout: LakeLayout;
  ledger: Ledger;
  logger: Logger;
  trigger: RunTrigger;
  clock?: () => Date;
  /** Called after each file, for progress output. */
  onFile?: (event: { source: string; file: SourceFile; outcome: FileOutcome | 'skipped'; index: number; total: number | null }) => void;
}

export interface RunSummary {
  run: RunRecord;
  files: FileOutcome[];
  skipped: SourceFile[];
}

/** What listing a source needs: the ledger is opened only if the source keeps state. */
export interface ListContext {
  layout: LakeLayout;
  logger: Logger;
  ledger: () => Ledger;
}

export function connectorFor(source: SourceConfig, ctx: ListContext): Connector {
  const connectorCtx: ConnectorContext = { layout: ctx.layout, logger: ctx.logger, state: new LedgerSourceState(source.name, ctx.ledger) };
  // The registry is keyed by kind; the cast pairs each config with its own factory.
  const factory = connectors[source.kind] as (s: SourceConfig, c: ConnectorContext) => Connector;
  return factory(source, connectorCtx);
}

/** A source ready to run: its connector, and its files when they could be listed before the run. */
export interface ListedSource {
  connector: Connector;
  /** null for remote connectors, which list inside the run. */
  files: SourceFile[] | null;
}

/** Lists a source's files: the preflight of a run. Local kinds write nothing here; remote ones list later. */
export async function listSourceFiles(source: SourceConfig, ctx: ListContext): Promise<ListedSource> {
  const connector = connectorFor(source, ctx);
  if (connector.remote) return { connector, files: null };
  try {
    return { connector, files: await connector.listFiles() };
  } catch (err) {
    throw toCarelakeError(err).withNode(`source '${source.name}' (${source.kind})`);
  }
}

export async function runSource(source: SourceConfig, listed: ListedSource, options: RunSourceOptions): Promise<RunSummary> {
  const clock = options.clock ?? (() => new Date());
  const { layout, ledger, logger } = options;
  return withLock(join(layout.root, 'locks', `source-${source.name}.lock`), `run of source ${source.name}`, async () => {
    await recoverLandings(ledger, source.name, clock().toISOString());
    const started = clock();
    const runId = newRunId(started);
    const log = logger.child({ run_id: runId, source: source.name });
    ledger.startRun({ run_id: runId, source: source.name, kind: source.kind, trigger: options.trigger, started_at: started.toISOString() });
    log.info({ files: listed.files?.length ?? null }, 'run started');

    const buffer = await DuckDb.open(':memory:', {
      // Output order need not follow input order: line numbers are assigned by row_number() over a
      // single-threaded scan, so they stay exact (tested on a large file), and memory stays flat.
      settings: { threads: '2', memory_limit: '512MB', temp_directory: join(layout.tmp, runId, 'spill'), preserve_insertion_order: 'false' },
    });
    const partCounters = new Map<string, number>();
    let tableCounter = 0;
    const ctx: LandingContext = {
      layout,
      ledger,
      buffer,
      source: source.name,
      runId,
      loadDate: started.toISOString().slice(0, 10),
      ingestedAt: started.toISOString(),
      nextPart: (dataset) => {
        const n = (partCounters.get(dataset) ?? 0) + 1;
        partCounters.set(dataset, n);
        return n;
      },
      nextTable: () => `landing_${++tableCounter}`,
    };

    const outcomes: FileOutcome[] = [];
    const skipped: SourceFile[] = [];
    let failure: CarelakeError | null = null;
    const files: SourceFile[] = [];
    const total = listed.files?.length ?? null;
    try {
      // Remote listing (kick-off, polling, downloads) happens here, inside the run, so its failures are recorded.
      const offered: AsyncIterable<SourceFile> | Iterable<SourceFile> = listed.files ?? listed.connector.streamFiles?.() ?? (await listed.connector.listFiles());
      for await (const file of offered) {
        const index = files.push(file) - 1;
        if (ledger.fileOutcome(source.name, file.sha256)) {
          skipped.push(file);
          options.onFile?.({ source: source.name, file, outcome: 'skipped', index, total });
          continue;
        }
        const landing = new FileLanding(ctx, file);
        try {
          const reconciliation = await listed.connector.land(file, landing);
          const outcome = await landing.commit(reconciliation);
          outcomes.push(outcome);
          log.info({ file: file.location, status: outcome.status, records_in: outcome.recordsIn, landed: outcome.recordsLanded, quarantined: outcome.recordsQuarantined, reconciliation: outcome.reconciliation }, 'file done');
          options.onFile?.({ source: source.name, file, outcome, index, total });
        } catch (err) {
          await landing.abort();
          throw toCarelakeError(err).withNode(`file ${file.location}`);
        }
      }
      await listed.connector.finish?.({ runId, files: outcomes, skipped });
    } catch (err) {
      failure = toCarelakeError(err).withNode(`run ${runId} of source '${source.name}'`);
      log.error({ err: failure.toJSON() }, 'run failed');
    } finally {
      buffer.close();
      // Committed parts were renamed out of tmp/; what is left is scratch (spill, failed attempts).
      await rm(join(layout.tmp, runId), { recursive: true, force: true });
    }

    const quarantined = outcomes.some((o) => o.recordsQuarantined > 0 || o.reconciliation.length > 0);
    const run = ledger.finishRun(runId, {
      status: failure ? 'failed' : quarantined ? 'partial' : 'succeeded',
      finished_at: clock().toISOString(),
      files_seen: files.length,
      files_skipped: skipped.length,
      error: failure ? failure.render() : null,
    });
    log.info({ status: run.status, records_in: run.records_in, landed: run.records_landed, quarantined: run.records_quarantined }, 'run finished');
    if (failure) throw failure;
    return { run, files: outcomes, skipped };
  });
}
