// One warehouse build: copy the run ledger into `ops.*` (models read it), build the dbt project (seeds,
// models, tests) into warehouse.duckdb, then publish a new pseudonymised serving release per role and
// switch readers to it. Only one process builds at a time (the warehouse lock, taken by the model
// session); if any node fails, no release is published and readers keep the previous one.

import type { Logger } from 'pino';
import type { CarelakeConfig } from '../../core/config.ts';
import type { CellValue, ColumnType, DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { qualified } from '../../core/sql.ts';
import { LEDGER_TABLES, type Ledger } from '../../pipelines/ledger/ledger.ts';
import { runProject } from '../../transforms/models/runProject.ts';
import type { RunResults } from '../../transforms/models/execute.ts';
import { landAudit } from '../audit/auditLanding.ts';
import { DISCLOSURE_POLICIES } from '../disclosure/policy.ts';
import { publishServingRelease, type PublishedServingRelease } from '../publish/servingBuild.ts';
import { servedModels, SERVING_ROLES } from '../publish/servedModels.ts';
import { checkReportsOnFile, reportCheckFailure } from '../reports/markdown/reportCheck.ts';
import { loadReportCatalog } from '../reports/markdown/reportCatalog.ts';
import { closeStatementParser } from '../query/statementCheck.ts';
import { withModelSession } from './modelSession.ts';

export interface WarehouseBuildOptions {
  config: CarelakeConfig;
  layout: LakeLayout;
  ledger: Ledger;
  logger: Logger;
  env: Record<string, string | undefined>;
  now: Date;
  /** dbt selectors; the whole project when absent. */
  select?: string[];
  exclude?: string[];
  fullRefresh?: boolean;
  /** Nodes at once; default from carelake.yml or profiles.yml. */
  threads?: number;
  /** Extra vars for the models (`--vars`); they win over carelake's own. */
  vars?: Record<string, unknown>;
  /** Publish serving releases when everything built (default true). */
  publish?: boolean;
}

export interface WarehouseBuildResult {
  results: RunResults;
  /** Nodes that failed, errored or were skipped, with why. */
  failed: string[];
  warnings: string[];
  releases: PublishedServingRelease[];
  keyCreated: boolean;
}

/** `carelake build`: the ledger into ops.*, seeds, models and tests in DAG order, then serving releases. */
export async function buildWarehouse(options: WarehouseBuildOptions): Promise<WarehouseBuildResult> {
  const { config, layout, ledger, logger, now } = options;
  return withModelSession({ config, layout, env: options.env, now }, async (session) => {
    // The ledger goes in first: models report on loads from ops.* (agg_data_quality, lineage).
    await copyLedger(session.db, ledger);
    const { manifest, results, warnings } = await runProject({
      ...session.runner,
      vars: { ...session.runner.vars, ...options.vars },
      db: session.db,
      command: 'build',
      select: options.select,
      exclude: options.exclude,
      fullRefresh: options.fullRefresh,
      threads: options.threads ?? session.runner.threads,
    });
    const failed = unsuccessful(results);
    const warningText = [...(session.profileWarning ? [session.profileWarning] : []), ...warnings.map((w) => w.message)];
    // A tampered audit log stops the build before anything is published (landAudit verifies it).
    const audited = await landAudit(session.db, layout.auditLog, { headFile: layout.auditHead, lockFile: layout.auditLock });
    logger.info({ entries: audited }, 'audit log landed in ops.audit');
    for (const map of session.terminology?.registered ?? []) if (map.status === 'loaded') logger.info({ map: map.name, version: map.version, entries: map.entries }, 'code map registered');
    for (const name of session.terminology?.removed ?? []) logger.info({ map: name }, 'code map no longer configured, removed');
    logger.info({ nodes: results.results.length, failed: failed.length }, 'models built');
    const done = { results, failed, warnings: warningText, releases: [] as PublishedServingRelease[], keyCreated: session.keyCreated };
    if (failed.length > 0 || options.publish === false || session.pseudonymiser === null) return done;

    const releaseId = now.toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
    // What is served, and how, is declared on the models (meta.serve in schema.yml).
    const servingTables = servedModels(manifest, { asOf: now });
    for (const role of SERVING_ROLES) {
      // A project that serves nothing to a role (no model with meta.serve: <role>) publishes nothing for it.
      if (servingTables[role].length === 0) {
        done.warnings.push(`no model is served to the ${role} role (meta.serve in schema.yml), so no ${role} release was published`);
        continue;
      }
      done.releases.push(
        await publishServingRelease({
          warehouse: session.db,
          layout,
          role,
          releaseId,
          tables: servingTables[role],
          pseudonymiser: session.pseudonymiser,
          builtAt: now.toISOString(),
          disclosurePolicy: DISCLOSURE_POLICIES[config.governance.suppression],
          // A commissioner release is published only if every report runs on it: a model change that
          // breaks a report is found here, and commissioners keep the previous release meanwhile.
          ...(role === COMMISSIONER_ROLE ? { verify: (file: string) => verifyReports(config, file, logger) } : {}),
        }),
      );
    }
    logger.info({ release: releaseId, roles: done.releases.map((r) => r.role) }, 'serving published');
    return done;
  });
}

/** `id: status — message` for every node that did not succeed or pass (warnings are fine). */
export function unsuccessful(results: RunResults): string[] {
  return results.results
    .filter((r) => r.status === 'error' || r.status === 'fail' || r.status === 'skipped')
    .map((r) => `${r.unique_id}: ${r.status}${r.message ? ` — ${r.message}` : ''}`);
}

/**
 * The ledger as it is now, as `ops.<table>` in the warehouse, for reporting on loads in SQL (and for the
 * models that read it through `source('ops', …)`, so it is copied before they run).
 */
export async function copyLedger(db: DuckDb, ledger: Ledger): Promise<void> {
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
    message: `${failed.length} node${failed.length === 1 ? '' : 's'} did not build or pass, so no serving release was published:\n${failed.map((f) => `  - ${f}`).join('\n')}`,
    hint: 'see target/run_results.json; fix the model or land its sources, then build again',
  });
}

const COMMISSIONER_ROLE = 'commissioner';

/** Every report in `reports.dir` compiled and run on the new commissioner file; throws naming each that fails. */
async function verifyReports(config: CarelakeConfig, file: string, logger: Logger): Promise<void> {
  const catalog = await loadReportCatalog(config.reports.dir);
  try {
    const outcomes = await checkReportsOnFile(catalog, file, DISCLOSURE_POLICIES[config.governance.suppression]);
    const failure = reportCheckFailure(outcomes, catalog.dir);
    if (failure) {
      throw new CarelakeError({
        code: failure.code,
        kind: failure.kind,
        message: `The commissioner release was not published, because reports fail on it (the previous release is still served). ${failure.message}`,
        hint: `${failure.hint}; a project with models of its own sets reports.dir to its own reports`,
      });
    }
    logger.info({ pages: outcomes.length, dir: catalog.dir }, 'every report ran on the new commissioner release');
  } finally {
    await closeStatementParser();
  }
}
