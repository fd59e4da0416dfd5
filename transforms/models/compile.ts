// Rendering models with Jinja, in dbt's two passes. Pass 1 (`captureModels`) renders each model with
// `execute` false and placeholder relations, only to record its `ref()`, `source()` and `config()` calls
// — what the manifest needs to build the DAG and resolve configs and schemas. Pass 2 (`compileModels`)
// renders again with every `ref()`/`source()` resolved from the manifest, giving the SQL to run. Also
// here: rendering a source's `external_location` (a template itself) and the schema namer (dbt's default
// or the project's own `generate_schema_name` macro). The context has `config`, `ref`, `source`, `var`,
// `env_var`, `is_incremental`, `target`, `this`, `execute` and the project's macros. Environment
// variables arrive as a plain object; nothing here reads process.env. Pure: no I/O.

import { join } from 'node:path';
import { CarelakeError } from '../../core/errors.ts';
import { ephemeralCteName, injectCtes } from './ephemeral.ts';
import { JinjaRelation, MacroLibrary, TemplateRaisedError, parseTemplate, renderProgram, renderString, type JinjaCall, type JinjaFunction } from './jinja.ts';
import type { ModelGraph, ResolvedModel } from './manifest.ts';
import type { Materialization, RelationType } from './materializations.ts';
import { isRecord, modelConfigSchema, type ModelConfig, type ModelConfigInput } from './modelConfig.ts';
import type { UnparsedModel, UnparsedSource } from './parse.ts';
import { jinjaError, lineOfCall } from './problems.ts';
import { ExternalLocationError, externalLocationFields, externalRelation, generateSchemaName, modelRelation, pythonFormat } from './relations.ts';
import { seedSelectSql } from './seeds.ts';
import { compileViewModel, viewResourceType } from './viewDefinitionModels.ts';

export interface Target {
  name: string;
  schema: string;
}

export interface RenderContext {
  projectName: string;
  /** `vars:` from dbt_project.yml (global, or scoped under the project name). */
  projectVars: Readonly<Record<string, unknown>>;
  /** Vars passed in for this invocation; they win over the project's. */
  vars: Readonly<Record<string, unknown>>;
  env: Readonly<Record<string, string | undefined>>;
  target: Target;
  macros: MacroLibrary;
  /** Absolute project folder: seeds are read from it. */
  projectDir: string;
  /** Relations already in the database (`schema.identifier`, lower case), for `is_incremental()`. */
  existing: ReadonlyMap<string, RelationType>;
  fullRefresh: boolean;
  /** External sources with no files yet, by id, and the empty typed relation to read instead. */
  emptySources: ReadonlyMap<string, string>;
}

/** Anything rendered as a Jinja template: a model or a singular test. */
export interface TemplateNode {
  uniqueId: string;
  name: string;
  path: string;
  rawSql: string;
  fqn: string[];
}

/** The project var naming the source whose tables hold FHIR resources by type, read by ViewDefinitions. */
export const VIEW_SOURCE_VAR = 'sql_on_fhir_source';
const DEFAULT_VIEW_SOURCE = 'fhir';

export interface RefCall {
  name: string;
  package: string | null;
}

/** A model after pass 1: what it refers to and the config its `config()` calls set. */
export interface CapturedModel {
  model: UnparsedModel;
  refs: RefCall[];
  sources: [string, string][];
  /** One layer per `config()` call, in call order. */
  configCalls: ModelConfigInput[];
}

/** A model after pass 2: the SQL to run and where it goes. */
export interface CompiledModel {
  uniqueId: string;
  resourceType: 'model' | 'seed';
  name: string;
  path: string;
  fqn: string[];
  schema: string;
  identifier: string;
  relation: string;
  materialized: Materialization;
  config: ModelConfig;
  compiledSql: string;
  /** `target/compiled/<project>/<path>`, relative to the project folder. */
  compiledPath: string;
  /** Direct parent models (sources are not run). */
  dependsOn: string[];
}

export interface ResolvedSource extends UnparsedSource {
  /** The rendered, formatted external_location, or null for a table in the database. */
  location: string | null;
  /** What `source()` renders to. */
  relation: string;
}

// ---- pass 1 ---------------------------------------------------------------------------------------

