// Phase 4 of the model runner: compiled nodes → relations and test results in DuckDB. Nodes run as
// soon as their parents have finished, up to `threads` at once, each worker on its own connection to
// the same database (DuckDB runs each statement on all its cores as well, so extra threads help most
// when many small models are ready together). A model or seed is built by its materialization's steps
// (materializations.ts) inside one transaction; a failed model is rolled back and everything downstream
// of it is skipped, while independent branches still run. A test counts its failing rows; in `build`,
// a failing test (severity error) also skips the children of the node it tests, as dbt build does.
// Ephemeral models never run: they are inlined, so their parents' failures pass through them. Results
// come back in the shape of dbt's target/run_results.json. The clock is an argument, so timings are
// testable and nothing here reads the time itself.

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, fileSystemError, toCarelakeError } from '../../core/errors.ts';
import { quoteIdent } from '../../core/sql.ts';
import type { CompiledModel } from './compile.ts';
import { failureCountSql } from './dataTests.ts';
import { ARTIFACT_GENERATOR, CARELAKE_SCHEMA_VERSION } from './manifest.ts';
import { MaterializationConfigError, externalTarget, materializations, type Materializer, type RelationType } from './materializations.ts';
import type { CompiledTest } from './testNodes.ts';

export const DBT_RUN_RESULTS_SCHEMA = 'https://schemas.getdbt.com/dbt/run-results/v6.json';

/** dbt's statuses: models and seeds succeed or fail; tests pass, warn or fail; anything may be skipped. */
export type RunStatus = 'success' | 'error' | 'skipped' | 'pass' | 'fail' | 'warn';

export interface RunResult {
  unique_id: string;
  status: RunStatus;
  timing: { name: 'execute'; started_at: string; completed_at: string }[];
  thread_id: string;
  /** Seconds. */
  execution_time: number;
  adapter_response: { _message?: string; code?: string; rows_affected?: number };
  message: string | null;
  /** Tests: the number of failing rows; null for models. */
  failures: number | null;
  compiled: boolean;
  compiled_code: string;
  relation_name: string | null;
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
  /** Every compiled model and seed, in DAG order (ephemeral ones included: failures pass through them). */
  models: readonly CompiledModel[];
  tests: readonly CompiledTest[];
  /** Ids to execute. Unselected parents are assumed to exist already. */
  selected: ReadonlySet<string>;
  /** `build`: the tests on a node's parents must pass before it runs. */
  testsGateChildren: boolean;
  /** How many nodes may run at once (dbt's `threads`); at least 1. */
  threads: number;
  fullRefresh: boolean;
  /** Absolute folder for external models without a `location`. */
  externalRoot: string;
  /** Milliseconds since the epoch; called around each node. */
  clock: () => number;
  invocationId: string;
  args: Record<string, unknown>;
  /** Timings of the phases before execution, carried into the results. */
  phases?: PhaseTiming[];
}

type Executable = { kind: 'model'; node: CompiledModel } | { kind: 'test'; node: CompiledTest };

/** Why a node stopped its descendants: `model carelake.x failed`, `test … failed`. */
type Blocker = string;

