// dbt's profiles.yml in dbt-duckdb's shape (`type: duckdb`, `path`, `schema`, `threads`, `settings`,
// `external_root`), read from the project folder so carelake and dbt-duckdb share one description of
// the target. carelake always builds into its lake's warehouse file; the profile's `path` is what a dbt
// run uses, and `profilePathMismatch` says when the two would write different databases. A missing
// file is not an error (the defaults apply); a malformed one is, naming the key.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';

export const PROFILES_FILE = 'profiles.yml';

const outputSchema = z.looseObject({
  type: z.literal('duckdb', { error: "expected type: duckdb (carelake runs on DuckDB)" }),
  path: z.string().optional(),
  schema: z.string().min(1).optional(),
  threads: z.number().int().min(1).max(64).optional(),
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  external_root: z.string().optional(),
});

const profileSchema = z.looseObject({
  target: z.string().optional(),
  outputs: z.record(z.string(), outputSchema),
});

export interface TargetProfile {
  /** The output's name (the dbt target). */
  name: string;
  schema: string | null;
  threads: number | null;
  /** Relative to the project folder as written; null when unset. */
  path: string | null;
  externalRoot: string | null;
  settings: Record<string, string>;
}

/**
 * The output `target` (or the profile's default target) of profile `profileName` in
 * `<projectDir>/profiles.yml`; null when there is no such file. `env_var('X', 'default')` in values is
 * resolved from `env`, as dbt renders profiles.
 */
export async function readTargetProfile(projectDir: string, profileName: string, target: string | null, env: Readonly<Record<string, string | undefined>>): Promise<TargetProfile | null> {
  const file = join(projectDir, PROFILES_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileSystemError('read', file, err);
  }
  const rendered = text.replace(/\{\{\s*env_var\(\s*'([^']+)'\s*(?:,\s*'([^']*)'\s*)?\)\s*\}\}/g, (_, name: string, fallback?: string) => env[name] ?? fallback ?? '');
  let doc: unknown;
  try {
    doc = parse(rendered);
  } catch (err) {
    throw profileError(`is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const profiles = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
  if (!(profileName in profiles)) throw profileError(`has no profile '${profileName}' (the profile named in dbt_project.yml)`);
  const parsed = profileSchema.safeParse(profiles[profileName]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw profileError(`key '${[profileName, ...(issue?.path ?? []).map(String)].join('.')}' is invalid: ${issue?.message ?? 'unexpected value'}`);
  }
  const name = target ?? parsed.data.target ?? 'dev';
  const output = parsed.data.outputs[name];
  if (!output) throw profileError(`profile '${profileName}' has no output '${name}'; it has ${Object.keys(parsed.data.outputs).join(', ')}`);
  return {
    name,
    schema: output.schema ?? null,
    threads: output.threads ?? null,
    path: output.path ?? null,
    externalRoot: output.external_root ?? null,
    settings: Object.fromEntries(Object.entries(output.settings ?? {}).map(([k, v]) => [k, String(v)])),
  };
}

/** The profile's database when it is not the lake's warehouse (dbt would then write elsewhere). */
export function profilePathMismatch(profile: TargetProfile | null, projectDir: string, warehouse: string): string | null {
  if (profile?.path === null || profile?.path === undefined || profile.path === ':memory:') return null;
  const path = resolve(projectDir, profile.path);
  return path === resolve(warehouse) ? null : path;
}

function profileError(reason: string): CarelakeError {
  return new CarelakeError({ code: 'models.profile', kind: 'config', message: `${PROFILES_FILE} ${reason}`, location: { file: PROFILES_FILE } });
}
