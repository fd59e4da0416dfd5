// The engineers' runs page: loads and schedules at a glance (/ops), the run history (/ops/runs), one
// run in full (/ops/runs/:id), and buttons that ask for a run or a backfill. The page never runs
// anything itself: a request is a row in the ledger's run_requests, which the scheduler process takes
// (README, "The run ledger"). Everything is read from the ledger, the config and the scheduler's lock
// at request time, so the page shows what the separate scheduler process did. Server-rendered HTML with
// no scripts; the same facts as JSON at /api/ops/sources for tools. The buttons' forms carry the
// session's CSRF token when a signed-in browser shows them (session/csrf.ts checks it).
//
// The server only reads the ledger, apart from the run requests it records: freshness is evaluated
// here (pure), not written back.

import formbody from '@fastify/formbody';
import { open } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BUILD_JOB, type CarelakeConfig } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import type { LockHolder } from '../../core/lakeLock.ts';
import { RUN_STATUSES, type AlertRecord, type FreshnessState, type Ledger, type RunRecord, type RunRequest, type RunStatus } from '../../pipelines/ledger/ledger.ts';
import { evaluateFreshness } from '../../pipelines/ops/sourceFreshness.ts';
import { nextRunOf } from '../../pipelines/scheduler/cronSchedule.ts';
import { schedulerStatus } from '../../pipelines/scheduler/schedulerLock.ts';
import type { FreshnessThreshold } from '../../transforms/models/freshness.ts';
import type { Role } from '../auth/principal.ts';
import { HttpProblem } from './operationOutcome.ts';
import { opsOverviewPage, runHistoryPage, runPage, type BackfillProblem } from './opsPages.ts';
import { crossSite, csrfField } from './session/csrf.ts';
import { signOutControl } from './session/signInRoutes.ts';

export const RUN_HISTORY_LIMIT = 100;
export const QUARANTINE_SHOWN = 500;
export const LOG_LINES_SHOWN = 1000;
/** A run's log is read from its end; at most this much of it, so a huge log cannot exhaust memory. */
const LOG_TAIL_BYTES = 4 * 1024 * 1024;
const RECENT_ALERTS = 20;
const PENDING_REQUESTS = 50;
/** Retries and re-runs are looked for among a source's newest runs. */

// ---- the facts of the overview (shared by the page and /api/ops/sources) ----------------------------

export type FreshnessShown = FreshnessState | 'none';

export interface OpsJobFacts {
  /** A source's name, or `build` for the warehouse build. */
  name: string;
  /** The source kind, or `build`. */
  kind: string;
  /** The cron expression, read in `timezone`; null when the job is not on a schedule. */
  schedule: string | null;
  timezone: string;
  /** The build only: sources whose new data starts it. */
  after: string[];
  /** ISO instant of the next cron tick, or null. */
  nextRunAt: string | null;
  lastRun: Pick<
    RunRecord,
    'run_id' | 'status' | 'trigger' | 'started_at' | 'finished_at' | 'records_in' | 'records_landed' | 'records_quarantined' | 'records_filtered' | 'attempt'
  > | null;
  freshness: {
    /** `none`: the job has no freshness rule. */
    status: FreshnessShown;
    newestLandedAt: string | null;
    /** Whole seconds since the newest landing; null if it never landed. */
    ageSeconds: number | null;
    warnAfter: FreshnessThreshold | null;
    errorAfter: FreshnessThreshold | null;
  };
  /** Sources can be backfilled over a window; the build cannot. */
  backfill: boolean;
}

export type SchedulerState = { running: true; pid: number; since: string } | { running: false };

export interface OpsOverview {
  generatedAt: string;
  timezone: string;
  scheduler: SchedulerState;
  jobs: OpsJobFacts[];
}

/** What the overview is computed from: read by the caller, so this stays pure. */
export interface OpsReadings {
  lastRuns: readonly RunRecord[];
  newestLandings: ReadonlyMap<string, string>;
  scheduler: LockHolder | null;
}

