// The YAML of a dbt project — dbt_project.yml and the property files (`sources:`, `models:`) — from
// text to validated, plain values. YAML syntax errors and schema errors become problems that name the
// file, the key (`sources[0].tables[1].name`), its line and what was expected. Only the keys carelake
// uses are checked; everything else dbt allows is kept or ignored, so the files stay valid for dbt-core.
// Pure: takes text, returns values; projectFiles.ts does the reading.

import { posix, win32 } from 'node:path';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { KNOWN_MODEL_CONFIGS, isRecord, modelConfigSchema, type ConfigTree, type ModelConfigInput } from './modelConfig.ts';
import type { Problem } from './problems.ts';

export const PROJECT_FILE = 'dbt_project.yml';

// ---- dbt_project.yml ----------------------------------------------------------------------------

const relativePath = z
  .string({ error: 'expected a folder path' })
  .min(1)
  .refine((p) => !posix.isAbsolute(p) && !win32.isAbsolute(p) && !posix.normalize(p).startsWith('..'), { error: 'expected a path inside the project folder' });

const projectSchema = z.looseObject({
  name: z
    .string({ error: 'expected the project name' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a name of letters, digits and underscores' }),
  version: z.union([z.string(), z.number()], { error: 'expected a version such as 1.0.0' }).optional(),
  'config-version': z.literal(2, { error: 'expected 2' }).optional(),
  profile: z.string({ error: 'expected a profile name' }).optional(),
  'model-paths': z.array(relativePath, { error: 'expected a list of folders' }).min(1).optional(),
  'macro-paths': z.array(relativePath, { error: 'expected a list of folders' }).optional(),
  'target-path': relativePath.optional(),
  vars: z.record(z.string(), z.unknown(), { error: 'expected a mapping of variable names to values' }).optional(),
  models: z.record(z.string(), z.unknown(), { error: 'expected a mapping of project names to model config' }).optional(),
});

export interface ProjectConfig {
  name: string;
  version: string | null;
  configVersion: 2;
  profile: string | null;
  modelPaths: string[];
  macroPaths: string[];
  targetPath: string;
  vars: Record<string, unknown>;
  models: ConfigTree;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export function parseProjectYaml(file: string, text: string): Validated<ProjectConfig> {
  const loaded = loadYaml(file, text);
  if (!loaded.ok) return loaded;
  const result = projectSchema.safeParse(loaded.value ?? {});
  const problems: Problem[] = result.success ? [] : zodProblems(file, loaded.doc, loaded.lines, result.error, loaded.value);
  // The models: tree is checked even when other keys are wrong, so every problem is reported at once.
  const rawModels = isRecord(loaded.value) ? loaded.value.models : undefined;
  const models = configTree(isRecord(rawModels) ? rawModels : {}, ['models'], (path, message) =>
    problems.push(keyProblem(file, loaded.doc, loaded.lines, path, message)),
  );
  if (!result.success || problems.length > 0) return { ok: false, problems };
  const raw = result.data;
  return {
    ok: true,
    value: {
      name: raw.name,
      version: raw.version === undefined ? null : String(raw.version),
      configVersion: 2,
      profile: raw.profile ?? null,
      modelPaths: raw['model-paths'] ?? ['models'],
      macroPaths: raw['macro-paths'] ?? ['macros'],
      targetPath: raw['target-path'] ?? 'target',
      vars: raw.vars ?? {},
      models,
    },
  };
}

/**
 * Reads the `models:` tree. Keys starting with `+` are config; a bare key is config when dbt knows it as
 * one (`materialized: table`), otherwise a folder (or model) name whose value must be a mapping.
 */
function configTree(
  value: Record<string, unknown>,
  path: (string | number)[],
  report: (path: (string | number)[], message: string) => void,
): ConfigTree {
  const layer: Record<string, unknown> = {};
  const children: Record<string, ConfigTree> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('+')) layer[key.slice(1)] = child;
    else if (KNOWN_MODEL_CONFIGS.has(key) && !isRecord(child)) layer[key] = child;
    else if (isRecord(child)) children[key] = configTree(child, [...path, key], report);
    else if (child === null || child === undefined) children[key] = { config: {}, children: {} };
    else report([...path, key], `is invalid: expected a mapping of config for folder '${key}' (config keys start with +, e.g. +materialized)`);
  }
  const parsed = modelConfigSchema.safeParse(layer);
  let config: ModelConfigInput = {};
  if (parsed.success) config = parsed.data;
  else {
    for (const issue of parsed.error.issues) {
      const [first, ...rest] = issue.path;
      const configKey = typeof first === 'string' && first in value ? first : `+${String(first)}`;
      report([...path, configKey, ...rest.map(pathPart)], issueText(issue, valueAt(layer, issue.path)));
    }
  }
  return { config, children };
}

// ---- property files (models/**/*.yml) ----------------------------------------------------------

const metaSchema = z.looseObject({
  external_location: z.string({ error: 'expected a location string, e.g. a path or read_parquet(…)' }).optional(),
});
const columnSchema = z.looseObject({
  name: z.string({ error: 'expected the column name' }),
  description: z.string({ error: 'expected text' }).optional(),
  data_type: z.string({ error: 'expected a type name' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
});
const sourceConfigSchema = z.looseObject({
  external_location: z.string({ error: 'expected a location string, e.g. a path or read_parquet(…)' }).optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
});
const sourceTableSchema = z.looseObject({
  name: z.string({ error: 'expected the table name' }).min(1),
  identifier: z.string({ error: 'expected the table identifier' }).min(1).optional(),
  description: z.string({ error: 'expected text' }).optional(),
  meta: metaSchema.optional(),
  config: sourceConfigSchema.optional(),
  columns: z.array(columnSchema, { error: 'expected a list of columns' }).optional(),
});
const sourceSchema = z.looseObject({
  name: z.string({ error: 'expected the source name' }).min(1),
  description: z.string({ error: 'expected text' }).optional(),
  schema: z.string({ error: 'expected a schema name' }).min(1).optional(),
  database: z.string({ error: 'expected a database name' }).optional(),
  meta: metaSchema.optional(),
  config: sourceConfigSchema.optional(),
  tables: z.array(sourceTableSchema, { error: 'expected a list of tables' }).optional(),
});
const modelPropertiesSchema = z.looseObject({
  name: z.string({ error: 'expected the model name' }).min(1),
  description: z.string({ error: 'expected text' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
  config: modelConfigSchema.optional(),
  columns: z.array(columnSchema, { error: 'expected a list of columns' }).optional(),
});
const propertyFileSchema = z.looseObject({
  version: z.number({ error: 'expected 2' }).optional(),
  sources: z.array(sourceSchema, { error: 'expected a list of sources' }).optional(),
  models: z.array(modelPropertiesSchema, { error: 'expected a list of models' }).optional(),
});

export interface ColumnProperties {
  name: string;
  description: string;
  dataType: string | null;
  meta: Record<string, unknown>;
}

export interface SourceTableProperties {
  name: string;
  identifier: string | null;
  description: string;
  meta: Record<string, unknown>;
  config: Record<string, unknown>;
  columns: ColumnProperties[];
  line: number | null;
}

export interface SourceProperties {
  name: string;
  description: string;
  schema: string | null;
  database: string | null;
  meta: Record<string, unknown>;
  config: Record<string, unknown>;
  tables: SourceTableProperties[];
  file: string;
  line: number | null;
}

export interface ModelProperties {
  name: string;
  description: string;
  meta: Record<string, unknown>;
  config: ModelConfigInput;
  columns: ColumnProperties[];
  file: string;
  line: number | null;
}

export interface PropertyFile {
  path: string;
  sources: SourceProperties[];
  models: ModelProperties[];
}

export function parsePropertyYaml(file: string, text: string): Validated<PropertyFile> {
  const loaded = loadYaml(file, text);
  if (!loaded.ok) return loaded;
  const result = propertyFileSchema.safeParse(loaded.value ?? {});
  if (!result.success) return { ok: false, problems: zodProblems(file, loaded.doc, loaded.lines, result.error, loaded.value) };
  const lineAt = (path: (string | number)[]) => nodeLine(loaded.doc, loaded.lines, path);
  const columns = (cols: z.output<typeof columnSchema>[] | undefined): ColumnProperties[] =>
    (cols ?? []).map((c) => ({ name: c.name, description: c.description ?? '', dataType: c.data_type ?? null, meta: c.meta ?? {} }));
  return {
    ok: true,
    value: {
      path: file,
      sources: (result.data.sources ?? []).map((s, i) => ({
        name: s.name,
        description: s.description ?? '',
        schema: s.schema ?? null,
        database: s.database ?? null,
        meta: s.meta ?? {},
        config: s.config ?? {},
        file,
        line: lineAt(['sources', i]),
        tables: (s.tables ?? []).map((t, j) => ({
          name: t.name,
          identifier: t.identifier ?? null,
          description: t.description ?? '',
          meta: t.meta ?? {},
          config: t.config ?? {},
          columns: columns(t.columns),
          line: lineAt(['sources', i, 'tables', j]),
        })),
      })),
      models: (result.data.models ?? []).map((m, i) => ({
        name: m.name,
        description: m.description ?? '',
        meta: m.meta ?? {},
        config: m.config ?? {},
        columns: columns(m.columns),
        file,
        line: lineAt(['models', i]),
      })),
    },
  };
}

// ---- shared YAML helpers ------------------------------------------------------------------------

type Loaded = { ok: true; value: unknown; doc: Document; lines: LineCounter } | { ok: false; problems: Problem[] };

function loadYaml(file: string, text: string): Loaded {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const line = lines.linePos(e.pos[0]);
        // The library appends " at line L, column C:" and a code frame; the location carries those.
        const what = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return {
          code: 'models.yaml_syntax',
          kind: 'config',
          message: `${file} is not valid YAML: ${what}`,
          location: { file, line: line.line, column: line.col },
        };
      }),
    };
  }
  const value: unknown = doc.toJS();
  if (value !== null && !isRecord(value)) {
    return {
      ok: false,
      problems: [{ code: 'models.yaml_shape', kind: 'config', message: `${file} must hold a YAML mapping at the top level`, location: { file, line: 1 } }],
    };
  }
  return { ok: true, value, doc, lines };
}

function zodProblems(file: string, doc: Document, lines: LineCounter, error: z.ZodError, input: unknown): Problem[] {
  return error.issues.map((issue) => keyProblem(file, doc, lines, issue.path.map(pathPart), issueText(issue, valueAt(input, issue.path))));
}

function keyProblem(file: string, doc: Document, lines: LineCounter, path: (string | number)[], message: string): Problem {
  const key = keyPath(path);
  return {
    code: 'models.yaml_invalid',
    kind: 'config',
    message: `${file}: key '${key}' ${message}`,
    location: { file, line: nodeLine(doc, lines, path) ?? undefined, field: key },
  };
}

function issueText(issue: z.core.$ZodIssue, actual: unknown): string {
  if (issue.code === 'invalid_type' && actual === undefined) return `is missing: ${lowerFirst(expectedText(issue.message))}`;
  const got = actual === undefined ? '' : `, got ${describeValue(actual)}`;
  return `is invalid: ${lowerFirst(expectedText(issue.message))}${got}`;
}

/** zod's default texts start "Invalid input: expected string, received number"; keep the useful half. */
function expectedText(message: string): string {
  if (message.startsWith('expected')) return message;
  const match = /expected [^,]+/.exec(message);
  return match ? match[0] : message;
}

/** Numbers and booleans are shown; text is only described, in case a value is a secret. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function pathPart(part: PropertyKey): string | number {
  return typeof part === 'number' ? part : String(part);
}

function keyPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (Array.isArray(value) && typeof part === 'number') value = value[part];
    else if (isRecord(value) && typeof part === 'string') value = value[part];
    else return undefined;
  }
  return value;
}

/** 1-based line of the deepest node that exists along `path`. */
function nodeLine(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number | null {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return null;
}
