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

export function createLogger(logDir: string | null, level = process.env.CARELAKE_LOG_LEVEL ?? 'info'): Logger {
  if (logDir === null) return pino({ level: 'silent' });
  mkdirSync(logDir, { recursive: true });
  const destination = pino.destination({ dest: join(logDir, 'carelake.log'), sync: true, mkdir: true });
  return pino({ level, base: { pid: process.pid }, redact: { paths: redactPaths, censor: '[redacted]' } }, destination);
}

export type { Logger };
