// `carelake schedule` as a real child process, for tests of what only a process shows: the PID lock,
// signals and graceful shutdown. Output is collected; `exited` resolves with the exit code.

import { spawn, type ChildProcess } from 'node:child_process';
import { CARELAKE_BIN } from './carelakeCli.ts';

export interface SchedulerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves once the scheduler has printed its job table (it is taking ticks and requests). */
  ready: Promise<void>;
}

export function startSchedulerProcess(cwd: string, configFile: string, env: Record<string, string> = {}): SchedulerProcess {
  const child = spawn(process.execPath, [CARELAKE_BIN, '--config', configFile, 'schedule'], {
    cwd,
    env: { ...process.env, CARELAKE_PSEUDONYM_KEY: 'cd'.repeat(32), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (text.includes('Stop with SIGTERM')) return resolve();
      if (child.exitCode !== null) return reject(new Error(`the scheduler exited (${child.exitCode}) before it was ready:\n${text}`));
      setTimeout(check, 50);
    };
    check();
  });
  return { child, output: () => text, exited, ready };
}

/** Polls until `condition` holds (or throws after `timeoutMs`, naming what it waited for). */
export async function waitFor<T>(what: string, condition: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
