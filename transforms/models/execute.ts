// Phase 4 of the model runner: compiled models → relations in DuckDB, one model at a time in DAG order.
// Each model's materialization is looked up in the registry (materializations.ts), which returns SQL;
// this module runs it through the DuckDb handle it is given, inside one transaction per model, after
// `CREATE SCHEMA IF NOT EXISTS`. A failed model is rolled back and its descendants are `skipped`; the
// others still run. Results come back in the shape of dbt's target/run_results.json. The clock is an
// argument, so timings are testable and nothing here reads the time itself.

import type { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, toCarelakeError } from '../../core/errors.ts';
import { quoteIdent } from '../../core/sql.ts';
import type { CompiledModel } from './compile.ts';
import { ARTIFACT_GENERATOR, CARELAKE_SCHEMA_VERSION } from './manifest.ts';
import { materializations, type RelationType } from './materializations.ts';

export const DBT_RUN_RESULTS_SCHEMA = 'https://schemas.getdbt.com/dbt/run-results/v6.json';

export type RunStatus = 'success' | 'error' | 'skipped';

export interface RunResult {
  unique_id: string;
  status: RunStatus;
  timing: { name: 'execute'; started_at: string; completed_at: string }[];
  thread_id: string;
  /** Seconds. */
  execution_time: number;
  adapter_response: { _message?: string; code?: string; rows_affected?: number };
  message: string | null;
  failures: null;
  compiled: boolean;
  compiled_code: string;
  relation_name: string;
}

export interface PhaseTiming {
  name: string;
  /** Seconds. */
  elapsed_time: number;
}

/** The shape of dbt's target/run_results.json, plus carelake's schemaVersion and phase timings. */
export interface RunResults {
  schemaVersion: typeof CARELAKE_SCHEMA_VERSION;
  metadata: {
    dbt_schema_version: string;
    dbt_version: string;
    generated_at: string;
    invocation_id: string;
    env: Record<string, string>;
  };
  results: RunResult[];
  /** Seconds. */
  elapsed_time: number;
  args: Record<string, unknown>;
  phases: PhaseTiming[];
}

export interface ExecuteOptions {
  db: DuckDb;
  /** Models in DAG order (parents first). */
  models: readonly CompiledModel[];
  /** Ids to run; every model when absent. Unselected parents are assumed to exist already. */
  selected?: ReadonlySet<string>;
  /** Milliseconds since the epoch; called around each model. */
  clock: () => number;
  invocationId: string;
  args: Record<string, unknown>;
  /** Timings of the phases before execution, carried into the results. */
  phases?: PhaseTiming[];
}

export async function executeModels(options: ExecuteOptions): Promise<RunResults> {
  const { db, clock } = options;
  const started = clock();
  const results: RunResult[] = [];
  /** Failed or skipped models, with the failure that caused it. */
  const blocked = new Map<string, string>();

  for (const model of options.models) {
    if (options.selected && !options.selected.has(model.uniqueId)) continue;
    const blockedBy = model.dependsOn.map((id) => blocked.get(id)).find((cause) => cause !== undefined);
    if (blockedBy !== undefined) {
      blocked.set(model.uniqueId, blockedBy);
      const at = new Date(clock()).toISOString();
      results.push(result(model, 'skipped', at, at, 0, `Skipped because upstream model ${blockedBy} failed`, {}));
      continue;
    }
    const begin = clock();
    try {
      const rows = await buildModel(db, model);
      const end = clock();
      const response = rows === null ? { _message: 'OK', code: 'OK' } : { _message: 'OK', code: 'OK', rows_affected: rows };
      results.push(result(model, 'success', iso(begin), iso(end), (end - begin) / 1000, 'OK', response));
    } catch (err) {
      const end = clock();
      blocked.set(model.uniqueId, model.uniqueId);
      const error = toCarelakeError(err).withNode(`model ${model.name} (${model.path})`);
      results.push(result(model, 'error', iso(begin), iso(end), (end - begin) / 1000, error.render(), {}));
    }
  }

  const finished = clock();
  const executePhase = { name: 'execute', elapsed_time: (finished - started) / 1000 };
  return {
    schemaVersion: CARELAKE_SCHEMA_VERSION,
    metadata: {
      dbt_schema_version: DBT_RUN_RESULTS_SCHEMA,
      dbt_version: ARTIFACT_GENERATOR,
      generated_at: iso(finished),
      invocation_id: options.invocationId,
      env: {},
    },
    results,
    elapsed_time: (finished - started) / 1000,
    args: options.args,
    phases: [...(options.phases ?? []), executePhase],
  };
}

/** Builds one model in its own transaction; returns the rows written when the database reports them. */
async function buildModel(db: DuckDb, model: CompiledModel): Promise<number | null> {
  const existing = await existingRelation(db, model.schema, model.identifier);
  const steps = materializations[model.materialized].steps({ schema: model.schema, identifier: model.identifier, sql: model.compiledSql, existing });
  const where = `(compiled SQL in ${model.compiledPath})`;
  let rows: number | null = null;
  await db.run('BEGIN TRANSACTION', undefined, `begin the transaction for ${model.uniqueId}`);
  try {
    await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(model.schema)}`, undefined, `create schema ${quoteIdent(model.schema)}`);
    for (const step of steps) {
      if (step.reportsRows) {
        const reported = await db.all(step.sql, undefined, `${step.label} ${where}`);
        rows = rowCount(reported[0]?.Count);
      } else {
        await db.run(step.sql, undefined, `${step.label} ${where}`);
      }
    }
    await db.run('COMMIT', undefined, `commit ${model.uniqueId}`);
    return rows;
  } catch (err) {
    try {
      await db.run('ROLLBACK', undefined, `roll back ${model.uniqueId}`);
    } catch (rollbackError) {
      throw new CarelakeError({
        code: 'models.rollback_failed',
        kind: 'runtime',
        message: `${toCarelakeError(err).message}; rolling back also failed: ${toCarelakeError(rollbackError).message}`,
        cause: err,
      });
    }
    throw err;
  }
}

async function existingRelation(db: DuckDb, schema: string, identifier: string): Promise<RelationType | null> {
  const type = await db.scalar(
    `SELECT table_type FROM information_schema.tables
      WHERE table_catalog = current_database() AND lower(table_schema) = lower(?) AND lower(table_name) = lower(?)`,
    [schema, identifier],
    `look up the existing relation ${quoteIdent(schema)}.${quoteIdent(identifier)}`,
  );
  if (type === null) return null;
  return type === 'VIEW' ? 'view' : 'table';
}

/** DuckDB reports counts as BIGINT (a string when JSON-safe conversion applies); kept only when exact. */
function rowCount(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) ? n : null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function result(
  model: CompiledModel,
  status: RunStatus,
  startedAt: string,
  completedAt: string,
  seconds: number,
  message: string,
  adapterResponse: RunResult['adapter_response'],
): RunResult {
  return {
    unique_id: model.uniqueId,
    status,
    timing: status === 'skipped' ? [] : [{ name: 'execute', started_at: startedAt, completed_at: completedAt }],
    thread_id: 'Thread-1',
    execution_time: seconds,
    adapter_response: adapterResponse,
    message,
    failures: null,
    compiled: true,
    compiled_code: model.compiledSql,
    relation_name: model.relation,
  };
}
