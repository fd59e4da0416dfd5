// Bearer JWTs from the trust's identity provider (Entra ID, Keycloak, NHS CIS2 via a broker…), verified
// with jose against the provider's public keys: a JWKS fetched from `jwksUri` (cached, refetched at
// most once per cooldown when an unknown `kid` appears, so garbage tokens cannot make us hammer the
// IdP) or read once from a local `jwksFile`.
//
// What is checked, and why: the signature, with an allow-list of asymmetric algorithms only — 'none'
// is never accepted and HS* is refused outright, because an HMAC "verified" with a public key is the
// classic forgery (the public key is public). Issuer and audience, so a token minted for another app
// or by another tenant is useless here. exp (required: a token without one would never die) and nbf,
// with a small clock tolerance. sub (required: it is the stable half of the principal id). And the
// role claim, which must name a carelake role: a valid token without one is still refused, with a
// reason, because authentication without a role would be access without a decision.
//
// Reasons are for the server log and never contain the token. A JWKS that cannot be fetched is
// reported as `unavailable`, so the server can answer 503 rather than blame the caller's token.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { CarelakeConfig } from '../../core/config.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { isRole, ROLES, type Principal, type Role } from './principal.ts';

export type JwtSettings = NonNullable<CarelakeConfig['serve']['auth']['jwt']>;

/** Signature algorithms verified with a public key. Anything else (none, HS*) is refused in config. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface JwtVerifierOptions {
  /** Seconds of clock skew allowed on exp and nbf. Default 30. */
  clockToleranceSeconds?: number;
  /** Remote JWKS: abort a fetch after this long (ms). Default 5000. */
  timeoutMs?: number;
  /** Remote JWKS: after a fetch, an unknown kid triggers another only after this long (ms). Default 30000. */
  cooldownMs?: number;
  /** Remote JWKS: refetch keys older than this (ms). Default 600000. */
  cacheMaxAgeMs?: number;
  /** The clock, for tests. */
  now?: () => Date;
}

export type JwtVerification =
  | { principal: Principal }
  | {
      principal: null;
      /** For the log: why the token was refused. Never contains the token. */
      reason: string;
      /** True when the token could not be checked because the JWKS could not be had (not the caller's fault). */
      unavailable?: true;
    };

export interface JwtVerifier {
  verify(token: string): Promise<JwtVerification>;
}

const MAX_TOKEN_LENGTH = 16_384;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

/**
 * Checks the settings (algorithms, https, the local JWKS) and returns a verifier. Throws a config
 * CarelakeError when they cannot work, so a server never starts with a verifier that accepts nothing
 * (or, worse, too much).
 */
export async function createJwtVerifier(settings: JwtSettings, options: JwtVerifierOptions = {}): Promise<JwtVerifier> {
  const algorithms = checkAlgorithms(settings.algorithms);
  const keys = await keySource(settings, options);
  const issuerTag = createHash('sha256').update(settings.issuer, 'utf8').digest('hex').slice(0, 12);
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const now = options.now;

  return {
    async verify(token: string): Promise<JwtVerification> {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return refuse('malformed JWT');
      // The header is read first so an algorithm we would refuse costs no JWKS fetch.
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        return refuse('malformed JWT');
      }
      if (typeof alg !== 'string' || !algorithms.includes(alg)) return refuse(`algorithm ${printable(alg)} is not allowed`);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms,
          clockTolerance,
          requiredClaims: ['exp', 'sub'],
          ...(now ? { currentDate: now() } : {}),
        }));
      } catch (err) {
        return explain(err);
      }
      const sub = payload.sub;
      if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255) return refuse('the sub claim is empty or longer than 255 characters');
      const role = roleOf(payload, settings.roleClaim);
      if ('reason' in role) return refuse(role.reason);
      return { principal: { id: `jwt:${issuerTag}:${sub}`, name: displayName(payload, sub), role: role.role, via: 'jwt' } };
    },
  };
}

function refuse(reason: string): JwtVerification {
  return { principal: null, reason };
}

function unavailable(reason: string): JwtVerification {
  return { principal: null, reason: `JWKS unavailable: ${reason}`, unavailable: true };
}

