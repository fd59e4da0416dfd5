// POST /api/query: one checked, read-only SELECT over the analyst serving release, streamed back as
// JSON, CSV or Arrow IPC. The statement check refuses anything but a single SELECT before DuckDB sees
// it; the connection itself is read-only with external access off and its configuration locked; rows
// and time are limited; counts of aggregate results pass disclosure control. Every outcome — refused,
// failed, timed out, streamed — is noted for the audit log.

import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';
import type { CarelakeConfig } from '../../core/config.ts';
import type { Role } from '../auth/principal.ts';
import type { DisclosurePolicy } from '../disclosure/policy.ts';
import { disclosedColumnIndexes, disclosedResult } from '../query/disclosedResult.ts';
import { runQuery } from '../query/queryRunner.ts';
import { encodeResult, RESULT_CONTENT_TYPES, RESULT_FORMATS } from '../query/resultFormats.ts';
import { checkStatement, MAX_STATEMENT_LENGTH } from '../query/statementCheck.ts';
import type { ServingReader } from '../serving/servingReader.ts';
import { HttpProblem } from './operationOutcome.ts';

const queryBody = z.strictObject({
  sql: z.string().min(1).max(MAX_STATEMENT_LENGTH),
  format: z.enum(RESULT_FORMATS as unknown as ['json', 'csv', 'arrow']).default('json'),
});

export interface QueryRouteOptions {
  reader: ServingReader;
  policy: DisclosurePolicy;
  limits: CarelakeConfig['serve']['limits'];
  access: readonly Role[];
}

/** Errors of the query path a client may be told, with the audit outcome they mean. */
const QUERY_ERRORS: Record<string, { outcome: 'refused' | 'timeout' | 'error'; problem: 'invalid' | 'too-costly' }> = {
  'query.refused': { outcome: 'refused', problem: 'invalid' },
  'query.syntax': { outcome: 'refused', problem: 'invalid' },
  'query.failed': { outcome: 'error', problem: 'invalid' },
  'query.timeout': { outcome: 'timeout', problem: 'too-costly' },
  // The client went away: nobody reads the answer, but the audit says the query was stopped.
  'query.cancelled': { outcome: 'error', problem: 'invalid' },
};

export function registerQueryRoute(app: FastifyInstance, options: QueryRouteOptions): void {
  const { reader, policy, limits } = options;
  app.post('/api/query', { config: { access: options.access } }, async (request, reply) => {
    const parsed = queryBody.safeParse(request.body);
    if (!parsed.success) {
      const where = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
      throw new HttpProblem('invalid', `Send JSON {"sql": "<one SELECT>", "format": "json" | "csv" | "arrow"} (${where}).`);
    }
    const { sql, format } = parsed.data;
    const note = request.audit;
    note.query = sql;
    note.params = { format };
    try {
      const statement = await checkStatement(sql);
      await reader.use(async (db, release) => {
        note.release = release.releaseId;
        const cancel = new AbortController();
        // A client that goes away stops its query rather than leaving it running. (The request's own
        // 'close' fires once its body has been read, so the response's is the one that means "gone".)
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) cancel.abort();
        });
        const result = await runQuery(db, statement, { maxRows: limits.maxRows, timeoutMs: limits.timeoutMs, signal: cancel.signal });
        const disclosed = disclosedResult(result, disclosedColumnIndexes(statement), policy);
        note.rows = () => disclosed.rowCount;
        const body = Readable.from(encodeResult(disclosed, format));
        body.once('error', (err) => {
          // Bytes have gone, so the response can only be cut short; the audit says why.
          const known = err instanceof CarelakeError ? QUERY_ERRORS[err.code] : undefined;
          note.outcome = known?.outcome ?? 'error';
          note.error = err instanceof CarelakeError ? err.code : 'query.stream';
        });
        reply
          .type(RESULT_CONTENT_TYPES[format])
          .header('x-carelake-release', release.releaseId)
          .header('x-carelake-row-limit', String(limits.maxRows))
          .header('x-carelake-disclosure', policy.scheme);
        await reply.send(body);
        await result.closed;
      });
      return reply;
    } catch (err) {
      const known = err instanceof CarelakeError ? QUERY_ERRORS[err.code] : undefined;
      if (!known) throw err;
      note.outcome = known.outcome;
      note.error = (err as CarelakeError).code;
      // These messages were written for the user: what was refused, or DuckDB's words without paths.
      throw new HttpProblem(known.problem, (err as CarelakeError).message);
    }
  });
}