/** Pure: one row per configured source and one for the build, at `now`. */
export function opsOverview(config: CarelakeConfig, readings: OpsReadings, now: Date): OpsOverview {
  const timezone = config.scheduler.timezone;
  const lastRun = new Map(readings.lastRuns.map((r) => [r.source, r]));
  const freshness = new Map(evaluateFreshness(config.sources, readings.newestLandings, now).map((f) => [f.source, f]));
  const next = (schedule: string | undefined): string | null => (schedule ? (nextRunOf(schedule, timezone, now)?.toISOString() ?? null) : null);
  const lastOf = (name: string): OpsJobFacts['lastRun'] => {
    const r = lastRun.get(name);
    if (!r) return null;
    const { run_id, status, trigger, started_at, finished_at, records_in, records_landed, records_quarantined, records_filtered, attempt } = r;
    return { run_id, status, trigger, started_at, finished_at, records_in, records_landed, records_quarantined, records_filtered, attempt };
  };
  const sources: OpsJobFacts[] = config.sources.map((source) => {
    const f = freshness.get(source.name);
    return {
      name: source.name,
      kind: source.kind,
      schedule: source.schedule ?? null,
      timezone,
      after: [],
      nextRunAt: next(source.schedule),
      lastRun: lastOf(source.name),
      freshness: {
        status: f?.status ?? 'none',
        newestLandedAt: f?.newestLandedAt ?? null,
        ageSeconds: f?.ageSeconds ?? null,
        warnAfter: f?.rule?.warn_after ?? null,
        errorAfter: f?.rule?.error_after ?? null,
      },
      backfill: true,
    };
  });
  const build: OpsJobFacts = {
    name: BUILD_JOB,
    kind: 'build',
    schedule: config.scheduler.build.schedule ?? null,
    timezone,
    after: [...config.scheduler.build.after],
    nextRunAt: next(config.scheduler.build.schedule),
    lastRun: lastOf(BUILD_JOB),
    freshness: { status: 'none', newestLandedAt: null, ageSeconds: null, warnAfter: null, errorAfter: null },
    backfill: false,
  };
  const scheduler: SchedulerState = readings.scheduler ? { running: true, pid: readings.scheduler.pid, since: readings.scheduler.since } : { running: false };
  return { generatedAt: now.toISOString(), timezone, scheduler, jobs: [...sources, build] };
}

// ---- a run's log -----------------------------------------------------------------------------------

export interface RunLogLine {
  /** ISO instant, when the line had a time. */
  time: string | null;
  level: string;
  msg: string;
  /** The line's other fields, compactly: `key=value …`. */
  fields: string;
}

const PINO_LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields every line of a run carries, or that the columns already show. */
const LOG_FIELDS_SHOWN_ELSEWHERE = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'run_id', 'source']);
const LOG_VALUE_CHARS = 200;
const LOG_FIELDS_CHARS = 800;

/** Pure: one JSON log line as a row; a line that is not JSON is shown as its text. */
export function parseRunLogLine(line: string): RunLogLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { time: null, level: '', msg: clip(line, LOG_FIELDS_CHARS), fields: '' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { time: null, level: '', msg: clip(line, LOG_FIELDS_CHARS), fields: '' };
  const record = parsed as Record<string, unknown>;
  const time = typeof record.time === 'number' || typeof record.time === 'string' ? new Date(record.time) : null;
  const level = typeof record.level === 'number' ? (PINO_LEVELS[record.level] ?? String(record.level)) : typeof record.level === 'string' ? record.level : '';
  const fields = Object.entries(record)
    .filter(([key]) => !LOG_FIELDS_SHOWN_ELSEWHERE.has(key))
    .map(([key, value]) => `${key}=${clip(typeof value === 'string' ? value : JSON.stringify(value), LOG_VALUE_CHARS)}`)
    .join(' ');
  return {
    time: time && !Number.isNaN(time.getTime()) ? time.toISOString() : null,
    level,
    msg: typeof record.msg === 'string' ? record.msg : '',
    fields: clip(fields, LOG_FIELDS_CHARS),
  };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The last lines of a run's log file; null when the run wrote none. */
export async function readRunLogTail(path: string, maxLines = LOG_LINES_SHOWN): Promise<{ lines: string[]; earlierOmitted: boolean } | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // begun mid-line
    const complete = lines.filter((l) => l.trim() !== '');
    return { lines: complete.slice(-maxLines), earlierOmitted: start > 0 || complete.length > maxLines };
  } finally {
    await handle.close();
  }
}