export async function executeModels(options: ExecuteOptions): Promise<RunResults> {
  const { clock } = options;
  const started = clock();
  const plan = executionPlan(options);
  const results: RunResult[] = [];
  const blockers = new Map<string, Blocker>();
  const done = new Set<string>();

  // Schemas first, one at a time: concurrent CREATE SCHEMA in two transactions would conflict.
  const schemas = [...new Set(plan.order.flatMap((id) => (plan.nodes.get(id)?.kind === 'model' ? [(plan.nodes.get(id)?.node as CompiledModel).schema] : [])))];
  for (const schema of schemas) await options.db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`, undefined, `create schema ${quoteIdent(schema)}`);

  const threads = Math.max(1, Math.floor(options.threads));
  const connections: DuckDb[] = [options.db];
  try {
    for (let i = 1; i < Math.min(threads, plan.order.length); i++) connections.push(await options.db.connect());
    const pending = [...plan.order];
    const running = new Map<string, Promise<void>>();
    const free = connections.map((_, i) => i);

    const start = (id: string, worker: number): Promise<void> => {
      const executable = plan.nodes.get(id) as Executable;
      const threadId = `Thread-${worker + 1}`;
      const blockedBy = (plan.upstream.get(id) ?? []).map((up) => blockers.get(up)).find((b) => b !== undefined);
      const work = async (): Promise<RunResult> => {
        if (blockedBy !== undefined) {
          const at = iso(clock());
          return result(executable, 'skipped', at, at, 0, `Skipped because ${blockedBy}`, {}, null, threadId);
        }
        return executable.kind === 'model'
          ? runModel(connections[worker] as DuckDb, executable.node, options, threadId)
          : runTest(connections[worker] as DuckDb, executable.node, options, threadId);
      };
      return work().then((r) => {
        results.push(r);
        const label = executable.kind === 'model' ? `${executable.node.resourceType} ${executable.node.uniqueId}` : `test ${executable.node.uniqueId}`;
        if (r.status === 'skipped') blockers.set(id, blockedBy ?? `${label} was skipped`);
        else if (r.status === 'error' || r.status === 'fail') blockers.set(id, `${label} failed`);
        done.add(id);
        running.delete(id);
        free.push(worker);
      });
    };

    while (pending.length > 0 || running.size > 0) {
      let launched = false;
      for (let i = 0; i < pending.length && free.length > 0; ) {
        const id = pending[i] as string;
        if ((plan.upstream.get(id) ?? []).every((up) => done.has(up))) {
          pending.splice(i, 1);
          running.set(id, start(id, free.shift() as number));
          launched = true;
        } else i += 1;
      }
      if (running.size === 0 && !launched) throw new CarelakeError({ code: 'models.stuck', kind: 'internal', message: `Nodes wait on each other: ${pending.join(', ')}` });
      if (running.size > 0) await Promise.race(running.values());
    }
  } finally {
    for (const connection of connections.slice(1)) connection.close();
  }

  const finished = clock();
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
    phases: [...(options.phases ?? []), { name: 'execute', elapsed_time: (finished - started) / 1000 }],
  };
}

interface ExecutionPlan {
  nodes: Map<string, Executable>;
  /** Nodes to execute in a stable DAG order (models as compiled, each test after its parents). */
  order: string[];
  /** For each node, the executed nodes it must wait for. */
  upstream: Map<string, string[]>;
}

function executionPlan(options: ExecuteOptions): ExecutionPlan {
  const byId = new Map(options.models.map((m) => [m.uniqueId, m]));
  const nodes = new Map<string, Executable>();
  for (const model of options.models) {
    if (options.selected.has(model.uniqueId) && model.materialized !== 'ephemeral') nodes.set(model.uniqueId, { kind: 'model', node: model });
  }
  for (const test of options.tests) if (options.selected.has(test.uniqueId)) nodes.set(test.uniqueId, { kind: 'test', node: test });

  // Parents through ephemeral models, which never run themselves.
  const effective = new Map<string, string[]>();
  const effectiveParents = (id: string): string[] => {
    const known = effective.get(id);
    if (known) return known;
    const out = new Set<string>();
    for (const parent of byId.get(id)?.dependsOn ?? []) {
      if (byId.get(parent)?.materialized === 'ephemeral') for (const p of effectiveParents(parent)) out.add(p);
      else out.add(parent);
    }
    const list = [...out];
    effective.set(id, list);
    return list;
  };

  const testsOn = new Map<string, string[]>();
  if (options.testsGateChildren) {
    for (const test of options.tests) {
      if (!nodes.has(test.uniqueId)) continue;
      const gate = test.attachedTo ?? (test.dependsOn.length === 1 ? test.dependsOn[0] : undefined);
      if (gate !== undefined) testsOn.set(gate, [...(testsOn.get(gate) ?? []), test.uniqueId]);
    }
  }

  const upstream = new Map<string, string[]>();
  for (const [id, executable] of nodes) {
    const parents = executable.kind === 'model' ? effectiveParents(id) : executable.node.dependsOn.flatMap((p) => (byId.get(p)?.materialized === 'ephemeral' ? effectiveParents(p) : [p]));
    const waits = new Set(parents.filter((p) => nodes.has(p)));
    if (executable.kind === 'model') for (const parent of parents) for (const test of testsOn.get(parent) ?? []) waits.add(test);
    upstream.set(id, [...waits]);
  }

  const order: string[] = [];
  const placed = new Set<string>();
  const place = (id: string): void => {
    if (placed.has(id)) return;
    placed.add(id);
    for (const up of upstream.get(id) ?? []) place(up);
    order.push(id);
  };
  for (const model of options.models) {
    if (!nodes.has(model.uniqueId)) continue;
    place(model.uniqueId);
    for (const test of testsOn.get(model.uniqueId) ?? []) place(test);
  }
  for (const test of options.tests) if (nodes.has(test.uniqueId)) place(test.uniqueId);
  return { nodes, order, upstream };
}

async function runModel(db: DuckDb, model: CompiledModel, options: ExecuteOptions, threadId: string): Promise<RunResult> {
  const begin = options.clock();
  try {
    const rows = await buildModel(db, model, options);
    const end = options.clock();
    const response = rows === null ? { _message: 'OK', code: 'OK' } : { _message: 'OK', code: 'OK', rows_affected: rows };
    return result({ kind: 'model', node: model }, 'success', iso(begin), iso(end), (end - begin) / 1000, 'OK', response, null, threadId);
  } catch (err) {
    const end = options.clock();
    const error = toCarelakeError(err).withNode(`${model.resourceType} ${model.name} (${model.path})`);
    return result({ kind: 'model', node: model }, 'error', iso(begin), iso(end), (end - begin) / 1000, error.render(), {}, null, threadId);
  }
}

async function runTest(db: DuckDb, test: CompiledTest, options: ExecuteOptions, threadId: string): Promise<RunResult> {
  const begin = options.clock();
  try {
    const failures = Number(await db.scalar(failureCountSql(test.compiledSql), undefined, `run test ${test.name} (compiled SQL in ${test.compiledPath})`));
    const end = options.clock();
    const status: RunStatus = failures === 0 ? 'pass' : test.config.severity === 'warn' ? 'warn' : 'fail';
    const message = failures === 0 ? null : `Got ${failures} result${failures === 1 ? '' : 's'}, configured to ${status === 'warn' ? 'warn' : 'fail'} if != 0`;
    return result({ kind: 'test', node: test }, status, iso(begin), iso(end), (end - begin) / 1000, message, { _message: 'OK', code: 'OK' }, failures, threadId);
  } catch (err) {
    const end = options.clock();
    const error = toCarelakeError(err).withNode(`test ${test.name} (${test.path})`);
    return result({ kind: 'test', node: test }, 'error', iso(begin), iso(end), (end - begin) / 1000, error.render(), {}, null, threadId);
  }
}

/** Builds one model in its own transaction; returns the rows written when the database reports them. */
async function buildModel(db: DuckDb, model: CompiledModel, options: ExecuteOptions): Promise<number | null> {
  const existing = await existingRelation(db, model.schema, model.identifier);
  const existingColumns = existing === 'table' && model.materialized === 'incremental' ? await columnsOf(db, model.schema, model.identifier) : [];
  let steps;
  try {
    steps = materializations[model.materialized].steps({
      schema: model.schema,
      identifier: model.identifier,
      sql: model.compiledSql,
      existing,
      existingColumns,
      fullRefresh: options.fullRefresh,
      config: model.config.extra,
      externalRoot: options.externalRoot,
    });
  } catch (err) {
    if (!(err instanceof MaterializationConfigError)) throw err;
    throw new CarelakeError({ code: 'models.materialization_config', kind: 'config', message: `${model.materialized} model ${model.name} (${model.path}): ${err.message}`, location: { file: model.path } });
  }
  if (model.materialized === 'external') await prepareExternal(model, options.externalRoot);
  const where = `(compiled SQL in ${model.compiledPath})`;
  const materializer = materializations[model.materialized];
  let rows: number | null = null;
  await db.run('BEGIN TRANSACTION', undefined, `begin the transaction for ${model.uniqueId}`);
  try {
    if (materializer.execute !== undefined) {
      rows = await executeMaterializer(materializer, db, model, options, existing);
    }
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

async function executeMaterializer(materializer: Materializer, db: DuckDb, model: CompiledModel, options: ExecuteOptions, existing: RelationType | null): Promise<number | null> {
  try {
    return await materializer.execute!(
      db,
      { schema: model.schema, identifier: model.identifier, sql: model.compiledSql, existing, existingColumns: [], fullRefresh: options.fullRefresh, config: model.config.extra, externalRoot: options.externalRoot },
      { now: new Date(options.clock()), clock: options.clock },
    );
  } catch (err) {
    if (!(err instanceof MaterializationConfigError)) throw err;
    throw new CarelakeError({ code: 'models.materialization_config', kind: 'config', message: `${model.materialized} model ${model.name} (${model.path}): ${err.message}`, location: { file: model.path } });
  }
}

/** DuckDB creates a partitioned COPY's folder itself, but not a single file's parent folder. */
async function prepareExternal(model: CompiledModel, externalRoot: string): Promise<void> {
  const target = externalTarget(model.identifier, model.config.extra, externalRoot);
  const folder = target.partitionBy.length > 0 ? target.location : dirname(target.location);
  try {
    await mkdir(folder, { recursive: true });
  } catch (err) {
    throw fileSystemError('create the folder for', folder, err);
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

async function columnsOf(db: DuckDb, schema: string, identifier: string): Promise<string[]> {
  const rows = await db.all(
    `SELECT column_name FROM information_schema.columns
      WHERE table_catalog = current_database() AND lower(table_schema) = lower(?) AND lower(table_name) = lower(?)
      ORDER BY ordinal_position`,
    [schema, identifier],
    `read the columns of ${quoteIdent(schema)}.${quoteIdent(identifier)}`,
  );
  return rows.map((r) => String(r.column_name));
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
  executable: Executable,
  status: RunStatus,
  startedAt: string,
  completedAt: string,
  seconds: number,
  message: string | null,
  adapterResponse: RunResult['adapter_response'],
  failures: number | null,
  threadId: string,
): RunResult {
  const node = executable.node;
  return {
    unique_id: node.uniqueId,
    status,
    timing: status === 'skipped' ? [] : [{ name: 'execute', started_at: startedAt, completed_at: completedAt }],
    thread_id: threadId,
    execution_time: seconds,
    adapter_response: adapterResponse,
    message,
    failures,
    compiled: true,
    compiled_code: node.compiledSql,
    relation_name: executable.kind === 'model' ? executable.node.relation : null,
  };
}
