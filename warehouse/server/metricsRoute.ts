// GET /metrics for Prometheus (text exposition format, prom-client). Run figures are derived from the
// run ledger at scrape time rather than counted in this process, so they include the runs of the
// separate `carelake schedule` and `carelake load` processes and survive restarts: each scrape resets
// the ledger-derived metrics and sets them again from one reading of the ledger. Request latencies and
// the process's own figures are this server's. Everything lives in a private registry, so two servers
// in one process (tests) never share or double a metric.

import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SourceConfig } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import type { FreshnessState, Ledger } from '../../pipelines/ledger/ledger.ts';
import { evaluateFreshness } from '../../pipelines/ops/sourceFreshness.ts';
import { schedulerStatus } from '../../pipelines/scheduler/schedulerLock.ts';
import type { Role } from '../auth/principal.ts';

export const METRICS_PREFIX = 'carelake_';
/** Loads take seconds to hours: 1 s up to 6 h. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 10800, 21600];
/** Reports answer in milliseconds, analysts' queries in up to the query time limit. */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** The route label of a request that matched no route (never the raw URL, which is unbounded). */
export const UNMATCHED_ROUTE = 'unmatched';

export const FRESHNESS_VALUE: Record<FreshnessState, number> = { pass: 0, warn: 1, error: 2 };

/** One reading of everything the ledger-derived metrics show. */
interface Scrape {
  ledger: {
    runs: ReturnType<Ledger['runTotals']>;
    records: ReturnType<Ledger['recordTotals']>;
    lastSuccesses: ReturnType<Ledger['lastSuccesses']>;
    durations: ReturnType<Ledger['runDurations']>;
    alerts: { kind: string; delivery: string; alerts: number }[];
    newestLandings: Map<string, string>;
  } | null;
  schedulerUp: boolean;
  now: Date;
}

export interface ServerMetricsOptions {
  layout: LakeLayout;
  sources: readonly SourceConfig[];
  /** The ledger, or null while the lake has none: then there are no run figures. */
  ledger: () => Ledger | null;
  clock?: () => Date;
}

/**
 * The server's metrics in their own registry. Wiring is in two steps because Fastify gives a route
 * the hooks added before it, run in the order added: `timeRequests` goes first of all (so a request
 * refused at sign-in is timed too), `registerRoute` after the authentication hooks (so /metrics has them).
 */
export interface ServerMetrics {
  registry: Registry;
  /** Times every request, by route pattern, method and status. */
  timeRequests(app: FastifyInstance): void;
  /** GET /metrics in the Prometheus text format, for these roles. */
  registerRoute(app: FastifyInstance, access: readonly Role[]): void;
}

