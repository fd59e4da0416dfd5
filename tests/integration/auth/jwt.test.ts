// JWT bearer tokens against a REAL JWKS endpoint: node:http on 127.0.0.1 (ephemeral port) serving the
// public halves of jose-generated key pairs, tokens signed with jose's SignJWT. Valid analyst and
// commissioner tokens pass; wrong issuer/audience, expired, not yet valid, another key, alg none,
// HS256 "signed" with the public key, and missing or unknown roles are refused with a reason.
// Also a local jwksFile, and the settings that must stop a server from starting.

import { createHash } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore } from '../../../warehouse/auth/apiKeys.ts';
import { createAuthenticator } from '../../../warehouse/auth/authenticate.ts';
import { createJwtVerifier, type JwtSettings, type JwtVerification, type JwtVerifier } from '../../../warehouse/auth/jwtVerifier.ts';

const ISSUER = 'https://idp.example.nhs.uk/realms/trust';
const AUDIENCE = 'carelake-serving';
const ISSUER_TAG = createHash('sha256').update(ISSUER).digest('hex').slice(0, 12);

interface Pair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

let rsa: Pair;
let ec: Pair;
/** Not in the JWKS: an attacker's key, sometimes claiming the real key's kid. */
let stranger: Pair;
let server: Server;
let jwksUri: string;
let jwksRequests = 0;
let settings: JwtSettings;
let verifier: JwtVerifier;
const seenTokens: string[] = [];
const seenResults: JwtVerification[] = [];

async function pair(alg: 'RS256' | 'ES256', kid: string): Promise<Pair> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

interface SignOptions {
  key?: CryptoKey | Uint8Array;
  alg?: string;
  kid?: string;
  iss?: string;
  aud?: string;
  sub?: string | null;
  /** A jose duration or NumericDate; null = no exp claim. */
  exp?: string | number | null;
  nbf?: string | number;
}

async function sign(claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, kid: options.kid ?? 'rsa-1', typ: 'JWT' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt();
  if (options.sub !== null) jwt = jwt.setSubject(options.sub ?? 'u-1234');
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? '5m');
  if (options.nbf !== undefined) jwt = jwt.setNotBefore(options.nbf);
  return jwt.sign(options.key ?? rsa.privateKey);
}

/** Verifies, remembering token and result so the last test can check no reason ever echoed a token. */
async function verify(token: string, using: JwtVerifier = verifier): Promise<JwtVerification> {
  const result = await using.verify(token);
  seenTokens.push(token);
  seenResults.push(result);
  return result;
}

