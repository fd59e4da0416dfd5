// The serving pointer (`serving/current.json`) names, per role, the release readers should open.
// Publishing replaces it with write-temp-then-rename, so a reader sees either the old pointer or the
// new one, never half of either. File names in it are relative to the serving folder, so the lake can
// be moved without rewriting it.

import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomically } from '../../core/atomicFile.ts';
import { z } from 'zod';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';

export const SERVING_POINTER_VERSION = 1;

const releaseEntrySchema = z.object({
  releaseId: z.string().min(1),
  // A bare file name inside the serving folder: a pointer must not be able to send readers elsewhere.
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.duckdb$/, 'a file name inside the serving folder'),
  publishedAt: z.string().min(1),
});

const pointerSchema = z.object({
  schemaVersion: z.literal(SERVING_POINTER_VERSION).optional(),
  releases: z.record(z.string(), releaseEntrySchema),
});

export type ServingPointerEntry = z.infer<typeof releaseEntrySchema>;
export type ServingPointer = z.infer<typeof pointerSchema>;

/** A role's current release with its file resolved against the lake. */
export interface ServingRelease {
  role: string;
  releaseId: string;
  /** Absolute path of the serving DuckDB file. */
  file: string;
  publishedAt: string;
}

/** The pointer, or null before anything has been published. */
export async function readServingPointer(layout: LakeLayout): Promise<ServingPointer | null> {
  let text: string;
  try {
    text = await readFile(layout.servingPointer, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileSystemError('read the serving pointer', layout.servingPointer, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidPointer(layout, 'it is not valid JSON', err);
  }
  const parsed = pointerSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw invalidPointer(layout, where, parsed.error);
  }
  return parsed.data;
}

export function resolveRelease(layout: LakeLayout, role: string, pointer: ServingPointer | null): ServingRelease | null {
  const entry = pointer?.releases[role];
  if (!entry) return null;
  return { role, releaseId: entry.releaseId, file: join(layout.serving, entry.file), publishedAt: entry.publishedAt };
}

/** Sets one role's entry, keeping the others, and swaps the file in atomically. */
export async function switchServingPointer(layout: LakeLayout, role: string, release: { releaseId: string; file: string; publishedAt: string }): Promise<void> {
  const current = await readServingPointer(layout);
  const next: ServingPointer = {
    schemaVersion: SERVING_POINTER_VERSION,
    releases: { ...current?.releases, [role]: { releaseId: release.releaseId, file: basename(release.file), publishedAt: release.publishedAt } },
  };
  try {
    await writeFileAtomically(layout.servingPointer, `${JSON.stringify(next, null, 2)}\n`);
  } catch (err) {
    throw fileSystemError('write the serving pointer', layout.servingPointer, err);
  }
}

function invalidPointer(layout: LakeLayout, why: string, cause: unknown): CarelakeError {
  return new CarelakeError({
    code: 'serving.pointer-invalid',
    kind: 'runtime',
    message: `The serving pointer ${layout.servingPointer} cannot be used: ${why}`,
    location: { file: layout.servingPointer },
    hint: 'publish a release again to rewrite it',
    cause,
  });
}
