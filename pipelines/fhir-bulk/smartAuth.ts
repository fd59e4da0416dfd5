// SMART Backend Services client (SMART App Launch 2.x, "client-confidential-asymmetric"): discovers the
// token endpoint, signs a short-lived client assertion (RS384 or ES384) and swaps it for an access token
// with the client_credentials grant. There are no refresh tokens: a new assertion is signed whenever
// the token nears expiry, so long polls and downloads keep working.
//
// Secrets stay inside this module: the assertion and the access token appear only in the token request
// and the returned Authorization value, never in errors. The module does not log at all.

import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';
import type { ClientKey, ClientKeyAlgorithm } from './clientKey.ts';

export type { ClientKey, ClientKeyAlgorithm } from './clientKey.ts';

export interface SmartAuthConfig {
  clientId: string;
  privateKeyFile: string;
  /** e.g. `system/*.rs` (SMART v2) or `system/*.read` (v1). */
  scope: string;
  kid?: string;
  algorithm?: ClientKeyAlgorithm;
  /** When set, discovery is skipped and this URL is used (and is the assertion's `aud`). */
  tokenEndpoint?: string;
}

export interface SmartAuthDeps {
  key: ClientKey;
  fetch?: typeof fetch;
  /** Clock in milliseconds since the epoch; injected by tests. */
  now?: () => number;
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/**
 * The spec allows `exp` up to five minutes ahead. We sign for four: the assertion is used at once,
 * and a server whose clock runs a little behind ours would reject an assertion at the full five.
 */
const ASSERTION_LIFETIME_SECONDS = 240;
/** Renew this long before expiry, or 10% of the token's lifetime if that is shorter. */
const RENEW_BEFORE_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Server-supplied OAuth error text is shown, but bounded. */
const MAX_SERVER_TEXT = 300;

const urlString = z.string().refine((s) => URL.canParse(s), { message: 'expected an absolute URL' });

const smartConfigurationSchema = z.looseObject({
  token_endpoint: urlString,
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  token_endpoint_auth_signing_alg_values_supported: z.array(z.string()).optional(),
  grant_types_supported: z.array(z.string()).optional(),
});

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((s) => s.toLowerCase() === 'bearer', { message: 'expected "bearer"' }),
  expires_in: z.number().positive(),
  scope: z.string().optional(),
});

const oauthErrorSchema = z.looseObject({
  error: z.string(),
  error_description: z.string().optional(),
});

/** Hints for the OAuth error codes a backend client meets (RFC 6749 §5.2). */
const oauthErrorHints: Record<string, string> = {
  invalid_client:
    'the server did not accept the client assertion: check clientId, kid and algorithm, that the server holds the matching public key, and that this machine\'s clock is right',
  invalid_scope: 'the server did not grant the requested scope: check the scope against what the client is registered for',
  unauthorized_client: 'the client is not allowed the client_credentials grant on this server',
  invalid_grant: 'the server rejected the grant: check the client registration and this machine\'s clock',
  invalid_request: 'the server found the token request malformed',
};

interface CachedToken {
  authorization: string;
  renewAt: number;
}

export class SmartBackendAuth {
  private token: CachedToken | null = null;
  private inFlight: Promise<CachedToken> | null = null;

  private constructor(
    readonly tokenEndpoint: string,
    private readonly clientId: string,
    private readonly scope: string,
    private readonly key: ClientKey,
    private readonly fetchFn: typeof fetch,
    private readonly now: () => number,
  ) {}

  /**
   * Discovers the token endpoint from `${baseUrl}/.well-known/smart-configuration` (unless
   * `config.tokenEndpoint` is set, which skips discovery) and checks the server supports
   * `private_key_jwt`, the client_credentials grant and our algorithm wherever it lists them.
   * No token is requested until `authorization()` is first called.
   */
  static async create(baseUrl: string, config: SmartAuthConfig, deps: SmartAuthDeps): Promise<SmartBackendAuth> {
    const fetchFn = deps.fetch ?? globalThis.fetch;
    const now = deps.now ?? Date.now;
    const { key } = deps;
    if (config.clientId.trim() === '') throw configError('SMART clientId is empty');
    if (config.scope.trim() === '') throw configError('SMART scope is empty', 'set scope, e.g. system/*.rs');
    if (config.algorithm !== undefined && config.algorithm !== key.alg) {
      throw configError(`SMART configuration asks for ${config.algorithm} but the client key ${config.privateKeyFile} is an ${key.alg} key`);
    }
    if (config.kid !== undefined && config.kid !== key.kid) {
      throw configError(`SMART configuration has kid "${config.kid}" but the client key ${config.privateKeyFile} has kid "${key.kid}"`);
    }

    let tokenEndpoint: string;
    if (config.tokenEndpoint !== undefined) {
      if (!URL.canParse(config.tokenEndpoint)) throw configError(`SMART tokenEndpoint "${config.tokenEndpoint}" is not an absolute URL`);
      tokenEndpoint = config.tokenEndpoint;
    } else {
      tokenEndpoint = await discoverTokenEndpoint(baseUrl, key.alg, fetchFn);
    }
    checkTransport(tokenEndpoint);
    return new SmartBackendAuth(tokenEndpoint, config.clientId, config.scope, key, fetchFn, now);
  }