// ---- request validation -----------------------------------------------------------------------------

const isoDate = z.iso.date({ error: 'a date as YYYY-MM-DD' });

/**
 * A backfill window from the form: dates, read as UTC midnight, the half-open `[from, to)` that
 * `carelake backfill --from --to` takes, so `to` is the day after the last day loaded.
 */
export function backfillForm(now: Date) {
  const today = now.toISOString().slice(0, 10);
  return z
    .object({ from: isoDate, to: isoDate })
    .refine((w) => w.from < w.to, { message: "'To' must be after 'From' (the window is from the first day up to, not including, the 'To' day)", path: ['to'] })
    .refine((w) => w.to <= today, { message: `The window must not reach into the future: 'To' may be ${today} (today, UTC) at the latest`, path: ['to'] });
}

const isRunStatus = (value: string): value is RunStatus => (RUN_STATUSES as readonly string[]).includes(value);

const historyQuery = z.object({
  source: z.string().max(64).optional(),
  status: z
    .string()
    .optional()
    .refine((s) => s === undefined || s === '' || isRunStatus(s), { message: `one of ${RUN_STATUSES.join(', ')}` }),
});

// ---- routes --------------------------------------------------------------------------------------

export interface OpsRoutesOptions {
  layout: LakeLayout;
  config: CarelakeConfig;
  /** The ledger, or null while the lake has none (nothing has run yet). */
  ledger: () => Ledger | null;
  access: readonly Role[];
  clock?: () => Date;
}

/**
 * Registers the pages and the JSON in their own scope, so only they (and sign-in) parse form bodies.
 * Register it after the server's error and not-found handlers are set, so they are inherited.
 */
