// Runs the real `carelake` binary in a child process, for end-to-end tests: exit code, stdout and
// stderr, never throwing on a non-zero exit. A fixed pseudonymisation key comes in the environment so
// no test writes a key file of its own.

import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const CARELAKE_BIN = resolve(import.meta.dirname, '../../bin/carelake.mjs');

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function carelakeCli(cwd: string, args: readonly string[], key = 'cd'.repeat(32)): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CARELAKE_BIN, ...args], { cwd, env: { ...process.env, CARELAKE_PSEUDONYM_KEY: key } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
