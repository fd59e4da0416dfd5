// The HTTP edge of the governed serving layer: commissioners read disclosure-controlled reports
// (Markdown reports as HTML pages, CSV, PDF and JSON; reportRoutes.ts) over the commissioner release;
// analysts run checked, read-only SQL over the analyst release (POST /api/query). Every route but
// /api/health, /sign-in and /assets needs a bearer token or a browser session (signed in at /sign-in)
// and a role; every principal is rate-limited, every form a signed-in browser posts carries a CSRF
// token, and every request is written to the audit log when it has been answered.
// It reads only the serving layer (through ServingReader), never raw/ or the warehouse. Errors become
// OperationOutcomes (JSON) or an error page (HTML); internals go to the log under a request id.
// With `operations`, engineers also get Prometheus metrics (/metrics) and the runs page (/ops), which
// read the run ledger, never the data.

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CarelakeConfig } from '../../core/config.ts';
import { CarelakeError, toCarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import { DEFAULT_DISCLOSURE_POLICY, type DisclosurePolicy } from '../disclosure/policy.ts';
import type { ReportCatalog } from '../reports/markdown/reportCatalog.ts';
import { readServingPointer } from '../serving/servingPointer.ts';
import { ServingReader } from '../serving/servingReader.ts';
import type { AuditLog } from '../audit/auditLog.ts';
import type { Authenticate, PrincipalCheck } from '../auth/authenticate.ts';
import { AssetStore, registerAssetRoutes } from './assetRoutes.ts';
import { HttpProblem, operationOutcome, toProblem } from './operationOutcome.ts';
import { serverMetrics } from './metricsRoute.ts';
import { runHistoryPage } from './opsPages.ts';
import { registerOpsRoutes } from './opsRoutes.ts';
import { registerQueryRoute } from './queryRoute.ts';
import { ReportPdfPrinter } from './reportPdf.ts';
import { registerReportRoutes } from './reportRoutes.ts';
import { registerRequestAudit } from './requestAudit.ts';
import { registerRequestAuth } from './requestAuth.ts';
import { inlineStyleHashes, registerSecurityHeaders } from './securityHeaders.ts';
import { BrowserSessions } from './session/browserSessions.ts';
import { registerCsrfCheck } from './session/csrf.ts';
import { registerSignInRoutes } from './session/signInRoutes.ts';
import { errorPage } from './pages.ts';

export const COMMISSIONER_ROLE = 'commissioner';
export const ANALYST_ROLE = 'analyst';
export const ENGINEER_ROLE = 'engineer';

export interface BuildServerOptions {
  layout: LakeLayout;
  /** The commissioners' Markdown reports (loadReportCatalog). */
  reports: ReportCatalog;
  /** The Chromium that prints reports as PDF; without it, PDFs are not offered. */
  chromium?: string | null;
  /** A pino (or pino-compatible) logger, or false for none. Defaults to a pino logger at `info`. */
  logger?: FastifyBaseLogger | false;
  /** Applied to every count in every report and in analysts' aggregate results. Defaults to HES. */
  policy?: DisclosurePolicy;
  authenticate: Authenticate;
  /** Browser sign-in: how long sessions last, and the check that ends one whose API key was revoked. */
  sessions: CarelakeConfig['serve']['session'] & {
    stillValid: PrincipalCheck;
    /** The clock sessions are timed by; defaults to the system clock. */
    clock?: () => Date;
  };
  audit: AuditLog;
  limits: CarelakeConfig['serve']['limits'];
  /** Engineers' metrics and runs page, over the lake's run ledger and the config's sources and schedules. */
  operations?: {
    config: CarelakeConfig;
    /** The time freshness and next runs are judged at; defaults to the system clock. */
    clock?: () => Date;
  };
}

export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const { layout, limits } = options;
  const policy = options.policy ?? DEFAULT_DISCLOSURE_POLICY;
  const reader = new ServingReader(layout, COMMISSIONER_ROLE);
  const analystReader = new ServingReader(layout, ANALYST_ROLE);

  const app: FastifyInstance = fastify({
    ...(options.logger === false ? { logger: false } : options.logger ? { loggerInstance: options.logger } : { logger: { level: 'info' } }),
    // Ids are ours, not the client's, so a log line can be trusted to name one request.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
  });

  const operations = options.operations;
  const ledger = operations ? ledgerReadHandle(layout.ledger) : null;
  const metrics = operations && ledger ? serverMetrics({ layout, sources: operations.config.sources, ledger: ledger.get, clock: operations.clock }) : null;
  // First of all, so every request is timed, even one refused at sign-in.
  metrics?.timeRequests(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // The runs pages' own inline stylesheet, allowed by hash (securityHeaders.ts); the others link /assets.
  const samplePages = [runHistoryPage([], { source: '', status: '', sources: [], limit: 1 })];
  await registerSecurityHeaders(app, { styleHashes: inlineStyleHashes(samplePages) });
  // Audit first, so even a request refused at sign-in is written down.
  registerRequestAudit(app, options.audit);
  // Cookies are parsed in an onRequest hook, which must run before authentication's.
  await app.register(cookie);
  const sessions = new BrowserSessions(options.sessions);
  registerRequestAuth(app, options.authenticate, sessions);
  registerCsrfCheck(app);
  // Per principal, after authentication (preHandler), so one caller cannot starve the others.
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: limits.rateLimit,
    timeWindow: limits.rateWindowMs,
    keyGenerator: (request) => request.principal?.id ?? request.ip,
  });
  app.addHook('onClose', async () => {
    reader.close();
    analystReader.close();
    ledger?.close();
  });

  app.get('/api/health', { config: { access: 'public', rateLimit: false } }, async (_request, reply) => {
    const pointer = await readServingPointer(layout);
    // File locations stay private; the release ids and times are what an operator needs.
    const releases = Object.fromEntries(
      Object.entries(pointer?.releases ?? {}).map(([role, entry]) => [role, { releaseId: entry.releaseId, publishedAt: entry.publishedAt }]),
    );
    if (Object.keys(releases).length === 0) return reply.code(503).send({ status: 'unavailable', releases });
    return { status: 'ok', releases };
  });

  registerQueryRoute(app, { reader: analystReader, policy, limits, access: [ANALYST_ROLE] });

  metrics?.registerRoute(app, [ENGINEER_ROLE]);

  const assets = new AssetStore();
  const pdf = options.chromium ? new ReportPdfPrinter({ executablePath: options.chromium, assets }) : null;
  app.addHook('onClose', async () => pdf?.close());
  registerAssetRoutes(app, assets);
  registerReportRoutes(app, { reader, policy, catalog: options.reports, access: [COMMISSIONER_ROLE], pdf });

  app.setNotFoundHandler(async (request, reply) => sendProblem(request, reply, new HttpProblem('not-found', 'Not found.')));
  app.setErrorHandler(async (err, request, reply) => sendProblem(request, reply, err));

  // After the handlers are set, so the sign-in and ops scopes inherit them.
  await registerSignInRoutes(app, { authenticate: options.authenticate, sessions });
  if (operations && ledger) {
    await registerOpsRoutes(app, { layout, config: operations.config, ledger: ledger.get, access: [ENGINEER_ROLE], clock: operations.clock });
  }

  return app;
}

