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
  app.addHook('onRequest', async (request) => {
    request.audit = {};
  });
  app.addHook('onResponse', async (request, reply) => {
    try {
      await audit.append(auditEntryFor(request, reply));
    } catch (err) {
      // The response has gone; what is left is to make the gap impossible to miss.
      request.log.error({ error: err instanceof Error ? err.message : String(err) }, 'AUDIT WRITE FAILED: this request is not in the audit log');
    }
  });
}

function auditEntryFor(request: FastifyRequest, reply: FastifyReply) {
  const note = request.audit ?? {};
  return {
    principal: request.principal?.id ?? ANONYMOUS,
    role: request.principal?.role ?? null,
    endpoint: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
    query: note.query ?? null,
    reportId: note.reportId ?? null,
    params: (note.params as Record<string, never> | undefined) ?? null,
    rows: typeof note.rows === 'function' ? note.rows() : (note.rows ?? null),
    durationMs: Math.round(reply.elapsedTime * 100) / 100,
    outcome: note.outcome ?? outcomeOf(reply.statusCode),
    status: reply.statusCode,
    error: note.error ?? null,
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
