// A trained linkage model: λ (the probability that two random records are the same person) and each
// comparison level's m and u, saved as a versioned JSON file so a model trained once can score later
// runs unchanged. Validated with zod when read. Pure: serialises and checks values only.

import { z } from 'zod';
import type { Comparison } from './comparison.ts';

export const LINKAGE_MODEL_FORMAT = 'carelake-linkage-model';
export const LINKAGE_MODEL_VERSION = 1;

const levelSchema = z.object({
  gamma: z.number().int().min(0),
  label: z.string(),
  m: z.number().positive().max(1),
  u: z.number().positive().max(1),
  tf_column: z.string().nullable(),
});

const comparisonSchema = z.object({ name: z.string(), levels: z.array(levelSchema).min(2) });

const sessionSchema = z.object({
  blocking_rule: z.string(),
  pairs: z.number().int().nonnegative(),
  estimated: z.array(z.string()),
  iterations: z.number().int().nonnegative(),
  converged: z.boolean(),
  lambda: z.number(),
});

export const linkageModelSchema = z.object({
  format: z.literal(LINKAGE_MODEL_FORMAT),
  version: z.literal(LINKAGE_MODEL_VERSION),
  trained_at: z.string(),
  records: z.number().int().nonnegative(),
  probability_two_random_records_match: z.number().positive().lt(1),
  comparisons: z.array(comparisonSchema).min(1),
  training: z.object({
    u_sample_pairs: z.number().int().nonnegative(),
    deterministic_pairs: z.number().int().nonnegative(),
    sessions: z.array(sessionSchema),
  }),
});

export type LinkageModel = z.infer<typeof linkageModelSchema>;
export type ComparisonParameters = LinkageModel['comparisons'][number];
export type LevelParameters = ComparisonParameters['levels'][number];

export function parseLinkageModel(json: unknown, file: string): LinkageModel {
  const result = linkageModelSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new Error(`${file} is not a carelake linkage model: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
}

/**
 * The saved parameters for the comparisons this run uses, in their order. Each must exist in the model
 * with the same levels; comparisons the model has but the run does not map are left out.
 */
export function parametersFor(model: LinkageModel, comparisons: readonly Comparison[], file: string): ComparisonParameters[] {
  return comparisons.map((comparison) => {
    const saved = model.comparisons.find((c) => c.name === comparison.name);
    if (saved === undefined) {
      throw new Error(`${file} has no parameters for ${comparison.name}; train a model with that role mapped`);
    }
    const expected = comparison.levels().map((l) => l.label);
    const actual = saved.levels.map((l) => l.label);
    if (expected.join('\n') !== actual.join('\n')) {
      throw new Error(`${file} was trained with other levels for ${comparison.name} (${actual.join('; ')}); retrain it`);
    }
    return saved;
  });
}

/** log2 Bayes factor of a level. */
export function levelWeight(level: LevelParameters): number {
  return Math.log2(level.m / level.u);
}

export function priorWeight(lambda: number): number {
  return Math.log2(lambda / (1 - lambda));
}

export function probabilityFromWeight(weight: number): number {
  return 1 / (1 + 2 ** -weight);
}
