// One warehouse build: run the dbt project into warehouse.duckdb, copy the run ledger into `ops.*`,
// then publish a new pseudonymised serving release per role and switch readers to it. Only one
// process builds at a time (the warehouse lock); if any model fails, no release is published and
// readers keep the previous one.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CarelakeConfig } from '../../core/config.ts';
import { DuckDb, type CellValue, type ColumnType } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { withLock } from '../../core/lakeLock.ts';
import { qualified } from '../../core/sql.ts';
import { LEDGER_TABLES, type Ledger } from '../../pipelines/ledger/ledger.ts';
import { runProject } from '../../transforms/models/runProject.ts';
import type { RunResults } from '../../transforms/models/execute.ts';
import { derivePseudonymKey, Pseudonymiser } from '../../transforms/pseudonymisation/pseudonymiser.ts';
import { registerPseudonymFunction } from '../../transforms/pseudonymisation/pseudonymSqlFunction.ts';
import { DISCLOSURE_POLICIES } from '../disclosure/policy.ts';
import { publishServingRelease, type PublishedServingRelease } from '../publish/servingBuild.ts';
import { servingTables, type ServingRole } from '../publish/servingTables.ts';
import { loadMasterKey } from '../secrets/keyFile.ts';

export interface WarehouseBuildOptions {
  config: CarelakeConfig;
  layout: LakeLayout;
  ledger: Ledger;
  logger: Logger;
  env: Record<string, string | undefined>;
  now: Date;
}

export interface WarehouseBuildResult {
  results: RunResults;
  failed: string[];
  releases: PublishedServingRelease[];
  keyCreated: boolean;
}

export async function buildWarehouse(options: WarehouseBuildOptions): Promise<WarehouseBuildResult> {
  const { config, layout, ledger, logger, now } = options;
  return withLock(join(layout.root, 'locks', 'warehouse.lock'), 'warehouse build', async () => {
    // The key is read (or created) first, so a key problem fails the build before any table changes.
    const master = await loadMasterKey({ keyFile: config.governance.keyFile, envVar: config.governance.keyEnv, env: options.env });
    const pseudonymiser = new Pseudonymiser(derivePseudonymKey(master.key, config.project));
    const db = await DuckDb.open(layout.warehouse, { settings: { threads: '2' } });
    try {
      // Models tokenise ESR identifiers in SQL (`pseudonym(kind, value)`); the function holds the key
      // in this process and exists on this connection only, never in the warehouse file.
      registerPseudonymFunction(db, pseudonymiser);
      const { results } = await runProject({
        projectDir: config.models.projectDir,
        db,
        vars: { raw_root: layout.rawDir, ...sourceVars(config) },
        env: options.env,
        target: { name: config.models.target, schema: config.models.schema },
        now,
      });
      const failed = results.results.filter((r) => r.status !== 'success').map((r) => `${r.unique_id}: ${r.status}${r.message ? ` — ${r.message}` : ''}`);
      await copyLedger(db, ledger);
      logger.info({ models: results.results.length, failed: failed.length }, 'models built');
      if (failed.length > 0) return { results, failed, releases: [], keyCreated: master.source === 'created' };

      const releaseId = now.toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
      const releases: PublishedServingRelease[] = [];
      for (const role of Object.keys(servingTables) as ServingRole[]) {
        releases.push(
          await publishServingRelease({
            warehouse: db,
            layout,
            role,
            releaseId,
            tables: servingTables[role],
            pseudonymiser,
            builtAt: now.toISOString(),
            disclosurePolicy: DISCLOSURE_POLICIES[config.governance.suppression],
          }),
        );
      }
      logger.info({ release: releaseId, roles: releases.map((r) => r.role) }, 'serving published');
      return { results, failed, releases, keyCreated: master.source === 'created' };
    } finally {
      db.close();
    }
  });
}

/** Models name their raw sources through vars; point each at the first configured source of its kind. */
function sourceVars(config: CarelakeConfig): Record<string, string> {
  const vars: Record<string, string> = {};
  const byKind: Record<string, string> = { 'fhir-bulk-files': 'fhir_source', hl7v2: 'hl7_source', esr: 'esr_source' };
  for (const source of config.sources) {
    const name = byKind[source.kind];
    if (name && !(name in vars)) vars[name] = source.name;
  }
  return vars;
}

/** The ledger as it is now, as `ops.<table>` in the warehouse, for reporting on loads in SQL. */
async function copyLedger(db: DuckDb, ledger: Ledger): Promise<void> {
  await db.run(`CREATE SCHEMA IF NOT EXISTS ops`);
  for (const table of LEDGER_TABLES) {
    const columns = ledger.columns(table);
    const types: ColumnType[] = columns.map((c) => (c.type === 'INTEGER' ? 'BIGINT' : 'VARCHAR'));
    const target = qualified('ops', table);
    await db.run(`CREATE OR REPLACE TABLE ${target} (${columns.map((c, i) => `"${c.name}" ${types[i]}`).join(', ')})`, undefined, `create ${target}`);
    const appender = await db.rowAppender(table, types, 'ops');
    try {
      for (const row of ledger.dump(table)) appender.appendRow(row.map((v) => (typeof v === 'number' ? BigInt(v) : (v as CellValue))));
    } finally {
      appender.close();
    }
  }
}

export function describeFailures(failed: readonly string[]): CarelakeError {
  return new CarelakeError({
    code: 'build.models-failed',
    kind: 'runtime',
    message: `${failed.length} model${failed.length === 1 ? '' : 's'} did not build, so no serving release was published:\n${failed.map((f) => `  - ${f}`).join('\n')}`,
    hint: 'see target/run_results.json; fix the model or land its sources, then build again',
  });
}
