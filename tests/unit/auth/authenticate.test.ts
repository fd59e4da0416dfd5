// The Authorization header in, a principal or a failure out: clk_ tokens to the key store, dotted
// tokens to the JWT verifier (only if one is configured), everything else malformed. requireRole. The
// check that ends a browser session whose key was revoked.

import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { ApiKeyStore, createApiKey, revokeApiKey } from '../../../warehouse/auth/apiKeys.ts';
import { createAuthenticator, createPrincipalCheck, hasRole, requireRole } from '../../../warehouse/auth/authenticate.ts';
import type { JwtVerification, JwtVerifier } from '../../../warehouse/auth/jwtVerifier.ts';
import type { Principal } from '../../../warehouse/auth/principal.ts';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
const JWT_PRINCIPAL: Principal = { id: 'jwt:abc:x', name: 'x', role: 'commissioner', via: 'jwt' };

/** Accepts JWT only; records what it was asked. */
function fakeJwt(result: JwtVerification = { principal: JWT_PRINCIPAL }): JwtVerifier & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    verify: async (token) => {
      seen.push(token);
      return token === JWT ? result : { principal: null, reason: 'signature verification failed' };
    },
  };
}

async function setup() {
  const file = join(await mkdtemp(join(tmpdir(), 'carelake-auth-')), 'api-keys.json');
  const { token, record } = await createApiKey(file, { name: 'alice', role: 'analyst' });
  const apiKeys = await ApiKeyStore.open(file);
  return { token, record, apiKeys };
}

describe('createPrincipalCheck', () => {
  it('keeps a key signed in until it is revoked or the keys file becomes unusable; JWTs end at their exp instead', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'carelake-auth-')), 'api-keys.json');
    const alice = await createApiKey(file, { name: 'alice', role: 'analyst' });
    const bob = await createApiKey(file, { name: 'bob', role: 'engineer' });
    const apiKeys = await ApiKeyStore.open(file, { recheckMs: 0 });
    const stillValid = createPrincipalCheck({ apiKeys });
    const principal = async (token: string) => (await apiKeys.verify(token))!;
    const [a, b] = [await principal(alice.token), await principal(bob.token)];
    expect([await stillValid(a), await stillValid(b), await stillValid(JWT_PRINCIPAL)]).toEqual([true, true, true]);
    await revokeApiKey(file, 'alice');
    expect([await stillValid(a), await stillValid(b)]).toEqual([false, true]);
    expect(await stillValid({ ...b, id: 'key:unknownkey' })).toBe(false);
    expect(await stillValid({ ...b, id: 'jwt:x:y', via: 'api-key' })).toBe(false);
    // A broken keys file fails closed.
    await writeFile(file, 'not json');
    await chmod(file, 0o600);
    expect(await stillValid(b)).toBe(false);
  });
});

describe('authenticate', () => {
  it('sends clk_ tokens to the key store and never to the JWT verifier', async () => {
    const { token, record, apiKeys } = await setup();
    const jwt = fakeJwt();
    const authenticate = createAuthenticator({ apiKeys, jwt });
    expect(await authenticate(`Bearer ${token}`)).toEqual({ principal: { id: `key:${record.keyId}`, name: 'alice', role: 'analyst', via: 'api-key' } });
    expect(await authenticate(`bearer   ${token}`)).toMatchObject({ principal: { name: 'alice' } });
    expect(await authenticate(`Bearer ${token.slice(0, -1)}B`)).toMatchObject({ failure: 'invalid', reason: expect.stringContaining('wrong secret') });
    expect(await authenticate(`Bearer clk_nonsense`)).toMatchObject({ failure: 'malformed', reason: 'malformed API key' });
    expect(jwt.seen).toEqual([]);
  });

  it('sends three-part dotted tokens to the JWT verifier', async () => {
    const { apiKeys } = await setup();
    const jwt = fakeJwt();
    const authenticate = createAuthenticator({ apiKeys, jwt });
    expect(await authenticate(`Bearer ${JWT}`)).toEqual({ principal: JWT_PRINCIPAL });
    expect(await authenticate(`Bearer ${JWT}x`)).toEqual({ failure: 'invalid', reason: 'signature verification failed' });
    expect(jwt.seen).toEqual([JWT, `${JWT}x`]);
  });

  it('passes on that the JWKS was unavailable, so the server can answer 503', async () => {
    const { apiKeys } = await setup();
    const authenticate = createAuthenticator({ apiKeys, jwt: fakeJwt({ principal: null, reason: 'JWKS unavailable: fetch failed', unavailable: true }) });
    expect(await authenticate(`Bearer ${JWT}`)).toEqual({ failure: 'invalid', reason: 'JWKS unavailable: fetch failed', unavailable: true });
  });

  it('refuses JWTs when no JWT verifier is configured', async () => {
    const { apiKeys } = await setup();
    const authenticate = createAuthenticator({ apiKeys });
    expect(await authenticate(`Bearer ${JWT}`)).toMatchObject({ failure: 'invalid', reason: expect.stringContaining('serve.auth.jwt is not configured') });
  });

  it('tells missing from malformed, and never echoes the token', async () => {
    const { token, apiKeys } = await setup();
    const authenticate = createAuthenticator({ apiKeys, jwt: fakeJwt() });
    expect(await authenticate(undefined)).toEqual({ failure: 'missing', reason: 'no Authorization header' });
    expect(await authenticate('')).toMatchObject({ failure: 'missing' });
    expect(await authenticate('   ')).toMatchObject({ failure: 'missing' });
    const malformed = [
      token,
      `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`,
      'Bearer',
      'Bearer ',
      `Bearer ${token} extra`,
      `Bearer "${token}"`,
      `Token ${token}`,
      'Bearer not-a-key-or-jwt',
      'Bearer a.b',
      'Bearer a.b.c.d',
      `Bearer ${'a'.repeat(20_000)}`,
    ];
    for (const header of malformed) {
      const result = await authenticate(header);
      expect(result, header.slice(0, 30)).toMatchObject({ failure: 'malformed' });
      expect(JSON.stringify(result)).not.toContain(token.slice(-43));
    }
    expect(await authenticate(`Basic abc`)).toMatchObject({ reason: 'unsupported scheme Basic; use Bearer' });
  });
});

describe('requireRole', () => {
  const analyst: Principal = { id: 'key:abcdefghij', name: 'alice', role: 'analyst', via: 'api-key' };

  it('passes a principal holding an allowed role', () => {
    expect(() => requireRole(analyst, ['analyst', 'engineer'])).not.toThrow();
    expect(hasRole(analyst, ['analyst'])).toBe(true);
  });

  it('throws auth.forbidden naming the principal and the roles needed', () => {
    expect(hasRole(analyst, ['commissioner'])).toBe(false);
    const err = (() => {
      try {
        requireRole(analyst, ['commissioner']);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(CarelakeError);
    expect(err).toMatchObject({ code: 'auth.forbidden', message: expect.stringMatching(/key:abcdefghij \(analyst\).*commissioner/) });
    expect(() => requireRole(analyst, [])).toThrow(/auth|may not/);
  });
});
