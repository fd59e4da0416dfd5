// The Bulk Data complete-status manifest (FHIR Bulk Data IG 2.0): validated at the boundary, unknown
// fields ignored as the spec requires.

import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';

const outputEntry = z.object({
  type: z.string().min(1),
  url: z.string().min(1),
  count: z.number().int().nonnegative().optional(),
});

export const bulkManifestSchema = z.object({
  transactionTime: z.string().min(1),
  request: z.string(),
  requiresAccessToken: z.boolean(),
  output: z.array(outputEntry),
  error: z.array(outputEntry).default([]),
  deleted: z.array(outputEntry).optional(),
  /** Paged manifests (allowPartialManifests, STU3): the next page is `link[relation = next].url`. */
  link: z.array(z.object({ relation: z.string(), url: z.string() })).optional(),
});

export type BulkManifest = z.infer<typeof bulkManifestSchema>;
export type BulkOutputEntry = z.infer<typeof outputEntry>;

export function parseBulkManifest(json: unknown, origin: string): BulkManifest {
  const result = bulkManifestSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  throw new CarelakeError({
    code: 'fhir-bulk.manifest',
    kind: 'parse',
    message: `${origin} is not a Bulk Data manifest: ${key || '(top level)'}: ${issue.message}`,
    location: { file: origin, field: key || undefined },
  });
}