/** jose's errors, as one short line each. */
function explain(err: unknown): JwtVerification {
  if (err instanceof errors.JWTExpired) return refuse('token expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return refuse('unexpected issuer');
    if (err.claim === 'aud') return refuse('unexpected audience');
    if (err.claim === 'nbf') return refuse('token not yet valid (nbf)');
    if (err.reason === 'missing') return refuse(`the ${err.claim} claim is missing`);
    return refuse(`the ${err.claim} claim is invalid`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return refuse('signature verification failed');
  if (err instanceof errors.JWKSNoMatchingKey) return refuse('no key in the JWKS matches the token (kid/alg)');
  if (err instanceof errors.JWKSMultipleMatchingKeys) return refuse('signature verification failed (several JWKS keys matched)');
  if (err instanceof errors.JOSEAlgNotAllowed) return refuse('algorithm is not allowed');
  if (err instanceof errors.JOSENotSupported) return refuse('unsupported token or key type');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return refuse('malformed JWT');
  if (err instanceof errors.JWKSTimeout) return unavailable('fetching the JWKS timed out');
  if (err instanceof errors.JWKSInvalid || err instanceof errors.JWKInvalid) return unavailable('the JWKS is invalid');
  // ERR_JOSE_GENERIC (a non-200 answer) and network errors (fetch failed).
  return unavailable(err instanceof Error ? err.message.slice(0, 200) : 'unknown error');
}

/** The role from the claim: a string, or the first recognised role in an array. */
function roleOf(payload: JWTPayload, claim: string): { role: Role } | { reason: string } {
  const value = claimValue(payload, claim);
  if (value === undefined || value === null) return { reason: `the token has no ${claim} claim` };
  const candidates = Array.isArray(value) ? value : [value];
  const role = candidates.find(isRole);
  if (role) return { role };
  return { reason: `the ${claim} claim (${printable(value)}) names no carelake role (${ROLES.join(', ')})` };
}

/** A top-level claim, or a dotted path into nested claims (e.g. Keycloak's realm_access.roles). */
function claimValue(payload: JWTPayload, claim: string): unknown {
  if (Object.hasOwn(payload, claim)) return payload[claim];
  if (!claim.includes('.')) return undefined;
  let at: unknown = payload;
  for (const part of claim.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function displayName(payload: JWTPayload, sub: string): string {
  for (const claim of ['preferred_username', 'name', 'email']) {
    const value = payload[claim];
    if (typeof value === 'string' && value.trim() !== '') return clean(value);
  }
  return clean(sub);
}

function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 128);
}

/** A claim or header value quoted for a log line: short, single-line. */
function printable(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return clean(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function checkAlgorithms(configured: readonly string[]): string[] {
  const allowed: readonly string[] = ASYMMETRIC_ALGORITHMS;
  const bad = configured.filter((a) => !allowed.includes(a));
  if (bad.length > 0 || configured.length === 0) {
    throw new CarelakeError({
      code: 'auth.jwt-algorithms',
      kind: 'config',
      message:
        configured.length === 0
          ? 'serve.auth.jwt.algorithms is empty: no token could ever be accepted'
          : `serve.auth.jwt.algorithms lists ${bad.map((b) => `'${b}'`).join(', ')}, which cannot be verified with an identity provider's public keys`,
      hint: `use asymmetric algorithms only (${ASYMMETRIC_ALGORITHMS.join(', ')}); 'none' and HS* are never accepted`,
    });
  }
  return [...configured];
}

async function keySource(settings: JwtSettings, options: JwtVerifierOptions): Promise<JWTVerifyGetKey> {
  if (settings.jwksUri !== undefined) {
    const url = new URL(settings.jwksUri);
    // Whoever can change the keys in transit can mint tokens: plain http only to this machine.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new CarelakeError({
        code: 'auth.jwks-insecure',
        kind: 'config',
        message: `serve.auth.jwt.jwksUri ${url.origin} is not https: anyone on the path could substitute the signing keys`,
        hint: 'use the https JWKS address of the identity provider (plain http is allowed only to 127.0.0.1, ::1 or localhost)',
      });
    }
    return createRemoteJWKSet(url, {
      timeoutDuration: options.timeoutMs ?? 5000,
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    });
  }
  if (settings.jwksFile !== undefined) return createLocalJWKSet(await readJwksFile(settings.jwksFile));
  throw new CarelakeError({ code: 'auth.jwt-no-keys', kind: 'config', message: 'serve.auth.jwt needs exactly one of jwksUri or jwksFile' });
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A local JWKS: public signature keys only, in a file others cannot change. Read once, at start. */
async function readJwksFile(file: string): Promise<JSONWebKeySet> {
  const bad = (why: string, hint?: string) =>
    new CarelakeError({ code: 'auth.jwks-file-invalid', kind: 'config', message: `The JWKS file ${file} ${why}`, location: { file }, hint });
  let text: string;
  try {
    const info = await stat(file);
    // Public keys need no secrecy, but whoever can write this file can mint tokens.
    if (process.platform !== 'win32' && (info.mode & 0o022) !== 0) {
      throw bad(`is writable by group or others (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')})`, `run: chmod go-w ${file}`);
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CarelakeError) throw err;
    throw fileSystemError('read the JWKS file', file, err);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw bad('is not valid JSON');
  }
  const keys = typeof data === 'object' && data !== null ? (data as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) {
    throw bad('is not a JSON Web Key Set: expected {"keys": [ … ]} with at least one key');
  }
  for (const [i, key] of (keys as Record<string, unknown>[]).entries()) {
    if (key.kty === 'oct') throw bad(`holds a symmetric (oct) key at keys[${i}]; only public keys belong in a JWKS`);
    const secret = PRIVATE_JWK_MEMBERS.filter((m) => Object.hasOwn(key, m));
    if (secret.length > 0) {
      throw bad(`holds private key material (${secret.join(', ')}) at keys[${i}]`, 'publish only the public keys; treat the private key as disclosed and rotate it');
    }
  }
  return data as JSONWebKeySet;
}