export async function registerOpsRoutes(app: FastifyInstance, options: OpsRoutesOptions): Promise<void> {
  const { layout, config } = options;
  const clock = options.clock ?? (() => new Date());
  const routeConfig = { access: options.access };
  const jobs = new Set([...config.sources.map((s) => s.name), BUILD_JOB]);

  const overview = (now: Date): { overview: OpsOverview; pending: RunRequest[]; alerts: AlertRecord[] } => {
    const ledger = options.ledger();
    const facts = opsOverview(
      config,
      { lastRuns: ledger?.lastRuns() ?? [], newestLandings: ledger?.newestLandings() ?? new Map(), scheduler: schedulerStatus(layout) },
      now,
    );
    return {
      overview: facts,
      pending: ledger?.runRequests({ status: 'pending', limit: PENDING_REQUESTS }) ?? [],
      alerts: ledger?.alerts({ limit: RECENT_ALERTS }) ?? [],
    };
  };

  const sendOverview = (request: FastifyRequest, reply: FastifyReply, now: Date, notice: { requested?: RunRequest | null; problem?: BackfillProblem }) => {
    const { overview: facts, pending, alerts } = overview(now);
    const page = opsOverviewPage(facts, { pending, alerts, csrfField: csrfField(request), account: signOutControl(request), ...notice });
    return reply.type('text/html; charset=utf-8').send(page);
  };

  const jobOf = (request: FastifyRequest<{ Params: { name: string } }>): string => {
    const name = request.params.name;
    if (!jobs.has(name)) throw new HttpProblem('not-found', `There is no source named '${name.slice(0, 64)}' in this configuration.`);
    // Besides the CSRF token: a proxy that adds bearer tokens would otherwise make a cross-site form a way to start runs.
    if (crossSite(request)) throw new HttpProblem('forbidden', 'Runs can only be requested from the runs page of this server.');
    return name;
  };

  const record = (request: FastifyRequest, job: string, kind: 'run' | 'backfill', window: { from: string; to: string } | null, now: Date): RunRequest => {
    const ledger = options.ledger();
    if (!ledger) throw new HttpProblem('transient', 'The lake has no run ledger yet; run `carelake load` or start `carelake schedule` first.');
    const requested = ledger.requestRun({
      job,
      kind,
      window_from: window ? `${window.from}T00:00:00.000Z` : null,
      window_to: window ? `${window.to}T00:00:00.000Z` : null,
      requested_by: request.principal!.id,
      requested_at: now.toISOString(),
    });
    request.audit.params = { job, kind, ...(window ?? {}), request_id: requested.request_id };
    request.log.info({ request_id: requested.request_id, job, kind, window }, 'run requested from the runs page');
    return requested;
  };

  await app.register(async (scope) => {
    await scope.register(formbody);

    scope.get<{ Querystring: { requested?: string } }>('/ops', { config: routeConfig }, async (request, reply) => {
      const id = Number(request.query.requested);
      const requested = Number.isSafeInteger(id) && id > 0 ? (options.ledger()?.runRequest(id) ?? null) : undefined;
      return sendOverview(request, reply, clock(), { requested });
    });

    scope.get('/api/ops/sources', { config: routeConfig }, async () => {
      const { overview: facts } = overview(clock());
      return { generatedAt: facts.generatedAt, timezone: facts.timezone, scheduler: facts.scheduler, sources: facts.jobs };
    });

    scope.post<{ Params: { name: string } }>('/ops/sources/:name/run', { config: routeConfig, bodyLimit: 4096 }, async (request, reply) => {
      const job = jobOf(request);
      const requested = record(request, job, 'run', null, clock());
      return reply.redirect(`/ops?requested=${requested.request_id}`, 303);
    });

    scope.post<{ Params: { name: string } }>('/ops/sources/:name/backfill', { config: routeConfig, bodyLimit: 4096 }, async (request, reply) => {
      const job = jobOf(request);
      if (job === BUILD_JOB) throw new HttpProblem('invalid', 'The warehouse build cannot be backfilled: it always builds from everything landed. Use "Run now".');
      const now = clock();
      const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
      const parsed = backfillForm(now).safeParse({ from: body.from, to: body.to });
      if (!parsed.success) {
        request.audit.error = 'ops.backfill-window';
        const problem: BackfillProblem = {
          source: job,
          from: typeof body.from === 'string' ? body.from.slice(0, 32) : '',
          to: typeof body.to === 'string' ? body.to.slice(0, 32) : '',
          errors: parsed.error.issues.map((issue) => ({ field: issue.path[0] === 'from' ? 'from' : 'to', message: issue.message })),
        };
        reply.code(400);
        return sendOverview(request, reply, now, { problem });
      }
      const requested = record(request, job, 'backfill', parsed.data, now);
      return reply.redirect(`/ops?requested=${requested.request_id}`, 303);
    });

    scope.get<{ Querystring: { source?: string; status?: string } }>('/ops/runs', { config: routeConfig }, async (request, reply) => {
      const parsed = historyQuery.safeParse(request.query);
      if (!parsed.success) throw new HttpProblem('invalid', `Filter by source and by status (${RUN_STATUSES.join(', ')}).`);
      const source = parsed.data.source || undefined;
      const status = parsed.data.status && isRunStatus(parsed.data.status) ? parsed.data.status : undefined;
      const runs = options.ledger()?.runs({ source, status, limit: RUN_HISTORY_LIMIT }) ?? [];
      return reply.type('text/html; charset=utf-8').send(runHistoryPage(runs, { source: source ?? '', status: status ?? '', sources: [...jobs], limit: RUN_HISTORY_LIMIT }, signOutControl(request)));
    });

    scope.get<{ Params: { id: string } }>('/ops/runs/:id', { config: routeConfig }, async (request, reply) => {
      const ledger = options.ledger();
      const run = ledger?.run(request.params.id);
      if (!ledger || !run) throw new HttpProblem('not-found', `There is no run with id '${request.params.id.slice(0, 80)}'.`);
      // The first attempt and every retry of it; and runs that re-ran this one.
      const related = ledger.relatedRuns(run);
      const quarantine = ledger.quarantineOfRun(run.run_id, QUARANTINE_SHOWN);
      // The run came from the ledger, so its id is safe to name a file with.
      const log = await readRunLogTail(layout.runLog(run.run_id));
      return reply.type('text/html; charset=utf-8').send(
        runPage({
          run,
          files: ledger.filesOfRun(run.run_id),
          quarantine: quarantine.records,
          quarantineTotal: quarantine.total,
          related,
          log: log ? { lines: log.lines.map(parseRunLogLine), earlierOmitted: log.earlierOmitted } : null,
          logLimit: LOG_LINES_SHOWN,
        }, signOutControl(request)),
      );
    });
  });
}
