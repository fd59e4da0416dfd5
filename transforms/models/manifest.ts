// Phase 2 of the model runner: captured models and sources → the `ModelGraph` (typed, keyed by
// `model.carelake.stg_patient`): each model's resolved config (dbt_project.yml folder config, then its
// property file, then its own `config()` calls), schema and relation, its parents, cycle detection
// ("Found a cycle: a --> b --> a") and a topological order. `manifestOf` serialises the graph to the
// top-level shape of dbt's target/manifest.json (metadata, nodes, sources, macros, parent_map,
// child_map, disabled, …) plus carelake's `schemaVersion`, so tools that read dbt artifacts read
// ours. Writes nothing; the clock and invocation id come in as arguments. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';
import type { CapturedModel, CompiledModel, ResolvedSource, SchemaNamer } from './compile.ts';
import { MATERIALIZATIONS, isMaterialization, type Materialization } from './materializations.ts';
import { configJson, resolveModelConfig, type ModelConfig } from './modelConfig.ts';
import type { UnparsedModel } from './parse.ts';
import type { CompiledTest, ResolvedTest } from './testNodes.ts';
import { cycleError, disabledRefError, lineOfCall, unknownRefError, unknownSourceError } from './problems.ts';
import type { ColumnProperties } from './projectYaml.ts';
import { generateAliasName, modelRelation } from './relations.ts';

/** carelake's own version of the artifact files it writes (manifest.json, run_results.json). */
export const CARELAKE_SCHEMA_VERSION = 1;
export const DBT_MANIFEST_SCHEMA = 'https://schemas.getdbt.com/dbt/manifest/v12.json';
/** Written where dbt writes its own version, so a reader can tell who produced the file. */
export const ARTIFACT_GENERATOR = 'carelake';

export interface ResolvedModel {
  uniqueId: string;
  model: UnparsedModel;
  capture: CapturedModel;
  config: ModelConfig;
  materialized: Materialization;
  schema: string;
  identifier: string;
  relation: string;
  /** Parent models and sources, sorted. */
  parents: string[];
}

export interface ModelGraph {
  projectName: string;
  /** Everything the runner builds into a relation: models, ViewDefinitions and seeds. */
  models: Record<string, ResolvedModel>;
  sources: Record<string, ResolvedSource>;
  /** Data tests (attached by `attachTests` once the models are resolved). */
  tests: Record<string, ResolvedTest>;
  disabled: UnparsedModel[];
  /** Every enabled model, parents before children (ties by id, so the order is stable). */
  order: string[];
  parentMap: Record<string, string[]>;
  childMap: Record<string, string[]>;
}

export interface GraphInput {
  projectName: string;
  captured: readonly CapturedModel[];
  sources: readonly ResolvedSource[];
  schemaName: SchemaNamer;
  /** Every model parsed, including those that failed to render, so a ref to one is not "not found". */
  knownModelNames: ReadonlySet<string>;
}

