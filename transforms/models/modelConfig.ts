// Model config: the shape of one layer (`+materialized`, `+schema`, `+tags`, `+enabled`, … from
// dbt_project.yml, a properties file or an in-file `config()` call), the folder tree from
// dbt_project.yml, and dbt's merge rules for stacking layers (later layers win; `tags` accumulate;
// `meta` merges key by key). Configs dbt knows but carelake does not yet use are kept as they are, so
// the same files stay valid for dbt-core. Pure: no I/O.

import { z } from 'zod';

/** One layer of model config, as written. Unknown keys are kept (dbt accepts many more). */
export const modelConfigSchema = z.looseObject({
  materialized: z.string({ error: 'expected a materialization name such as view or table' }).min(1).optional(),
  schema: z.string({ error: 'expected a schema name' }).min(1).nullable().optional(),
  alias: z.string({ error: 'expected a relation name' }).min(1).optional(),
  tags: z
    .union([z.string(), z.array(z.string())], { error: 'expected a tag or a list of tags' })
    .transform((tags) => (typeof tags === 'string' ? [tags] : tags))
    .optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
});

export type ModelConfigInput = z.output<typeof modelConfigSchema>;

/** Config names dbt reads from dbt_project.yml with or without the `+` prefix. */
export const KNOWN_MODEL_CONFIGS: ReadonlySet<string> = new Set([
  'materialized',
  'schema',
  'alias',
  'tags',
  'enabled',
  'meta',
  'database',
  'docs',
  'persist_docs',
  'full_refresh',
  'unique_key',
  'incremental_strategy',
  'on_schema_change',
  'pre-hook',
  'post-hook',
  'grants',
  'contract',
  'access',
  'group',
  'location',
  'format',
  'options',
]);

/** The `models:` tree of dbt_project.yml: config at each level, then sub-levels by folder or model name. */
export interface ConfigTree {
  config: ModelConfigInput;
  children: Record<string, ConfigTree>;
}

export const EMPTY_CONFIG_TREE: ConfigTree = { config: {}, children: {} };

/** A model's config after every layer is applied. `materialized` is checked against the registry later. */
export interface ModelConfig {
  materialized: string;
  schema: string | null;
  alias: string | null;
  tags: string[];
  enabled: boolean;
  meta: Record<string, unknown>;
  /** Every other config key, last layer wins. */
  extra: Record<string, unknown>;
}

/**
 * Folder layers for a model's fqn (`[project, ...folders, name]`), root first. dbt walks the same path:
 * `models: +x` applies to all, `models: carelake: staging: +x` to models under models/staging/.
 */
export function folderConfigLayers(tree: ConfigTree, fqn: readonly string[]): ModelConfigInput[] {
  const layers: ModelConfigInput[] = [tree.config];
  let node: ConfigTree | undefined = tree;
  for (const part of fqn) {
    node = node.children[part];
    if (!node) break;
    layers.push(node.config);
  }
  return layers;
}

/** Stacks layers with dbt's rules; returns a new partial config (inputs are not changed). */
export function mergeConfigLayers(layers: readonly ModelConfigInput[]): ModelConfigInput {
  const merged: ModelConfigInput = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (key === 'tags' && Array.isArray(value)) {
        const tags = [...(merged.tags ?? [])];
        for (const tag of value) if (typeof tag === 'string' && !tags.includes(tag)) tags.push(tag);
        merged.tags = tags;
      } else if (key === 'meta' && isRecord(value)) {
        merged.meta = { ...(merged.meta ?? {}), ...value };
      } else {
        merged[key] = value;
      }
    }
  }
  return merged;
}

const BUILT_IN_KEYS = new Set(['materialized', 'schema', 'alias', 'tags', 'enabled', 'meta']);

/** Applies dbt's defaults (`view`, enabled, no custom schema) to a merged config. */
export function resolveModelConfig(layers: readonly ModelConfigInput[]): ModelConfig {
  const merged = mergeConfigLayers(layers);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(merged)) if (!BUILT_IN_KEYS.has(key)) extra[key] = value;
  return {
    materialized: merged.materialized ?? 'view',
    schema: merged.schema ?? null,
    alias: merged.alias ?? null,
    tags: merged.tags ?? [],
    enabled: merged.enabled ?? true,
    meta: merged.meta ?? {},
    extra,
  };
}

/** The config as dbt writes it in manifest.json (`config` of a node). */
export function configJson(config: ModelConfig): Record<string, unknown> {
  return {
    enabled: config.enabled,
    alias: config.alias,
    schema: config.schema,
    database: null,
    tags: config.tags,
    meta: config.meta,
    materialized: config.materialized,
    ...config.extra,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map);
}
