// SMART Backend Services client against a tiny real token server on loopback: discovery, RS384 and
// ES384 assertions verified with jose (aud, iss, sub, exp ≤ 5 min, jti never reused), token reuse and
// renewal on an injected clock, one token request for concurrent callers, re-authentication once on
// 401, and errors that say what failed without the assertion or the token. The full Bulk Data test
// server lives in tests/support/fhirBulkServer/; this one is kept to what auth needs.

import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { loadClientKey, type ClientKey } from '../../../pipelines/fhir-bulk/clientKey.ts';
import { SmartBackendAuth, withAuthRetry, type SmartAuthConfig } from '../../../pipelines/fhir-bulk/smartAuth.ts';

const CLIENT_ID = 'carelake-test-client';
const SCOPE = 'system/*.rs';

// ---------------------------------------------------------------------------------------------
// The token server

interface Canned {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

interface TokenServer {
  baseUrl: string;
  tokenEndpoint: string;
  /** The smart-configuration document served; tests may edit it. */
  smartConfiguration: Record<string, unknown>;
  /** Replaces the normal answer of a route, for error tests. */
  override: { discovery?: Canned; token?: Canned };
  expiresIn: number;
  /** The server's clock; tests move it together with the client's. */
  nowMs: number;
  counts: { discovery: number; token: number; resource: number };
  assertions: string[];
  issued: string[];
  revoked: Set<string>;
  rejectAllResources: boolean;
  close(): Promise<void>;
}

async function startTokenServer(jwks: { keys: JWK[] }): Promise<TokenServer> {
  const keySet = createLocalJWKSet(jwks);
  const seenJti = new Set<string>();
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: 'server_error', error_description: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: TokenServer = {
    baseUrl: `${origin}/fhir`,
    tokenEndpoint: `${origin}/auth/token`,
    smartConfiguration: {
      token_endpoint: `${origin}/auth/token`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/*.rs', 'system/*.read'],
      capabilities: ['client-confidential-asymmetric'],
    },
    override: {},
    expiresIn: 300,
    nowMs: Date.now(),
    counts: { discovery: 0, token: 0, resource: 0 },
    assertions: [],
    issued: [],
    revoked: new Set(),
    rejectAllResources: false,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', origin).pathname;
    if (req.method === 'GET' && path === '/fhir/.well-known/smart-configuration') {
      state.counts.discovery++;
      if (req.headers.accept !== 'application/json') return send(res, 406, { error: 'expected Accept: application/json' });
      if (state.override.discovery) return sendCanned(res, state.override.discovery);
      return send(res, 200, state.smartConfiguration);
    }
    if (req.method === 'POST' && path === '/auth/token') {
      state.counts.token++;
      const form = new URLSearchParams(await readAll(req));
      const assertion = form.get('client_assertion') ?? '';
      state.assertions.push(assertion);
      if (state.override.token) return sendCanned(res, state.override.token);
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return send(res, 400, { error: 'invalid_request', error_description: 'form expected' });
      if (form.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' });
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return send(res, 400, { error: 'invalid_request', error_description: 'client_assertion_type' });
      if (form.get('scope') !== SCOPE) return send(res, 400, { error: 'invalid_scope' });
      const problem = await verifyAssertion(assertion);
      if (problem) return send(res, 401, { error: 'invalid_client', error_description: problem });
      const token = randomBytes(24).toString('base64url');
      state.issued.push(token);
      return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: state.expiresIn, scope: SCOPE });
    }
    if (req.method === 'GET' && path === '/fhir/Patient') {
      state.counts.resource++;
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const valid = token !== undefined && state.issued.includes(token) && !state.revoked.has(token);
      if (!valid || state.rejectAllResources) return send(res, 401, { resourceType: 'OperationOutcome' });
      return send(res, 200, { resourceType: 'Bundle' });
    }
    send(res, 404, { error: 'not found' });
  }

  /** What the SMART spec asks a server to check; returns the problem, or null. */
  async function verifyAssertion(assertion: string): Promise<string | null> {
    try {
      const { payload, protectedHeader } = await jwtVerify(assertion, keySet, {
        audience: state.tokenEndpoint,
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        algorithms: ['RS384', 'ES384'],
        typ: 'JWT',
        currentDate: new Date(state.nowMs),
        requiredClaims: ['exp', 'jti'],
      });
      if (!protectedHeader.kid) return 'no kid';
      if (payload.exp! > Math.floor(state.nowMs / 1000) + 300) return 'exp more than 5 minutes ahead';
      if (seenJti.has(payload.jti!)) return 'jti reused';
      seenJti.add(payload.jti!);
      return null;
    } catch (err) {
      return err instanceof Error ? `assertion rejected: ${err.message}` : 'assertion rejected';
    }
  }

  return state;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sendCanned(res: ServerResponse, canned: Canned): void {
  res.writeHead(canned.status, { 'content-type': 'application/json', ...canned.headers }).end(canned.body);
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Keys and files

type Alg = 'RS384' | 'ES384';
interface KeyFiles {
  jwk: string;
  jwks: string;
  pem: string;
  kid: string;
}

let dir: string;
const files = {} as Record<Alg, KeyFiles>;
const registered: JWK[] = [];
let unregisteredKey: ClientKey;
let server: TokenServer;

function writeKeyFile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-smart-int-'));
  for (const alg of ['RS384', 'ES384'] as const) {
    const pair = await generateKeyPair(alg, { extractable: true });
    const kid = `${alg.toLowerCase()}-key`;
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg };
    registered.push({ ...(await exportJWK(pair.publicKey)), kid, alg });
    files[alg] = {
      kid,
      jwk: writeKeyFile(`${alg}.jwk.json`, JSON.stringify(privateJwk)),
      jwks: writeKeyFile(`${alg}.jwks.json`, JSON.stringify({ keys: [privateJwk] })),
      pem: writeKeyFile(`${alg}.pem`, await exportPKCS8(pair.privateKey)),
    };
  }
  // A key the server has never been given, signed under a registered kid: the server must reject it.
  const stranger = await generateKeyPair('RS384', { extractable: true });
  unregisteredKey = await loadClientKey(writeKeyFile('stranger.json', JSON.stringify({ ...(await exportJWK(stranger.privateKey)), kid: 'rs384-key' })), { env: {} });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  server = await startTokenServer({ keys: registered });
});

afterEach(async () => {
  await server.close();
});

function authConfig(overrides: Partial<SmartAuthConfig> = {}): SmartAuthConfig {
  return { clientId: CLIENT_ID, privateKeyFile: files.RS384.jwk, scope: SCOPE, ...overrides };
}

async function rsaKey(): Promise<ClientKey> {
  return loadClientKey(files.RS384.jwk, { env: {} });
}

/** A clock shared by client and server, moved by tests. */
function sharedClock(): { now: () => number; advance: (ms: number) => void } {
  return {
    now: () => server.nowMs,
    advance: (ms) => {
      server.nowMs += ms;
    },
  };
}

// ---------------------------------------------------------------------------------------------

describe('discovery and token for each key kind', () => {
  const cases: { description: string; alg: Alg; file: keyof Omit<KeyFiles, 'kid'>; kidFromConfig: boolean }[] = [
    { description: 'RS384 from a JWK', alg: 'RS384', file: 'jwk', kidFromConfig: false },
    { description: 'RS384 from a JWKS', alg: 'RS384', file: 'jwks', kidFromConfig: false },
    { description: 'RS384 from a PKCS#8 PEM with kid in config', alg: 'RS384', file: 'pem', kidFromConfig: true },
    { description: 'ES384 from a JWK', alg: 'ES384', file: 'jwk', kidFromConfig: false },
    { description: 'ES384 from a JWKS', alg: 'ES384', file: 'jwks', kidFromConfig: false },
    { description: 'ES384 from a PKCS#8 PEM with kid in config', alg: 'ES384', file: 'pem', kidFromConfig: true },
  ];

  it.each(cases)('$description', async ({ alg, file, kidFromConfig }) => {
    const path = files[alg][file];
    const kid = kidFromConfig ? files[alg].kid : undefined;
    const key = await loadClientKey(path, { env: {}, kid });
    expect(key.alg).toBe(alg);
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig({ privateKeyFile: path, kid, algorithm: alg }), { key });
    expect(auth.tokenEndpoint).toBe(server.tokenEndpoint);
    const authorization = await auth.authorization();
    expect(authorization).toBe(`Bearer ${server.issued[0]}`);
    expect(server.counts).toMatchObject({ discovery: 1, token: 1 });
  });

  it('tolerates a trailing slash on the base URL', async () => {
    const auth = await SmartBackendAuth.create(`${server.baseUrl}/`, authConfig(), { key: await rsaKey() });
    expect(auth.tokenEndpoint).toBe(server.tokenEndpoint);
  });

  it('skips discovery when the token endpoint is configured', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig({ tokenEndpoint: server.tokenEndpoint }), { key: await rsaKey() });
    await auth.authorization();
    expect(server.counts).toMatchObject({ discovery: 0, token: 1 });
  });

