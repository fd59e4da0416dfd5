// Browser sessions, kept server-side in memory: the cookie holds only a random 256-bit id, and the
// id maps to the Principal that signed in. Nothing in the cookie can be decoded or forged, a session
// ends the moment it is deleted here (sign-out, revocation, a restart), and the token that proved who
// signed in is never kept. Sessions are looked up by the SHA-256 of the id, so what this map holds
// cannot be replayed as a cookie even by someone who reads the process's memory or a heap dump.
//
// A session ends after `idleMs` unused (the idle timeout) and `absoluteMs` after sign-in whatever
// happens (the absolute lifetime), and never later than `notAfter` (a JWT's exp). Each session has its
// own CSRF token (the synchroniser token pattern, see csrf.ts). One server process, one store: a
// second server behind a load balancer would need sticky sessions or a shared store.

import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../../auth/principal.ts';

export const SESSION_ID_BYTES = 32;

export interface Session {
  principal: Principal;
  /** The synchroniser token every state-changing form posted in this session must carry. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** When it ends whatever happens: sign-in + the absolute lifetime, or the token's expiry if sooner. */
  endsAt: number;
}

export interface SessionStoreOptions {
  idleMs: number;
  absoluteMs: number;
  /** Milliseconds since the epoch; the system clock unless a test sets one. */
  now?: () => number;
}

/** Expired sessions are swept when one is created and the store holds at least this many. */
const SWEEP_AT = 1000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly options: SessionStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A new session for the principal: returns the id for the cookie, shown nowhere else. */
  create(principal: Principal, notAfter?: number): { id: string; session: Session } {
    const now = this.now();
    if (this.sessions.size >= SWEEP_AT) this.sweep(now);
    const id = randomBytes(SESSION_ID_BYTES).toString('base64url');
    const session: Session = {
      principal,
      csrfToken: randomBytes(SESSION_ID_BYTES).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      endsAt: Math.min(now + this.options.absoluteMs, notAfter ?? Number.POSITIVE_INFINITY),
    };
    this.sessions.set(keyOf(id), session);
    return { id, session };
  }

  /** The live session for a cookie's id, marked as used now; null (and forgotten) once it has ended. */
  touch(id: string): Session | null {
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return null;
    const now = this.now();
    if (!live(session, now, this.options.idleMs)) {
      this.sessions.delete(key);
      return null;
    }
    session.lastSeenAt = now;
    return session;
  }

  /** Ends a session (sign-out, or its principal no longer valid). */
  end(id: string): void {
    this.sessions.delete(keyOf(id));
  }

  /** Sessions held, ended ones not yet swept included. */
  get size(): number {
    return this.sessions.size;
  }

  private sweep(now: number): void {
    for (const [key, session] of this.sessions) if (!live(session, now, this.options.idleMs)) this.sessions.delete(key);
  }
}

function live(session: Session, now: number, idleMs: number): boolean {
  return now < session.endsAt && now - session.lastSeenAt < idleMs;
}

function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}
