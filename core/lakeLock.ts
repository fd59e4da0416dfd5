// An exclusive lock held by one process, as a file created with O_EXCL that records the holder's PID.
// Written by hand because the common library (proper-lockfile) judges staleness by mtime and keeps a
// timer refreshing it; a PID check is exact on one machine, which is where a lake lives. A lock whose
// PID is no longer running is stale and taken over.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CarelakeError } from './errors.ts';

export interface LockHolder {
  pid: number;
  purpose: string;
  since: string;
}

export class LakeLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {}

  /** Takes the lock or throws `lock.held` naming the holder's PID and purpose. */
  static acquire(path: string, purpose: string, now: Date = new Date()): LakeLock {
    mkdirSync(dirname(path), { recursive: true });
    const holder: LockHolder = { pid: process.pid, purpose, since: now.toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o644);
        try {
          writeSync(fd, JSON.stringify(holder));
        } finally {
          closeSync(fd);
        }
        return new LakeLock(path, holder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const current = readHolder(path);
        if (current && isRunning(current.pid) && current.pid !== process.pid) {
          throw new CarelakeError({
            code: 'lock.held',
            kind: 'runtime',
            message: `The lake is busy: process ${current.pid} has held ${path} since ${current.since} (${current.purpose})`,
            location: { file: path },
            hint: 'wait for it to finish; if that process is gone, delete the lock file',
          });
        }
        // Stale (holder gone) or unreadable: take it over.
        rmSync(path, { force: true });
      }
    }
    throw new CarelakeError({ code: 'lock.race', kind: 'runtime', message: `Could not take the lock ${path}`, location: { file: path } });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const current = readHolder(this.path);
    if (current?.pid === this.holder.pid && current.since === this.holder.since) rmSync(this.path, { force: true });
  }
}

export async function withLock<T>(path: string, purpose: string, work: () => Promise<T>): Promise<T> {
  const lock = LakeLock.acquire(path, purpose);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/** Who holds the lock at `path`, if anyone still running does. */
export function currentHolder(path: string): LockHolder | null {
  const holder = readHolder(path);
  return holder && isRunning(holder.pid) ? holder : null;
}

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, purpose: String(parsed.purpose), since: String(parsed.since) } : null;
  } catch {
    return null;
  }
}

/** Whether a process with this PID exists (EPERM: it does, owned by someone else). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