/**
 * One ledger handle for the server's life, opened once the lake has a ledger (a fresh lake has none
 * until something runs; the server does not create it). SQLite in WAL mode lets it read while the
 * scheduler and loads write.
 */
function ledgerReadHandle(path: string): { get: () => Ledger | null; close: () => void } {
  let ledger: Ledger | null = null;
  return {
    get: () => {
      if (ledger === null && existsSync(path)) ledger = Ledger.open(path);
      return ledger;
    },
    close: () => {
      ledger?.close();
      ledger = null;
    },
  };
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const problem = toProblem(err, request.id);
  if (request.audit) request.audit.error ??= err instanceof CarelakeError ? err.code : `http.${problem.outcome}`;
  if (problem.internal) {
    // toJSON() carries no row values or secrets by construction (core/errors.ts).
    request.log.error({ error: toCarelakeError(err).toJSON() }, 'request failed'); // the log line already carries reqId
  }
  reply.code(problem.status);
  if (isApiRequest(request)) return reply.type('application/json; charset=utf-8').send(operationOutcome(problem.outcome, problem.diagnostics));
  return reply.type('text/html; charset=utf-8').send(errorPage(problem.status, problemHeading[problem.outcome], problem.diagnostics));
}

const problemHeading: Record<ReturnType<typeof toProblem>['outcome'], string> = {
  'not-found': 'Page not found',
  invalid: 'Bad request',
  login: 'Sign in',
  forbidden: 'Not allowed',
  throttled: 'Too many requests',
  'too-costly': 'Query too large',
  'not-supported': 'Not available',
  transient: 'Service unavailable',
  exception: 'Sorry, something went wrong',
};

function isApiRequest(request: FastifyRequest): boolean {
  return request.url === '/api' || request.url.startsWith('/api/');
}
