// The public shapes of the FHIR Bulk Data test server: the data it serves and the switches that make it
// misbehave in the ways real servers do. Kept apart from the server so tests and the client's own test
// helpers can import the types without pulling in `node:http`. `validateBehaviour` rejects nonsense
// (negative counts, a newline in a corrupt line) when a test sets it, not halfway through an export.

import { z } from 'zod';
import { CarelakeError } from '../../../core/errors.ts';

export type RetryAfterForm = 'seconds' | 'http-date' | 'epoch' | 'none';

export interface BulkServerAuth {
  clientId: string;
  /** The client's public keys; each needs a `kid`, and an `alg` when it names one must match the JWT's. */
  jwks: { keys: object[] };
  /** Default 300. */
  tokenLifetimeSeconds?: number;
  /** Space-separated scopes the server grants; default `system/*.read system/*.rs`. */
  scope?: string;
}

export interface BulkServerBehaviour {
  /** Default 1: the status URL answers 202 (with X-Progress) this many times before 200. */
  pollsBeforeComplete?: number;
  /** Form of Retry-After on 202 and 429 (default 'seconds'); 'none' omits it on 202 (a 429 still carries delta-seconds). */
  retryAfter?: RetryAfterForm;
  /** Default 0 so tests stay fast; the client caps waits anyway. */
  retryAfterSeconds?: number;
  /** The first N valid kick-offs answer 429 with Retry-After. */
  kickoff429?: number;
  /** The first N status polls answer 500 with OperationOutcome issue.code 'transient'. */
  transientStatusErrors?: number;
  /** Status answers 500 with OperationOutcome issue.code 'processing' (fatal) once the job would complete. */
  failExport?: boolean;
  /** The manifest carries error[] with an OperationOutcome NDJSON file. */
  errorFiles?: boolean;
  /** When `_since` is given, the manifest carries deleted[] (transaction Bundles with request.method DELETE). */
  deletedWithSince?: boolean;
  /** >0: manifests are paged every pageSize outputs, linked by relation 'next' — only for kick-offs with allowPartialManifests=true. */
  pageSize?: number;
  /** Honour Accept-Encoding: gzip on downloads. */
  gzip?: boolean;
  /** Downloads answer 410 this long after completion; default one hour (also the manifest's Expires). */
  expireFilesAfterMs?: number;
  /** Downloads 307-redirect to a second origin serving the same bytes, which records any Authorization it receives. */
  redirectDownloads?: boolean;
  /** SMART Backend Services: a token endpoint, and a bearer token on every kick-off, poll, download and delete. */
  requireAuth?: BulkServerAuth;
  /** Lines per output file (several files per type); default one file per type. */
  splitFilesAt?: number;
  /** Replaces line `line` (1-based, counted over the type's whole output before splitting) with `text`. */
  corruptLines?: { type: string; line: number; text: string }[];
}

export interface BulkServerData {
  /** Resource type → NDJSON lines (no newlines), served in this order. */
  resources: Map<string, string[]>;
  /** Resources deleted since some earlier time: never in output, listed in deleted[] for `_since` exports. */
  deleted?: { type: string; id: string }[];
  /** `meta.lastUpdated` of a line, or null when unknown; default reads `meta.lastUpdated`. */
  lastUpdated?: (line: string) => string | null;
}

const count = z.number().int().min(0);

const behaviourSchema = z.strictObject({
  pollsBeforeComplete: count.optional(),
  retryAfter: z.enum(['seconds', 'http-date', 'epoch', 'none']).optional(),
  retryAfterSeconds: count.optional(),
  kickoff429: count.optional(),
  transientStatusErrors: count.optional(),
  failExport: z.boolean().optional(),
  errorFiles: z.boolean().optional(),
  deletedWithSince: z.boolean().optional(),
  pageSize: count.optional(),
  gzip: z.boolean().optional(),
  expireFilesAfterMs: count.optional(),
  redirectDownloads: z.boolean().optional(),
  requireAuth: z
    .strictObject({
      clientId: z.string().min(1),
      jwks: z.object({ keys: z.array(z.object({ kid: z.string().min(1) }).loose()).min(1) }),
      tokenLifetimeSeconds: z.number().int().min(1).optional(),
      scope: z.string().trim().min(1).optional(),
    })
    .optional(),
  splitFilesAt: z.number().int().min(1).optional(),
  corruptLines: z
    .array(z.strictObject({ type: z.string().min(1), line: z.number().int().min(1), text: z.string().regex(/^[^\r\n]*$/, 'must not contain a line break') }))
    .optional(),
});

/** Throws a config error naming every problem, so a test with a typo fails at setBehaviour. */
export function validateBehaviour(behaviour: BulkServerBehaviour): void {
  const result = behaviourSchema.safeParse(behaviour);
  if (result.success) return;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(behaviour)'}: ${issue.message}`);
  throw new CarelakeError({
    code: 'test.fhir_bulk_server.invalid_behaviour',
    kind: 'config',
    message: `Invalid FHIR Bulk test server behaviour: ${problems.join('; ')}.`,
    hint: 'see BulkServerBehaviour in tests/support/fhirBulkServer/types.ts',
  });
}
