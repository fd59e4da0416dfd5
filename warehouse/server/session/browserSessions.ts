// Sessions as a browser sees them: the `carelake_session` cookie, set at sign-in and read on every
// request. The cookie is HttpOnly (no script can read it), SameSite=Strict (no other site's page can
// make the browser send it), Path=/, Secure when the request came over https, and has no Max-Age, so
// it dies with the browser; the session behind it ends sooner on the server (sessionStore.ts).
//
// Every request re-checks that the principal may still act (its API key not revoked since sign-in),
// so `carelake keys revoke` ends that key's sessions at their next request.

import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PrincipalCheck } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { SessionStore, type Session } from './sessionStore.ts';

export const SESSION_COOKIE = 'carelake_session';

/** A session id as minted: 32 random bytes in base64url. Anything else is not looked up. */
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface BrowserSessionOptions {
  idleMinutes: number;
  absoluteHours: number;
  stillValid: PrincipalCheck;
  /** The clock sessions are timed by; the system clock unless a test sets one. */
  clock?: () => Date;
}

export class BrowserSessions {
  private readonly store: SessionStore;
  private readonly stillValid: PrincipalCheck;

  constructor(options: BrowserSessionOptions) {
    const clock = options.clock;
    this.store = new SessionStore({
      idleMs: options.idleMinutes * 60_000,
      absoluteMs: options.absoluteHours * 3_600_000,
      ...(clock ? { now: () => clock().getTime() } : {}),
    });
    this.stillValid = options.stillValid;
  }

  /** Whether the request carries a session cookie at all (live or not). */
  hasCookie(request: FastifyRequest): boolean {
    return request.cookies[SESSION_COOKIE] !== undefined;
  }

  /**
   * The live session the request's cookie names, or null. A cookie whose session has ended (timed
   * out, signed out, its key revoked, the server restarted) is cleared, and the session forgotten.
   */
  async resolve(request: FastifyRequest, reply: FastifyReply): Promise<Session | null> {
    const id = request.cookies[SESSION_COOKIE];
    if (id === undefined) return null;
    const session = SESSION_ID_SHAPE.test(id) ? this.store.touch(id) : null;
    if (session && (await this.stillValid(session.principal))) return session;
    if (session) request.log.info({ principal: session.principal.id }, 'session ended: its principal is no longer valid');
    this.store.end(id);
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    return null;
  }

  /** Starts a session for a principal who has just proved who they are, replacing any the browser had. */
  start(request: FastifyRequest, reply: FastifyReply, principal: Principal, notAfter?: Date): Session {
    const previous = request.cookies[SESSION_COOKIE];
    if (previous !== undefined) this.store.end(previous);
    const { id, session } = this.store.create(principal, notAfter?.getTime());
    reply.setCookie(SESSION_COOKIE, id, cookieOptions(request));
    return session;
  }

  /** Ends the request's session, if any, and clears the cookie. */
  end(request: FastifyRequest, reply: FastifyReply): void {
    const id = request.cookies[SESSION_COOKIE];
    if (id !== undefined) this.store.end(id);
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
  }
}

function cookieOptions(request: FastifyRequest): CookieSerializeOptions {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: request.protocol === 'https' };
}
