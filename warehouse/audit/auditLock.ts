// A short exclusive lock around "read the last hash, append, move the head" on the audit log, shared by
// every process that audits (the API server, `carelake query --role …`, verify's snapshot). Same idea
// as core/lakeLock.ts — a file created with O_EXCL recording the holder's PID, stale when that PID is
// gone — but it waits briefly instead of failing, because an append holds it for milliseconds, and it
// is stricter about takeover than LakeLock:
// - a lock file that exists but is still empty is being written by its creator, not stale (LakeLock
//   would delete it), unless it has been empty for seconds;
// - a lock carrying our own PID but a token we do not hold is stale (PID reuse after a container
//   restart), rather than ours;
// - a stale lock is moved aside by rename, which only one taker can win, and put back if what was moved
//   turns out to be a fresh lock someone else had just taken;
// - it is polite: a process kept waiting leaves a "want" file beside the lock, and a process about to
//   take the lock again steps back for a moment when it sees another's want file. Without that, a busy
//   writer re-taking the lock in a loop starves the others, whose polls always find it held (measured:
//   one process did all 150 of its appends while two others waited).

import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CarelakeError } from '../../core/errors.ts';
import { isRunning } from '../../core/lakeLock.ts';

interface Holder {
  pid: number;
  token: string;
  since: string;
}

/** Tokens of the locks this process holds right now. */
const held = new Set<string>();

/** An empty lock file older than this was left by a creator that died between create and write. */
const EMPTY_LOCK_STALE_MS = 5_000;
/** A want file touched within this long means someone is waiting right now. */
const WANT_FRESH_MS = 100;
/** How long a process steps back when someone else is waiting; waiters poll faster than this. */
const COURTESY_MS = 4;

export interface AuditLockOptions {
  /** Give up after this long (default 10 s); appends hold the lock for milliseconds. */
  timeoutMs?: number;
}

export class AuditLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly holder: Holder,
  ) {}

  /** Waits (polling every 1–2 ms) until the lock is free, then takes it; `audit.lock-timeout` after timeoutMs. */
  static async acquire(path: string, options: AuditLockOptions = {}): Promise<AuditLock> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    const want = `${path}.want`;
    if (othersWaiting(want)) await sleep(COURTESY_MS);
    let waited = false;
    let lastHolder: Holder | null = null;
    for (;;) {
      const holder: Holder = { pid: process.pid, token: randomUUID(), since: new Date().toISOString() };
      if (tryCreate(path, holder)) {
        held.add(holder.token);
        if (waited) withdrawWant(want);
        return new AuditLock(path, holder);
      }
      const current = readHolder(path);
      if (current === 'gone') continue;
      if (isStale(path, current)) {
        takeOver(path, current);
        continue;
      }
      waited = true;
      announceWant(want);
      if (current !== 'empty') lastHolder = current;
      if (Date.now() >= deadline) {
        withdrawWant(want);
        throw new CarelakeError({
          code: 'audit.lock-timeout',
          kind: 'runtime',
          message: `Could not take the audit lock ${path} within ${timeoutMs} ms${lastHolder ? `: process ${lastHolder.pid} has held it since ${lastHolder.since}` : ''}`,
          location: { file: path },
          hint: 'an append holds it for milliseconds; if that process is hung, stop it (a lock whose process is gone is taken over)',
        });
      }
      // Short polls: an append holds the lock for a few milliseconds.
      await sleep(1 + Math.random());
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.holder.token);
    const current = readHolder(this.path);
    if (typeof current === 'object' && current.token === this.holder.token) rmSync(this.path, { force: true });
  }
}

export async function withAuditLock<T>(path: string, work: () => Promise<T>, options: AuditLockOptions = {}): Promise<T> {
  const lock = await AuditLock.acquire(path, options);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

function announceWant(want: string): void {
  try {
    writeFileSync(want, String(process.pid));
  } catch {
    // best effort: politeness, not correctness
  }
}

function withdrawWant(want: string): void {
  try {
    if (readFileSync(want, 'utf8') === String(process.pid)) rmSync(want, { force: true });
  } catch {
    // gone already
  }
}

function othersWaiting(want: string): boolean {
  try {
    const { mtimeMs } = statSync(want);
    return Date.now() - mtimeMs < WANT_FRESH_MS && readFileSync(want, 'utf8') !== String(process.pid);
  } catch {
    return false;
  }
}

function tryCreate(path: string, holder: Holder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o640);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(holder));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** 'gone' when the file vanished between our create and our read; 'empty' while its creator writes it. */
function readHolder(path: string): Holder | 'gone' | 'empty' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Holder>;
    if (typeof parsed.pid === 'number' && typeof parsed.token === 'string') return { pid: parsed.pid, token: parsed.token, since: String(parsed.since) };
  } catch {
    // fall through: half-written or foreign
  }
  return 'empty';
}

function isStale(path: string, current: Holder | 'empty'): boolean {
  if (current === 'empty') {
    try {
      return Date.now() - statSync(path).mtimeMs > EMPTY_LOCK_STALE_MS;
    } catch {
      return false;
    }
  }
  if (current.pid === process.pid) return !held.has(current.token);
  return !isRunning(current.pid);
}

/** Moves the stale lock aside; only one taker's rename succeeds. Puts back a lock that turned out to be fresh. */
function takeOver(path: string, seen: Holder | 'empty'): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else took it over first
    throw err;
  }
  const moved = readHolder(aside);
  const sameAsSeen = seen === 'empty' ? moved === 'empty' : typeof moved === 'object' && moved.token === seen.token;
  if (!sameAsSeen) {
    // Between our look and our rename another process took over and made a fresh lock: restore it,
    // unless yet another lock already exists (link fails rather than overwrite).
    try {
      linkSync(aside, path);
    } catch {
      // leave it: the newer lock at `path` wins
    }
  }
  rmSync(aside, { force: true });
}
