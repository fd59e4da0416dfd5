// `carelake schedule`: the scheduler as a long-lived process (run it under systemd; README, "Operating
// carelake"). One per lake (a PID lock). SIGTERM or SIGINT stops it gracefully: no new runs, runs in
// flight get `scheduler.shutdownGraceSeconds` to finish and then stop at a file boundary, recorded
// `interrupted`; they carry on from there next time. A second signal, or a run that will not stop
// within a minute of being told, ends the process at once with its runs marked interrupted.

import { basename } from 'node:path';
import { currentHolder } from '../../core/lakeLock.ts';
import { createLogger } from '../../core/logger.ts';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import { Alerter } from '../../pipelines/ops/alerter.ts';
import { nextRunOf } from '../../pipelines/scheduler/cronSchedule.ts';
import { jobAttempts } from '../../pipelines/scheduler/jobAttempt.ts';
import { Scheduler } from '../../pipelines/scheduler/scheduler.ts';
import { acquireSchedulerLock } from '../../pipelines/scheduler/schedulerLock.ts';
import { schedulerJobs } from '../../pipelines/scheduler/schedulerJobs.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

/** How long a run told to stop may take to reach its next file boundary before the process ends anyway. */
const FORCE_AFTER_MS = 60_000;

export async function scheduleCommand(ctx: CommandContext, out: Console): Promise<void> {
  const { config, layout } = ctx;
  const lock = acquireSchedulerLock(layout);
  const ledger = Ledger.open(layout.ledger);
  const logger = createLogger(layout.logs);
  try {
    const abandoned = markAbandonedRuns(layout, ledger);
    if (abandoned.length > 0) logger.warn({ runs: abandoned }, 'runs left running by a process that ended were marked interrupted');
    const alerter = new Alerter({ ledger, logger, config: config.alerts, lakeName: basename(config.lake), env: process.env });
    const scheduler = new Scheduler({ config, ledger, logger, execute: jobAttempts({ config, layout, ledger, logger, env: process.env }), alerts: alerter });
    scheduler.start();
    const tz = config.scheduler.timezone;
    const now = new Date();
    const rows = schedulerJobs(config).map((job) => [job.name, job.schedule ?? (job.after.length > 0 ? `after ${job.after.join(', ')}` : '(on request)'), job.schedule ? (nextRunOf(job.schedule, tz, now)?.toISOString() ?? '') : '', job.retries]);
    out.info(`carelake scheduler (pid ${process.pid}) for ${layout.root}, times in ${tz}:\n${formatTable(['job', 'schedule', 'next run (UTC)', 'retries'], rows)}\nLogs: ${layout.logs}/carelake.log. Stop with SIGTERM or Ctrl-C.`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    const graceMs = config.scheduler.shutdownGraceSeconds * 1000;
    out.info(`${signal}: stopping — no new runs; runs in flight have ${config.scheduler.shutdownGraceSeconds}s to finish.`);
    logger.info({ signal, grace_seconds: config.scheduler.shutdownGraceSeconds }, 'scheduler stopping on signal');
    const force = (why: string) => {
      const runs = scheduler.activity().flatMap((a) => (a.runId ? [a.runId] : []));
      for (const runId of runs) ledger.interruptRun(runId, new Date().toISOString(), `stopped before it finished: ${why}`);
      logger.error({ runs, why }, 'scheduler ended without waiting for its runs');
      logger.flush();
      lock.release();
      process.exit(1);
    };
    process.once('SIGTERM', () => force('a second SIGTERM'));
    process.once('SIGINT', () => force('a second SIGINT'));
    const deadline = setTimeout(() => force('the run did not stop within a minute of being told'), graceMs + FORCE_AFTER_MS);
    await scheduler.stop(graceMs);
    clearTimeout(deadline);
    out.info('Scheduler stopped.');
  } finally {
    ledger.close();
    logger.flush();
    lock.release();
  }
}

/** Runs still `running` whose source (or the warehouse, for builds) no live process holds: they were cut off. */
function markAbandonedRuns(layout: LakeLayout, ledger: Ledger): string[] {
  const now = new Date().toISOString();
  const abandoned: string[] = [];
  for (const run of ledger.runningRuns()) {
    const lock = run.kind === 'build' ? layout.warehouseLock : layout.sourceLock(run.source);
    if (currentHolder(lock)) continue;
    ledger.interruptRun(run.run_id, now, 'the process running it ended before it finished');
    abandoned.push(run.run_id);
  }
  return abandoned;
}
