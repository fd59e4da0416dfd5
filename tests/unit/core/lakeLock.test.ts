import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LakeLock } from '../../../core/lakeLock.ts';

describe('LakeLock', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'carelake-lock-'));

  it('refuses a second holder while a live process holds it, naming the PID and purpose', () => {
    const path = join(dir(), 'lake.lock');
    // A live process other than ours: our parent.
    writeFileSync(path, JSON.stringify({ pid: process.ppid, purpose: 'warehouse build', since: '2026-01-01T00:00:00.000Z' }));
    expect(() => LakeLock.acquire(path, 'another build')).toThrow(new RegExp(`process ${process.ppid} .*warehouse build`));
  });

  it('takes over a lock whose holder is gone, and removes it on release', () => {
    const path = join(dir(), 'lake.lock');
    writeFileSync(path, JSON.stringify({ pid: 2 ** 22 + 12345, purpose: 'crashed', since: '2026-01-01T00:00:00.000Z' }));
    const lock = LakeLock.acquire(path, 'build');
    expect(lock.holder.pid).toBe(process.pid);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });
});
