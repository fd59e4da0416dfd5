// The public entry to the model runner. `compileProjectFiles` is the pure pipeline — parse → pass 1
// (capture refs/sources/config) → graph (configs, schemas, DAG, cycles, tests) → selection → pass 2
// (compile) → manifest — and collects every problem on the way, throwing them together as one
// ModelProjectError before anything runs. `compileProject` and `runProject` are the edges around it:
// they read the project (projectFiles.ts), execute (execute.ts), and are the only code here that
// writes files: <target-path>/manifest.json, run_results.json and compiled/<project>/<path>. The
// commands differ only in what they execute: `run` models, `seed` seeds, `test` tests, `build` all
// three in DAG order. This module also supplies the defaults the pure phases refuse to invent: the
// invocation id and a monotonic clock anchored to `now`.

import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, fileSystemError, toCarelakeError } from '../../core/errors.ts';
import { GraphResolver, captureModels, compileModels, resolveSources, schemaNamer, type CompiledModel, type RenderContext, type Target } from './compile.ts';
import { executeModels, type PhaseTiming, type RunResults } from './execute.ts';
import { MacroLibrary } from './jinja.ts';
import { attachTests, buildGraph, manifestOf, type Manifest, type ModelGraph } from './manifest.ts';
import type { RelationType } from './materializations.ts';
import { parseProject } from './parse.ts';
import { emptySourceRelation } from './relations.ts';
import { ModelProjectError } from './problems.ts';
import { loadProjectFiles, type ProjectFiles } from './projectFiles.ts';
import { selectNodes, type SelectableNode } from './selectors.ts';
import { compileTests, resolveTests, type CompiledTest } from './testNodes.ts';

/** What a command executes: `run` models, `seed` seeds, `test` tests, `build` everything. */
export type ModelCommand = 'run' | 'seed' | 'test' | 'build';

const EXECUTES: Readonly<Record<ModelCommand, readonly SelectableNode['resourceType'][]>> = {
  run: ['model'],
  seed: ['seed'],
  test: ['test'],
  build: ['model', 'seed', 'test'],
};

export interface CompileOptions {
  projectDir: string;
  /** Vars for this invocation; they win over `vars:` in dbt_project.yml. */
  vars?: Record<string, unknown>;
  /** Environment for `env_var()`; pass what the caller chooses to expose (nothing reads process.env). */
  env: Record<string, string | undefined>;
  target: Target;
  /** Stamped into the artifacts as generated_at. */
  now: Date;
  /** dbt selector arguments (`stg_patient`, `+curated_encounter`, `tag:nightly`, `path:models/marts`). */
  select?: string[];
  exclude?: string[];
  /** Rebuild incremental models from scratch. */
  fullRefresh?: boolean;
  invocationId?: string;
  /** Milliseconds since the epoch, for per-model timings; defaults to a monotonic clock starting at `now`. */
  clock?: () => number;
}

export interface RunOptions extends CompileOptions {
  db: DuckDb;
  /** Default `run`. */
  command?: ModelCommand;
  /** Nodes run at once; default 1. */
  threads?: number;
  /** Folder for external models without a `location`; default `<target-path>/external` in the project. */
  externalRoot?: string;
}

export interface CompiledProject {
  manifest: Manifest;
  graph: ModelGraph;
  /** Models and seeds in DAG order. */
  compiled: CompiledModel[];
  tests: CompiledTest[];
  /** Ids of the nodes the selection chose (all but sources when there is no selection). */
  selected: ReadonlySet<string>;
  /** Selection criteria that matched nothing, and similar; reported, not fatal (as in dbt). */
  warnings: CarelakeError[];
  targetPath: string;
}

export interface CompileProjectFilesOptions extends Omit<CompileOptions, 'projectDir' | 'clock'> {
  invocationId: string;
  /** Relations already in the database (`schema.identifier`, lower case), for `is_incremental()`. */
  existing?: ReadonlyMap<string, RelationType>;
  /** External sources with no files yet → the empty relation to read instead (see emptySourceRelation). */
  emptySources?: ReadonlyMap<string, string>;
}

