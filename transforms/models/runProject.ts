// The public entry to the model runner. `compileProjectFiles` is the pure pipeline — parse → pass 1
// (capture refs/sources/config) → graph (configs, schemas, DAG, cycles) → pass 2 (compile) → manifest —
// and collects every problem on the way, throwing them together as one ModelProjectError before anything
// runs. `compileProject` and `runProject` are the edges around it: they read the project
// (projectFiles.ts), execute (execute.ts), and are the only code here that writes files:
// <target-path>/manifest.json, run_results.json and compiled/<project>/<path>. This module also supplies
// the defaults the pure phases refuse to invent: the invocation id and a monotonic clock anchored to `now`.

import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { captureModels, compileModels, resolveSources, schemaNamer, type CompiledModel, type RenderContext, type Target } from './compile.ts';
import { executeModels, type PhaseTiming, type RunResults } from './execute.ts';
import { MacroLibrary } from './jinja.ts';
import { buildGraph, manifestOf, type Manifest, type ModelGraph } from './manifest.ts';
import { parseProject } from './parse.ts';
import { ModelProjectError } from './problems.ts';
import { loadProjectFiles, type ProjectFiles } from './projectFiles.ts';

export interface CompileOptions {
  projectDir: string;
  /** Vars for this invocation; they win over `vars:` in dbt_project.yml. */
  vars?: Record<string, unknown>;
  /** Environment for `env_var()`; pass what the caller chooses to expose (nothing reads process.env). */
  env: Record<string, string | undefined>;
  target: Target;
  /** Stamped into the artifacts as generated_at. */
  now: Date;
  /** Plain model names to run; every enabled model when absent. */
  select?: string[];
  invocationId?: string;
  /** Milliseconds since the epoch, for per-model timings; defaults to a monotonic clock starting at `now`. */
  clock?: () => number;
}

export interface RunOptions extends CompileOptions {
  db: DuckDb;
}

export interface CompiledProject {
  manifest: Manifest;
  graph: ModelGraph;
  /** In DAG order. */
  compiled: CompiledModel[];
  /** Ids of the models `select` chose (all enabled models when no selection). */
  selected: ReadonlySet<string>;
  targetPath: string;
}

/** Pure: validated project files → compiled project. Throws one ModelProjectError listing every problem. */
export function compileProjectFiles(files: ProjectFiles, options: Omit<CompileOptions, 'projectDir' | 'clock'> & { invocationId: string }): CompiledProject {
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

  const selected = selection(graph, options.select, problems);
  // Pass 2 only on a sound graph: with unknown refs or cycles it would only repeat those problems.
  const pass2 = problems.length === 0 ? compileModels(graph, ctx, parsed.project.targetPath) : { compiled: [], problems: [] };
  problems.push(...pass2.problems);
  if (problems.length > 0) throw new ModelProjectError(problems);

  const manifest = manifestOf(graph, { generatedAt: options.now, invocationId: options.invocationId, macros: library.list(), compiled: pass2.compiled });
  return { manifest, graph, compiled: pass2.compiled, selected, targetPath: parsed.project.targetPath };
}

function selection(graph: ModelGraph, select: readonly string[] | undefined, problems: CarelakeError[]): ReadonlySet<string> {
  if (select === undefined) return new Set(graph.order);
  const byName = new Map(Object.values(graph.models).map((m) => [m.model.name, m.uniqueId]));
  const disabled = new Set(graph.disabled.map((m) => m.name));
  const ids = new Set<string>();
  for (const name of select) {
    const id = byName.get(name);
    if (id) ids.add(id);
    else
      problems.push(
        new CarelakeError({
          code: 'models.unknown_selection',
          kind: 'config',
          message: disabled.has(name) ? `Model '${name}' was selected but is disabled` : `No model named '${name}' to select`,
          hint: 'select models by file name without .sql, e.g. stg_patient',
        }),
      );
  }
  return ids;
}

/** Reads, validates and compiles the project, and writes target/manifest.json and the compiled SQL. */
export async function compileProject(options: CompileOptions): Promise<{ manifest: Manifest; compiled: CompiledModel[] }> {
  const { project } = await compileAndWrite(options, phaseClock(options));
  return { manifest: project.manifest, compiled: project.compiled };
}

/**
 * Validates everything, writes the manifest and compiled SQL, runs the selected models in DAG order on
 * `db`, then writes target/run_results.json. Model failures are results, not exceptions; an invalid
 * project throws a ModelProjectError and nothing runs.
 */
export async function runProject(options: RunOptions): Promise<{ manifest: Manifest; results: RunResults }> {
  const clock = phaseClock(options);
  const { project, invocationId, phases } = await compileAndWrite(options, clock);
  const results = await executeModels({
    db: options.db,
    models: project.compiled,
    selected: project.selected,
    clock,
    invocationId,
    phases,
    args: {
      which: 'run',
      project_dir: options.projectDir,
      target: options.target.name,
      select: options.select ?? [],
      // Var names only: values may be secrets.
      vars: Object.keys(options.vars ?? {}),
    },
  });
  await writeJson(join(options.projectDir, project.targetPath, 'run_results.json'), results);
  return { manifest: project.manifest, results };
}

async function compileAndWrite(
  options: CompileOptions,
  clock: () => number,
): Promise<{ project: CompiledProject; invocationId: string; phases: PhaseTiming[] }> {
  const invocationId = options.invocationId ?? randomUUID();
  const t0 = clock();
  const files = await loadProjectFiles(options.projectDir);
  const t1 = clock();
  const project = compileProjectFiles(files, { ...options, invocationId });
  const t2 = clock();
  const target = join(options.projectDir, project.targetPath);
  for (const model of project.compiled) await writeText(join(options.projectDir, model.compiledPath), model.compiledSql);
  await writeJson(join(target, 'manifest.json'), project.manifest);
  const phases = [
    { name: 'load', elapsed_time: (t1 - t0) / 1000 },
    { name: 'compile', elapsed_time: (t2 - t1) / 1000 },
    { name: 'write', elapsed_time: (clock() - t2) / 1000 },
  ];
  return { project, invocationId, phases };
}

/** The edge supplies the clock: wall time at `now`, advanced by a monotonic timer. */
function phaseClock(options: CompileOptions): () => number {
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

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeText(path, `${JSON.stringify(value, null, 2)}\n`);
}
