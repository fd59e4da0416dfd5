// `carelake backfill <source> --from --to [--dry-run]` and `carelake rerun <run_id>`: one-off runs in
// this process, recorded like any other (trigger backfill / rerun, with the window and rerun_of), through
// the same attempt code the scheduler uses. A dry run lists what would be fetched and writes nothing.

import { existsSync } from 'node:fs';
import { CarelakeError } from '../../core/errors.ts';
import { createDeferredLogger } from '../../core/logger.ts';
import { BUILD_JOB } from '../../core/config.ts';
import { exportRequestFor, BULK_STATE } from '../../pipelines/fhir-bulk/bulkConnector.ts';
import { Ledger, type RunRecord, type RunTrigger, type RunOrigin } from '../../pipelines/ledger/ledger.ts';
import { listSourceFiles } from '../../pipelines/runs/runSource.ts';
import { describeWindow, parseRunWindow, type RunWindow } from '../../pipelines/runs/runWindow.ts';
import { jobAttempts } from '../../pipelines/scheduler/jobAttempt.ts';
import { runJob } from '../../pipelines/scheduler/retryingRun.ts';
import { schedulerJobs, type SchedulerJob } from '../../pipelines/scheduler/schedulerJobs.ts';
import { formatTable, type Console } from '../console.ts';
import { withLake, type CommandContext } from '../context.ts';
import { selectSources } from './load.ts';

export interface BackfillOptions {
  from: string;
  to: string;
  dryRun: boolean;
}

export async function backfillCommand(ctx: CommandContext, sourceName: string, options: BackfillOptions, out: Console): Promise<RunRecord | null> {
  const [source] = selectSources(ctx, [sourceName]);
  const window = parseRunWindow(options.from, options.to, new Date());
  if (options.dryRun) {
    await describeBackfill(ctx, source!, window, out);
    return null;
  }
  out.info(`Backfilling ${sourceName} for ${describeWindow(window)} …`);
  return oneOffRun(ctx, jobNamed(ctx, sourceName), { trigger: 'backfill', window }, out);
}

export async function rerunCommand(ctx: CommandContext, runId: string, out: Console): Promise<RunRecord> {
  const original = await withLake(ctx, async (ledger) => ledger.run(runId));
  if (!original) throw new CarelakeError({ code: 'runs.unknown', kind: 'config', message: `There is no run '${runId}' in ${ctx.layout.ledger}`, hint: 'list runs with `carelake runs`' });
  const window = original.window_from && original.window_to ? { from: new Date(original.window_from), to: new Date(original.window_to) } : undefined;
  out.info(`Re-running ${original.source} (run ${runId}${window ? `, window ${describeWindow(window)}` : ''}) …`);
  return oneOffRun(ctx, jobNamed(ctx, original.source), { trigger: 'rerun', window, origin: { rerun_of: runId } }, out);
}

function jobNamed(ctx: CommandContext, name: string): SchedulerJob {
  const job = schedulerJobs(ctx.config).find((j) => j.name === name);
  if (!job) throw new CarelakeError({ code: 'run.unknown-source', kind: 'config', message: `No source named '${name}' in ${ctx.config.file ?? 'the default config'}` });
  return job;
}

async function oneOffRun(ctx: CommandContext, job: SchedulerJob, request: { trigger: RunTrigger; window?: RunWindow; origin?: RunOrigin }, out: Console): Promise<RunRecord> {
  return withLake(ctx, async (ledger, logger) => {
    const execute = jobAttempts({ config: ctx.config, layout: ctx.layout, ledger, logger, env: process.env });
    // A person is watching: one attempt, and the error at once.
    const run = await runJob({ job, ...request, retries: 0 }, { execute, ledger, logger, signal: new AbortController().signal });
    out.info(
      `${job.name}: ${run.status} — run ${run.run_id}` +
        (job.name === BUILD_JOB ? '' : `; ${run.files_landed} file(s) landed, ${run.files_skipped} already landed; ${run.records_in} records in = ${run.records_landed} landed + ${run.records_quarantined} quarantined`),
    );
    if (run.status === 'failed') throw new CarelakeError({ code: 'run.failed', kind: 'runtime', message: run.error ?? `run ${run.run_id} failed` });
    return run;
  });
}

/** What a backfill would fetch, without fetching or writing anything. */
async function describeBackfill(ctx: CommandContext, source: ReturnType<typeof selectSources>[number], window: RunWindow, out: Console): Promise<void> {
  out.info(`Dry run: ${source.name} (${source.kind}) for ${describeWindow(window)}; nothing is fetched or written.`);
  if (source.kind === 'fhir-bulk') {
    const request = exportRequestFor(source, window.from.toISOString(), window.to.toISOString());
    out.info(`Would kick off: ${request.method} ${request.url}${request.body ? `\n${request.body}` : ''}`);
    out.info(`The incremental watermark (${BULK_STATE.since}) would not move.`);
    return;
  }
  if ('sftp' in source && source.sftp) {
    out.info(`Would list sftp://${source.sftp.host}${source.sftp.remoteDir} for ${source.sftp.pattern} modified in the window, and fetch those not yet landed.`);
    return;
  }
  // Local kinds list without the ledger; it is opened only to mark files already landed, if it exists.
  const ledger = existsSync(ctx.layout.ledger) ? Ledger.open(ctx.layout.ledger) : null;
  try {
    const { files } = await listSourceFiles(source, { layout: ctx.layout, logger: createDeferredLogger().logger, ledger: () => ledger!, window });
    const rows = (files ?? []).map((f) => [f.location, f.bytes, ledger?.fileOutcome(source.name, f.sha256) ? 'already landed (skipped)' : 'would land']);
    out.info(rows.length === 0 ? 'No files fall in the window.' : formatTable(['file', 'bytes', 'outcome'], rows));
  } finally {
    ledger?.close();
  }
}