const refused = (reason: string | RegExp) => ({ principal: null, reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) });
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  rsa = await pair('RS256', 'rsa-1');
  ec = await pair('ES256', 'ec-1');
  stranger = await pair('RS256', 'rsa-1');
  server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  settings = { issuer: ISSUER, audience: AUDIENCE, jwksUri, roleClaim: 'carelake_role', algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] };
  verifier = await createJwtVerifier(settings, { cooldownMs: 60_000 });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('JWT bearer tokens, remote JWKS', () => {
  it('accepts a valid analyst token (RS256) and names the principal by issuer and subject', async () => {
    const token = await sign({ carelake_role: 'analyst', preferred_username: 'a.smith@trust.nhs.uk' }, { sub: 'f1e2d3' });
    expect(await verify(token)).toEqual({ principal: { id: `jwt:${ISSUER_TAG}:f1e2d3`, name: 'a.smith@trust.nhs.uk', role: 'analyst', via: 'jwt' } });
    expect(jwksRequests).toBe(1);
  });

  it('accepts a valid commissioner token (ES256) whose role claim is an array, taking the first known role', async () => {
    const token = await sign({ carelake_role: ['staff', 'commissioner', 'analyst'], name: 'Commissioning Team' }, { key: ec.privateKey, alg: 'ES256', kid: 'ec-1', sub: 'c-9' });
    expect(await verify(token)).toMatchObject({ principal: { id: `jwt:${ISSUER_TAG}:c-9`, name: 'Commissioning Team', role: 'commissioner' } });
  });

  it('reads a nested role claim by dotted path (Keycloak realm_access.roles)', async () => {
    const nested = await createJwtVerifier({ ...settings, roleClaim: 'realm_access.roles' });
    const token = await sign({ realm_access: { roles: ['offline_access', 'engineer'] } });
    expect(await verify(token, nested)).toMatchObject({ principal: { role: 'engineer', name: 'u-1234' } });
  });

  it('refuses a token from another issuer', async () => {
    expect(await verify(await sign({ carelake_role: 'analyst' }, { iss: 'https://evil.example.com/' }))).toEqual(refused('unexpected issuer'));
  });

  it('refuses a token for another audience', async () => {
    expect(await verify(await sign({ carelake_role: 'analyst' }, { aud: 'some-other-app' }))).toEqual(refused('unexpected audience'));
  });

  it('refuses an expired token, but allows a few seconds of clock skew', async () => {
    expect(await verify(await sign({ carelake_role: 'analyst' }, { exp: now() - 600 }))).toEqual(refused('token expired'));
    expect(await verify(await sign({ carelake_role: 'analyst' }, { exp: now() - 5 }))).toMatchObject({ principal: { role: 'analyst' } });
  });

  it('refuses a token that is not yet valid', async () => {
    expect(await verify(await sign({ carelake_role: 'analyst' }, { nbf: now() + 600, exp: now() + 1200 }))).toEqual(refused('token not yet valid (nbf)'));
  });

  it('refuses a token without exp (it would never expire) or without sub', async () => {
    expect(await verify(await sign({ carelake_role: 'analyst' }, { exp: null }))).toEqual(refused('the exp claim is missing'));
    expect(await verify(await sign({ carelake_role: 'analyst' }, { sub: null }))).toEqual(refused('the sub claim is missing'));
  });

  it('refuses a token signed by another key, whether it claims a known kid or not, fetching the JWKS at most once per cooldown', async () => {
    const before = jwksRequests;
    expect(await verify(await sign({ carelake_role: 'engineer' }, { key: stranger.privateKey }))).toEqual(refused('signature verification failed'));
    for (let i = 0; i < 3; i++) {
      expect(await verify(await sign({ carelake_role: 'engineer' }, { key: stranger.privateKey, kid: `unknown-${i}` }))).toEqual(refused(/no key in the JWKS/));
    }
    // An unknown kid may prompt one refetch (keys rotate), but not one per token.
    expect(jwksRequests - before).toBeLessThanOrEqual(1);
  });

  it('refuses alg none', async () => {
    const encode = (o: object) => base64url.encode(JSON.stringify(o));
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'u-1', exp: now() + 300, carelake_role: 'engineer' };
    for (const header of [{ alg: 'none', typ: 'JWT' }, { alg: 'None' }, { alg: 'NONE', kid: 'rsa-1' }]) {
      for (const token of [`${encode(header)}.${encode(payload)}.`, `${encode(header)}.${encode(payload)}.${base64url.encode('x')}`]) {
        expect(await verify(token)).toEqual(refused(/^algorithm "none" is not allowed$/i));
      }
    }
  });

  it('refuses HS256 tokens forged with the public key as the HMAC secret', async () => {
    const claims = { carelake_role: 'engineer' };
    const secrets = [
      new TextEncoder().encode(await exportSPKI(rsa.publicKey)),
      new TextEncoder().encode(JSON.stringify(rsa.jwk)),
      base64url.decode(rsa.jwk.n ?? ''),
    ];
    for (const key of secrets) {
      for (const kid of ['rsa-1', 'ec-1']) {
        expect(await verify(await sign(claims, { key, alg: 'HS256', kid }))).toEqual(refused('algorithm "HS256" is not allowed'));
      }
    }
    expect(await verify(await sign(claims, { key: secrets[0], alg: 'HS512' }))).toEqual(refused('algorithm "HS512" is not allowed'));
  });

  it('refuses an algorithm outside the allow-list even when the key would verify it', async () => {
    const rsOnly = await createJwtVerifier({ ...settings, algorithms: ['RS256'] });
    const token = await sign({ carelake_role: 'analyst' }, { key: ec.privateKey, alg: 'ES256', kid: 'ec-1' });
    expect(await verify(token, rsOnly)).toEqual(refused('algorithm "ES256" is not allowed'));
  });

  it('refuses a valid token with no role claim, or a role carelake does not know', async () => {
    expect(await verify(await sign({}))).toEqual(refused('the token has no carelake_role claim'));
    expect(await verify(await sign({ carelake_role: null }))).toEqual(refused('the token has no carelake_role claim'));
    expect(await verify(await sign({ carelake_role: 'admin' }))).toEqual(refused(/^the carelake_role claim \("admin"\) names no carelake role/));
    expect(await verify(await sign({ carelake_role: ['admin', 'ANALYST'] }))).toEqual(refused(/names no carelake role/));
    expect(await verify(await sign({ carelake_role: { analyst: true } }))).toEqual(refused(/names no carelake role/));
    expect(await verify(await sign({ roles: ['analyst'] }))).toEqual(refused('the token has no carelake_role claim'));
  });

  it('refuses tampered tokens: payload changed, signature changed, garbage', async () => {
    const token = await sign({ carelake_role: 'analyst' });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const promoted = base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(payload))), carelake_role: 'engineer' }));
    expect(await verify(`${header}.${promoted}.${signature}`)).toEqual(refused('signature verification failed'));
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(await verify(`${header}.${payload}.${flipped}`)).toEqual(refused('signature verification failed'));
    expect(await verify('a.b.c')).toEqual(refused('malformed JWT'));
    // The signature is checked before the payload is parsed, so a non-JSON payload fails there.
    expect(await verify(`${header}.bm90IGpzb24.${signature}`)).toEqual(refused('signature verification failed'));
    expect(await verify(`${base64url.encode('{"alg":')}.${payload}.${signature}`)).toEqual(refused('malformed JWT'));
  });

  it('works through the authenticator with an Authorization header', async () => {
    const apiKeys = await ApiKeyStore.open(join(await mkdtemp(join(tmpdir(), 'carelake-jwt-')), 'api-keys.json'));
    const authenticate = createAuthenticator({ apiKeys, jwt: verifier });
    const token = await sign({ carelake_role: 'commissioner' }, { sub: 'svc-reports' });
    expect(await authenticate(`Bearer ${token}`)).toEqual({ principal: { id: `jwt:${ISSUER_TAG}:svc-reports`, name: 'svc-reports', role: 'commissioner', via: 'jwt' } });
    expect(await authenticate(`Bearer ${await sign({ carelake_role: 'commissioner' }, { aud: 'x' })}`)).toEqual({ failure: 'invalid', reason: 'unexpected audience' });
    expect(await authenticate('Bearer a.b.c')).toEqual({ failure: 'malformed', reason: 'malformed JWT' });
  });

  it('says the JWKS is unavailable (not that the token is bad) when the endpoint cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = await createJwtVerifier({ ...settings, jwksUri: `http://127.0.0.1:${port}/jwks.json` }, { timeoutMs: 2000 });
    const result = await verify(await sign({ carelake_role: 'analyst' }), down);
    expect(result).toMatchObject({ principal: null, unavailable: true, reason: expect.stringMatching(/^JWKS unavailable/) });
    const missing = await createJwtVerifier({ ...settings, jwksUri: jwksUri.replace('jwks.json', 'nope.json') });
    expect(await verify(await sign({ carelake_role: 'analyst' }), missing)).toMatchObject({ principal: null, unavailable: true });
  });

  it('never puts a token in a reason', () => {
    expect(seenResults.length).toBeGreaterThan(20);
    const reasons = seenResults.map((r) => ('reason' in r ? r.reason : '')).join('\n');
    for (const token of seenTokens) {
      for (const part of token.split('.').filter((p) => p.length > 8)) expect(reasons).not.toContain(part);
    }
  });
});

