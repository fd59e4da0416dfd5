// SMART Backend Services (SMART App Launch 2.2) for the test server: the discovery document, the token
// endpoint that checks a private_key_jwt client assertion with `jose` against the registered JWKS, and
// the bearer-token check on every Bulk Data request. Tokens are opaque random strings held in memory.
//
// Assertion rules: alg RS384 or ES384; `kid` must name a registered key (and that key's `alg`, when
// given, must match); a `jku` header is refused (no JWKS URL is registered); iss = sub = client id;
// aud = the token endpoint URL; exp present, not passed and at most 5 minutes ahead; `jti` present and
// never seen before for this client (kept until the assertion's exp). Failures answer 400
// `{ error: 'invalid_client' }` (or invalid_request / unsupported_grant_type / invalid_scope), per RFC 6749 §5.2.
// Scopes: the requested scopes the server supports are granted; they are recorded, not enforced per type.

import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, errors, importJWK, jwtVerify, type JWK } from 'jose';
import { BulkProblem, OAuthProblem } from './operationOutcome.ts';
import type { BulkServerAuth } from './types.ts';

export const SIGNING_ALGORITHMS = ['RS384', 'ES384'] as const;
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEFAULT_SCOPE = 'system/*.read system/*.rs';
const DEFAULT_LIFETIME_SECONDS = 300;
const MAX_ASSERTION_LIFETIME_SECONDS = 300;

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

function isSigningAlgorithm(alg: unknown): alg is (typeof SIGNING_ALGORITHMS)[number] {
  return SIGNING_ALGORITHMS.some((a) => a === alg);
}

function isJwk(value: object): value is JWK {
  return 'kty' in value && typeof value.kty === 'string';
}

export class SmartBackendAuth {
  private readonly tokens = new Map<string, { expiresAt: number; scope: string }>();
  /** `jti` → the assertion's exp (ms), to refuse replays until the assertion could no longer be used. */
  private readonly seenJti = new Map<string, number>();

  constructor(
    readonly config: BulkServerAuth,
    private readonly now: () => number,
  ) {}

  private get supportedScopes(): string[] {
    return (this.config.scope ?? DEFAULT_SCOPE).split(/\s+/).filter((s) => s !== '');
  }

  smartConfiguration(tokenEndpoint: string): Record<string, unknown> {
    return {
      token_endpoint: tokenEndpoint,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: [...SIGNING_ALGORITHMS],
      grant_types_supported: ['client_credentials'],
      scopes_supported: this.supportedScopes,
      capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
    };
  }

  /** Checks the form and its client assertion; throws OAuthProblem. */
  async issueToken(form: URLSearchParams, tokenEndpoint: string): Promise<TokenResponse> {
    if (form.get('grant_type') !== 'client_credentials') throw new OAuthProblem('unsupported_grant_type', 'grant_type must be client_credentials.');
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) throw new OAuthProblem('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`);
    const assertion = form.get('client_assertion');
    if (assertion === null || assertion === '') throw new OAuthProblem('invalid_request', 'client_assertion is required.');
    const requested = (form.get('scope') ?? '').split(/\s+/).filter((s) => s !== '');
    if (requested.length === 0) throw new OAuthProblem('invalid_request', 'scope is required.');

    await this.verifyAssertion(assertion, tokenEndpoint);

    const granted = requested.filter((s) => this.supportedScopes.includes(s));
    if (granted.length === 0) throw new OAuthProblem('invalid_scope', `None of the requested scopes is supported; supported: ${this.supportedScopes.join(' ')}.`);
    const lifetime = this.config.tokenLifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
    const token = randomBytes(32).toString('base64url');
    const scope = granted.join(' ');
    this.tokens.set(token, { expiresAt: this.now() + lifetime * 1000, scope });
    return { access_token: token, token_type: 'bearer', expires_in: lifetime, scope };
  }