/** Pure: validated project files → compiled project. Throws one ModelProjectError listing every problem. */
export function compileProjectFiles(files: ProjectFiles, options: CompileProjectFilesOptions): CompiledProject {
  const parsed = parseProject(files);
  const { library, problems: macroProblems } = MacroLibrary.parse(parsed.macros);
  const problems: CarelakeError[] = [...parsed.problems, ...macroProblems];
  const ctx: RenderContext = {
    projectName: parsed.project.name,
    projectVars: parsed.project.vars,
    vars: options.vars ?? {},
    env: options.env,
    target: options.target,
    macros: library,
    projectDir: files.projectDir,
    existing: options.existing ?? new Map(),
    fullRefresh: options.fullRefresh ?? false,
    emptySources: options.emptySources ?? new Map(),
  };

  const pass1 = captureModels(parsed.models, ctx);
  const sources = resolveSources(parsed.sources, ctx);
  const { graph, problems: graphProblems } = buildGraph({
    projectName: parsed.project.name,
    captured: pass1.captured,
    sources: sources.resolved,
    schemaName: schemaNamer(ctx),
    knownModelNames: new Set(parsed.models.map((m) => m.name)),
  });
  problems.push(...pass1.problems, ...sources.problems, ...graphProblems);
  const tests = resolveTests(parsed.tests, graph, ctx);
  attachTests(graph, tests.tests);
  problems.push(...tests.problems);

  const selection = selectNodes(selectableNodes(graph), { select: options.select, exclude: options.exclude });
  // Pass 2 only on a sound graph: with unknown refs or cycles it would only repeat those problems.
  let compiled: CompiledModel[] = [];
  let compiledTests: CompiledTest[] = [];
  if (problems.length === 0) {
    const resolver = new GraphResolver(graph, ctx);
    const models = compileModels(graph, ctx, parsed.project.targetPath, resolver);
    const testsPass = compileTests(graph.tests, resolver, ctx, parsed.project.targetPath);
    problems.push(...models.problems, ...testsPass.problems);
    compiled = models.compiled;
    compiledTests = testsPass.compiled;
  }
  if (problems.length > 0) throw new ModelProjectError(problems);

  const manifest = manifestOf(graph, { generatedAt: options.now, invocationId: options.invocationId, macros: library.list(), compiled, compiledTests });
  return { manifest, graph, compiled, tests: compiledTests, selected: selection.selected, warnings: selection.problems, targetPath: parsed.project.targetPath };
}

/** The graph as the selector sees it: models, seeds, tests and sources. */
export function selectableNodes(graph: ModelGraph): SelectableNode[] {
  const nodes: SelectableNode[] = [];
  for (const m of Object.values(graph.models)) {
    nodes.push({
      uniqueId: m.uniqueId,
      resourceType: m.model.resourceType,
      name: m.model.name,
      fqn: m.model.fqn,
      originalFilePath: m.model.path,
      patchPath: m.model.properties?.file ?? null,
      tags: m.config.tags,
      parents: m.parents,
      materialized: m.materialized,
      config: m.config.extra,
    });
  }
  for (const t of Object.values(graph.tests)) {
    nodes.push({
      uniqueId: t.uniqueId,
      resourceType: 'test',
      name: t.name,
      fqn: t.fqn,
      originalFilePath: t.path,
      tags: t.config.tags,
      parents: t.parents,
      testType: t.kind,
      ...(t.testMetadata ? { testName: t.testMetadata.name } : {}),
    });
  }
  for (const s of Object.values(graph.sources)) {
    nodes.push({ uniqueId: s.uniqueId, resourceType: 'source', name: s.name, fqn: s.fqn, originalFilePath: s.path, tags: [], parents: [], sourceName: s.sourceName });
  }
  return nodes;
}

/** Reads, validates and compiles the project, and writes target/manifest.json and the compiled SQL. */
export async function compileProject(options: CompileOptions & { db?: DuckDb }): Promise<CompiledProject> {
  const { project } = await compileAndWrite(options, phaseClock(options), options.db);
  return project;
}

/**
 * Validates everything, writes the manifest and compiled SQL, executes the command's selected nodes in
 * DAG order on `db`, then writes target/run_results.json. Model and test failures are results, not
 * exceptions; an invalid project throws a ModelProjectError and nothing runs.
 */
export async function runProject(options: RunOptions): Promise<{ manifest: Manifest; results: RunResults; warnings: CarelakeError[] }> {
  const clock = phaseClock(options);
  const command = options.command ?? 'run';
  const { project, invocationId, phases } = await compileAndWrite(options, clock, options.db);
  const executes = new Set<string>(EXECUTES[command]);
  const kinds = new Map<string, string>([
    ...project.compiled.map((m) => [m.uniqueId, m.resourceType] as const),
    ...project.tests.map((t) => [t.uniqueId, 'test'] as const),
  ]);
  const selected = new Set([...project.selected].filter((id) => executes.has(kinds.get(id) ?? '')));
  const results = await executeModels({
    db: options.db,
    models: project.compiled,
    tests: project.tests,
    selected,
    testsGateChildren: command === 'build',
    threads: options.threads ?? 1,
    fullRefresh: options.fullRefresh ?? false,
    externalRoot: resolve(options.externalRoot ?? join(options.projectDir, project.targetPath, 'external')),
    clock,
    invocationId,
    phases,
    args: {
      which: command,
      project_dir: options.projectDir,
      target: options.target.name,
      select: options.select ?? [],
      exclude: options.exclude ?? [],
      full_refresh: options.fullRefresh ?? false,
      threads: options.threads ?? 1,
      // Var names only: values may be secrets.
      vars: Object.keys(options.vars ?? {}),
    },
  });
  await writeJson(join(options.projectDir, project.targetPath, 'run_results.json'), results);
  return { manifest: project.manifest, results, warnings: project.warnings };
}

