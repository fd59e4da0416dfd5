// A governed serving API on 127.0.0.1 for tests: real API keys (one per role) in a fresh admin file,
// the lake's audit log, and the server's own limits unless a test sets tighter ones.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { CarelakeConfig } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { ApiKeyStore, createApiKey } from '../../warehouse/auth/apiKeys.ts';
import { createAuthenticator } from '../../warehouse/auth/authenticate.ts';
import { ROLES, type Role } from '../../warehouse/auth/principal.ts';
import type { DisclosurePolicy } from '../../warehouse/disclosure/policy.ts';
import type { ReportDefinition } from '../../warehouse/reports/reportDefinitions.ts';
import { buildServer, type BuildServerOptions } from '../../warehouse/server/buildServer.ts';
import { openAuditLog } from '../../warehouse/server/servingAccess.ts';

export const TEST_LIMITS: CarelakeConfig['serve']['limits'] = { maxRows: 100_000, timeoutMs: 30_000, rateLimit: 10_000, rateWindowMs: 60_000 };

export interface GovernedServer {
  app: FastifyInstance;
  base: string;
  /** A bearer token per role. */
  tokens: Record<Role, string>;
  /** fetch with the role's bearer token. */
  as(role: Role, path: string, init?: RequestInit): Promise<Response>;
  /** POST /api/query as the role. */
  query(role: Role, sql: string, format?: 'json' | 'csv' | 'arrow'): Promise<Response>;
  close(): Promise<void>;
}

export async function startGovernedServer(options: {
  layout: LakeLayout;
  reports: readonly ReportDefinition[];
  logger?: FastifyBaseLogger | false;
  limits?: Partial<CarelakeConfig['serve']['limits']>;
  policy?: DisclosurePolicy;
  /** The engineers' metrics and runs page. */
  operations?: BuildServerOptions['operations'];
}): Promise<GovernedServer> {
  const keysFile = join(await mkdtemp(join(tmpdir(), 'carelake-keys-')), 'api-keys.json');
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = (await createApiKey(keysFile, { name: `test-${role}`, role })).token;
  const audit = openAuditLog(options.layout);
  const app = await buildServer({
    layout: options.layout,
    reports: options.reports,
    logger: options.logger ?? false,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.operations ? { operations: options.operations } : {}),
    authenticate: createAuthenticator({ apiKeys: await ApiKeyStore.open(keysFile) }),
    audit,
    limits: { ...TEST_LIMITS, ...options.limits },
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const as = (role: Role, path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${tokens[role]}` } });
  return {
    app,
    base,
    tokens,
    as,
    query: (role, sql, format = 'json') =>
      as(role, '/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, format }) }),
    async close() {
      await app.close();
      await audit.close();
    },
  };
}