export function captureModels(models: readonly UnparsedModel[], ctx: RenderContext): { captured: CapturedModel[]; problems: CarelakeError[] } {
  const captured: CapturedModel[] = [];
  const problems: CarelakeError[] = [];
  for (const model of models) {
    try {
      captured.push(captureModel(model, ctx));
    } catch (err) {
      problems.push(modelError(model, err));
    }
  }
  return { captured, problems };
}

export function captureModel(model: UnparsedModel, ctx: RenderContext): CapturedModel {
  if (model.language === 'csv') return { model, refs: [], sources: [], configCalls: [] };
  if (model.language === 'view_definition') return { model, refs: [], sources: [[viewSourceName(ctx), viewResourceType(model)]], configCalls: [] };
  return { model, ...captureTemplate(model, ctx) };
}

/** Pass 1 for any template: the refs, sources and config() calls it makes. */
export function captureTemplate(model: TemplateNode, ctx: RenderContext): Omit<CapturedModel, 'model'> {
  const program = parseTemplate(model.path, model.rawSql);
  const refs: RefCall[] = [];
  const sources: [string, string][] = [];
  const configCalls: ModelConfigInput[] = [];
  const placeholder = (schema: string, identifier: string) => relationValue(schema, identifier);

  const functions: Record<string, JinjaFunction> = {
    ...commonFunctions(model, ctx),
    config: (call) => {
      configCalls.push(configCall(model, call));
      return '';
    },
    ref: (call) => {
      const ref = refCall(model, call);
      if (!refs.some((r) => r.name === ref.name && r.package === ref.package)) refs.push(ref);
      return placeholder(ctx.target.schema, ref.name);
    },
    source: (call) => {
      const [source, table] = sourceCall(model, call);
      if (!sources.some(([s, t]) => s === source && t === table)) sources.push([source, table]);
      return placeholder(source, table);
    },
  };
  const values = {
    ...commonValues(model, ctx),
    this: placeholder(ctx.target.schema, model.name),
    execute: false,
  };
  renderProgram(program, { values, functions }, ctx.macros);
  return { refs, sources, configCalls };
}

function viewSourceName(ctx: RenderContext): string {
  const found = lookupVar(ctx, VIEW_SOURCE_VAR);
  return found.found && typeof found.value === 'string' ? found.value : DEFAULT_VIEW_SOURCE;
}

function configCall(model: TemplateNode, call: JinjaCall): ModelConfigInput {
  const given: Record<string, unknown> = {};
  for (const arg of call.positional) {
    if (!isRecord(arg)) throw contextError(model, 'models.config_call', "config() takes keyword arguments, e.g. config(materialized='table')", 'config');
    Object.assign(given, arg);
  }
  Object.assign(given, call.keyword);
  const parsed = modelConfigSchema.safeParse(given);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue?.path.map(String).join('.') ?? '';
  throw contextError(model, 'models.config_call', `config(${key}=…) is invalid: ${issue?.message ?? 'unexpected value'}`, 'config');
}

function refCall(model: TemplateNode, call: JinjaCall): RefCall {
  const version = call.keyword.version ?? call.keyword.v;
  if (version !== undefined) throw contextError(model, 'models.ref_version', 'ref() with a model version is not supported by carelake', 'ref');
  const args = call.positional;
  if (!args.every((a) => typeof a === 'string') || args.length < 1 || args.length > 2) {
    throw contextError(model, 'models.ref_call', "ref() takes a model name, e.g. ref('stg_patient'), or a package and a model name", 'ref');
  }
  const strings = args as string[];
  return strings.length === 2 ? { package: strings[0] ?? null, name: strings[1] ?? '' } : { package: null, name: strings[0] ?? '' };
}

function sourceCall(model: TemplateNode, call: JinjaCall): [string, string] {
  const [source, table] = call.positional;
  if (call.positional.length !== 2 || typeof source !== 'string' || typeof table !== 'string') {
    throw contextError(model, 'models.source_call', "source() takes a source name and a table name, e.g. source('esr', 'assignments')", 'source');
  }
  return [source, table];
}

// ---- between the passes: sources and schemas ------------------------------------------------------