export function serverMetrics(options: ServerMetricsOptions): ServerMetrics {
  const clock = options.clock ?? (() => new Date());
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });

  const read = (): Scrape => {
    const ledger = options.ledger();
    return {
      ledger: ledger ? readLedger(ledger) : null,
      schedulerUp: schedulerStatus(options.layout) !== null,
      now: clock(),
    };
  };
  // Set by the handler around one registry.metrics() call, so every collect() below sees the same
  // reading (prom-client calls them all synchronously, before its first await); read afresh if the
  // registry is collected some other way.
  let current: Scrape | null = null;
  const scrape = (): Scrape => current ?? read();

  new Counter({
    name: `${METRICS_PREFIX}runs_total`,
    help: 'Runs recorded in the run ledger, by source (or build) and status.',
    labelNames: ['source', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of scrape().ledger?.runs ?? []) this.inc({ source: r.source, status: r.status }, r.runs);
    },
  });

  new Counter({
    name: `${METRICS_PREFIX}records_total`,
    help: 'Records read from files with a final outcome, by source and outcome (landed, quarantined or filtered).',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of scrape().ledger?.records ?? []) {
        this.inc({ source: r.source, outcome: 'landed' }, r.landed);
        this.inc({ source: r.source, outcome: 'quarantined' }, r.quarantined);
        this.inc({ source: r.source, outcome: 'filtered' }, r.filtered);
      }
    },
  });

  new Counter({
    name: `${METRICS_PREFIX}bytes_downloaded_total`,
    help: 'Bytes of the files each source read (landed or quarantined).',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const r of scrape().ledger?.records ?? []) this.inc({ source: r.source }, r.bytes);
    },
  });

  new Histogram({
    name: `${METRICS_PREFIX}run_duration_seconds`,
    help: 'How long finished runs took, by source (or build).',
    labelNames: ['source'] as const,
    buckets: RUN_DURATION_BUCKETS,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of scrape().ledger?.durations ?? []) this.observe({ source: d.source }, Math.max(0, d.seconds));
    },
  });

  new Gauge({
    name: `${METRICS_PREFIX}last_success_timestamp_seconds`,
    help: 'When each source (or build) last finished a run that succeeded or partly succeeded, in Unix seconds.',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of scrape().ledger?.lastSuccesses ?? []) {
        const at = Date.parse(s.finished_at);
        if (!Number.isNaN(at)) this.set({ source: s.source }, at / 1000);
      }
    },
  });

  // Freshness is judged here at scrape time, as the runs page judges it (nothing is written back).
  const freshness = () => {
    const s = scrape();
    return evaluateFreshness(options.sources, s.ledger?.newestLandings ?? new Map(), s.now);
  };
  new Gauge({
    name: `${METRICS_PREFIX}source_freshness_status`,
    help: 'Freshness of each source with a freshness rule: 0 pass, 1 warn, 2 error (never landed counts as error).',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of freshness()) if (f.status !== null) this.set({ source: f.source }, FRESHNESS_VALUE[f.status]);
    },
  });
  new Gauge({
    name: `${METRICS_PREFIX}source_freshness_age_seconds`,
    help: 'Seconds since each source last landed records (absent if it never has).',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const f of freshness()) if (f.ageSeconds !== null) this.set({ source: f.source }, f.ageSeconds);
    },
  });

  new Gauge({
    name: `${METRICS_PREFIX}scheduler_up`,
    help: '1 while a `carelake schedule` process holds the lake\'s scheduler lock, else 0.',
    registers: [registry],
    collect() {
      this.set(scrape().schedulerUp ? 1 : 0);
    },
  });

  // By the alerts' current delivery state, so a pending alert moves to delivered or failed: the
  // per-kind sum over delivery only ever grows.
  new Counter({
    name: `${METRICS_PREFIX}alerts_total`,
    help: 'Alerts raised, by kind and delivery state (log-only, pending, delivered, failed).',
    labelNames: ['kind', 'delivery'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const a of scrape().ledger?.alerts ?? []) this.inc({ kind: a.kind, delivery: a.delivery }, a.alerts);
    },
  });

  const requestDuration = new Histogram({
    name: `${METRICS_PREFIX}http_request_duration_seconds`,
    help: 'Time to answer HTTP requests, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: REQUEST_DURATION_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    timeRequests(app) {
      // Timed when the response has been handed to the socket ('finish') rather than in an onResponse
      // hook: those run one after another, after the audit's, which waits for its fsync.
      app.addHook('onRequest', async (request, reply) => {
        reply.raw.once('finish', () => {
          requestDuration.observe({ route: request.routeOptions.url ?? UNMATCHED_ROUTE, method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
        });
      });
    },
    registerRoute(app, access) {
      app.get('/metrics', { config: { access } }, async (_request, reply) => {
        current = read();
        try {
          const text = await registry.metrics();
          return reply.type(registry.contentType).send(text);
        } finally {
          current = null;
        }
      });
    },
  };
}

function readLedger(ledger: Ledger): NonNullable<Scrape['ledger']> {
  return {
    runs: ledger.runTotals(),
    records: ledger.recordTotals(),
    lastSuccesses: ledger.lastSuccesses(),
    durations: ledger.runDurations(),
    alerts: ledger.alertTotals(),
    newestLandings: ledger.newestLandings(),
  };
}
