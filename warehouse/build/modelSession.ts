// Everything a model command needs around the runner, in one place: the warehouse database opened
// (read-write under the warehouse lock, or read-only for commands that only look), the `pseudonym()`
// SQL function registered with the project's key (models tokenise identifiers in SQL), and the runner's
// options — the bundled or configured dbt project, vars pointing the sources at the lake's raw folders,
// the target from carelake.yml and profiles.yml (schema, threads, external_root, DuckDB settings).
// Writing sessions also register the code maps carelake.yml names (terminologyMaps.ts).
// `carelake build|run|test|seed|compile|docs|source freshness` all start here.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CarelakeConfig } from '../../core/config.ts';
import { DuckDb } from '../../core/duckdb.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { withLock } from '../../core/lakeLock.ts';
import { readTargetProfile, profilePathMismatch } from '../../transforms/models/profiles.ts';
import type { CompileOptions } from '../../transforms/models/runProject.ts';
import { parseProjectYaml, PROJECT_FILE } from '../../transforms/models/projectYaml.ts';
import { derivePseudonymKey, Pseudonymiser } from '../../transforms/pseudonymisation/pseudonymiser.ts';
import { registerPseudonymFunction } from '../../transforms/pseudonymisation/pseudonymSqlFunction.ts';
import { loadMasterKey } from '../secrets/keyFile.ts';
import { registerConfiguredMaps, type ConfiguredMapsSync } from './terminologyMaps.ts';

export interface ModelSessionOptions {
  config: CarelakeConfig;
  layout: LakeLayout;
  env: Record<string, string | undefined>;
  now: Date;
  /** Look only: open the warehouse read-only (or an empty in-memory database when there is none yet). */
  readOnly?: boolean;
}

export interface ModelSession {
  db: DuckDb;
  /** The runner's options for this lake, before a command adds its selection. */
  runner: CompileOptions & { threads: number; externalRoot: string };
  pseudonymiser: Pseudonymiser | null;
  keyCreated: boolean;
  /** Set when profiles.yml points dbt at another database than this lake's warehouse. */
  profileWarning: string | null;
  /** The configured code maps, registered (or found unchanged) before any model runs; null when read-only. */
  terminology: ConfiguredMapsSync | null;
}

export async function withModelSession<T>(options: ModelSessionOptions, work: (session: ModelSession) => Promise<T>): Promise<T> {
  const { config, layout } = options;
  const projectDir = config.models.projectDir;
  const profileName = await projectProfile(projectDir);
  const profile = profileName === null ? null : await readTargetProfile(projectDir, profileName, config.models.target, options.env);
  const mismatch = profilePathMismatch(profile, projectDir, layout.warehouse);
  const runner = {
    projectDir,
    vars: { raw_root: layout.rawDir, ...sourceVars(config), ...config.models.vars },
    env: options.env,
    target: { name: config.models.target, schema: config.models.schema ?? profile?.schema ?? 'main' },
    now: options.now,
    threads: config.models.threads ?? profile?.threads ?? 1,
    externalRoot: profile?.externalRoot ? resolve(projectDir, profile.externalRoot) : join(layout.root, 'external'),
  };
  const profileWarning = mismatch === null ? null : `profiles.yml points dbt at ${mismatch}; carelake builds into this lake's warehouse, ${layout.warehouse}`;
  const settings = { threads: '2', ...(profile?.settings ?? {}) };

  if (options.readOnly) {
    const db = existsSync(layout.warehouse) ? await DuckDb.open(layout.warehouse, { readOnly: true, settings }) : await DuckDb.open(':memory:', { settings });
    try {
      return await work({ db, runner, pseudonymiser: null, keyCreated: false, profileWarning, terminology: null });
    } finally {
      db.close();
    }
  }
  return withLock(layout.warehouseLock, 'warehouse build', async () => {
    // The key is read (or created) first, so a key problem fails the build before any table changes.
    const master = await loadMasterKey({ keyFile: config.governance.keyFile, envVar: config.governance.keyEnv, env: options.env });
    const pseudonymiser = new Pseudonymiser(derivePseudonymKey(master.key, config.project));
    const db = await DuckDb.open(layout.warehouse, { settings });
    try {
      // The function holds the key in this process and exists on this connection only, never in the file.
      registerPseudonymFunction(db, pseudonymiser);
      // Models map codes through terminology.code_lookup, so the configured maps are in place first.
      const terminology = await registerConfiguredMaps(db, config, options.now);
      return await work({ db, runner, pseudonymiser, keyCreated: master.source === 'created', profileWarning, terminology });
    } finally {
      db.close();
    }
  });
}

/** The `profile:` named in dbt_project.yml, or null when it names none. */
async function projectProfile(projectDir: string): Promise<string | null> {
  const path = join(projectDir, PROJECT_FILE);
  if (!existsSync(path)) return null;
  const parsed = parseProjectYaml(PROJECT_FILE, await readFile(path, 'utf8'));
  return parsed.ok ? parsed.value.profile : null;
}

/** Models name their raw sources through vars; point each at the first configured source of its kind. */
function sourceVars(config: CarelakeConfig): Record<string, string> {
  const vars: Record<string, string> = {};
  const byKind: Record<string, string> = { 'fhir-bulk-files': 'fhir_source', 'fhir-bulk': 'fhir_source', hl7v2: 'hl7_source', esr: 'esr_source' };
  for (const source of config.sources) {
    const name = byKind[source.kind];
    if (name && !(name in vars)) vars[name] = source.name;
  }
  return vars;
}
