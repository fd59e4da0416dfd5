// The HTTP edge for commissioners: JSON and server-rendered HTML reports over the commissioner serving
// release, every count passed through disclosure control. It reads only the serving layer (through
// ServingReader), never raw/ or the warehouse. Errors become OperationOutcomes (JSON) or a plain error
// page (HTML); internals go to the log under a request id, never to the client.
// Roles, authentication, audit and the query API arrive in a later issue.

import { randomUUID } from 'node:crypto';
import fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { toCarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { DEFAULT_DISCLOSURE_POLICY, type DisclosurePolicy } from '../disclosure/policy.ts';
import { discloseReport, type DisclosedReport } from '../reports/disclosedReport.ts';
import { reportRegistry, type ReportDefinition } from '../reports/reportDefinitions.ts';
import { readServingPointer } from '../serving/servingPointer.ts';
import { ServingReader } from '../serving/servingReader.ts';
import { HttpProblem, operationOutcome, toProblem } from './operationOutcome.ts';
import { errorPage, indexPage, reportPage } from './pages.ts';

export const COMMISSIONER_ROLE = 'commissioner';

export interface BuildServerOptions {
  layout: LakeLayout;
  reports: readonly ReportDefinition[];
  /** A pino (or pino-compatible) logger, or false for none. Defaults to a pino logger at `info`. */
  logger?: FastifyBaseLogger | false;
  /** Applied to every count in every report. Defaults to HES, the commissioner default. */
  policy?: DisclosurePolicy;
}

const MAX_ID_ECHO = 80;

// Report pages carry no scripts and no third-party content; the headers say so to the browser.
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const { layout } = options;
  const policy = options.policy ?? DEFAULT_DISCLOSURE_POLICY;
  const reports = reportRegistry(options.reports);
  const reader = new ServingReader(layout, COMMISSIONER_ROLE);

  const app: FastifyInstance = fastify({
    ...(options.logger === false ? { logger: false } : options.logger ? { loggerInstance: options.logger } : { logger: { level: 'info' } }),
    // Ids are ours, not the client's, so a log line can be trusted to name one request.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
  });
  app.addHook('onClose', async () => reader.close());

  const runReport = async (id: string): Promise<DisclosedReport> => {
    const report = reports.get(id);
    if (!report) throw new HttpProblem('not-found', `There is no report with id '${id.slice(0, MAX_ID_ECHO)}'.`);
    return reader.use(async (db, release) => {
      const result = await db.table(report.sql, undefined, `run report ${report.id}`);
      const builtAt = await db.scalar('SELECT built_at FROM _release LIMIT 1', undefined, 'read the release metadata');
      const asOf = typeof builtAt === 'string' ? builtAt : release.publishedAt;
      return discloseReport(report, result, { release: release.releaseId, asOf, policy });
    });
  };

  app.get('/api/health', async (_request, reply) => {
    const pointer = await readServingPointer(layout);
    // File locations stay private; the release ids and times are what an operator needs.
    const releases = Object.fromEntries(
      Object.entries(pointer?.releases ?? {}).map(([role, entry]) => [role, { releaseId: entry.releaseId, publishedAt: entry.publishedAt }]),
    );
    if (Object.keys(releases).length === 0) return reply.code(503).send({ status: 'unavailable', releases });
    return { status: 'ok', releases };
  });

  app.get<{ Params: { id: string } }>('/api/reports/:id', async (request) => runReport(request.params.id));

  app.get('/', async (_request, reply) => {
    const release = await reader.currentRelease();
    return reply.type('text/html; charset=utf-8').send(indexPage([...reports.values()], release));
  });

  app.get<{ Params: { id: string } }>('/reports/:id', async (request, reply) => {
    const report = await runReport(request.params.id);
    return reply.type('text/html; charset=utf-8').send(reportPage(report));
  });

  app.setNotFoundHandler(async (request, reply) => sendProblem(request, reply, new HttpProblem('not-found', 'Not found.')));
  app.setErrorHandler(async (err, request, reply) => sendProblem(request, reply, err));

  return app;
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const problem = toProblem(err, request.id);
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
  transient: 'Service unavailable',
  exception: 'Sorry, something went wrong',
};

function isApiRequest(request: FastifyRequest): boolean {
  return request.url === '/api' || request.url.startsWith('/api/');
}
