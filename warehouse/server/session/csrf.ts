// Cross-site request forgery: a page on another site must not be able to make a signed-in browser
// change anything here. The cookie is already SameSite=Strict; on top of that every state-changing
// request (anything but GET, HEAD, OPTIONS) made with the session cookie must carry the session's
// CSRF token, as the form field `_csrf` or the header `X-CSRF-Token`. Requests with a bearer token
// need none: a browser never adds that header on its own, so another site cannot forge one.
//
// Why no library: sessions are kept server-side (sessionStore.ts), so the OWASP synchroniser token
// pattern is a random token in the session and one constant-time comparison. @fastify/csrf-protection
// exists for stateless servers (a secret in a second cookie, tokens derived from it) and would add a
// cookie and a signing secret to manage for nothing here.

import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { escapeHtml } from '../pages.ts';
import { HttpProblem } from '../operationOutcome.ts';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The hidden field a form posting back to this server must include: the session's token for a
 * signed-in browser, nothing for a bearer-authenticated request (which needs none).
 */
export function csrfField(request: FastifyRequest): string {
  const session = request.browserSession;
  return session ? `<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(session.csrfToken)}">` : '';
}

/** Refuses (403) a state-changing request made with the session cookie that lacks the session's token. */
export function registerCsrfCheck(app: FastifyInstance): void {
  // preHandler: after authentication (which finds the session) and after the body is parsed.
  app.addHook('preHandler', async (request) => {
    const session = request.browserSession;
    if (!session || SAFE_METHODS.has(request.method)) return;
    if (sameToken(presentedToken(request), session.csrfToken)) return;
    request.audit.error = 'auth.csrf';
    request.log.info('refused a cookie-authenticated request without a valid CSRF token');
    throw new HttpProblem('forbidden', 'This form has expired or did not come from this site. Go back, reload the page and try again.');
  });
}

function presentedToken(request: FastifyRequest): string | undefined {
  const body = request.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const field = (body as Record<string, unknown>)[CSRF_FIELD];
    if (typeof field === 'string') return field;
  }
  const header = request.headers[CSRF_HEADER];
  return typeof header === 'string' ? header : undefined;
}

function sameToken(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether a browser says the request came from another site (Sec-Fetch-Site; else Origin, which is
 * `null` under this server's no-referrer policy). Other clients say nothing and are not refused here.
 * A second line for forms that must not be posted from elsewhere: sign-in (login CSRF) and, with a
 * proxy that adds bearer tokens, the runs page's buttons.
 */
export function crossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}
