// Run ids sort by start time and stay unique across processes: `r20261121T134501Z-1a2b3c`.

import { randomBytes } from 'node:crypto';

export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `r${stamp}-${randomBytes(3).toString('hex')}`;
}