async function compileAndWrite(
  options: CompileOptions,
  clock: () => number,
  db: DuckDb | undefined,
): Promise<{ project: CompiledProject; invocationId: string; phases: PhaseTiming[] }> {
  const invocationId = options.invocationId ?? randomUUID();
  const t0 = clock();
  const files = await loadProjectFiles(options.projectDir);
  const existing = db ? await existingRelations(db) : new Map<string, RelationType>();
  let project = compileProjectFiles(files, { ...options, invocationId, existing });
  if (db) {
    const empty = await sourcesWithoutFiles(db, project.graph);
    if (empty.relations.size > 0) project = compileProjectFiles(files, { ...options, invocationId, existing, emptySources: empty.relations });
    project.warnings.push(...empty.warnings);
  }
  const t1 = clock();
  const t2 = clock();
  const target = join(options.projectDir, project.targetPath);
  for (const node of [...project.compiled, ...project.tests]) await writeText(join(options.projectDir, node.compiledPath), node.compiledSql);
  await writeJson(join(target, 'manifest.json'), project.manifest);
  const phases = [
    { name: 'load', elapsed_time: (t1 - t0) / 1000 },
    { name: 'compile', elapsed_time: (t2 - t1) / 1000 },
    { name: 'write', elapsed_time: (clock() - t2) / 1000 },
  ];
  return { project, invocationId, phases };
}

/**
 * External sources (raw Parquet folders) with no files yet. Those declaring typed columns read as an
 * empty relation, so a lake that has not landed a record family still builds; the others are warned
 * about, since every model reading them will fail.
 */
async function sourcesWithoutFiles(db: DuckDb, graph: ModelGraph): Promise<{ relations: Map<string, string>; warnings: CarelakeError[] }> {
  const relations = new Map<string, string>();
  const warnings: CarelakeError[] = [];
  const read = new Set(Object.values(graph.models).flatMap((m) => m.parents));
  for (const source of Object.values(graph.sources)) {
    if (source.location === null || !read.has(source.uniqueId)) continue;
    try {
      await db.run(`SELECT * FROM ${source.relation} LIMIT 0`, undefined, `probe ${source.uniqueId}`);
    } catch (err) {
      if (!/No files found/i.test(toCarelakeError(err).message)) continue; // a real problem: the model reading it will report it
      const empty = emptySourceRelation(source.columns);
      if (empty !== null) relations.set(source.uniqueId, empty);
      else
        warnings.push(
          new CarelakeError({
            code: 'models.source_without_files',
            kind: 'runtime',
            message: `Source '${source.uniqueId}' has no files yet at ${source.location}, and ${source.path} declares no typed columns for it, so models reading it will fail`,
            hint: 'land the source, or declare its columns with data_type so it reads as empty',
          }),
        );
    }
  }
  return { relations, warnings };
}

/** Every table and view in the database, as `schema.identifier` (lower case) → kind. */
async function existingRelations(db: DuckDb): Promise<Map<string, RelationType>> {
  const rows = await db.all(
    `SELECT lower(table_schema || '.' || table_name) AS name, table_type FROM information_schema.tables WHERE table_catalog = current_database()`,
    undefined,
    'list the relations in the database',
  );
  return new Map(rows.map((r) => [String(r.name), r.table_type === 'VIEW' ? 'view' : 'table']));
}

/** The edge supplies the clock: wall time at `now`, advanced by a monotonic timer. */
export function phaseClock(options: { now: Date; clock?: () => number }): () => number {
  if (options.clock) return options.clock;
  const origin = performance.now();
  const start = options.now.getTime();
  return () => start + (performance.now() - origin);
}

async function writeText(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${process.pid}`;
    await writeFile(temp, text, 'utf8');
    await rename(temp, path);
  } catch (err) {
    throw fileSystemError('write', path, err);
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeText(path, `${JSON.stringify(value, null, 2)}\n`);
}
