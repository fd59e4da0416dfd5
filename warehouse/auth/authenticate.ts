// One door for every request to the serving API: `Authorization: Bearer <token>` in, a Principal or a
// failure out. The token's shape decides who checks it — `clk_…` goes to the API key store, a
// three-part dotted token to the JWT verifier — so a key is never sent to the IdP's verifier and a
// JWT never probes the key file. Failures say whether the header was missing, malformed or invalid
// (for the status code) and why (for the log only: clients should get a generic 401, and nothing
// here ever contains the token).

import { CarelakeError } from '../../core/errors.ts';
import { API_KEY_PREFIX, type ApiKeyStore } from './apiKeys.ts';
import type { JwtVerifier } from './jwtVerifier.ts';
import type { Principal, Role } from './principal.ts';

export type AuthFailure = {
  failure: 'missing' | 'malformed' | 'invalid';
  /** For the log, never for the client. */
  reason: string;
  /** The token could not be checked (the IdP's JWKS is unreachable): answer 503, not 401. */
  unavailable?: true;
};

export type AuthResult = { principal: Principal } | AuthFailure;

export type Authenticate = (authorizationHeader: string | undefined) => Promise<AuthResult>;

/** RFC 6750's b64token, bounded: headers are attacker-sized, verification should not be. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_HEADER_LENGTH = 16_384;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function createAuthenticator(options: { apiKeys: ApiKeyStore; jwt?: JwtVerifier | undefined }): Authenticate {
  const { apiKeys, jwt } = options;
  return async (header) => {
    if (header === undefined || header.trim() === '') return { failure: 'missing', reason: 'no Authorization header' };
    if (header.length > MAX_HEADER_LENGTH) return { failure: 'malformed', reason: 'Authorization header too long' };
    const match = BEARER.exec(header);
    if (!match) {
      const scheme = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)/.exec(header)?.[1];
      return { failure: 'malformed', reason: scheme && scheme.toLowerCase() !== 'bearer' ? `unsupported scheme ${scheme.slice(0, 20)}; use Bearer` : 'malformed Bearer credentials' };
    }
    const token = match[1] as string;
    if (token.startsWith(API_KEY_PREFIX)) {
      const checked = await apiKeys.check(token);
      if (checked.principal) return { principal: checked.principal };
      return { failure: checked.reason === 'malformed API key' ? 'malformed' : 'invalid', reason: checked.reason };
    }
    if (JWT_SHAPE.test(token)) {
      if (!jwt) return { failure: 'invalid', reason: 'JWT bearer tokens are not accepted here (serve.auth.jwt is not configured)' };
      const verified = await jwt.verify(token);
      if (verified.principal) return { principal: verified.principal };
      return { failure: verified.reason === 'malformed JWT' ? 'malformed' : 'invalid', reason: verified.reason, ...(verified.unavailable ? { unavailable: true as const } : {}) };
    }
    return { failure: 'malformed', reason: 'the bearer token is neither a carelake API key (clk_…) nor a JWT' };
  };
}

/**
 * Whether a principal that signed in earlier (a browser session) may still act. Sessions keep the
 * principal, never the token, so this asks the source again: an API key must not have been revoked
 * since. A JWT cannot be asked about; its session ends at the token's `exp` instead.
 */
export type PrincipalCheck = (principal: Principal) => Promise<boolean>;

export function createPrincipalCheck(options: { apiKeys: ApiKeyStore }): PrincipalCheck {
  return async (principal) => {
    if (principal.via === 'jwt') return true;
    const keyId = principal.id.startsWith('key:') ? principal.id.slice('key:'.length) : null;
    return keyId !== null && (await options.apiKeys.isActive(keyId));
  };
}

export function hasRole(principal: Principal, allowed: readonly Role[]): boolean {
  return allowed.includes(principal.role);
}

/** Throws `auth.forbidden` (answer 403) unless the principal holds one of the allowed roles. */
export function requireRole(principal: Principal, allowed: readonly Role[]): void {
  if (hasRole(principal, allowed)) return;
  throw new CarelakeError({
    code: 'auth.forbidden',
    kind: 'runtime',
    message: `${principal.id} (${principal.role}) may not do this: it needs the role ${allowed.join(' or ')}`,
  });
}
