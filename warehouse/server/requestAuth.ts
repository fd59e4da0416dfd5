// Authentication and authorisation for every route: a route says which roles may call it (or that it
// is public), the caller is identified before anything else runs, and a wrong role is refused before
// the handler. A caller is identified by `Authorization: Bearer <token>` (APIs, scripts) or, when
// there is no such header, by the browser session cookie (people, after /sign-in); both give the same
// Principal, so the audit log names a person the same way whichever they used. Clients are told only
// "sign in" or "not allowed"; why goes to the log. A browser asking for a page without a live session
// is sent to the sign-in page, which brings it back afterwards; APIs answer 401.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticate } from '../auth/authenticate.ts';
import type { Principal, Role } from '../auth/principal.ts';
import { HttpProblem } from './operationOutcome.ts';
import type { BrowserSessions } from './session/browserSessions.ts';
import type { Session } from './session/sessionStore.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed to call the route; `public` for no authentication at all. */
    access?: readonly Role[] | 'public';
  }
  interface FastifyRequest {
    /** The browser session the request was authenticated by; null for bearer tokens and public routes. */
    browserSession: Session | null;
  }
}

export const SIGN_IN_PATH = '/sign-in';

export function registerRequestAuth(app: FastifyInstance, authenticate: Authenticate, sessions: BrowserSessions): void {
  app.decorateRequest('browserSession', null);
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (access === 'public') return;
    let principal: Principal;
    const header = request.headers.authorization;
    if (header === undefined && sessions.hasCookie(request)) {
      const session = await sessions.resolve(request, reply);
      if (!session) {
        request.log.info('authentication failed: the session has ended');
        return signInFirst(request, reply);
      }
      request.browserSession = session;
      principal = session.principal;
    } else {
      const result = await authenticate(header);
      if ('failure' in result) {
        request.log.info({ failure: result.failure, reason: result.reason }, 'authentication failed');
        if (result.failure === 'missing' && isPage(request)) return signInFirst(request, reply);
        reply.header('www-authenticate', `Bearer realm="carelake"${result.failure === 'missing' ? '' : ', error="invalid_token"'}`);
        if (result.unavailable) throw new HttpProblem('transient', 'Sign-in cannot be checked right now; try again shortly.');
        throw new HttpProblem('login', 'Sign in: send an API key or an access token as "Authorization: Bearer <token>".');
      }
      principal = result.principal;
    }
    request.principal = principal;
    // A route without a declared access list (e.g. an unknown path) is open to any signed-in caller.
    if (access !== undefined && !access.includes(principal.role)) {
      throw new HttpProblem('forbidden', `This needs the ${access.join(' or ')} role; you are signed in as ${principal.role}.`);
    }
  });
}

/** Pages are for people in browsers; the JSON API and the metrics endpoint are for programs. */
export function isPage(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] as string;
  return !(path === '/api' || path.startsWith('/api/') || path === '/metrics');
}

/**
 * APIs: 401. Pages: 303 to the sign-in page, which comes back here afterwards (a GET only: a form
 * posted without a session cannot be replayed, so it starts again from the default page).
 */
async function signInFirst(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (!isPage(request)) {
    reply.header('www-authenticate', 'Bearer realm="carelake"');
    throw new HttpProblem('login', 'Sign in: send an API key or an access token as "Authorization: Bearer <token>".');
  }
  request.audit.outcome = 'unauthenticated';
  request.audit.error = 'auth.sign-in-required';
  const next = request.method === 'GET' || request.method === 'HEAD' ? `?next=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`${SIGN_IN_PATH}${next}`, 303);
}
