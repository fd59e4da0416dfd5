// A job run to its end: attempts with exponential backoff and jitter (p-retry) until one succeeds, the
// retries are spent, or the scheduler is stopping. Every attempt is its own run in the ledger; a failed
// attempt that is retried is marked `retried`, and later attempts carry `retry_of` = the first one, so
// the final failure — and only it — stays `failed`. Configuration errors are not retried: they do not
// mend themselves.

import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { CarelakeError } from '../../core/errors.ts';
import type { Ledger, RunOrigin, RunRecord, RunTrigger } from '../ledger/ledger.ts';
import { newRunId } from '../runs/runId.ts';
import type { RunWindow } from '../runs/runWindow.ts';
import type { ExecuteAttempt } from './jobAttempt.ts';
import type { SchedulerJob } from './schedulerJobs.ts';

export interface JobRunRequest {
  job: SchedulerJob;
  trigger: RunTrigger;
  /** Origin facts for every attempt (scheduled_for, rerun_of); window and attempt are filled in here. */
  origin?: RunOrigin;
  window?: RunWindow;
  /** The first attempt's run id, when the caller recorded it already (a cron tick). */
  runId?: string;
  /** Attempts after the first; default the job's own `retries`. */
  retries?: number;
}

export interface JobRunDeps {
  execute: ExecuteAttempt;
  ledger: Ledger;
  logger: Logger;
  /** Stops retrying and tells the attempt in flight to stop. */
  signal: AbortSignal;
  clock?: () => Date;
  /** Called as each attempt starts (the runs page and shutdown need the run id in flight). */
  onAttempt?: (runId: string) => void;
}

/** Resolves with the last attempt's run (whatever its status); never rejects for a failed run. */
export async function runJob(request: JobRunRequest, deps: JobRunDeps): Promise<RunRecord> {
  const clock = deps.clock ?? (() => new Date());
  const { job } = request;
  const log = deps.logger.child({ job: job.name });
  const window = request.window;
  let attempt = 0;
  let first: string | null = null;
  let last = '';
  try {
    return await pRetry(
      async () => {
        attempt++;
        const runId = attempt === 1 && request.runId ? request.runId : newRunId(clock());
        first ??= runId;
        last = runId;
        deps.onAttempt?.(runId);
        const origin: RunOrigin = {
          ...request.origin,
          attempt,
          retry_of: attempt > 1 ? first : null,
          window_from: window?.from.toISOString() ?? null,
          window_to: window?.to.toISOString() ?? null,
        };
        return deps.execute({ job, trigger: request.trigger, runId, origin, window }, deps.signal);
      },
      {
        retries: request.retries ?? job.retries,
        factor: 2,
        minTimeout: job.backoff.initialSeconds * 1000,
        maxTimeout: job.backoff.maxSeconds * 1000,
        randomize: true,
        signal: deps.signal,
        shouldRetry: ({ error, retriesLeft }) => {
          const retry = !deps.signal.aborted && !(error instanceof CarelakeError && error.kind === 'config');
          if (retry) {
            deps.ledger.markRetried(last);
            log.warn({ run_id: last, attempt, retries_left: retriesLeft }, 'run failed; retrying after backoff');
          }
          return retry;
        },
      },
    );
  } catch (err) {
    if (last) deps.ledger.unmarkRetried(last);
    const run = last ? deps.ledger.run(last) : undefined;
    if (!run) throw err;
    log.error({ run_id: last, attempt, error: run.error?.split('\n')[0] ?? (err as Error).message }, 'run failed; no retries left');
    return run;
  }
}
