// One line of the governed-access audit log (shared/specs/governance.md, "Access"): who asked what of the
// serving layer, when, and what came of it. Entries are chained: each carries the SHA-256 of the entry
// before it (`prev`) and of itself (`hash`), so editing, deleting, reordering or inserting a line breaks
// the chain at that line. Hand-written because no maintained npm package offers an append-only,
// hash-chained, multi-process log; the canonical form is RFC 8785 (JCS) in effect: object keys sorted by
// UTF-16 code unit, no whitespace, ECMAScript number and string serialisation (the values themselves
// restricted to JSON by the schema: no NaN, Infinity, undefined or bigint).
//
// A line is the entry serialised in FIELDS order (params with sorted keys) and nothing else, and verify
// insists on those exact bytes. That rules out lines a JSON parser reads differently from another (a
// duplicated key, say, that JavaScript resolves to the last value and DuckDB to the first), so what was
// hashed is exactly what ops.audit shows.

import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { ROLES, type Role } from '../auth/principal.ts';

/** The serving roles (mirrors warehouse/auth/principal.ts ROLES); null when the caller never authenticated. */
/** An audited request's role: a principal's (warehouse/auth), or none before authentication. */
export const AUDIT_ROLES = ROLES;
export type AuditRole = Role;

/**
 * ok; refused: the statement check rejected the SQL; denied: wrong role (403); unauthenticated (401);
 * rate-limited (429); error: the query failed; timeout: it ran out of time.
 */
export const AUDIT_OUTCOMES = ['ok', 'refused', 'denied', 'unauthenticated', 'rate-limited', 'error', 'timeout'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** `prev` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits');
const jsonObject = z.record(z.string(), z.json());

export const auditEntrySchema = z.strictObject({
  seq: z.int().min(1),
  at: z.iso.datetime({ precision: 3 }),
  principal: z.string().min(1),
  role: z.enum(AUDIT_ROLES).nullable(),
  endpoint: z.string().min(1),
  query: z.string().nullable(),
  reportId: z.string().nullable(),
  params: jsonObject.nullable(),
  rows: z.int().min(0).nullable(),
  durationMs: z.number().min(0),
  outcome: z.enum(AUDIT_OUTCOMES),
  status: z.int(),
  error: z.string().nullable(),
  requestId: z.string(),
  release: z.string().nullable(),
  prev: sha256Hex,
  hash: sha256Hex,
});

export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** The fields in the order a line holds them. */
export const AUDIT_FIELDS = Object.keys(auditEntrySchema.shape) as (keyof AuditEntry)[];

/**
 * What a caller hands to `AuditLog.append`: the log assigns seq, prev and hash, and stamps `at` (now) if
 * absent. Fields that are often not applicable (query, reportId, params, rows, error, release) default to null.
 */
export const auditEntryInputSchema = z.strictObject({
  at: z.iso.datetime({ precision: 3 }).optional(),
  principal: z.string().min(1),
  role: z.enum(AUDIT_ROLES).nullable(),
  endpoint: z.string().min(1),
  query: z.string().nullable().default(null),
  reportId: z.string().nullable().default(null),
  params: jsonObject.nullable().default(null),
  rows: z.int().min(0).nullable().default(null),
  durationMs: z.number().min(0),
  outcome: z.enum(AUDIT_OUTCOMES),
  status: z.int(),
  error: z.string().nullable().default(null),
  requestId: z.string(),
  release: z.string().nullable().default(null),
});

export type AuditEntryInput = z.input<typeof auditEntryInputSchema>;
export type AuditEntryFields = Omit<AuditEntry, 'hash'>;

/**
 * RFC 8785-style canonical JSON: keys sorted by UTF-16 code unit at every depth, no whitespace. Built
 * by hand rather than by JSON.stringify over a key-sorted object, because JavaScript objects list
 * integer-like keys ("9", "10") first in numeric order whatever order they were inserted in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`canonicalJson: ${typeof value} is not a JSON value`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort(); // default sort compares UTF-16 code units
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
}

/** SHA-256 (hex) of the canonical serialisation of the entry without its `hash`. */
export function entryHash(entry: AuditEntryFields | AuditEntry): string {
  const { hash: _ignored, ...fields } = entry as AuditEntry;
  return createHash('sha256').update(canonicalJson(fields), 'utf8').digest('hex');
}

/** The exact text of the entry's line (without the newline): fields in AUDIT_FIELDS order, params key-sorted. */
export function serialiseEntry(entry: AuditEntry): string {
  return `{${AUDIT_FIELDS.map((field) => `${JSON.stringify(field)}:${canonicalJson(entry[field])}`).join(',')}}`;
}

export type ParsedLine = { entry: AuditEntry } | { problem: string };

/**
 * Reads one line (without its newline) as an entry, checking JSON, schema, its own hash and that the
 * line is in the exact form `serialiseEntry` writes. Chain checks (seq, prev) are the caller's.
 * Problems name fields, never values.
 */
export function parseEntryLine(text: string): ParsedLine {
  if (text.length === 0) return { problem: 'is empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: 'is not valid JSON' };
  }
  const parsed = auditEntrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? `field ${issue.path.join('.')}: ` : '';
    return { problem: `does not match the audit entry schema (${field}${issue?.message ?? 'invalid'})` };
  }
  return { entry: parsed.data };
}

/** The hash and form checks of a parsed entry, kept apart so a chain problem (seq, prev) is reported first. */
export function checkEntryIntegrity(entry: AuditEntry, text: string): string | null {
  if (entryHash(entry) !== entry.hash) return 'does not match its hash: the entry was altered after it was written';
  if (serialiseEntry(entry) !== text) return 'is not in the exact form carelake writes (whitespace, key order or a duplicated key differs): the line was rewritten';
  return null;
}

/** `cli:<os user>`, the principal of a governed query run from the command line. */
export function cliPrincipal(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return `cli:${user}`;
}