/** Renders and formats each source's external_location (dbt-duckdb semantics); see relations.ts. */
export function resolveSources(sources: readonly UnparsedSource[], ctx: RenderContext): { resolved: ResolvedSource[]; problems: CarelakeError[] } {
  const resolved: ResolvedSource[] = [];
  const problems: CarelakeError[] = [];
  for (const source of sources) {
    if (source.externalLocation === null) {
      resolved.push({ ...source, location: null, relation: modelRelation(source.schema, source.identifier) });
      continue;
    }
    try {
      const caller = { label: `Source '${source.uniqueId}' (${source.path})`, file: source.path, line: source.line ?? undefined };
      const scope = { values: { target: targetValue(ctx.target) }, functions: varFunctions(ctx, caller) };
      const rendered = renderString(source.path, source.externalLocation, scope);
      const location = pythonFormat(rendered, externalLocationFields(source));
      resolved.push({ ...source, location, relation: ctx.emptySources.get(source.uniqueId) ?? externalRelation(location) });
    } catch (err) {
      const detail = err instanceof ExternalLocationError || err instanceof TemplateRaisedError ? err.message : err instanceof Error ? err.message : String(err);
      problems.push(
        err instanceof CarelakeError && err.code !== 'models.jinja'
          ? err
          : new CarelakeError({
              code: 'models.external_location',
              kind: 'config',
              message: `Source '${source.uniqueId}' (${source.path}) has an external_location that cannot be resolved: ${detail}`,
              location: { file: source.path, line: source.line ?? undefined, field: 'external_location' },
              cause: err,
            }),
      );
    }
  }
  return { resolved, problems };
}

export type SchemaNamer = (customSchema: string | null, model: UnparsedModel, config: ModelConfig) => string;

/**
 * dbt's default schema naming, or the project's `generate_schema_name(custom_schema_name, node)` macro
 * when macros/ defines one (as dbt would use it).
 */
export function schemaNamer(ctx: RenderContext): SchemaNamer {
  if (!ctx.macros.has('generate_schema_name')) return (custom) => generateSchemaName(custom, ctx.target.schema);
  const program = parseTemplate('generate_schema_name', '{{ generate_schema_name(custom_schema_name, node) }}');
  return (custom, model, config) => {
    try {
      const node = {
        name: model.name,
        unique_id: model.uniqueId,
        resource_type: 'model',
        package_name: model.packageName,
        path: model.pathInModelDir,
        original_file_path: model.path,
        fqn: model.fqn,
        config: { ...config.extra, materialized: config.materialized, schema: config.schema, alias: config.alias, tags: config.tags },
      };
      const values = { custom_schema_name: custom, node, target: targetValue(ctx.target), project_name: ctx.projectName };
      return renderProgram(program, { values, functions: varFunctions(ctx, modelCaller(model)) }, ctx.macros).trim();
    } catch (err) {
      throw modelError(model, err).withNode('macro generate_schema_name');
    }
  };
}

// ---- pass 2 ---------------------------------------------------------------------------------------

export function compileModels(
  graph: ModelGraph,
  ctx: RenderContext,
  targetPath: string,
  resolver = new GraphResolver(graph, ctx),
): { compiled: CompiledModel[]; problems: CarelakeError[] } {
  const compiled: CompiledModel[] = [];
  const problems: CarelakeError[] = [];
  for (const id of graph.order) {
    const resolved = graph.models[id];
    if (!resolved) continue;
    try {
      const model = compileModel(resolved, graph, resolver, ctx, targetPath);
      resolver.compiledSql.set(model.uniqueId, model.compiledSql);
      compiled.push(model);
    } catch (err) {
      problems.push(modelError(resolved.model, err));
    }
  }
  return { compiled, problems };
}

/**
 * Pass 2's `ref()` and `source()`: each resolves only to a parent found in pass 1, and a ref to an
 * ephemeral model renders its CTE name and records the CTE for injection.
 */
export class GraphResolver {
  /** Compiled SQL by id, filled in DAG order; ephemeral CTE bodies come from here. */
  readonly compiledSql = new Map<string, string>();
  private readonly byName: ReadonlyMap<string, ResolvedModel>;

  constructor(
    readonly graph: ModelGraph,
    private readonly ctx: RenderContext,
  ) {
    this.byName = new Map(Object.values(graph.models).map((m) => [m.model.name, m]));
  }

