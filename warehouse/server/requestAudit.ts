// Every request the serving API answers is written to the audit log once it has been answered: who
// (principal and role, or `anonymous`), what (endpoint, query text or report id, parameters), how much
// (rows returned, duration) and how it ended. Handlers add what only they know to `request.audit`;
// the outcome is derived from the status and the error, so no path can forget to set it.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/auditLog.ts';
import type { AuditOutcome } from '../audit/auditEntry.ts';
import type { Principal } from '../auth/principal.ts';

/** What a handler knows that the audit trail needs. */
export interface RequestAuditNote {
  query?: string;
  reportId?: string;
  params?: Record<string, unknown>;
  /** Rows returned; a function when they are counted as the response streams. */
  rows?: number | (() => number);
  release?: string;
  /** A carelake error code, e.g. `query.refused`. */
  error?: string;
  /** Set when the status alone cannot say (a refused statement and a bad body are both 400). */
  outcome?: AuditOutcome;
  startedAt?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    audit: RequestAuditNote;
  }
}

export const ANONYMOUS = 'anonymous';

export function registerRequestAudit(app: FastifyInstance, audit: AuditLog): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('audit', null as unknown as RequestAuditNote);
  const write = async (request: FastifyRequest, reply: FastifyReply | null): Promise<void> => {
    try {
      await audit.append(auditEntryFor(request, reply));
    } catch (err) {
      // The response has gone; what is left is to make the gap impossible to miss.
      request.log.error({ error: err instanceof Error ? err.message : String(err) }, 'AUDIT WRITE FAILED: this request is not in the audit log');
    }
  };
  app.addHook('onRequest', async (request, reply) => {
    request.audit = { startedAt: performance.now() };
    // A client that goes away before its answer gets no onResponse; it is audited all the same.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) void write(request, null);
    });
  });
  app.addHook('onResponse', async (request, reply) => write(request, reply));
}

/** nginx's "client closed request": the client left before it was answered. */
export const CLIENT_CLOSED_STATUS = 499;

function auditEntryFor(request: FastifyRequest, reply: FastifyReply | null) {
  const note = request.audit ?? {};
  return {
    principal: request.principal?.id ?? ANONYMOUS,
    role: request.principal?.role ?? null,
    endpoint: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
    query: note.query ?? null,
    reportId: note.reportId ?? null,
    params: (note.params as Record<string, never> | undefined) ?? null,
    rows: typeof note.rows === 'function' ? note.rows() : (note.rows ?? null),
    durationMs: Math.round((reply?.elapsedTime ?? performance.now() - note.startedAt!) * 100) / 100,
    outcome: reply ? (note.outcome ?? outcomeOf(reply.statusCode)) : 'error',
    status: reply?.statusCode ?? CLIENT_CLOSED_STATUS,
    error: reply ? (note.error ?? null) : 'client.aborted',
    requestId: request.id,
    release: note.release ?? null,
  };
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'ok';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'denied';
  if (status === 429) return 'rate-limited';
  return 'error';
}