  /** `Bearer <token>`, fetching a new token when there is none or it is near expiry. */
  async authorization(): Promise<string> {
    const cached = this.token;
    if (cached !== null && this.now() < cached.renewAt) return cached.authorization;
    if (this.inFlight === null) {
      const request = this.requestToken();
      this.inFlight = request;
      // Cleared whether it succeeds or fails, so a failure is not cached.
      request.then(
        (token) => {
          if (this.inFlight === request) {
            this.token = token;
            this.inFlight = null;
          }
        },
        () => {
          if (this.inFlight === request) this.inFlight = null;
        },
      );
    }
    return (await this.inFlight).authorization;
  }

  /**
   * Forgets the current token (after a 401). Given the Authorization value that was rejected, it
   * forgets only if that is still the current token, so a token another caller has just renewed is
   * kept.
   */
  invalidate(rejected?: string): void {
    if (rejected !== undefined && this.token !== null && this.token.authorization !== rejected) return;
    this.token = null;
  }

  /** A signed client assertion for the token endpoint; exported for tests and diagnostics. */
  async clientAssertion(): Promise<string> {
    const issuedAt = Math.floor(this.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.kid, typ: 'JWT' })
      .setIssuer(this.clientId)
      .setSubject(this.clientId)
      .setAudience(this.tokenEndpoint)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(this.key.key);
  }

  private async requestToken(): Promise<CachedToken> {
    const requestedAt = this.now();
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: this.scope,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await this.clientAssertion(),
    });
    const what = `SMART token request to ${this.tokenEndpoint}`;
    let response: Response;
    try {
      response = await this.fetchFn(this.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        // A redirect would re-send the assertion elsewhere; the configured endpoint must be final.
        redirect: 'manual',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw tokenError(`${what} failed: ${networkReason(err)}`, this.tokenEndpoint, undefined, err);
    }
    const text = await readBody(response);

    if (!response.ok) {
      const oauth = parseJson(text);
      const parsed = oauth === undefined ? undefined : oauthErrorSchema.safeParse(oauth);
      const detail = parsed?.success ? `: ${bounded(parsed.data.error)}${parsed.data.error_description ? ` — ${bounded(parsed.data.error_description)}` : ''}` : '';
      const redirect = response.status >= 300 && response.status < 400 ? ' (a redirect; configure the final token endpoint URL)' : '';
      const hint = parsed?.success ? oauthErrorHints[parsed.data.error] : undefined;
      throw tokenError(`${what} failed with HTTP ${response.status}${redirect}${detail}`, this.tokenEndpoint, hint);
    }

    // The body holds the token: neither it nor a parser message quoting it goes into an error.
    const json = parseJson(text);
    if (json === undefined) throw tokenError(`${what} returned HTTP ${response.status} with a body that is not JSON`, this.tokenEndpoint);
    const parsed = tokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw tokenError(`${what} returned an invalid token response: ${describeIssues(parsed.error)}`, this.tokenEndpoint);
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    const margin = Math.min(RENEW_BEFORE_MS, lifetimeMs / 10);
    // Timed from before the request was sent, so the token is never thought newer than it is.
    return { authorization: `Bearer ${parsed.data.access_token}`, renewAt: requestedAt + lifetimeMs - margin };
  }
}

/**
 * Sends a request with the current token; on 401 forgets the token, fetches a new one and sends once
 * more. A second 401 is returned to the caller as is. Without auth, sends with `null` and never retries.
 * `send` must be callable twice (build the request inside it; do not reuse a consumed body).
 */