  /** Renders `node` with its refs and sources resolved, then puts the ephemeral CTEs it uses in front. */
  render(node: TemplateNode, parents: readonly string[], values: Record<string, unknown>, isIncremental: boolean): string {
    const ctes = new Map<string, string>();
    const functions: Record<string, JinjaFunction> = {
      ...commonFunctions(node, this.ctx),
      is_incremental: () => isIncremental,
      config: () => '',
      ref: (call) => {
        const ref = refCall(node, call);
        const parent = this.byName.get(ref.name);
        if (!parent || !parents.includes(parent.uniqueId)) throw unseenDependency(node, `ref('${ref.name}')`);
        if (parent.materialized !== 'ephemeral') return relationValue(parent.schema, parent.identifier);
        const name = ephemeralCteName(parent.model.name);
        ctes.set(name, this.compiledSql.get(parent.uniqueId) ?? '');
        return new JinjaRelation(name, { schema: null, identifier: name, name, database: null });
      },
      source: (call) => {
        const [sourceName, table] = sourceCall(node, call);
        const id = `source.${this.ctx.projectName}.${sourceName}.${table}`;
        const source = this.graph.sources[id];
        if (!source || !parents.includes(id)) throw unseenDependency(node, `source('${sourceName}', '${table}')`);
        return new JinjaRelation(source.relation, { schema: source.schema, identifier: source.identifier, name: source.name, database: source.database });
      },
    };
    const program = parseTemplate(node.path, node.rawSql);
    const sql = renderProgram(program, { values: { ...commonValues(node, this.ctx), ...values, execute: true }, functions }, this.ctx.macros);
    return injectCtes(sql, ctes);
  }
}

function compileModel(resolved: ResolvedModel, graph: ModelGraph, resolver: GraphResolver, ctx: RenderContext, targetPath: string): CompiledModel {
  const { model } = resolved;
  const compiledSql = compiledSqlOf(resolved, graph, resolver, ctx);
  // Compiled views and seeds are written as .sql, so dbt-style tooling can read them.
  const compiledFile = model.language === 'sql' ? model.path : `${model.path.replace(/\.[a-z]+$/, '')}.sql`;
  return {
    uniqueId: model.uniqueId,
    resourceType: model.resourceType,
    name: model.name,
    path: model.path,
    fqn: model.fqn,
    schema: resolved.schema,
    identifier: resolved.identifier,
    relation: resolved.relation,
    materialized: resolved.materialized,
    config: resolved.config,
    compiledSql,
    compiledPath: `${targetPath}/compiled/${ctx.projectName}/${compiledFile}`,
    dependsOn: resolved.parents.filter((id) => id in graph.models),
  };
}

function compiledSqlOf(resolved: ResolvedModel, graph: ModelGraph, resolver: GraphResolver, ctx: RenderContext): string {
  const { model } = resolved;
  if (model.language === 'csv') {
    try {
      return seedSelectSql(join(ctx.projectDir, model.path), resolved.config.extra);
    } catch (err) {
      throw new CarelakeError({
        code: 'models.seed_config',
        kind: 'config',
        message: `Seed '${model.uniqueId}' (${model.path}): ${(err as Error).message}`,
        location: { file: model.path, field: 'column_types' },
      });
    }
  }
  if (model.language === 'view_definition') {
    const sourceId = resolved.parents.find((id) => id.startsWith('source.'));
    const source = sourceId === undefined ? undefined : graph.sources[sourceId];
    if (!source) throw new CarelakeError({ code: 'models.view_source', kind: 'compile', message: `View '${model.uniqueId}' (${model.path}) has no FHIR source to read` });
    return compileViewModel(model, source.relation);
  }
  const key = `${resolved.schema}.${resolved.identifier}`.toLowerCase();
  const isIncremental = resolved.materialized === 'incremental' && ctx.existing.get(key) === 'table' && !ctx.fullRefresh;
  return resolver.render(model, resolved.parents, { this: relationValue(resolved.schema, resolved.identifier) }, isIncremental);
}

function unseenDependency(model: TemplateNode, call: string): CarelakeError {
  return new CarelakeError({
    code: 'models.unseen_dependency',
    kind: 'compile',
    message: `${model.uniqueId.startsWith('test.') ? 'Test' : 'Model'} '${model.uniqueId}' (${model.path}) calls ${call} only when executing, so its dependencies could not be inferred.`,
    location: { file: model.path },
    hint: `add the line "-- depends_on: {{ ${call} }}" at the top of the model, as dbt asks`,
  });
}

// ---- shared context -------------------------------------------------------------------------------

function relationValue(schema: string, identifier: string): JinjaRelation {
  return new JinjaRelation(modelRelation(schema, identifier), { schema, identifier, name: identifier, database: null });
}

