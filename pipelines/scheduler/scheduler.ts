// The scheduler: the long-lived heart of `carelake schedule`. It fires each job's cron in the configured
// time zone (croner), never lets a job overlap itself (a tick that finds the last run still going is
// skipped and recorded), bounds runs across all jobs with one p-queue, retries failures (retryingRun),
// raises alerts, checks freshness after every run and on its own cron, builds the warehouse when its
// upstream sources have landed new data (`after:`), and takes run requests from the runs page.
//
// Everything it decides is written to the ledger (schedule_ticks, runs, run_requests, alerts), which
// other processes (the CLI, `carelake serve`) read; nothing lives only in this process's memory except
// the queue itself. Stopping: no new ticks, queued runs dropped, runs in flight asked to stop after a
// grace period (they finish the file in hand and are recorded `interrupted`).

import { Cron } from 'croner';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { BUILD_JOB, type CarelakeConfig } from '../../core/config.ts';
import type { Ledger, RunOrigin, RunRecord, RunTrigger } from '../ledger/ledger.ts';
import { checkFreshness, type FreshnessChange } from '../ops/sourceFreshness.ts';
import { newRunId } from '../runs/runId.ts';
import type { RunWindow } from '../runs/runWindow.ts';
import { previousRunOf } from './cronSchedule.ts';
import type { ExecuteAttempt } from './jobAttempt.ts';
import { runJob } from './retryingRun.ts';
import { schedulerJobs, type SchedulerJob } from './schedulerJobs.ts';

/** What the scheduler asks of alerting (pipelines/ops/alerter.ts). */
export interface SchedulerAlerts {
  raiseForRun(runId: string): void;
  raiseForFreshness(changes: FreshnessChange[]): void;
  flush(): Promise<void>;
}

export interface SchedulerOptions {
  config: CarelakeConfig;
  ledger: Ledger;
  logger: Logger;
  execute: ExecuteAttempt;
  alerts?: SchedulerAlerts;
  clock?: () => Date;
}

export interface SubmitOptions {
  trigger: RunTrigger;
  origin?: RunOrigin;
  window?: RunWindow;
  runId?: string;
  /** Called with the first attempt's run id as it starts. */
  onStart?: (runId: string) => void;
}

