// SMART Backend Services on the FHIR Bulk test server: discovery, the token endpoint accepting RS384
// and ES384 client assertions signed with jose and refusing bad ones (expired, wrong aud, replayed jti,
// unknown kid, …), and the bearer token demanded by every kick-off, poll, download and DELETE.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FhirBulkTestServer, type BulkServerAuth } from '../../support/fhirBulkServer/FhirBulkTestServer.ts';
import { bearer, downloadLines, issueCode, KICKOFF_HEADERS, kickOff, pollToManifest } from './bulkFetch.ts';
import { tinyData } from './fixtures.ts';

const CLIENT_ID = 'carelake-test-client';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

type Alg = 'RS384' | 'ES384';

interface ClientKey {
  alg: Alg;
  kid: string;
  privateKey: CryptoKey;
}

let server: FhirBulkTestServer;
let keys: Record<Alg, ClientKey>;
let strangerKey: CryptoKey;
let auth: BulkServerAuth;

const tokenSchema = z.object({ access_token: z.string().min(20), token_type: z.literal('bearer'), expires_in: z.number(), scope: z.string() });
const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string() });

async function clientKey(alg: Alg): Promise<{ key: ClientKey; jwk: object }> {
  const pair = await generateKeyPair(alg);
  const kid = `${alg.toLowerCase()}-key`;
  return { key: { alg, kid, privateKey: pair.privateKey }, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg } };
}

interface AssertionOptions {
  key?: ClientKey;
  signWith?: CryptoKey;
  kid?: string;
  aud?: string;
  iss?: string;
  expiresIn?: number;
  jti?: string;
}

async function assertion(options: AssertionOptions = {}): Promise<string> {
  const key = options.key ?? keys.RS384;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.iss ?? CLIENT_ID)
    .setSubject(CLIENT_ID)
    .setAudience(options.aud ?? `${server.baseUrl}/auth/token`)
    .setExpirationTime(now + (options.expiresIn ?? 240))
    .setJti(options.jti ?? randomUUID())
    .sign(options.signWith ?? key.privateKey);
}

