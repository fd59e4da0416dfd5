// Builds a tiny dbt project in a temp folder from inline file contents and runs it on a real in-memory
// DuckDB, for the runner's tests. Not a test file itself (vitest only collects *.test.ts).

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { runProject, type RunOptions } from '../../../transforms/models/runProject.ts';

export const DEFAULT_PROJECT_YML = `name: carelake
version: '0.1.0'
config-version: 2
profile: carelake
`;

export interface TinyProject {
  dir: string;
  cleanup(): Promise<void>;
}

/** Writes `files` (relative path → text) under a new temp folder; dbt_project.yml defaults to a minimal one. */
export async function tinyProject(files: Record<string, string>): Promise<TinyProject> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-models-'));
  const all = { 'dbt_project.yml': DEFAULT_PROJECT_YML, ...files };
  for (const [path, text] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text, 'utf8');
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export const NOW = new Date('2025-03-01T09:00:00.000Z');
export const TARGET = { name: 'dev', schema: 'main' };

export type Extra = Partial<Omit<RunOptions, 'projectDir' | 'db'>>;

/** Runs a project built from `files` and hands the outcome and the open database to `check`. */
export async function withRun(
  files: Record<string, string>,
  extra: Extra,
  check: (outcome: Awaited<ReturnType<typeof runProject>>, db: DuckDb, dir: string) => Promise<void>,
): Promise<void> {
  const project = await tinyProject(files);
  const db = await DuckDb.open(':memory:');
  try {
    const outcome = await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW, ...extra });
    await check(outcome, db, project.dir);
  } finally {
    db.close();
    await project.cleanup();
  }
}

/** Runs a project expected to be invalid; returns the error. */
export async function runError(files: Record<string, string>, extra: Extra = {}): Promise<CarelakeError> {
  const project = await tinyProject(files);
  const db = await DuckDb.open(':memory:');
  try {
    await runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW, ...extra });
  } catch (err) {
    if (err instanceof CarelakeError) return err;
    throw err;
  } finally {
    db.close();
    await project.cleanup();
  }
  throw new Error('expected the run to fail');
}

export async function relationType(db: DuckDb, schema: string, name: string): Promise<unknown> {
  return db.scalar('SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', [schema, name]);
}