describe('JWT settings that must stop a server from starting', () => {
  it('refuses HS*, none and unknown algorithms, and an empty list', async () => {
    for (const algorithms of [['RS256', 'HS256'], ['none'], ['HS512'], ['RS1'], []]) {
      await expect(createJwtVerifier({ ...settings, algorithms })).rejects.toMatchObject({ code: 'auth.jwt-algorithms', kind: 'config' });
    }
  });

  it('refuses a plain-http JWKS on another machine', async () => {
    await expect(createJwtVerifier({ ...settings, jwksUri: 'http://idp.example.nhs.uk/jwks.json' })).rejects.toMatchObject({ code: 'auth.jwks-insecure' });
    await expect(createJwtVerifier({ ...settings, jwksUri: 'https://idp.example.nhs.uk/jwks.json' })).resolves.toBeDefined();
    await expect(createJwtVerifier({ ...settings, jwksUri: 'http://localhost:9/jwks.json' })).resolves.toBeDefined();
  });
});

describe('JWT bearer tokens, local jwksFile', () => {
  async function jwksFile(jwks: unknown, mode = 0o644): Promise<string> {
    const file = join(await mkdtemp(join(tmpdir(), 'carelake-jwks-')), 'jwks.json');
    await writeFile(file, JSON.stringify(jwks));
    await chmod(file, mode);
    return file;
  }

  function local(file: string): JwtSettings {
    return { issuer: ISSUER, audience: AUDIENCE, jwksFile: file, roleClaim: 'carelake_role', algorithms: ['RS256', 'ES256'] };
  }

  it('accepts tokens signed by a key in the file and refuses everything the remote verifier refuses', async () => {
    const fromFile = await createJwtVerifier(local(await jwksFile({ keys: [rsa.jwk, ec.jwk] })));
    expect(await verify(await sign({ carelake_role: 'analyst' }), fromFile)).toMatchObject({ principal: { role: 'analyst', via: 'jwt' } });
    expect(await verify(await sign({ carelake_role: 'commissioner' }, { key: ec.privateKey, alg: 'ES256', kid: 'ec-1' }), fromFile)).toMatchObject({ principal: { role: 'commissioner' } });
    expect(await verify(await sign({ carelake_role: 'analyst' }, { key: stranger.privateKey }), fromFile)).toEqual(refused('signature verification failed'));
    expect(await verify(await sign({ carelake_role: 'analyst' }, { exp: now() - 600 }), fromFile)).toEqual(refused('token expired'));
    expect(await verify(await sign({ carelake_role: 'analyst' }, { iss: 'https://other/' }), fromFile)).toEqual(refused('unexpected issuer'));
    expect(await verify(await sign({ carelake_role: 'analyst' }, { key: new TextEncoder().encode(await exportSPKI(rsa.publicKey)), alg: 'HS256' }), fromFile)).toEqual(
      refused('algorithm "HS256" is not allowed'),
    );
    expect(await verify(await sign({}), fromFile)).toEqual(refused('the token has no carelake_role claim'));
  });

  it('refuses a file holding private or symmetric keys, a file others can write, and a file that is not a JWKS', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'leaked' };
    await expect(createJwtVerifier(local(await jwksFile({ keys: [rsa.jwk, privateJwk] })))).rejects.toMatchObject({
      code: 'auth.jwks-file-invalid',
      message: expect.stringContaining('private key material'),
    });
    await expect(createJwtVerifier(local(await jwksFile({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })))).rejects.toMatchObject({ message: expect.stringContaining('symmetric') });
    await expect(createJwtVerifier(local(await jwksFile({ keys: [] })))).rejects.toMatchObject({ code: 'auth.jwks-file-invalid' });
    await expect(createJwtVerifier(local(await jwksFile([rsa.jwk])))).rejects.toMatchObject({ code: 'auth.jwks-file-invalid' });
    if (process.platform !== 'win32') {
      await expect(createJwtVerifier(local(await jwksFile({ keys: [rsa.jwk] }, 0o666)))).rejects.toMatchObject({ message: expect.stringContaining('writable by group or others') });
    }
    await expect(createJwtVerifier(local('/nonexistent/jwks.json'))).rejects.toMatchObject({ code: 'fs.enoent' });
  });
});