  private async verifyAssertion(assertion: string, tokenEndpoint: string): Promise<void> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(assertion);
    } catch {
      throw new OAuthProblem('invalid_client', 'client_assertion is not a JWS.');
    }
    const alg = header.alg;
    if (!isSigningAlgorithm(alg)) throw new OAuthProblem('invalid_client', `client_assertion alg must be one of ${SIGNING_ALGORITHMS.join(', ')}.`);
    if (header.jku !== undefined) throw new OAuthProblem('invalid_client', 'client_assertion names a jku, but no JWKS URL is registered for this client.');
    if (typeof header.kid !== 'string') throw new OAuthProblem('invalid_client', 'client_assertion header has no kid.');
    const jwk = this.config.jwks.keys.find((key): key is JWK => isJwk(key) && key.kid === header.kid);
    if (jwk === undefined) throw new OAuthProblem('invalid_client', `No registered key has kid '${header.kid}'.`);
    if (jwk.alg !== undefined && jwk.alg !== alg) throw new OAuthProblem('invalid_client', `Key '${header.kid}' is registered for ${jwk.alg}, not ${alg}.`);

    let key: Awaited<ReturnType<typeof importJWK>>;
    try {
      key = await importJWK(jwk, alg);
    } catch {
      throw new OAuthProblem('invalid_client', `Key '${header.kid}' cannot verify ${alg} signatures.`);
    }
    const now = this.now();
    let exp: number;
    let jti: string;
    try {
      const { payload } = await jwtVerify(assertion, key, {
        algorithms: [alg],
        issuer: this.config.clientId,
        subject: this.config.clientId,
        audience: tokenEndpoint,
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(now),
      });
      if (typeof payload.exp !== 'number' || typeof payload.jti !== 'string' || payload.jti === '') {
        throw new OAuthProblem('invalid_client', 'client_assertion needs a numeric exp and a jti.');
      }
      exp = payload.exp;
      jti = payload.jti;
    } catch (err) {
      throw assertionProblem(err);
    }
    if (exp * 1000 > now + MAX_ASSERTION_LIFETIME_SECONDS * 1000) {
      throw new OAuthProblem('invalid_client', 'client_assertion exp is more than 5 minutes ahead.');
    }
    for (const [seen, until] of this.seenJti) if (until < now) this.seenJti.delete(seen);
    if (this.seenJti.has(jti)) throw new OAuthProblem('invalid_client', 'client_assertion jti has been used before (replay).');
    this.seenJti.set(jti, exp * 1000);
  }

  /** Throws a 401 problem unless `authorization` carries a live token from this server. */
  checkBearer(authorization: string | undefined): void {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (match?.[1] === undefined) {
      throw new BulkProblem('unauthenticated', 'This server requires Authorization: Bearer <token> from its SMART token endpoint.', {
        'WWW-Authenticate': 'Bearer realm="fhir-bulk-test"',
      });
    }
    const token = this.tokens.get(match[1]);
    if (token === undefined) {
      throw new BulkProblem('unauthenticated', 'The access token is not recognised.', { 'WWW-Authenticate': 'Bearer realm="fhir-bulk-test", error="invalid_token"' });
    }
    if (token.expiresAt <= this.now()) {
      this.tokens.delete(match[1]);
      throw new BulkProblem('token-expired', 'The access token has expired; request a new one.', {
        'WWW-Authenticate': 'Bearer realm="fhir-bulk-test", error="invalid_token", error_description="The access token expired"',
      });
    }
  }
}

/** jose's verification failures as OAuth errors; anything else is a bug and stays an exception. */
function assertionProblem(err: unknown): unknown {
  if (err instanceof OAuthProblem) return err;
  if (err instanceof errors.JWTExpired) return new OAuthProblem('invalid_client', 'client_assertion has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) return new OAuthProblem('invalid_client', `client_assertion claim '${err.claim}' is invalid (${err.reason}).`);
  if (err instanceof errors.JWSSignatureVerificationFailed) return new OAuthProblem('invalid_client', 'client_assertion signature does not verify against the registered key.');
  if (err instanceof errors.JOSEError) return new OAuthProblem('invalid_client', `client_assertion was rejected (${err.code}).`);
  return err;
}
