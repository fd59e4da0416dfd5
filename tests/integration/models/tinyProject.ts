// Builds a tiny dbt project in a temp folder from inline file contents, for runner tests on a real
// in-memory DuckDB. Not a test file itself (vitest only collects *.test.ts).

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
