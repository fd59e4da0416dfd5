// Cron expressions read by croner in the scheduler's time zone. croner is chosen over node-cron because
// it keeps wall-clock times across the clock changes: a daily 01:30 job runs once on the spring-forward
// day (at 02:00 BST, the first time after the gap) and once on the autumn day (the first 01:30 only),
// while hourly patterns run every real hour. Tested in tests/unit/scheduler.

import { Cron } from 'croner';

/** The next time `pattern` fires after `from`, or null if it never will. */
export function nextRunOf(pattern: string, timezone: string, from: Date): Date | null {
  return new Cron(pattern, { timezone, paused: true }).nextRun(from);
}

/** The latest time `pattern` fired before `at`, or null if it never has (for catching up a missed tick). */
export function previousRunOf(pattern: string, timezone: string, at: Date): Date | null {
  return new Cron(pattern, { timezone, paused: true }).previousRuns(1, at)[0] ?? null;
}