export function buildGraph(input: GraphInput): { graph: ModelGraph; problems: CarelakeError[] } {
  const problems: CarelakeError[] = [];
  const models: Record<string, ResolvedModel> = {};
  const disabled: UnparsedModel[] = [];

  for (const capture of input.captured) {
    const { model } = capture;
    const layers = [model.folderConfig, { meta: model.properties?.meta ?? {} }, model.properties?.config ?? {}, ...capture.configCalls];
    const resolvedConfig = resolveModelConfig(layers);
    // A seed is always loaded as a seed, whatever a folder config says.
    const config = model.resourceType === 'seed' ? { ...resolvedConfig, materialized: 'seed' } : resolvedConfig;
    if (!config.enabled) {
      disabled.push(model);
      continue;
    }
    if (!isMaterialization(config.materialized)) {
      problems.push(
        new CarelakeError({
          code: 'models.unknown_materialization',
          kind: 'config',
          message: `Model '${model.uniqueId}' (${model.path}) is materialized as '${config.materialized}', which carelake does not support; supported: ${MATERIALIZATIONS.join(', ')}.`,
          location: { file: model.path, line: lineOfCall(model.rawSql, 'config', [config.materialized]) },
          hint: 'set +materialized in dbt_project.yml or config(materialized=…) in the model',
        }),
      );
      continue;
    }
    let schema: string;
    try {
      schema = input.schemaName(config.schema, model, config);
    } catch (err) {
      problems.push(err as CarelakeError);
      continue;
    }
    const identifier = generateAliasName(config.alias, model.name);
    models[model.uniqueId] = {
      uniqueId: model.uniqueId,
      model,
      capture,
      config,
      materialized: config.materialized,
      schema,
      identifier,
      relation: modelRelation(schema, identifier),
      parents: [],
    };
  }

  const byName = new Map(Object.values(models).map((m) => [m.model.name, m.uniqueId]));
  const disabledNames = new Set(disabled.map((m) => m.name));
  const sources = Object.fromEntries(input.sources.map((s) => [s.uniqueId, s]));

  for (const resolved of Object.values(models)) {
    const { model, capture } = resolved;
    const parents = new Set<string>();
    for (const ref of capture.refs) {
      const samePackage = ref.package === null || ref.package === input.projectName;
      const id = samePackage ? byName.get(ref.name) : undefined;
      const line = lineOfCall(model.rawSql, 'ref', [ref.name]);
      const label = ref.package === null ? ref.name : `${ref.package}.${ref.name}`;
      if (id) parents.add(id);
      else if (samePackage && disabledNames.has(ref.name)) problems.push(disabledRefError(model, label, line));
      else if (!samePackage || !input.knownModelNames.has(ref.name)) problems.push(unknownRefError(model, label, line));
      // otherwise the parent exists but has a problem of its own, already reported
    }
    for (const [sourceName, table] of capture.sources) {
      const id = `source.${input.projectName}.${sourceName}.${table}`;
      if (sources[id]) parents.add(id);
      else problems.push(unknownSourceError(model, sourceName, table, lineOfCall(model.rawSql, 'source', [sourceName, table])));
    }
    resolved.parents = [...parents].sort();
  }

  const byRelation = new Map<string, ResolvedModel>();
  for (const resolved of sortedValues(models)) {
    const earlier = byRelation.get(resolved.relation.toLowerCase());
    if (earlier) {
      problems.push(
        new CarelakeError({
          code: 'models.duplicate_relation',
          kind: 'config',
          message: `Models '${earlier.uniqueId}' (${earlier.model.path}) and '${resolved.uniqueId}' (${resolved.model.path}) would both build ${resolved.relation}`,
          location: { file: resolved.model.path },
          hint: 'give one of them a different alias or schema',
        }),
      );
    } else byRelation.set(resolved.relation.toLowerCase(), resolved);
  }

  const parentMap: Record<string, string[]> = {};
  const childMap: Record<string, string[]> = {};
  for (const id of [...Object.keys(models), ...Object.keys(sources)].sort()) {
    parentMap[id] = models[id]?.parents ?? [];
    childMap[id] = [];
  }
  for (const [child, parents] of Object.entries(parentMap)) for (const parent of parents) childMap[parent]?.push(child);
  for (const children of Object.values(childMap)) children.sort();

  const { order, cycles } = topologicalOrder(Object.keys(models), (id) => (models[id]?.parents ?? []).filter((p) => p in models));
  for (const cycle of cycles) problems.push(cycleError(cycle, models[cycle[0] ?? '']?.model.path));

  return { graph: { projectName: input.projectName, models, sources, tests: {}, disabled, order, parentMap, childMap }, problems };
}

/** Adds resolved tests to the graph and to its parent and child maps. */
export function attachTests(graph: ModelGraph, tests: Record<string, ResolvedTest>): void {
  graph.tests = tests;
  for (const test of Object.values(tests)) {
    graph.parentMap[test.uniqueId] = test.parents;
    graph.childMap[test.uniqueId] = [];
    for (const parent of test.parents) {
      const children = graph.childMap[parent];
      if (children && !children.includes(test.uniqueId)) {
        children.push(test.uniqueId);
        children.sort();
      }
    }
  }
}

