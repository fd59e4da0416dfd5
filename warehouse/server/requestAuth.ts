// Authentication and authorisation for every route: a route says which roles may call it (or that it
// is public), the bearer token is checked before anything else runs, and a wrong role is refused
// before the handler. Clients are told only "sign in" or "not allowed"; why goes to the log.

import type { FastifyInstance } from 'fastify';
import type { Authenticate } from '../auth/authenticate.ts';
import type { Role } from '../auth/principal.ts';
import { HttpProblem } from './operationOutcome.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles allowed to call the route; `public` for no authentication at all. */
    access?: readonly Role[] | 'public';
  }
}

export function registerRequestAuth(app: FastifyInstance, authenticate: Authenticate): void {
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (access === 'public') return;
    const result = await authenticate(request.headers.authorization);
    if ('failure' in result) {
      request.log.info({ failure: result.failure, reason: result.reason }, 'authentication failed');
      reply.header('www-authenticate', `Bearer realm="carelake"${result.failure === 'missing' ? '' : ', error="invalid_token"'}`);
      if (result.unavailable) throw new HttpProblem('transient', 'Sign-in cannot be checked right now; try again shortly.');
      throw new HttpProblem('login', 'Sign in: send an API key or an access token as "Authorization: Bearer <token>".');
    }
    request.principal = result.principal;
    // A route without a declared access list (e.g. an unknown path) is open to any signed-in caller.
    if (access !== undefined && !access.includes(result.principal.role)) {
      throw new HttpProblem('forbidden', `This needs the ${access.join(' or ')} role; you are signed in as ${result.principal.role}.`);
    }
  });
}
