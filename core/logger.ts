// Structured logs: pino JSON lines in lake/logs/carelake.log. Identifier-shaped keys are redacted
// wherever they appear, as a net behind the rule that messages never carry row values or secrets.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';

/** Keys whose values are censored at any depth of a log record. */
export const REDACTED_KEYS = [
  'nhs_number', 'nhsNumber', 'mrn', 'given_name', 'family_name', 'name', 'birth_date', 'birthDate',
  'postcode', 'address', 'phone', 'email', 'ni_number', 'key', 'masterKey', 'privateKey', 'password',
  'token', 'authorization', 'secret',
] as const;

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const options = (level: string) => ({ level, base: { pid: process.pid }, redact: { paths: redactPaths, censor: '[redacted]' } });

function logFile(logDir: string): pino.DestinationStream {
  mkdirSync(logDir, { recursive: true });
  return pino.destination({ dest: join(logDir, 'carelake.log'), sync: true, mkdir: true });
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