/**
 * Kahn's algorithm with ties taken in id order. Nodes left over sit on or behind a cycle; each cycle
 * is reported once, as dbt does, following parent → child edges from its smallest id and back.
 */
export function topologicalOrder(ids: readonly string[], parentsOf: (id: string) => readonly string[]): { order: string[]; cycles: string[][] } {
  const pending = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const id of ids) {
    pending.set(id, parentsOf(id).length);
    for (const parent of parentsOf(id)) children.set(parent, [...(children.get(parent) ?? []), id]);
  }
  const ready = ids.filter((id) => pending.get(id) === 0).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(id);
    for (const child of children.get(id) ?? []) {
      const left = (pending.get(child) ?? 0) - 1;
      pending.set(child, left);
      if (left === 0) insertSorted(ready, child);
    }
  }
  if (order.length === ids.length) return { order, cycles: [] };

  const stuck = new Set(ids.filter((id) => !order.includes(id)));
  const cycles: string[][] = [];
  const onCycle = new Set<string>();
  for (const start of [...stuck].sort()) {
    if (onCycle.has(start)) continue;
    const cycle = findCycleFrom(start, (id) => (children.get(id) ?? []).filter((c) => stuck.has(c)).sort());
    if (cycle && !cycle.some((id) => onCycle.has(id))) {
      for (const id of cycle) onCycle.add(id);
      cycles.push([...cycle, cycle[0] as string]);
    }
  }
  return { order, cycles };
}

/** A path start → … → start, if start lies on a cycle. Depth-first, children in order. */
function findCycleFrom(start: string, next: (id: string) => string[]): string[] | null {
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): boolean => {
    path.push(id);
    seen.add(id);
    for (const child of next(id)) {
      if (child === start) return true;
      if (!seen.has(child) && visit(child)) return true;
    }
    path.pop();
    return false;
  };
  return visit(start) ? path : null;
}

function insertSorted(list: string[], item: string): void {
  const at = list.findIndex((x) => x > item);
  if (at < 0) list.push(item);
  else list.splice(at, 0, item);
}

function sortedValues<T>(record: Record<string, T>): T[] {
  return Object.keys(record)
    .sort()
    .map((k) => record[k] as T);
}

// ---- manifest.json --------------------------------------------------------------------------------

export interface ManifestColumn {
  name: string;
  description: string;
  meta: Record<string, unknown>;
  data_type: string | null;
  constraints: never[];
  quote: null;
  tags: string[];
}

export interface ManifestNode {
  database: null;
  schema: string;
  name: string;
  resource_type: 'model' | 'seed' | 'test';
  package_name: string;
  path: string;
  original_file_path: string;
  unique_id: string;
  fqn: string[];
  alias: string;
  checksum: { name: 'sha256'; checksum: string };
  config: Record<string, unknown>;
  tags: string[];
  description: string;
  columns: Record<string, ManifestColumn>;
  meta: Record<string, unknown>;
  patch_path: string | null;
  created_at: number;
  relation_name: string;
  raw_code: string;
  language: 'sql';
  refs: { name: string; package: string | null; version: null }[];
  sources: [string, string][];
  depends_on: { macros: string[]; nodes: string[] };
  compiled_path: string | null;
  compiled: boolean;
  compiled_code?: string;
  /** Tests only (dbt's shape). */
  test_metadata?: { name: string; kwargs: Record<string, unknown>; namespace: null };
  column_name?: string | null;
  attached_node?: string | null;
}

export interface ManifestSource {
  database: string | null;
  schema: string;
  name: string;
  resource_type: 'source';
  package_name: string;
  path: string;
  original_file_path: string;
  unique_id: string;
  fqn: string[];
  source_name: string;
  source_description: string;
  loader: string;
  identifier: string;
  description: string;
  columns: Record<string, ManifestColumn>;
  meta: Record<string, unknown>;
  source_meta: Record<string, unknown>;
  tags: string[];
  config: Record<string, unknown>;
  relation_name: string;
  created_at: number;
}