export async function withAuthRetry(
  auth: SmartBackendAuth | null,
  send: (authorization: string | null) => Promise<Response>,
): Promise<Response> {
  if (auth === null) return send(null);
  const first = await auth.authorization();
  const response = await send(first);
  if (response.status !== 401) return response;
  // Free the connection before re-sending.
  await response.body?.cancel().catch(() => undefined);
  auth.invalidate(first);
  return send(await auth.authorization());
}

// ---------------------------------------------------------------------------------------------

async function discoverTokenEndpoint(baseUrl: string, alg: ClientKeyAlgorithm, fetchFn: typeof fetch): Promise<string> {
  const url = `${baseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
  const what = `SMART discovery (${url})`;
  const noDiscoveryHint = 'check the FHIR base URL, or set tokenEndpoint in the configuration to skip discovery';
  let response: Response;
  try {
    response = await fetchFn(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    throw discoveryError(`${what} failed: ${networkReason(err)}`, url, noDiscoveryHint, err);
  }
  const text = await readBody(response);
  if (!response.ok) throw discoveryError(`${what} failed with HTTP ${response.status}`, url, noDiscoveryHint);
  const json = parseJson(text);
  if (json === undefined) throw discoveryError(`${what} returned a body that is not JSON`, url, noDiscoveryHint);
  const parsed = smartConfigurationSchema.safeParse(json);
  if (!parsed.success) throw discoveryError(`${what} returned an invalid SMART configuration: ${describeIssues(parsed.error)}`, url, noDiscoveryHint);

  const found = parsed.data;
  const unsupported = (list: string[] | undefined, wanted: string): boolean => list !== undefined && !list.includes(wanted);
  if (unsupported(found.token_endpoint_auth_methods_supported, 'private_key_jwt')) {
    throw discoveryError(
      `${what}: the server does not support private_key_jwt client authentication (it lists ${listed(found.token_endpoint_auth_methods_supported)})`,
      url,
      'SMART Backend Services needs private_key_jwt; ask the server operator',
    );
  }
  if (unsupported(found.grant_types_supported, 'client_credentials')) {
    throw discoveryError(
      `${what}: the server does not support the client_credentials grant (it lists ${listed(found.grant_types_supported)})`,
      url,
      'SMART Backend Services needs client_credentials; ask the server operator',
    );
  }
  if (unsupported(found.token_endpoint_auth_signing_alg_values_supported, alg)) {
    throw discoveryError(
      `${what}: the server does not accept ${alg} client assertions (it lists ${listed(found.token_endpoint_auth_signing_alg_values_supported)})`,
      url,
      `use a key for one of the listed algorithms (RS384 needs an RSA key, ES384 an EC P-384 key)`,
    );
  }
  return found.token_endpoint;
}

/** Plain http is allowed only to loopback: elsewhere it would expose the access token. */
function checkTransport(tokenEndpoint: string): void {
  const url = new URL(tokenEndpoint);
  if (url.protocol === 'https:') return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (url.protocol === 'http:' && loopback) return;
  throw configError(
    `SMART token endpoint ${tokenEndpoint} does not use https; refusing to send a client assertion or receive a token over it`,
    'use the https URL of the token endpoint',
  );
}

async function readBody(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch {
    return '';
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Field paths and Zod's type expectations only; values (which may be the token) are never echoed. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(top level)'} ${issue.code === 'custom' ? issue.message : issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.code.replaceAll('_', ' ')}`)
    .join('; ');
}

function listed(values: string[] | undefined): string {
  return values === undefined || values.length === 0 ? 'none' : values.map(bounded).join(', ');
}

function bounded(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_SERVER_TEXT ? `${oneLine.slice(0, MAX_SERVER_TEXT)}…` : oneLine;
}

function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return err instanceof Error ? err.message : String(err);
}

function configError(message: string, hint?: string): CarelakeError {
  return new CarelakeError({ code: 'smart.config', kind: 'config', message, hint });
}

function discoveryError(message: string, url: string, hint?: string, cause?: unknown): CarelakeError {
  return new CarelakeError({ code: 'smart.discovery', kind: 'runtime', message, location: { file: url }, hint, cause });
}

function tokenError(message: string, url: string, hint?: string, cause?: unknown): CarelakeError {
  return new CarelakeError({ code: 'smart.token', kind: 'runtime', message, location: { file: url }, hint, cause });
}
