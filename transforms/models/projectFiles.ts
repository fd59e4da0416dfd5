// The I/O edge of the model runner: the only module here that reads project files. It reads
// dbt_project.yml, every `*.sql` model and `*.json` ViewDefinition under the model paths (except inside a
// test path, e.g. carelake's models/tests), every `*.sql` under the macro and test paths, `*.csv` seeds,
// and every `*.yml`/`*.yaml` property file under the model and seed paths,
// validates the YAML (projectYaml.ts) and returns one plain, serialisable `ProjectFiles` value. Problems
// in property files are collected, not thrown, so they are reported with the rest of the project's.

import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileSystemError } from '../../core/errors.ts';
import { ModelProjectError, problemError, type Problem } from './problems.ts';
import { PROJECT_FILE, parseProjectYaml, parsePropertyYaml, type ProjectConfig, type PropertyFile } from './projectYaml.ts';

export interface ProjectTextFile {
  /** Relative to the project folder, with `/` separators: `models/staging/stg_patient.sql`. */
  path: string;
  /** The model or macro path it was found under: `models`. */
  root: string;
  contents: string;
}

export interface ProjectFiles {
  projectDir: string;
  project: ProjectConfig;
  /** SQL models and SQL-on-FHIR ViewDefinitions (`*.json`) under the model paths. */
  models: ProjectTextFile[];
  macros: ProjectTextFile[];
  /** CSV seeds under the seed paths. */
  seeds: ProjectTextFile[];
  /** Singular data tests: `*.sql` under the test paths. */
  singularTests: ProjectTextFile[];
  propertyFiles: PropertyFile[];
  /** Problems found in property files; the files with problems are left out of `propertyFiles`. */
  problems: Problem[];
}

export async function loadProjectFiles(projectDir: string): Promise<ProjectFiles> {
  const dir = resolve(projectDir);
  const projectPath = join(dir, PROJECT_FILE);
  const projectText = await read(projectPath);
  const parsed = parseProjectYaml(PROJECT_FILE, projectText);
  if (!parsed.ok) throw new ModelProjectError(parsed.problems.map(problemError));
  const project = parsed.value;

  // A test path inside a model path (carelake's models/tests) holds tests, not models.
  const testRoots = project.testPaths.map(normalRoot);
  const models: ProjectTextFile[] = [];
  const propertyTexts: ProjectTextFile[] = [];
  for (const root of project.modelPaths) {
    for (const path of await listFiles(dir, root, testRoots)) {
      if (path.endsWith('.sql') || path.endsWith('.json')) models.push({ path, root, contents: await read(join(dir, path)) });
      else if (path.endsWith('.yml') || path.endsWith('.yaml')) propertyTexts.push({ path, root, contents: await read(join(dir, path)) });
    }
  }
  const collect = async (roots: readonly string[], extension: string): Promise<ProjectTextFile[]> => {
    const files: ProjectTextFile[] = [];
    for (const root of roots) {
      for (const path of await listFiles(dir, root, [])) if (path.endsWith(extension)) files.push({ path, root, contents: await read(join(dir, path)) });
    }
    return files;
  };
  const macros = await collect(project.macroPaths, '.sql');
  const seeds = await collect(project.seedPaths, '.csv');
  const singularTests = await collect(project.testPaths, '.sql');
  // Seed folders may also hold property files describing the seeds.
  for (const root of project.seedPaths) {
    for (const path of await listFiles(dir, root, [])) {
      if (path.endsWith('.yml') || path.endsWith('.yaml')) propertyTexts.push({ path, root, contents: await read(join(dir, path)) });
    }
  }

  const propertyFiles: PropertyFile[] = [];
  const problems: Problem[] = [];
  for (const file of propertyTexts) {
    const result = parsePropertyYaml(file.path, file.contents);
    if (result.ok) propertyFiles.push(result.value);
    else problems.push(...result.problems);
  }
  return { projectDir: dir, project, models, macros, seeds, singularTests, propertyFiles, problems };
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError('read', path, err);
  }
}

function normalRoot(root: string): string {
  return root.replace(/\\/g, '/').replace(/\/+$/, '');
}

/** Files under `<projectDir>/<root>`, project-relative and sorted; a missing root is an empty folder. */
async function listFiles(projectDir: string, root: string, skipFolders: readonly string[]): Promise<string[]> {
  const base = normalRoot(root);
  const found: string[] = [];
  const walk = async (relative: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(projectDir, relative), { withFileTypes: true });
    } catch (err) {
      if (depth === 0 && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fileSystemError('list', join(projectDir, relative), err);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (skipFolders.includes(child)) continue;
        await walk(child, depth + 1);
      } else if (entry.isFile()) {
        found.push(child);
      }
    }
  };
  await walk(base, 0);
  return found;
}