async function requestToken(fields: Record<string, string>): Promise<Response> {
  return fetch(`${server.baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.read', client_assertion_type: ASSERTION_TYPE, ...fields }).toString(),
  });
}

async function token(key: ClientKey = keys.RS384): Promise<string> {
  const response = await requestToken({ client_assertion: await assertion({ key }) });
  expect(response.status).toBe(200);
  return tokenSchema.parse(await response.json()).access_token;
}

beforeAll(async () => {
  const rs = await clientKey('RS384');
  const es = await clientKey('ES384');
  strangerKey = (await generateKeyPair('RS384')).privateKey;
  keys = { RS384: rs.key, ES384: es.key };
  auth = { clientId: CLIENT_ID, jwks: { keys: [rs.jwk, es.jwk] } };
  server = await FhirBulkTestServer.start(tinyData(), { requireAuth: auth, pollsBeforeComplete: 0 });
});
afterAll(async () => {
  await server.close();
});

describe('FHIR Bulk test server: SMART Backend Services', () => {
  it('publishes its SMART configuration', async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/smart-configuration`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      token_endpoint: `${server.baseUrl}/auth/token`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      grant_types_supported: ['client_credentials'],
      scopes_supported: expect.arrayContaining(['system/*.read', 'system/*.rs']),
    });
  });

  it.each(['RS384', 'ES384'] as const)('issues a bearer token for a valid %s assertion', async (alg) => {
    const response = await requestToken({ client_assertion: await assertion({ key: keys[alg] }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(tokenSchema.parse(await response.json())).toMatchObject({ token_type: 'bearer', expires_in: 300, scope: 'system/*.read' });
  });

  const rejected: { description: string; fields: () => Promise<Record<string, string>>; error: string }[] = [
    { description: 'an expired assertion', fields: async () => ({ client_assertion: await assertion({ expiresIn: -60 }) }), error: 'invalid_client' },
    { description: 'exp more than 5 minutes ahead', fields: async () => ({ client_assertion: await assertion({ expiresIn: 600 }) }), error: 'invalid_client' },
    { description: 'the wrong aud', fields: async () => ({ client_assertion: await assertion({ aud: `${server.baseUrl}/token` }) }), error: 'invalid_client' },
    { description: 'the wrong iss', fields: async () => ({ client_assertion: await assertion({ iss: 'someone-else' }) }), error: 'invalid_client' },
    { description: 'an unknown kid', fields: async () => ({ client_assertion: await assertion({ kid: 'no-such-key' }) }), error: 'invalid_client' },
    { description: 'a signature by another key under a registered kid', fields: async () => ({ client_assertion: await assertion({ signWith: strangerKey }) }), error: 'invalid_client' },
    { description: 'a malformed assertion', fields: async () => ({ client_assertion: 'not.a.jwt' }), error: 'invalid_client' },
    { description: 'grant_type other than client_credentials', fields: async () => ({ grant_type: 'password', client_assertion: await assertion() }), error: 'unsupported_grant_type' },
    { description: 'a wrong client_assertion_type', fields: async () => ({ client_assertion_type: 'basic', client_assertion: await assertion() }), error: 'invalid_request' },
    { description: 'no scope', fields: async () => ({ scope: '', client_assertion: await assertion() }), error: 'invalid_request' },
    { description: 'only unsupported scopes', fields: async () => ({ scope: 'user/*.write', client_assertion: await assertion() }), error: 'invalid_scope' },
  ];
  it.each(rejected)('refuses $description with 400 $error', async ({ fields, error }) => {
    const response = await requestToken(await fields());
    expect(response.status).toBe(400);
    expect(oauthErrorSchema.parse(await response.json()).error).toBe(error);
  });

  it('refuses a replayed jti', async () => {
    const jwt = await assertion({ jti: 'once-only' });
    expect((await requestToken({ client_assertion: jwt })).status).toBe(200);
    const replay = await requestToken({ client_assertion: jwt });
    expect(replay.status).toBe(400);
    expect(oauthErrorSchema.parse(await replay.json())).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/jti/) });
  });

  it('answers 401 with an OperationOutcome to a kick-off without a token or with an unknown one', async () => {
    for (const authorization of [null, 'made-up-token']) {
      const response = await fetch(`${server.baseUrl}/$export`, { headers: { ...KICKOFF_HEADERS, ...bearer(authorization) } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(await issueCode(response)).toBe('login');
    }
  });

  it('runs a whole export with a token, and demands it for polls, downloads and DELETE', async () => {
    const headers = bearer(await token(keys.ES384));
    const statusUrl = await kickOff(`${server.baseUrl}/$export?_type=Patient`, { headers });
    expect((await fetch(statusUrl)).status).toBe(401);
    const { manifest } = await pollToManifest(statusUrl, headers);
    expect(manifest.requiresAccessToken).toBe(true);
    const url = manifest.output[0]?.url ?? '';
    expect((await fetch(url, { headers: { Accept: 'application/fhir+ndjson' } })).status).toBe(401);
    expect(await downloadLines(url, headers)).toHaveLength(3);
    expect((await fetch(statusUrl, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(statusUrl, { method: 'DELETE', headers })).status).toBe(202);
    expect(server.log.filter((e) => e.path.includes('/bulkfiles/')).map((e) => e.authorization !== null)).toEqual([false, true]);
  });

  it('expires tokens after tokenLifetimeSeconds (401, issue code expired)', async () => {
    server.setBehaviour({ requireAuth: { ...auth, tokenLifetimeSeconds: 1 } });
    try {
      const headers = bearer(await token());
      await kickOff(`${server.baseUrl}/$export`, { headers });
      await sleep(1100);
      const response = await fetch(`${server.baseUrl}/$export`, { headers: { ...KICKOFF_HEADERS, ...headers } });
      expect(response.status).toBe(401);
      expect(await issueCode(response)).toBe('expired');
    } finally {
      server.setBehaviour({ requireAuth: auth, pollsBeforeComplete: 0 });
    }
  });

  it('serves no SMART configuration and no token endpoint when auth is off', async () => {
    const open = await FhirBulkTestServer.start(tinyData());
    try {
      for (const [method, path] of [
        ['GET', '.well-known/smart-configuration'],
        ['POST', 'auth/token'],
      ] as const) {
        const response = await fetch(`${open.baseUrl}/${path}`, { method });
        expect(response.status).toBe(404);
        await response.body?.cancel();
      }
    } finally {
      await open.close();
    }
  });
});
