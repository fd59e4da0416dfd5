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
import { inRunLog } from '../../core/logger.ts';
import { connectors } from '../connectors/registry.ts';
import type { Connector, ConnectorContext } from '../connectors/connector.ts';
import { FileLanding, recoverLandings, type FileOutcome, type LandingContext, type SourceFile } from '../landing/fileLanding.ts';
import type { Ledger, RunOrigin, RunRecord, RunTrigger } from '../ledger/ledger.ts';
import { LedgerSourceState } from '../ledger/sourceState.ts';
import { newRunId } from './runId.ts';
import type { RunWindow } from './runWindow.ts';

export interface RunSourceOptions {
  layout: LakeLayout;
  ledger: Ledger;
  logger: Logger;
  trigger: RunTrigger;
  /** The run's id, when the caller needs it before the run starts (the scheduler); else a new one. */
  runId?: string;
  /** Attempt, retry_of, rerun_of, window, scheduled_for: recorded with the run. */
  origin?: RunOrigin;
  /**
   * Stops the run early (a scheduler shutting down): no further file is started, the one landing
   * finishes, and the run is recorded `interrupted`. The next run carries on where it stopped.
   */
  signal?: AbortSignal;
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
  progress?: (text: string) => void;
  /** A backfill's window, read by the connector. */
  window?: RunWindow;
}

export function connectorFor(source: SourceConfig, ctx: ListContext): Connector {
  const connectorCtx: ConnectorContext = { layout: ctx.layout, logger: ctx.logger, state: new LedgerSourceState(source.name, ctx.ledger), progress: ctx.progress, window: ctx.window };
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
  const { layout, ledger } = options;
  return withLock(layout.sourceLock(source.name), `run of source ${source.name}`, async () => {
    await recoverLandings(ledger, source.name, clock().toISOString());
    const started = clock();
    const runId = options.runId ?? newRunId(started);
    return inRunLog(layout.logs, { run_id: runId, source: source.name }, () => landRun(source, listed, options, runId, started, clock));
  });
}

async function landRun(source: SourceConfig, listed: ListedSource, options: RunSourceOptions, runId: string, started: Date, clock: () => Date): Promise<RunSummary> {
  const { layout, ledger, logger: log } = options;
  ledger.startRun({ ...options.origin, run_id: runId, source: source.name, kind: source.kind, trigger: options.trigger, started_at: started.toISOString() });
  log.info({ files: listed.files?.length ?? null, trigger: options.trigger, ...options.origin }, 'run started');

  // One in-memory DuckDB per landing slot: a connector that allows it lands files side by side,
  // because one file's DuckDB pass runs on one core (exact line numbers need a single-threaded scan).
  const slots = Math.max(1, listed.connector.landConcurrency ?? 1);
  const buffers: DuckDb[] = [];
  const partCounters = new Map<string, number>();
  let tableCounter = 0;
  const baseCtx: Omit<LandingContext, 'buffer'> = {
    layout,
    ledger,
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
  let interrupted: string | null = null;
  const files: SourceFile[] = [];
  const inRun = new Set<string>();
  const total = listed.files?.length ?? null;

  const landOne = async (file: SourceFile, buffer: DuckDb): Promise<void> => {
    const index = files.push(file) - 1;
    // The same bytes twice in one run land once, as across runs.
    if (inRun.has(file.sha256) || ledger.fileOutcome(source.name, file.sha256)) {
      skipped.push(file);
      options.onFile?.({ source: source.name, file, outcome: 'skipped', index, total });
      return;
    }
    inRun.add(file.sha256);
    const landing = new FileLanding({ ...baseCtx, buffer }, file);
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
  };

  try {
    for (let i = 0; i < slots; i++) {
      buffers.push(
        await DuckDb.open(':memory:', {
          // Output order need not follow input order: line numbers are assigned by row_number() over a
          // single-threaded scan, so they stay exact (tested on a large file), and memory stays flat.
          settings: { threads: String(Math.max(1, Math.floor(2 / slots))), memory_limit: '256MB', temp_directory: join(layout.tmp, runId, `spill-${i}`), preserve_insertion_order: 'false' },
        }),
      );
    }
    // Remote listing (kick-off, polling, downloads) happens here, inside the run, so its failures are recorded.
    const offered: AsyncIterable<SourceFile> | Iterable<SourceFile> = listed.files ?? listed.connector.streamFiles?.() ?? (await listed.connector.listFiles());
    const cursor = sharedCursor(offered);
    // Each slot takes the next file as it frees up; the first failure stops every slot taking more.
    let stop = false;
    const onAbort = () => {
      stop = true;
      interrupted = `stopped before it finished: ${String(options.signal?.reason ?? 'shutdown')}`;
      log.warn({ reason: interrupted }, 'run stopping: no further file will be started');
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const results = await Promise.allSettled(
      buffers.map(async (buffer) => {
        for (let item = stop ? null : await cursor.next(); item && !stop && !item.done; item = stop ? null : await cursor.next()) {
          try {
            await landOne(item.value, buffer);
          } catch (err) {
            stop = true;
            throw err;
          }
        }
      }),
    );
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    options.signal?.removeEventListener('abort', onAbort);
    if (rejected || interrupted) await cursor.close().catch(() => undefined);
    if (rejected) throw rejected.reason;
    // An interrupted run has not seen every file: watermarks stay where they were.
    if (!interrupted) await listed.connector.finish?.({ runId, files: outcomes, skipped });
  } catch (err) {
    failure = toCarelakeError(err).withNode(`run ${runId} of source '${source.name}'`);
    log.error({ err: failure.toJSON() }, 'run failed');
  } finally {
    for (const buffer of buffers) buffer.close();
    // Committed parts were renamed out of tmp/; what is left is scratch (spill, failed attempts).
    await rm(join(layout.tmp, runId), { recursive: true, force: true });
  }

  const quarantined = outcomes.some((o) => o.recordsQuarantined > 0 || o.reconciliation.length > 0);
  const run = ledger.finishRun(runId, {
    status: failure ? 'failed' : interrupted ? 'interrupted' : quarantined ? 'partial' : 'succeeded',
    finished_at: clock().toISOString(),
    files_seen: files.length,
    files_skipped: skipped.length,
    error: failure ? failure.render() : interrupted,
  });
  log.info({ status: run.status, records_in: run.records_in, landed: run.records_landed, quarantined: run.records_quarantined }, 'run finished');
  if (failure) throw failure;
  return { run, files: outcomes, skipped };
}

/** One shared cursor over files, safe for several slots: calls are queued so each file is taken once. */
function sharedCursor<T>(items: AsyncIterable<T> | Iterable<T>): { next: () => Promise<IteratorResult<T>>; close: () => Promise<void> } {
  const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    next: () => {
      const result = queue.then(() => iterator.next());
      queue = result.catch(() => undefined);
      return result;
    },
    // Lets a generator's `finally` run (e.g. stop queued downloads) when the run ends early.
    close: async () => {
      await queue;
      await iterator.return?.();
    },
  };
}