export interface ManifestMacro {
  name: string;
  resource_type: 'macro';
  package_name: string;
  path: string;
  original_file_path: string;
  unique_id: string;
}

export interface ManifestMetadata {
  dbt_schema_version: string;
  dbt_version: string;
  generated_at: string;
  invocation_id: string;
  env: Record<string, string>;
  project_name: string;
  adapter_type: 'duckdb';
}

/** The top-level shape of dbt's target/manifest.json, plus carelake's schemaVersion. */
export interface Manifest {
  schemaVersion: typeof CARELAKE_SCHEMA_VERSION;
  metadata: ManifestMetadata;
  nodes: Record<string, ManifestNode>;
  sources: Record<string, ManifestSource>;
  macros: Record<string, ManifestMacro>;
  docs: Record<string, never>;
  exposures: Record<string, never>;
  metrics: Record<string, never>;
  groups: Record<string, never>;
  selectors: Record<string, never>;
  disabled: Record<string, ManifestNode[]>;
  parent_map: Record<string, string[]>;
  child_map: Record<string, string[]>;
  group_map: Record<string, never>;
  saved_queries: Record<string, never>;
  semantic_models: Record<string, never>;
  unit_tests: Record<string, never>;
}

export interface ManifestOptions {
  generatedAt: Date;
  invocationId: string;
  macros: readonly { name: string; path: string }[];
  /** Compiled SQL to include (after pass 2); without it nodes say `compiled: false`. */
  compiled?: readonly CompiledModel[];
  compiledTests?: readonly CompiledTest[];
}

export function manifestOf(graph: ModelGraph, options: ManifestOptions): Manifest {
  const createdAt = options.generatedAt.getTime() / 1000;
  const compiled = new Map((options.compiled ?? []).map((c) => [c.uniqueId, c]));
  const project = graph.projectName;

  const nodes: Record<string, ManifestNode> = {};
  for (const resolved of sortedValues(graph.models)) {
    nodes[resolved.uniqueId] = nodeJson(resolved.model, resolved, createdAt, compiled.get(resolved.uniqueId));
  }
  const compiledTests = new Map((options.compiledTests ?? []).map((c) => [c.uniqueId, c]));
  for (const test of sortedValues(graph.tests)) nodes[test.uniqueId] = testNodeJson(test, project, createdAt, compiledTests.get(test.uniqueId));
  const disabled: Record<string, ManifestNode[]> = {};
  for (const model of graph.disabled) {
    const config = resolveModelConfig([model.folderConfig, model.properties?.config ?? {}]);
    disabled[model.uniqueId] = [nodeJson(model, { config: { ...config, enabled: false }, schema: '', identifier: model.name, relation: '', parents: [] }, createdAt)];
  }
  const sources: Record<string, ManifestSource> = {};
  for (const source of sortedValues(graph.sources)) {
    sources[source.uniqueId] = {
      database: source.database,
      schema: source.schema,
      name: source.name,
      resource_type: 'source',
      package_name: project,
      path: source.path,
      original_file_path: source.path,
      unique_id: source.uniqueId,
      fqn: source.fqn,
      source_name: source.sourceName,
      source_description: source.sourceDescription,
      loader: '',
      identifier: source.identifier,
      description: source.description,
      columns: columnsJson(source.columns),
      meta: source.tableMeta,
      source_meta: source.sourceMeta,
      tags: [],
      config: { enabled: true, ...(source.location === null ? {} : { external_location: source.externalLocation }) },
      relation_name: source.relation,
      created_at: createdAt,
    };
  }
  const macros: Record<string, ManifestMacro> = {};
  for (const macro of options.macros) {
    const uniqueId = `macro.${project}.${macro.name}`;
    macros[uniqueId] = { name: macro.name, resource_type: 'macro', package_name: project, path: macro.path, original_file_path: macro.path, unique_id: uniqueId };
  }

  return {
    schemaVersion: CARELAKE_SCHEMA_VERSION,
    metadata: {
      dbt_schema_version: DBT_MANIFEST_SCHEMA,
      dbt_version: ARTIFACT_GENERATOR,
      generated_at: options.generatedAt.toISOString(),
      invocation_id: options.invocationId,
      env: {},
      project_name: project,
      adapter_type: 'duckdb',
    },
    nodes,
    sources,
    macros,
    docs: {},
    exposures: {},
    metrics: {},
    groups: {},
    selectors: {},
    disabled,
    parent_map: graph.parentMap,
    child_map: graph.childMap,
    group_map: {},
    saved_queries: {},
    semantic_models: {},
    unit_tests: {},
  };
}