  it('signs every assertion with a fresh jti (the server rejects a reused one)', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey() });
    for (let i = 0; i < 5; i++) {
      auth.invalidate();
      await auth.authorization();
    }
    expect(server.counts.token).toBe(5);
    expect(new Set(server.assertions).size).toBe(5);
  });
});

describe('token reuse and renewal', () => {
  // Renewal comes 30 s before expiry, or 10% of the lifetime if that is sooner.
  const cases = [
    { description: '300 s token: reused until 270 s, renewed from 270 s', expiresIn: 300, renewAtMs: 270_000 },
    { description: '60 s token: 10% (6 s) margin, renewed from 54 s', expiresIn: 60, renewAtMs: 54_000 },
    { description: '3600 s token: 30 s margin, renewed from 3570 s', expiresIn: 3600, renewAtMs: 3_570_000 },
  ];

  it.each(cases)('$description', async ({ expiresIn, renewAtMs }) => {
    server.expiresIn = expiresIn;
    const clock = sharedClock();
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey(), now: clock.now });
    const first = await auth.authorization();
    clock.advance(renewAtMs - 1);
    expect(await auth.authorization()).toBe(first);
    expect(server.counts.token).toBe(1);
    clock.advance(1);
    const second = await auth.authorization();
    expect(second).not.toBe(first);
    expect(server.counts.token).toBe(2);
    expect(await auth.authorization()).toBe(second);
    expect(server.counts.token).toBe(2);
  });

  it('concurrent callers share one token request', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey() });
    const all = await Promise.all(Array.from({ length: 20 }, () => auth.authorization()));
    expect(new Set(all).size).toBe(1);
    expect(server.counts.token).toBe(1);
  });

  it('concurrent callers at renewal time also share one request', async () => {
    const clock = sharedClock();
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey(), now: clock.now });
    const first = await auth.authorization();
    clock.advance(280_000);
    const all = await Promise.all(Array.from({ length: 10 }, () => auth.authorization()));
    expect(new Set(all).size).toBe(1);
    expect(all[0]).not.toBe(first);
    expect(server.counts.token).toBe(2);
  });

  it('a failed token request is not cached: the next call tries again', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey() });
    server.override.token = { status: 503, body: '{"error":"temporarily_unavailable"}' };
    const results = await Promise.allSettled([auth.authorization(), auth.authorization()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(server.counts.token).toBe(1);
    server.override.token = undefined;
    await expect(auth.authorization()).resolves.toMatch(/^Bearer /);
    expect(server.counts.token).toBe(2);
  });
});

