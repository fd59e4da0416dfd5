// One attempt at a scheduler job, recorded as one run in the ledger: a source's load (listing, then
// landing through runSource) or a warehouse build. Whatever fails — even listing, before runSource
// would record anything — ends as a run with status `failed` and its error, so every attempt the
// scheduler makes is in ops.runs. Throws on failure so the retry policy sees it.

import type { Logger } from 'pino';
import { BUILD_JOB, type CarelakeConfig } from '../../core/config.ts';
import { CarelakeError, toCarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { inRunLog } from '../../core/logger.ts';
import { buildWarehouse, describeFailures } from '../../warehouse/build/warehouseBuild.ts';
import type { Ledger, RunOrigin, RunRecord, RunTrigger } from '../ledger/ledger.ts';
import { listSourceFiles, runSource } from '../runs/runSource.ts';
import type { RunWindow } from '../runs/runWindow.ts';
import type { SchedulerJob } from './schedulerJobs.ts';

export interface AttemptRequest {
  job: SchedulerJob;
  trigger: RunTrigger;
  runId: string;
  origin: RunOrigin;
  window?: RunWindow;
}

export interface AttemptDeps {
  config: CarelakeConfig;
  layout: LakeLayout;
  ledger: Ledger;
  logger: Logger;
  env: Record<string, string | undefined>;
  clock?: () => Date;
}

/** Runs one attempt; resolves with its run (succeeded, partial or interrupted), rejects when it failed. */
export type ExecuteAttempt = (request: AttemptRequest, signal: AbortSignal) => Promise<RunRecord>;

export function jobAttempts(deps: AttemptDeps): ExecuteAttempt {
  const clock = deps.clock ?? (() => new Date());
  return async (request, signal) => (request.job.kind === 'build' ? buildAttempt(request, deps, clock) : sourceAttempt(request, signal, deps, clock));
}

async function sourceAttempt(request: AttemptRequest, signal: AbortSignal, deps: AttemptDeps, clock: () => Date): Promise<RunRecord> {
  const source = request.job.source!;
  const { layout, ledger, logger } = deps;
  let listing;
  try {
    listing = await listSourceFiles(source, { layout, logger, ledger: () => ledger, window: request.window });
  } catch (err) {
    // Listing failed before the run could start (a missing folder, an unreachable server): still a run.
    return recordFailedStart(request, source.kind, err, deps, clock);
  }
  const summary = await runSource(source, listing, { layout, ledger, logger, trigger: request.trigger, runId: request.runId, origin: request.origin, signal, clock });
  return summary.run;
}

async function recordFailedStart(request: AttemptRequest, kind: string, err: unknown, deps: AttemptDeps, clock: () => Date): Promise<never> {
  const failure = toCarelakeError(err);
  await inRunLog(deps.layout.logs, { run_id: request.runId, source: request.job.name }, async () => {
    deps.ledger.startRun({ ...request.origin, run_id: request.runId, source: request.job.name, kind, trigger: request.trigger, started_at: clock().toISOString() });
    deps.logger.error({ err: failure.toJSON() }, 'run failed before it could start');
    deps.ledger.finishRun(request.runId, { status: 'failed', finished_at: clock().toISOString(), files_seen: 0, files_skipped: 0, error: failure.render() });
  });
  throw failure;
}

async function buildAttempt(request: AttemptRequest, deps: AttemptDeps, clock: () => Date): Promise<RunRecord> {
  const { ledger, logger, layout } = deps;
  return inRunLog(layout.logs, { run_id: request.runId, source: BUILD_JOB }, async () => {
    const started = clock();
    ledger.startRun({ ...request.origin, run_id: request.runId, source: BUILD_JOB, kind: 'build', trigger: request.trigger, started_at: started.toISOString() });
    logger.info({ trigger: request.trigger }, 'build started');
    let failure: CarelakeError | null = null;
    try {
      const result = await buildWarehouse({ config: deps.config, layout, ledger, logger, env: deps.env, now: started });
      if (result.failed.length > 0) throw describeFailures(result.failed);
      for (const release of result.releases) logger.info({ role: release.role, release: release.releaseId, tables: release.tables.length }, 'serving release published');
    } catch (err) {
      failure = toCarelakeError(err);
      logger.error({ err: failure.toJSON() }, 'build failed');
    }
    const run = ledger.finishRun(request.runId, { status: failure ? 'failed' : 'succeeded', finished_at: clock().toISOString(), files_seen: 0, files_skipped: 0, error: failure?.render() ?? null });
    logger.info({ status: run.status }, 'build finished');
    if (failure) throw failure;
    return run;
  });
}
