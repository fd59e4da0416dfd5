// Browser sign-in: GET /sign-in shows the form, POST /sign-in checks the API key or access token with
// the very Authenticate that checks bearer tokens and, if it is good, starts a server-side session
// (browserSessions.ts) and sends the browser on to where it was going; POST /sign-out ends it. The
// token is used once and kept nowhere: not in the session, the log, the audit log or the page sent
// back after a refusal. Every attempt is audited (request audit) with its outcome and, when it
// succeeded, the principal.

import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { Authenticate } from '../../auth/authenticate.ts';
import { ROLES, type Role } from '../../auth/principal.ts';
import { HttpProblem } from '../operationOutcome.ts';
import { SIGN_IN_PATH } from '../requestAuth.ts';
import type { BrowserSessions } from './browserSessions.ts';
import { crossSite, csrfField } from './csrf.ts';
import { signInPage, signOutForm } from './signInPage.ts';

export const SIGN_OUT_PATH = '/sign-out';

/** Where a role lands after signing in when it was not on its way somewhere. */
const HOME: Record<Role, string> = { commissioner: '/', engineer: '/ops', analyst: '/' };

const MAX_NEXT_LENGTH = 2048;
const BODY_LIMIT = 32 * 1024;
const REFUSED = 'That API key or access token was not accepted. Check that you pasted all of it; a key may have been revoked or a token may have expired.';
const EMPTY = 'Enter your API key or access token.';
const UNAVAILABLE = 'Sign-in cannot be checked right now. Try again shortly.';

/**
 * `next` if it is a path on this server, else null. Only `/…` paths are kept: not `//host` or `/\host`
 * (which browsers read as another host), not a scheme, no control characters (browsers drop tabs and
 * newlines, turning `/\t/host` into `//host`), and not the sign-in or sign-out pages themselves.
 */
export function checkedNext(next: unknown): string | null {
  if (typeof next !== 'string' || next.length === 0 || next.length > MAX_NEXT_LENGTH) return null;
  if (!next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return null;
  const base = 'http://carelake.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return null;
  }
  if (url.origin !== base || url.pathname === SIGN_IN_PATH || url.pathname === SIGN_OUT_PATH) return null;
  return `${url.pathname}${url.search}`;
}

/** Who is signed in and a sign-out button, for pages shown to a signed-in browser; empty for bearer requests. */
export function signOutControl(request: FastifyRequest): string {
  const session = request.browserSession;
  return session ? signOutForm(csrfField(request), session.principal.name) : '';
}

export async function registerSignInRoutes(app: FastifyInstance, options: { authenticate: Authenticate; sessions: BrowserSessions }): Promise<void> {
  const { authenticate, sessions } = options;
  const html = 'text/html; charset=utf-8';

  // In their own scope, so only these routes (and the runs page's, in theirs) parse form bodies.
  await app.register(async (scope) => {
    await scope.register(formbody);

    scope.get<{ Querystring: { next?: unknown } }>(SIGN_IN_PATH, { config: { access: 'public' } }, async (request, reply) => {
      return reply.type(html).send(signInPage({ next: checkedNext(request.query.next) ?? '' }));
    });

    scope.post(SIGN_IN_PATH, { config: { access: 'public' }, bodyLimit: BODY_LIMIT }, async (request, reply) => {
      // Login CSRF: another site must not sign a browser in as someone else.
      if (crossSite(request)) throw new HttpProblem('forbidden', 'Sign in from the sign-in page of this server.');
      const body = typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : {};
      const next = checkedNext(body.next);
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const refuse = (status: 401 | 503, problem: string, error: string) => {
        request.audit.error = error;
        return reply.code(status).type(html).send(signInPage({ next: next ?? '', problem }));
      };
      if (token === '') return refuse(401, EMPTY, 'auth.sign-in-empty');
      const result = await authenticate(`Bearer ${token}`);
      if ('failure' in result) {
        request.log.info({ failure: result.failure, reason: result.reason }, 'sign-in refused');
        return result.unavailable ? refuse(503, UNAVAILABLE, 'auth.unavailable') : refuse(401, REFUSED, 'auth.sign-in-failed');
      }
      const { principal } = result;
      sessions.start(request, reply, principal, principal.via === 'jwt' ? jwtExpiry(token) : undefined);
      request.principal = principal;
      request.log.info({ principal: principal.id }, 'signed in');
      return reply.redirect(next ?? HOME[principal.role], 303);
    });

    scope.post(SIGN_OUT_PATH, { config: { access: ROLES }, bodyLimit: BODY_LIMIT }, async (request, reply) => {
      sessions.end(request, reply);
      return reply.redirect(SIGN_IN_PATH, 303);
    });
  });
}

/** The exp of a JWT the verifier has just accepted (it requires exp), so its session ends with it. */
function jwtExpiry(token: string): Date | undefined {
  const exp = decodeJwt(token).exp;
  return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
}