describe('withAuthRetry', () => {
  const fetchPatients = (authorization: string | null): Promise<Response> =>
    fetch(`${server.baseUrl}/Patient`, { headers: authorization === null ? {} : { authorization } });

  it('re-authenticates once when the token is rejected, then succeeds', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey() });
    const first = await auth.authorization();
    server.revoked.add(first.slice('Bearer '.length));
    const response = await withAuthRetry(auth, fetchPatients);
    expect(response.status).toBe(200);
    expect(server.counts).toMatchObject({ token: 2, resource: 2 });
    expect(await auth.authorization()).not.toBe(first);
  });

  it('does not retry a second time when the new token is rejected too', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey() });
    server.rejectAllResources = true;
    const response = await withAuthRetry(auth, fetchPatients);
    expect(response.status).toBe(401);
    expect(server.counts).toMatchObject({ token: 2, resource: 2 });
  });

  it('sends once without auth and never retries', async () => {
    const response = await withAuthRetry(null, fetchPatients);
    expect(response.status).toBe(401);
    expect(server.counts).toMatchObject({ token: 0, resource: 1 });
  });

  it('a plain success needs one token and one request', async () => {
    const auth = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: await rsaKey() });
    const response = await withAuthRetry(auth, fetchPatients);
    expect(response.status).toBe(200);
    expect(server.counts).toMatchObject({ token: 1, resource: 1 });
  });
});