function nodeJson(
  model: UnparsedModel,
  resolved: Pick<ResolvedModel, 'config' | 'schema' | 'identifier' | 'relation' | 'parents'> & { capture?: CapturedModel },
  createdAt: number,
  compiled?: CompiledModel,
): ManifestNode {
  const properties = model.properties;
  return {
    database: null,
    schema: resolved.schema,
    name: model.name,
    resource_type: model.resourceType,
    package_name: model.packageName,
    path: model.pathInModelDir,
    original_file_path: model.path,
    unique_id: model.uniqueId,
    fqn: model.fqn,
    alias: resolved.identifier,
    checksum: { name: 'sha256', checksum: model.checksum },
    config: configJson(resolved.config),
    tags: resolved.config.tags,
    description: properties?.description ?? '',
    columns: columnsJson(properties?.columns ?? []),
    meta: resolved.config.meta,
    patch_path: properties ? `${model.packageName}://${properties.file}` : null,
    created_at: createdAt,
    relation_name: resolved.relation,
    raw_code: model.rawSql,
    language: 'sql',
    refs: (resolved.capture?.refs ?? []).map((r) => ({ name: r.name, package: r.package, version: null })),
    sources: resolved.capture?.sources ?? [],
    depends_on: { macros: [], nodes: resolved.parents },
    compiled_path: compiled?.compiledPath ?? null,
    compiled: compiled !== undefined,
    ...(compiled ? { compiled_code: compiled.compiledSql } : {}),
  };
}

function testNodeJson(test: ResolvedTest, project: string, createdAt: number, compiled?: CompiledTest): ManifestNode {
  return {
    database: null,
    schema: 'dbt_test__audit',
    name: test.name,
    resource_type: 'test',
    package_name: project,
    path: test.kind === 'singular' ? test.path.split('/').slice(1).join('/') : `${test.name}.sql`,
    original_file_path: test.path,
    unique_id: test.uniqueId,
    fqn: test.fqn,
    alias: test.name,
    checksum: { name: 'sha256', checksum: '' },
    config: { enabled: test.config.enabled, severity: test.config.severity.toUpperCase(), where: test.config.where, tags: test.config.tags, meta: test.config.meta, materialized: 'test' },
    tags: test.config.tags,
    description: '',
    columns: {},
    meta: test.config.meta,
    patch_path: null,
    created_at: createdAt,
    relation_name: '',
    raw_code: test.rawSql,
    language: 'sql',
    refs: [],
    sources: [],
    depends_on: { macros: test.testMetadata ? [`macro.dbt.test_${test.testMetadata.name}`] : [], nodes: test.parents },
    compiled_path: compiled?.compiledPath ?? null,
    compiled: compiled !== undefined,
    ...(compiled ? { compiled_code: compiled.compiledSql } : {}),
    ...(test.testMetadata ? { test_metadata: { ...test.testMetadata, namespace: null } } : {}),
    column_name: test.column,
    attached_node: test.attachedTo,
  };
}

function columnsJson(columns: readonly ColumnProperties[]): Record<string, ManifestColumn> {
  return Object.fromEntries(
    columns.map((c) => [c.name, { name: c.name, description: c.description, meta: c.meta, data_type: c.dataType, constraints: [], quote: null, tags: [] }]),
  );
}
