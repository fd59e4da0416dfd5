// Structured logs: pino JSON lines in lake/logs/carelake.log. Identifier-shaped keys are redacted
// wherever they appear, as a net behind the rule that messages never carry row values or secrets.
//
// Runs are the correlation unit. Work done inside `inRunLog()` (a source's run, a build) has its
// run_id and source added to every line by whoever logs it — the connector, the landing, the model
// runner — through AsyncLocalStorage, and each such line is also appended to logs/runs/<run_id>.jsonl,
// which `carelake logs <run_id>` and the runs page read without scanning the whole log.

import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';

/** Keys whose values are censored at any depth of a log record. */
export const REDACTED_KEYS = [
  'nhs_number', 'nhsNumber', 'mrn', 'given_name', 'family_name', 'name', 'birth_date', 'birthDate',
  'postcode', 'address', 'phone', 'email', 'ni_number', 'key', 'masterKey', 'privateKey', 'password',
  'token', 'authorization', 'secret',
] as const;

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** The run a piece of work belongs to. */
export interface RunLogContext {
  run_id: string;
  source: string;
}

const runContext = new AsyncLocalStorage<RunLogContext>();
/** Open per-run log files, by run id, while their runs last. */
const runLogs = new Map<string, { fd: number; logDir: string }>();

/** `logs/runs/<run_id>.jsonl`: one run's log lines (LakeLayout.runLog names the same file). */
export function runLogFile(logDir: string, runId: string): string {
  return join(logDir, 'runs', `${runId}.jsonl`);
}

/**
 * Runs `work` as part of a run: every log line written meanwhile carries the run's id and source,
 * and lines written to `logDir` are copied to the run's own log file, closed when `work` ends.
 */
export async function inRunLog<T>(logDir: string, context: RunLogContext, work: () => Promise<T>): Promise<T> {
  mkdirSync(join(logDir, 'runs'), { recursive: true });
  runLogs.set(context.run_id, { fd: openSync(runLogFile(logDir, context.run_id), 'a', 0o640), logDir });
  try {
    return await runContext.run(context, work);
  } finally {
    const open = runLogs.get(context.run_id);
    runLogs.delete(context.run_id);
    if (open) closeSync(open.fd);
  }
}

const options = (level: string) => ({
  level,
  base: { pid: process.pid },
  redact: { paths: redactPaths, censor: '[redacted]' },
  mixin: () => ({ ...runContext.getStore() }),
});

function logFile(logDir: string): pino.DestinationStream {
  mkdirSync(logDir, { recursive: true });
  const main = pino.destination({ dest: join(logDir, 'carelake.log'), sync: true, mkdir: true });
  return {
    write(line: string) {
      main.write(line);
      const run = runContext.getStore();
      const open = run ? runLogs.get(run.run_id) : undefined;
      if (open && open.logDir === logDir) writeSync(open.fd, line);
    },
    flush: () => main.flushSync(),
  } as pino.DestinationStream;
}

export function createLogger(logDir: string | null, level = process.env.CARELAKE_LOG_LEVEL ?? 'info'): Logger {
  if (logDir === null) return pino({ level: 'silent' });
  return pino(options(level), logFile(logDir));
}

/**
 * A logger usable before the lake may be written to (a run's preflight): it keeps its lines until
 * `attach` names the log folder, and if that never happens (the preflight failed) nothing is written.
 */
export function createDeferredLogger(level = process.env.CARELAKE_LOG_LEVEL ?? 'info'): { logger: Logger; attach(logDir: string): void } {
  let target: pino.DestinationStream | null = null;
  const held: string[] = [];
  const stream: pino.DestinationStream = {
    write(line: string) {
      if (target) target.write(line);
      else held.push(line);
    },
  };
  return {
    logger: pino(options(level), stream),
    attach(logDir: string) {
      target ??= logFile(logDir);
      for (const line of held.splice(0)) target.write(line);
    },
  };
}

export type { Logger };