describe('errors say what failed and never carry the assertion or a token', () => {
  const SECRET_TOKEN = 'tok-SECRET-do-not-print-0123456789';
  const cases: {
    description: string;
    arrange: () => void;
    key?: () => ClientKey;
    code: string;
    expected: RegExp[];
  }[] = [
    { description: 'discovery answers 404', arrange: () => (server.override.discovery = { status: 404, body: '{}' }), code: 'smart.discovery', expected: [/smart-configuration\) failed with HTTP 404/, /set tokenEndpoint/] },
    { description: 'discovery answers HTML', arrange: () => (server.override.discovery = { status: 200, body: '<html>hi</html>' }), code: 'smart.discovery', expected: [/body that is not JSON/] },
    { description: 'discovery lacks token_endpoint', arrange: () => delete server.smartConfiguration.token_endpoint, code: 'smart.discovery', expected: [/invalid SMART configuration: token_endpoint expected string/] },
    { description: 'discovery has a relative token_endpoint', arrange: () => (server.smartConfiguration.token_endpoint = '/auth/token'), code: 'smart.discovery', expected: [/token_endpoint expected an absolute URL/] },
    {
      description: 'server does not support private_key_jwt',
      arrange: () => (server.smartConfiguration.token_endpoint_auth_methods_supported = ['client_secret_basic']),
      code: 'smart.discovery',
      expected: [/does not support private_key_jwt client authentication \(it lists client_secret_basic\)/],
    },
    {
      description: 'server does not accept our algorithm',
      arrange: () => (server.smartConfiguration.token_endpoint_auth_signing_alg_values_supported = ['ES384']),
      code: 'smart.discovery',
      expected: [/does not accept RS384 client assertions \(it lists ES384\)/],
    },
    {
      description: 'server does not offer client_credentials',
      arrange: () => (server.smartConfiguration.grant_types_supported = ['authorization_code']),
      code: 'smart.discovery',
      expected: [/does not support the client_credentials grant/],
    },
    {
      description: 'the server does not hold our public key',
      arrange: () => undefined,
      key: () => unregisteredKey,
      code: 'smart.token',
      expected: [/token request to http:\/\/127\.0\.0\.1:\d+\/auth\/token failed with HTTP 401: invalid_client — assertion rejected/, /check clientId, kid and algorithm/],
    },
    {
      description: 'the token endpoint answers 400 invalid_scope',
      arrange: () => (server.override.token = { status: 400, body: '{"error":"invalid_scope","error_description":"system/*.rs not allowed"}' }),
      code: 'smart.token',
      expected: [/failed with HTTP 400: invalid_scope — system\/\*\.rs not allowed/, /requested scope/],
    },
    {
      description: 'the token endpoint answers 500 with a non-JSON body',
      arrange: () => (server.override.token = { status: 500, body: `oops ${SECRET_TOKEN}` }),
      code: 'smart.token',
      expected: [/failed with HTTP 500 \(http/],
    },
    {
      description: 'the token endpoint redirects',
      arrange: () => (server.override.token = { status: 302, body: '', headers: { location: 'https://elsewhere.example/token' } }),
      code: 'smart.token',
      expected: [/failed with HTTP 302 \(a redirect; configure the final token endpoint URL\)/],
    },
    {
      description: 'a 200 whose body is not JSON',
      arrange: () => (server.override.token = { status: 200, body: `access_token=${SECRET_TOKEN}&expires_in=300` }),
      code: 'smart.token',
      expected: [/returned HTTP 200 with a body that is not JSON/],
    },
    {
      description: 'a token that is not a bearer token',
      arrange: () => (server.override.token = { status: 200, body: JSON.stringify({ access_token: SECRET_TOKEN, token_type: 'mac', expires_in: 300 }) }),
      code: 'smart.token',
      expected: [/invalid token response: token_type expected "bearer"/],
    },
    {
      description: 'a token without expires_in',
      arrange: () => (server.override.token = { status: 200, body: JSON.stringify({ access_token: SECRET_TOKEN, token_type: 'bearer' }) }),
      code: 'smart.token',
      expected: [/invalid token response: expires_in expected number/],
    },
    {
      description: 'expires_in given as a string',
      arrange: () => (server.override.token = { status: 200, body: JSON.stringify({ access_token: SECRET_TOKEN, token_type: 'bearer', expires_in: '300' }) }),
      code: 'smart.token',
      expected: [/expires_in expected number/],
    },
  ];

  it.each(cases)('$description', async ({ arrange, key, code, expected }) => {
    arrange();
    const error = await SmartBackendAuth.create(server.baseUrl, authConfig(), { key: key ? key() : await rsaKey() })
      .then((auth) => auth.authorization())
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(CarelakeError);
    const err = error as CarelakeError;
    expect(err.code).toBe(code);
    for (const pattern of expected) expect(err.render()).toMatch(pattern);
    const shown = `${err.render()} ${JSON.stringify(err)} ${err.stack ?? ''} ${String(err.cause ?? '')}`;
    expect(shown).not.toContain(SECRET_TOKEN);
    for (const token of server.issued) expect(shown).not.toContain(token);
    for (const assertion of server.assertions) {
      expect(shown).not.toContain(assertion);
      expect(shown).not.toContain(assertion.split('.')[2]!);
    }
  });

  it('an unreachable token endpoint is named with the network reason', async () => {
    const tokenEndpoint = server.tokenEndpoint;
    await server.close();
    const auth = await SmartBackendAuth.create('http://127.0.0.1:9', authConfig({ tokenEndpoint }), { key: await rsaKey() });
    await expect(auth.authorization()).rejects.toThrow(/SMART token request to http:\/\/127\.0\.0\.1:\d+\/auth\/token failed: ECONNREFUSED/);
    server = await startTokenServer({ keys: registered }); // for afterEach
  });
});
