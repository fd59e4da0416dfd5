// The I/O edge of the model runner: the only module here that reads files. It reads dbt_project.yml,
// every `*.sql` model under the model paths (not `<model-path>/tests/`, which holds singular tests),
// every `*.sql` under the macro paths and every `*.yml`/`*.yaml` property file under the model paths,
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
  models: ProjectTextFile[];
  macros: ProjectTextFile[];
  propertyFiles: PropertyFile[];
  /** Problems found in property files; the files with problems are left out of `propertyFiles`. */
  problems: Problem[];
}

/** Folder under each model path reserved for singular data tests (the top-level tests/ is the TS suite). */
export const SINGULAR_TEST_FOLDER = 'tests';

export async function loadProjectFiles(projectDir: string): Promise<ProjectFiles> {
  const dir = resolve(projectDir);
  const projectPath = join(dir, PROJECT_FILE);
  const projectText = await read(projectPath);
  const parsed = parseProjectYaml(PROJECT_FILE, projectText);
  if (!parsed.ok) throw new ModelProjectError(parsed.problems.map(problemError));
  const project = parsed.value;

  const models: ProjectTextFile[] = [];
  const propertyTexts: ProjectTextFile[] = [];
  for (const root of project.modelPaths) {
    for (const path of await listFiles(dir, root, [SINGULAR_TEST_FOLDER])) {
      if (path.endsWith('.sql')) models.push({ path, root, contents: await read(join(dir, path)) });
      else if (path.endsWith('.yml') || path.endsWith('.yaml')) propertyTexts.push({ path, root, contents: await read(join(dir, path)) });
    }
  }
  const macros: ProjectTextFile[] = [];
  for (const root of project.macroPaths) {
    for (const path of await listFiles(dir, root, [])) {
      if (path.endsWith('.sql')) macros.push({ path, root, contents: await read(join(dir, path)) });
    }
  }

  const propertyFiles: PropertyFile[] = [];
  const problems: Problem[] = [];
  for (const file of propertyTexts) {
    const result = parsePropertyYaml(file.path, file.contents);
    if (result.ok) propertyFiles.push(result.value);
    else problems.push(...result.problems);
  }
  return { projectDir: dir, project, models, macros, propertyFiles, problems };
}

async function read(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError('read', path, err);
  }
}

/** Files under `<projectDir>/<root>`, project-relative and sorted; a missing root is an empty folder. */
async function listFiles(projectDir: string, root: string, skipTopFolders: readonly string[]): Promise<string[]> {
  const base = root.replace(/\\/g, '/').replace(/\/+$/, '');
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
        if (depth === 0 && skipTopFolders.includes(entry.name)) continue;
        await walk(child, depth + 1);
      } else if (entry.isFile()) {
        found.push(child);
      }
    }
  };
  await walk(base, 0);
  return found;
}
