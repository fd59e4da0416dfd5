// Locates the shared data folder (real HL7 v2 samples, specs) for tests that read it. It lives outside
// the repository, so a clone without it must still pass: such suites are skipped, loudly, instead of
// failing. Set CARELAKE_SHARED to point elsewhere; the default is ../shared next to the project root.

import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The shared data folder, or null when it is not there. */
export function sharedDir(): string | null {
  const dir = process.env['CARELAKE_SHARED'] ?? resolve(projectRoot, '../shared');
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : null;
}

/** A describe block that receives the shared folder, or one skipped test with a console notice. */
export function describeWithShared(name: string, fn: (shared: string) => void): void {
  const dir = sharedDir();
  if (dir === null) {
    const where = process.env['CARELAKE_SHARED'] ?? resolve(projectRoot, '../shared');
    console.warn(`[carelake tests] skipping "${name}": shared data folder not found at ${where} (set CARELAKE_SHARED)`);
    describe(name, () => {
      it.skip(`needs the shared data folder (${where})`, () => {});
    });
    return;
  }
  describe(name, () => fn(dir));
}
