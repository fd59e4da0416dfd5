// A governed serving API on 127.0.0.1 for tests: real API keys (one per role) in a fresh admin file,
// the lake's audit log, and the server's own limits unless a test sets tighter ones. Browsers sign in
// at /sign-in with the same keys (signIn); sessions can be timed by a test's clock.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { CarelakeConfig } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { ApiKeyStore, createApiKey } from '../../warehouse/auth/apiKeys.ts';
import { createAuthenticator, createPrincipalCheck } from '../../warehouse/auth/authenticate.ts';
import { ROLES, type Role } from '../../warehouse/auth/principal.ts';
import type { DisclosurePolicy } from '../../warehouse/disclosure/policy.ts';
import type { ReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';
import { buildServer, type BuildServerOptions } from '../../warehouse/server/buildServer.ts';
import { openAuditLog } from '../../warehouse/server/servingAccess.ts';

export const TEST_LIMITS: CarelakeConfig['serve']['limits'] = { maxRows: 100_000, timeoutMs: 30_000, rateLimit: 10_000, rateWindowMs: 60_000 };

export interface GovernedServer {
  app: FastifyInstance;
  base: string;
  /** A bearer token per role. */
  tokens: Record<Role, string>;
  /** The admin file the keys are in (for `revokeApiKey`). */
  keysFile: string;
  /** fetch with the role's bearer token. */
  as(role: Role, path: string, init?: RequestInit): Promise<Response>;
  /** POST /api/query as the role. */
  query(role: Role, sql: string, format?: 'json' | 'csv' | 'arrow'): Promise<Response>;
  /** Signs in at /sign-in with the role's key, as a browser would; returns the `name=value` of the session cookie. */
  signIn(role: Role): Promise<string>;
  close(): Promise<void>;
}

export async function startGovernedServer(options: {
  layout: LakeLayout;
  /** The Markdown reports served (reportCatalogOf); none by default. */
  reports?: ReportCatalog;
  /** Chromium for report PDFs; none by default. */
  chromium?: string;
  logger?: FastifyBaseLogger | false;
  limits?: Partial<CarelakeConfig['serve']['limits']>;
  policy?: DisclosurePolicy;
  /** The engineers' metrics and runs page. */
  operations?: BuildServerOptions['operations'];
  /** Session lifetimes (default 30 minutes idle, 8 hours at most) and the clock that times them. */
  sessions?: Partial<Omit<BuildServerOptions['sessions'], 'stillValid'>>;
}): Promise<GovernedServer> {
  const keysFile = join(await mkdtemp(join(tmpdir(), 'carelake-keys-')), 'api-keys.json');
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = (await createApiKey(keysFile, { name: `test-${role}`, role })).token;
  const audit = openAuditLog(options.layout);
  // The key file is re-read on every request, so a test can revoke a key and ask again at once.
  const apiKeys = await ApiKeyStore.open(keysFile, { recheckMs: 0 });
  const app = await buildServer({
    layout: options.layout,
    reports: options.reports ?? { dir: '', reports: [], broken: [] },
    chromium: options.chromium ?? null,
    logger: options.logger ?? false,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.operations ? { operations: options.operations } : {}),
    authenticate: createAuthenticator({ apiKeys }),
    sessions: { idleMinutes: 30, absoluteHours: 8, ...options.sessions, stillValid: createPrincipalCheck({ apiKeys }) },
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
    keysFile,
    as,
    query: (role, sql, format = 'json') =>
      as(role, '/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, format }) }),
    async signIn(role) {
      const response = await fetch(`${base}/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens[role] }),
        redirect: 'manual',
      });
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith('carelake_session='));
      if (response.status !== 303 || !cookie) throw new Error(`signing in as ${role} answered ${response.status} without a session cookie`);
      return cookie.split(';')[0] as string;
    },
    async close() {
      await app.close();
      await audit.close();
    },
  };
}
