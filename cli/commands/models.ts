// The dbt-style model commands on the lake's warehouse: `carelake run | test | seed | compile | docs |
// source freshness` (and the summary `carelake build` prints). Each opens a model session (the
// warehouse, the pseudonym function, the project's options), runs the runner, and prints what ran,
// failed and was skipped, and why. A failure or error exits non-zero; warnings do not.

import { existsSync } from 'node:fs';
import { CarelakeError } from '../../core/errors.ts';
import type { RunResults } from '../../transforms/models/execute.ts';
import { generateDocs } from '../../transforms/models/docsGenerate.ts';
import { compileProject, runProject, type ModelCommand } from '../../transforms/models/runProject.ts';
import { runSourceFreshness } from '../../transforms/models/sourceFreshnessRun.ts';
import { withModelSession } from '../../warehouse/build/modelSession.ts';
import { copyLedger } from '../../warehouse/build/warehouseBuild.ts';
import { Ledger } from '../../pipelines/ledger/ledger.ts';
import type { Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export interface SelectionOptions {
  select?: string[];
  exclude?: string[];
  fullRefresh?: boolean;
  threads?: number;
  /** `--vars '{key: value}'` (YAML, as dbt takes it). */
  vars?: Record<string, unknown>;
}

const sessionOf = (ctx: CommandContext, readOnly: boolean) => ({ config: ctx.config, layout: ctx.layout, env: process.env, now: new Date(), readOnly });

/** `carelake run | test | seed`. */
export async function modelCommand(ctx: CommandContext, command: Exclude<ModelCommand, 'build'>, options: SelectionOptions, out: Console): Promise<void> {
  await withModelSession(sessionOf(ctx, false), async (session) => {
    if (session.profileWarning) out.warn(session.profileWarning);
    // Models read the run ledger as ops.* (data-quality aggregates): the copy is refreshed first, as build does.
    if (existsSync(ctx.layout.ledger)) {
      const ledger = Ledger.open(ctx.layout.ledger);
      try {
        await copyLedger(session.db, ledger);
      } finally {
        ledger.close();
      }
    }
    const { results, warnings } = await runProject({
      ...session.runner,
      vars: { ...session.runner.vars, ...options.vars },
      db: session.db,
      command,
      select: options.select,
      exclude: options.exclude,
      fullRefresh: options.fullRefresh,
      threads: options.threads ?? session.runner.threads,
    });
    for (const warning of warnings) out.warn(warning.message);
    printRunSummary(results, out);
    if (results.results.some((r) => r.status === 'error' || r.status === 'fail')) process.exitCode = 1;
  });
}

/** What ran, and one line for each node that did not succeed, with why. */
export function printRunSummary(results: RunResults, out: Console): void {
  const counts = new Map<string, number>();
  for (const r of results.results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const order = ['success', 'pass', 'warn', 'fail', 'error', 'skipped'];
  const parts = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  out.info(`Ran ${results.results.length} node${results.results.length === 1 ? '' : 's'} in ${results.elapsed_time.toFixed(1)}s${parts.length > 0 ? `: ${parts.join(', ')}` : ' (nothing selected)'}`);
  for (const r of results.results) {
    if (r.status === 'success' || r.status === 'pass') continue;
    out.info(`  ${r.status.padEnd(7)} ${r.unique_id}${r.message ? ` — ${r.message.split('\n')[0]}` : ''}`);
  }
}

/** `carelake compile`: the manifest and compiled SQL under target/, nothing run. */
export async function compileCommand(ctx: CommandContext, options: SelectionOptions, out: Console): Promise<void> {
  await withModelSession(sessionOf(ctx, true), async (session) => {
    const project = await compileProject({ ...session.runner, vars: { ...session.runner.vars, ...options.vars }, db: session.db, select: options.select, exclude: options.exclude });
    for (const warning of project.warnings) out.warn(warning.message);
    out.info(`Compiled ${project.compiled.length} models and seeds and ${project.tests.length} tests into ${session.runner.projectDir}/${project.targetPath}/compiled`);
  });
}

/** `carelake docs`: catalog.json and lineage.json under target/. */
export async function docsCommand(ctx: CommandContext, options: SelectionOptions, out: Console): Promise<void> {
  await withModelSession(sessionOf(ctx, true), async (session) => {
    const docs = await generateDocs({ ...session.runner, vars: { ...session.runner.vars, ...options.vars }, db: session.db });
    out.info(`Wrote target/manifest.json, target/catalog.json (${docs.nodes} relations, ${docs.sources} sources) and target/lineage.json`);
    for (const error of docs.errors) out.warn(error);
  });
}

/** `carelake source freshness`: target/sources.json; exits non-zero when any source is past error_after. */
export async function sourceFreshnessCommand(ctx: CommandContext, options: SelectionOptions, out: Console): Promise<void> {
  await withModelSession(sessionOf(ctx, true), async (session) => {
    const outcome = await runSourceFreshness({ ...session.runner, vars: { ...session.runner.vars, ...options.vars }, db: session.db, select: options.select, exclude: options.exclude });
    if (outcome.checks.length === 0) out.info('No source has a freshness rule and a loaded_at_field; nothing checked.');
    for (const check of outcome.checks) {
      const age = check.message ?? (check.ageSeconds === null ? 'no rows' : `${formatAge(check.ageSeconds)} old`);
      out.info(`${check.status.padEnd(13)} ${check.uniqueId} (${age})`);
    }
    if (outcome.checks.some((c) => c.status === 'error' || c.status === 'runtime error')) process.exitCode = 1;
  });
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}

/** `--vars` as dbt takes it: a YAML (or JSON) mapping. */
export async function parseVars(text: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (text === undefined) return undefined;
  const { parse } = await import('yaml');
  const value: unknown = parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CarelakeError({ code: 'cli.vars', kind: 'config', message: `--vars must be a YAML mapping, e.g. '{esr_snapshot_months: 12}'` });
  }
  return value as Record<string, unknown>;
}