export class Scheduler {
  private readonly jobs: Map<string, SchedulerJob>;
  private readonly queue: PQueue;
  /** Per job: one run at a time, further submissions wait their turn. */
  private readonly jobQueues = new Map<string, PQueue>();
  /** Runs submitted and not yet ended, per job (queued or running). */
  private readonly inFlight = new Map<string, number>();
  /** The attempt running now, per job. */
  private readonly running = new Map<string, string>();
  private readonly crons: Cron[] = [];
  private readonly abort = new AbortController();
  private readonly clock: () => Date;
  private requestTimer: NodeJS.Timeout | null = null;
  private buildPending = false;
  private stopping = false;
  private readonly settled = new Set<Promise<unknown>>();

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.jobs = new Map(schedulerJobs(options.config).map((job) => [job.name, job]));
    this.queue = new PQueue({ concurrency: options.config.scheduler.concurrency });
  }

  /** Starts every cron, catches up missed ticks where asked to, and begins taking run requests. */
  start(): void {
    const { config, logger } = this.options;
    const timezone = config.scheduler.timezone;
    for (const job of this.jobs.values()) {
      if (job.schedule === null) continue;
      this.crons.push(
        new Cron(job.schedule, { timezone, name: `carelake:${job.name}`, catch: (err) => logger.error({ job: job.name, error: String(err) }, 'scheduler tick failed') }, (self: Cron) => {
          this.tick(job, self.currentRun() ?? this.clock());
        }),
      );
    }
    this.crons.push(
      new Cron(config.scheduler.freshnessSchedule, { timezone, name: 'carelake:freshness', catch: (err) => logger.error({ error: String(err) }, 'freshness check failed') }, () => this.checkFreshness()),
    );
    this.catchUp();
    this.checkFreshness();
    this.requestTimer = setInterval(() => this.takeRequests(), config.scheduler.requestPollSeconds * 1000);
    logger.info(
      { timezone, concurrency: config.scheduler.concurrency, jobs: [...this.jobs.values()].filter((j) => j.schedule !== null).map((j) => ({ job: j.name, schedule: j.schedule, next: this.nextRun(j.name)?.toISOString() ?? null })) },
      'scheduler started',
    );
  }

  /** When a job's cron fires next, or null when it has none (or the scheduler is stopped). */
  nextRun(jobName: string): Date | null {
    return this.crons.find((c) => c.name === `carelake:${jobName}`)?.nextRun() ?? null;
  }

  /** Jobs with a run queued or going, and the run id going now. */
  activity(): { job: string; runId: string | null }[] {
    return [...this.inFlight.keys()].map((job) => ({ job, runId: this.running.get(job) ?? null }));
  }

  /** A cron tick: a run is queued unless the job's previous run is still queued or going (then it is skipped). */
  tick(job: SchedulerJob, scheduledFor: Date): void {
    if (this.stopping) return;
    const { ledger, logger } = this.options;
    const firedAt = this.clock().toISOString();
    const scheduled = scheduledFor.toISOString();
    if (this.busy(job.name)) {
      const current = this.running.get(job.name);
      const reason = current ? `run ${current} is still going` : 'an earlier run is still queued';
      ledger.recordTick({ job: job.name, scheduled_for: scheduled, fired_at: firedAt, outcome: 'skipped', run_id: null, reason });
      logger.warn({ job: job.name, scheduled_for: scheduled, reason }, 'scheduled run skipped: the last one has not finished');
      return;
    }
    const runId = newRunId(this.clock());
    ledger.recordTick({ job: job.name, scheduled_for: scheduled, fired_at: firedAt, outcome: 'queued', run_id: runId, reason: null });
    void this.submit(job.name, { trigger: 'schedule', origin: { scheduled_for: scheduled }, runId });
  }

  /**
   * Queues a run of a job (waiting behind its own earlier runs and for a free slot) and resolves with
   * its last attempt's run, or null if the scheduler stopped before it started.
   */
  submit(jobName: string, options: SubmitOptions): Promise<RunRecord | null> {
    const job = this.jobs.get(jobName);
    if (!job) return Promise.reject(new Error(`no job named '${jobName}'`));
    if (this.stopping) return Promise.resolve(null);
    this.inFlight.set(job.name, (this.inFlight.get(job.name) ?? 0) + 1);
    let jobQueue = this.jobQueues.get(job.name);
    if (!jobQueue) this.jobQueues.set(job.name, (jobQueue = new PQueue({ concurrency: 1 })));
    const started = jobQueue.add(() => this.queue.add(() => this.runToEnd(job, options)));
    const done = (started as Promise<RunRecord | null | void>)
      .then((run) => run ?? null)
      .finally(() => {
        const left = (this.inFlight.get(job.name) ?? 1) - 1;
        if (left > 0) this.inFlight.set(job.name, left);
        else this.inFlight.delete(job.name);
        this.maybeBuild();
      });
    this.settled.add(done);
    void done.finally(() => this.settled.delete(done)).catch(() => undefined);
    return done;
  }

  private async runToEnd(job: SchedulerJob, options: SubmitOptions): Promise<RunRecord | null> {
    if (this.stopping) return null;
    const { ledger, logger, execute } = this.options;
    let run: RunRecord;
    try {
      run = await runJob(
        { job, trigger: options.trigger, origin: options.origin, window: options.window, runId: options.runId },
        {
          execute,
          ledger,
          logger,
          signal: this.abort.signal,
          clock: this.clock,
          onAttempt: (runId) => {
            if (!this.running.has(job.name)) options.onStart?.(runId);
            this.running.set(job.name, runId);
          },
        },
      );
    } catch (err) {
      // An attempt that never reached the ledger (stopped while waiting to retry, or a fault here).
      logger.error({ job: job.name, error: (err as Error).message }, 'run ended without a recorded outcome');
      return null;
    } finally {
      this.running.delete(job.name);
    }
    this.afterRun(job, run);
    return run;
  }

  private afterRun(job: SchedulerJob, run: RunRecord): void {
    this.alert(() => this.options.alerts?.raiseForRun(run.run_id));
    if (job.kind !== 'source') return;
    this.checkFreshness();
    const build = this.jobs.get(BUILD_JOB)!;
    if (build.after.includes(job.name) && run.records_landed > 0 && run.status !== 'failed') this.buildPending = true;
  }

  /** Builds once upstream sources have landed new data and none of them is still queued or going. */
  private maybeBuild(): void {
    if (!this.buildPending || this.stopping) return;
    const build = this.jobs.get(BUILD_JOB)!;
    if (build.after.some((name) => this.busy(name))) return;
    this.buildPending = false;
    // One build waiting is enough: it will read everything landed by the time it starts.
    const waiting = (this.jobQueues.get(BUILD_JOB)?.size ?? 0) > 0;
    if (waiting) return;
    this.options.logger.info({ after: build.after }, 'upstream sources landed new data: building');
    void this.submit(BUILD_JOB, { trigger: 'dependency' });
  }

  private busy(jobName: string): boolean {
    return (this.inFlight.get(jobName) ?? 0) > 0;
  }

  /** At start-up: a job whose last cron time passed while no run started since is run once, if it catches up. */
  private catchUp(): void {
    const { ledger, logger, config } = this.options;
    const now = this.clock();
    for (const job of this.jobs.values()) {
      if (job.schedule === null) continue;
      const missed = previousRunOf(job.schedule, config.scheduler.timezone, now);
      const last = ledger.runs({ source: job.name, limit: 1 })[0];
      if (!missed || !last || Date.parse(last.started_at) >= missed.getTime()) continue;
      const scheduled = missed.toISOString();
      if (!job.catchUp) {
        ledger.recordTick({ job: job.name, scheduled_for: scheduled, fired_at: now.toISOString(), outcome: 'skipped', run_id: null, reason: 'missed while the scheduler was not running (catchUp is off)' });
        logger.info({ job: job.name, scheduled_for: scheduled }, 'missed run not caught up (catchUp is off)');
        continue;
      }
      const runId = newRunId(now);
      ledger.recordTick({ job: job.name, scheduled_for: scheduled, fired_at: now.toISOString(), outcome: 'catch-up', run_id: runId, reason: 'missed while the scheduler was not running' });
      logger.info({ job: job.name, scheduled_for: scheduled }, 'catching up a missed run');
      void this.submit(job.name, { trigger: 'catch-up', origin: { scheduled_for: scheduled }, runId });
    }
  }

  private checkFreshness(): void {
    const { changes } = checkFreshness(this.options.config.sources, this.options.ledger, this.clock());
    for (const change of changes) {
      const f = change.freshness;
      const level = f.status === 'error' ? 'error' : f.status === 'warn' ? 'warn' : 'info';
      this.options.logger[level]({ source: f.source, status: f.status, previous: change.previous, age_seconds: f.ageSeconds, newest_landed_at: f.newestLandedAt }, 'source freshness changed');
    }
    if (changes.length > 0) this.alert(() => this.options.alerts?.raiseForFreshness(changes));
  }

  /** Alerting must never stop the scheduler: a fault in it is logged and the scheduler carries on. */
  private alert(raise: () => void): void {
    try {
      raise();
    } catch (err) {
      this.options.logger.error({ error: (err as Error).message }, 'could not raise an alert');
    }
  }

  /** Run requests from the runs page: each becomes a queued run of its job. */
  takeRequests(): void {
    if (this.stopping) return;
    const { ledger, logger } = this.options;
    for (const request of ledger.takeRunRequests(this.clock().toISOString())) {
      const job = this.jobs.get(request.job);
      if (!job || (request.kind === 'backfill' && job.kind !== 'source')) {
        ledger.updateRunRequest(request.request_id, { status: 'failed', error: job ? `the ${job.name} job cannot be backfilled` : `no job named '${request.job}' in the scheduler's config` });
        continue;
      }
      let window: RunWindow | undefined;
      let origin: RunOrigin = {};
      if (request.kind === 'backfill') window = { from: new Date(request.window_from!), to: new Date(request.window_to!) };
      if (request.kind === 'rerun' && request.rerun_of) {
        const original = ledger.run(request.rerun_of);
        origin = { rerun_of: request.rerun_of };
        if (original?.window_from && original.window_to) window = { from: new Date(original.window_from), to: new Date(original.window_to) };
      }
      logger.info({ job: job.name, request: request.request_id, kind: request.kind, by: request.requested_by }, 'run requested');
      const trigger: RunTrigger = request.kind === 'backfill' ? 'backfill' : request.kind === 'rerun' ? 'rerun' : 'request';
      void this.submit(job.name, { trigger, origin, window, onStart: (runId) => ledger.updateRunRequest(request.request_id, { status: 'taken', run_id: runId }) }).then((run) => {
        if (run) ledger.updateRunRequest(request.request_id, { status: run.status === 'failed' ? 'failed' : 'done', run_id: run.run_id, error: run.error?.split('\n')[0] ?? null });
        else ledger.updateRunRequest(request.request_id, { status: 'cancelled', error: 'the scheduler stopped before the run started' });
      });
    }
  }

  /**
   * Stops: no new ticks or requests, queued runs dropped, runs in flight given `graceMs` to finish
   * before they are told to stop (they end `interrupted` at the next file boundary). Resolves when every
   * run has ended and alerts in flight are delivered or given up.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const cron of this.crons) cron.stop();
    if (this.requestTimer) clearInterval(this.requestTimer);
    // Queued runs are not cleared from the queues (their callers would wait for ever): each ends at
    // once, unstarted, when its turn comes (runToEnd checks `stopping`).
    const dropped = this.queue.size + [...this.jobQueues.values()].reduce((n, q) => n + q.size, 0);
    this.options.logger.info({ running: [...this.running.entries()].map(([job, run]) => ({ job, run })), dropped }, 'scheduler stopping');
    const everything = Promise.allSettled([...this.settled]);
    const timer = setTimeout(() => this.abort.abort('the scheduler is shutting down'), graceMs);
    try {
      await Promise.race([everything, new Promise((resolve) => this.abort.signal.addEventListener('abort', resolve, { once: true }))]);
      // After the grace period the runs stop at their next file boundary; wait for them to record it.
      await everything;
    } finally {
      clearTimeout(timer);
    }
    await this.options.alerts?.flush();
    this.options.logger.info({}, 'scheduler stopped');
  }
}