function targetValue(target: Target): Record<string, unknown> {
  return { name: target.name, schema: target.schema, type: 'duckdb', database: null };
}

function commonValues(model: TemplateNode, ctx: RenderContext): Record<string, unknown> {
  return {
    target: targetValue(ctx.target),
    project_name: ctx.projectName,
    model: { name: model.name, unique_id: model.uniqueId, original_file_path: model.path, fqn: model.fqn },
  };
}

function commonFunctions(model: TemplateNode, ctx: RenderContext): Record<string, JinjaFunction> {
  return {
    ...varFunctions(ctx, modelCaller(model)),
    // Pass 1 and macros see false, as in dbt's parse phase; pass 2 overrides it per model.
    is_incremental: () => false,
  };
}

/** Who is calling `var()` / `env_var()`, for messages: a model, a source or a macro. */
interface VarCaller {
  label: string;
  file?: string;
  /** Raw text to find the call's line in. */
  text?: string;
  line?: number;
}

/** `var()` and `env_var()`, shared by models, source locations and macros. */
function varFunctions(ctx: RenderContext, caller: VarCaller): Record<string, JinjaFunction> {
  const lineOf = (call: string, name: string) => (caller.text === undefined ? caller.line : lineOfCall(caller.text, call, [name]));
  return {
    var: ({ positional, keyword }) => {
      const [name, positionalDefault] = positional;
      if (typeof name !== 'string') throw callError(caller.file, 'models.var_call', `${caller.label}: var() takes a variable name`);
      const found = lookupVar(ctx, name);
      if (found.found) return found.value;
      if (positional.length > 1) return positionalDefault;
      if ('default' in keyword) return keyword.default;
      throw callError(
        caller.file,
        'models.var_missing',
        `${caller.label} uses var('${name}'), which is not set and has no default`,
        `set it under vars: in dbt_project.yml, pass it in, or give a default: var('${name}', …)`,
        lineOf('var', name),
      );
    },
    env_var: ({ positional, keyword }) => {
      const [name, positionalDefault] = positional;
      if (typeof name !== 'string') throw callError(caller.file, 'models.env_var_call', `${caller.label}: env_var() takes a variable name`);
      const value = ctx.env[name];
      if (value !== undefined) return value;
      if (positional.length > 1) return positionalDefault;
      if ('default' in keyword) return keyword.default;
      throw callError(
        caller.file,
        'models.env_var_missing',
        `${caller.label} uses env_var('${name}'), which is not set and has no default`,
        `set ${name} in the environment or give a default: env_var('${name}', …)`,
        lineOf('env_var', name),
      );
    },
  };
}

function modelCaller(model: TemplateNode): VarCaller {
  return { label: `Model '${model.uniqueId}' (${model.path})`, file: model.path, text: model.rawSql };
}

/** Invocation vars win; then vars scoped under the project name; then global project vars. */
function lookupVar(ctx: RenderContext, name: string): { found: true; value: unknown } | { found: false } {
  if (Object.hasOwn(ctx.vars, name)) return { found: true, value: ctx.vars[name] };
  const scoped = ctx.projectVars[ctx.projectName];
  if (isRecord(scoped) && Object.hasOwn(scoped, name)) return { found: true, value: scoped[name] };
  if (name !== ctx.projectName && Object.hasOwn(ctx.projectVars, name)) return { found: true, value: ctx.projectVars[name] };
  return { found: false };
}

function callError(file: string | undefined, code: string, message: string, hint?: string, line?: number): CarelakeError {
  return new CarelakeError({ code, kind: 'compile', message, hint, location: file === undefined ? undefined : { file, line } });
}

function contextError(model: TemplateNode, code: string, message: string, call?: string): CarelakeError {
  const line = call === undefined ? undefined : lineOfCall(model.rawSql, call, []);
  return new CarelakeError({ code, kind: 'compile', message: `Model '${model.uniqueId}' (${model.path}): ${message}`, location: { file: model.path, line } });
}

/** Any failure while rendering a model, named with the model and its file. */
export function modelError(model: TemplateNode, err: unknown): CarelakeError {
  const node = `${model.uniqueId.split('.')[0] ?? 'model'} ${model.name} (${model.path})`;
  if (err instanceof CarelakeError) return err.context.length > 0 ? err : err.withNode(node);
  const what = err instanceof TemplateRaisedError ? 'compiler error raised' : 'render error';
  return jinjaError(model.path, what, err).withNode(node);
}
