// One scheduler per lake: two would fire every cron tick twice. The lock is a LakeLock (a file created
// exclusively, holding the PID): a second `carelake schedule` is refused naming the first, and a lock
// left by a scheduler that died (its PID no longer running) is taken over.

import { currentHolder, LakeLock, type LockHolder } from '../../core/lakeLock.ts';
import type { LakeLayout } from '../../core/lake.ts';

export const SCHEDULER_PURPOSE = 'carelake schedule';

export function acquireSchedulerLock(layout: LakeLayout, now: Date = new Date()): LakeLock {
  return LakeLock.acquire(layout.schedulerLock, SCHEDULER_PURPOSE, now);
}

/** The running scheduler (PID and since when), or null when none is running. */
export function schedulerStatus(layout: LakeLayout): LockHolder | null {
  return currentHolder(layout.schedulerLock);
}
