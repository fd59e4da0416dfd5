// Rendering models with Jinja, in dbt's two passes. Pass 1 (`captureModels`) renders each model with
// `execute` false and placeholder relations, only to record its `ref()`, `source()` and `config()` calls
// — what the manifest needs to build the DAG and resolve configs and schemas. Pass 2 (`compileModels`)
// renders again with every `ref()`/`source()` resolved from the manifest, giving the SQL to run. Also
// here: rendering a source's `external_location` (a template itself) and the schema namer (dbt's default
// or the project's own `generate_schema_name` macro). The context has `config`, `ref`, `source`, `var`,
// `env_var`, `is_incremental`, `target`, `this`, `execute` and the project's macros. Environment
// variables arrive as a plain object; nothing here reads process.env. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';
import { JinjaRelation, MacroLibrary, TemplateRaisedError, parseTemplate, renderProgram, renderString, type JinjaCall, type JinjaFunction } from './jinja.ts';
import type { ModelGraph, ResolvedModel } from './manifest.ts';
import type { Materialization } from './materializations.ts';
import { isRecord, modelConfigSchema, type ModelConfig, type ModelConfigInput } from './modelConfig.ts';
import type { UnparsedModel, UnparsedSource } from './parse.ts';
import { jinjaError, lineOfCall } from './problems.ts';
import { ExternalLocationError, externalLocationFields, externalRelation, generateSchemaName, modelRelation, pythonFormat } from './relations.ts';

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
}

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
  name: string;
  path: string;
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
  return { model, refs, sources, configCalls };
}

function configCall(model: UnparsedModel, call: JinjaCall): ModelConfigInput {
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

function refCall(model: UnparsedModel, call: JinjaCall): RefCall {
  const version = call.keyword.version ?? call.keyword.v;
  if (version !== undefined) throw contextError(model, 'models.ref_version', 'ref() with a model version is not supported by carelake', 'ref');
  const args = call.positional;
  if (!args.every((a) => typeof a === 'string') || args.length < 1 || args.length > 2) {
    throw contextError(model, 'models.ref_call', "ref() takes a model name, e.g. ref('stg_patient'), or a package and a model name", 'ref');
  }
  const strings = args as string[];
  return strings.length === 2 ? { package: strings[0] ?? null, name: strings[1] ?? '' } : { package: null, name: strings[0] ?? '' };
}

function sourceCall(model: UnparsedModel, call: JinjaCall): [string, string] {
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
      resolved.push({ ...source, location, relation: externalRelation(location) });
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

export function compileModels(graph: ModelGraph, ctx: RenderContext, targetPath: string): { compiled: CompiledModel[]; problems: CarelakeError[] } {
  const compiled: CompiledModel[] = [];
  const problems: CarelakeError[] = [];
  const byName = new Map(Object.values(graph.models).map((m) => [m.model.name, m]));
  for (const id of graph.order) {
    const resolved = graph.models[id];
    if (!resolved) continue;
    try {
      compiled.push(compileModel(resolved, graph, byName, ctx, targetPath));
    } catch (err) {
      problems.push(modelError(resolved.model, err));
    }
  }
  return { compiled, problems };
}

function compileModel(
  resolved: ResolvedModel,
  graph: ModelGraph,
  byName: ReadonlyMap<string, ResolvedModel>,
  ctx: RenderContext,
  targetPath: string,
): CompiledModel {
  const { model, capture } = resolved;
  const program = parseTemplate(model.path, model.rawSql);
  const functions: Record<string, JinjaFunction> = {
    ...commonFunctions(model, ctx),
    config: () => '',
    ref: (call) => {
      const ref = refCall(model, call);
      const parent = byName.get(ref.name);
      if (!parent || !resolved.parents.includes(parent.uniqueId)) throw unseenDependency(model, `ref('${ref.name}')`);
      return relationValue(parent.schema, parent.identifier);
    },
    source: (call) => {
      const [sourceName, table] = sourceCall(model, call);
      const id = `source.${ctx.projectName}.${sourceName}.${table}`;
      const source = graph.sources[id];
      if (!source || !resolved.parents.includes(id)) throw unseenDependency(model, `source('${sourceName}', '${table}')`);
      return new JinjaRelation(source.relation, { schema: source.schema, identifier: source.identifier, name: source.name, database: source.database });
    },
  };
  const values = { ...commonValues(model, ctx), this: relationValue(resolved.schema, resolved.identifier), execute: true };
  const compiledSql = renderProgram(program, { values, functions }, ctx.macros);
  return {
    uniqueId: model.uniqueId,
    name: model.name,
    path: model.path,
    schema: resolved.schema,
    identifier: resolved.identifier,
    relation: resolved.relation,
    materialized: resolved.materialized,
    config: resolved.config,
    compiledSql,
    compiledPath: `${targetPath}/compiled/${ctx.projectName}/${model.path}`,
    dependsOn: resolved.parents.filter((id) => id in graph.models),
  };
}

function unseenDependency(model: UnparsedModel, call: string): CarelakeError {
  return new CarelakeError({
    code: 'models.unseen_dependency',
    kind: 'compile',
    message: `Model '${model.uniqueId}' (${model.path}) calls ${call} only when executing, so its dependencies could not be inferred.`,
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

function commonValues(model: UnparsedModel, ctx: RenderContext): Record<string, unknown> {
  return {
    target: targetValue(ctx.target),
    project_name: ctx.projectName,
    model: { name: model.name, unique_id: model.uniqueId, original_file_path: model.path, fqn: model.fqn },
  };
}

function commonFunctions(model: UnparsedModel, ctx: RenderContext): Record<string, JinjaFunction> {
  return {
    ...varFunctions(ctx, modelCaller(model)),
    // Only view and table exist yet; neither is ever incremental.
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

function modelCaller(model: UnparsedModel): VarCaller {
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

function contextError(model: UnparsedModel, code: string, message: string, call?: string): CarelakeError {
  const line = call === undefined ? undefined : lineOfCall(model.rawSql, call, []);
  return new CarelakeError({ code, kind: 'compile', message: `Model '${model.uniqueId}' (${model.path}): ${message}`, location: { file: model.path, line } });
}

/** Any failure while rendering a model, named with the model and its file. */
function modelError(model: UnparsedModel, err: unknown): CarelakeError {
  const node = `model ${model.name} (${model.path})`;
  if (err instanceof CarelakeError) return err.context.length > 0 ? err : err.withNode(node);
  const what = err instanceof TemplateRaisedError ? 'compiler error raised' : 'render error';
  return jinjaError(model.path, what, err).withNode(node);
}
