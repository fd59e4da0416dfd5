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
  'seed-paths': z.array(relativePath, { error: 'expected a list of folders' }).optional(),
  'test-paths': z.array(relativePath, { error: 'expected a list of folders' }).optional(),
  'target-path': relativePath.optional(),
  vars: z.record(z.string(), z.unknown(), { error: 'expected a mapping of variable names to values' }).optional(),
  models: z.record(z.string(), z.unknown(), { error: 'expected a mapping of project names to model config' }).optional(),
  seeds: z.record(z.string(), z.unknown(), { error: 'expected a mapping of project names to seed config' }).optional(),
});

export interface ProjectConfig {
  name: string;
  version: string | null;
  configVersion: 2;
  profile: string | null;
  modelPaths: string[];
  macroPaths: string[];
  seedPaths: string[];
  /** Folders of singular data tests; carelake's own project uses models/tests (see dbt-subset.md). */
  testPaths: string[];
  targetPath: string;
  vars: Record<string, unknown>;
  models: ConfigTree;
  seeds: ConfigTree;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export function parseProjectYaml(file: string, text: string): Validated<ProjectConfig> {
  const loaded = loadYaml(file, text);
  if (!loaded.ok) return loaded;
  const result = projectSchema.safeParse(loaded.value ?? {});
  const problems: Problem[] = result.success ? [] : zodProblems(file, loaded.doc, loaded.lines, result.error, loaded.value);
  // The models: tree is checked even when other keys are wrong, so every problem is reported at once.
  const tree = (key: 'models' | 'seeds'): ConfigTree => {
    const raw = isRecord(loaded.value) ? loaded.value[key] : undefined;
    return configTree(isRecord(raw) ? raw : {}, [key], (path, message) => problems.push(keyProblem(file, loaded.doc, loaded.lines, path, message)));
  };
  const models = tree('models');
  const seeds = tree('seeds');
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
      seedPaths: raw['seed-paths'] ?? ['seeds'],
      testPaths: raw['test-paths'] ?? ['tests'],
      targetPath: raw['target-path'] ?? 'target',
      vars: raw.vars ?? {},
      models,
      seeds,
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

/**
 * One entry of `data_tests:` (or legacy `tests:`): a bare name (`- not_null`) or a one-key mapping
 * whose value holds the arguments (at the top level, or under `arguments:` as dbt ≥ 1.10 writes them)
 * and `config:` (`severity`, `where`, …; dbt also accepts those two at the top level).
 */
const dataTestSchema = z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
  error: 'expected a test name, or a mapping from a test name to its arguments',
});
const dataTestsField = z.array(dataTestSchema, { error: 'expected a list of tests' }).optional();

const metaSchema = z.looseObject({
  external_location: z.string({ error: 'expected a location string, e.g. a path or read_parquet(…)' }).optional(),
});
const columnSchema = z.looseObject({
  name: z.string({ error: 'expected the column name' }),
  description: z.string({ error: 'expected text' }).optional(),
  data_type: z.string({ error: 'expected a type name' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
  data_tests: dataTestsField,
  tests: dataTestsField,
});
const freshnessField = z.unknown().optional();
const sourceConfigSchema = z.looseObject({
  external_location: z.string({ error: 'expected a location string, e.g. a path or read_parquet(…)' }).optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
  freshness: freshnessField,
  loaded_at_field: z.string({ error: 'expected a column name or SQL expression' }).optional(),
});
const sourceTableSchema = z.looseObject({
  name: z.string({ error: 'expected the table name' }).min(1),
  identifier: z.string({ error: 'expected the table identifier' }).min(1).optional(),
  description: z.string({ error: 'expected text' }).optional(),
  meta: metaSchema.optional(),
  config: sourceConfigSchema.optional(),
  columns: z.array(columnSchema, { error: 'expected a list of columns' }).optional(),
  freshness: freshnessField,
  loaded_at_field: z.string({ error: 'expected a column name or SQL expression' }).optional(),
  data_tests: dataTestsField,
  tests: dataTestsField,
});
const sourceSchema = z.looseObject({
  name: z.string({ error: 'expected the source name' }).min(1),
  description: z.string({ error: 'expected text' }).optional(),
  schema: z.string({ error: 'expected a schema name' }).min(1).optional(),
  database: z.string({ error: 'expected a database name' }).optional(),
  meta: metaSchema.optional(),
  config: sourceConfigSchema.optional(),
  freshness: freshnessField,
  loaded_at_field: z.string({ error: 'expected a column name or SQL expression' }).optional(),
  tables: z.array(sourceTableSchema, { error: 'expected a list of tables' }).optional(),
});
const nodePropertiesSchema = z.looseObject({
  name: z.string({ error: 'expected the name' }).min(1),
  description: z.string({ error: 'expected text' }).optional(),
  meta: z.record(z.string(), z.unknown(), { error: 'expected a mapping' }).optional(),
  config: modelConfigSchema.optional(),
  columns: z.array(columnSchema, { error: 'expected a list of columns' }).optional(),
  data_tests: dataTestsField,
  tests: dataTestsField,
});
const propertyFileSchema = z.looseObject({
  version: z.number({ error: 'expected 2' }).optional(),
  sources: z.array(sourceSchema, { error: 'expected a list of sources' }).optional(),
  models: z.array(nodePropertiesSchema, { error: 'expected a list of models' }).optional(),
  seeds: z.array(nodePropertiesSchema, { error: 'expected a list of seeds' }).optional(),
});

/** A data test as declared, before it is tied to a node: `unique`, `accepted_values` with its arguments… */
export interface DataTestDeclaration {
  /** The generic test's name: not_null, unique, accepted_values, relationships. */
  test: string;
  /** Arguments other than config, e.g. `{ values: [...] }` or `{ to: "ref('x')", field: 'id' }`. */
  args: Record<string, unknown>;
  /** `config:` merged with top-level `severity` / `where` / `enabled` / `tags`. */
  config: Record<string, unknown>;
  /** A `name:` the author gave the test, replacing the generated one. */
  name: string | null;
  /** Where it is declared: `models[0].columns[2].data_tests[1]`. */
  key: string;
  line: number | null;
}

export interface ColumnProperties {
  name: string;
  description: string;
  dataType: string | null;
  meta: Record<string, unknown>;
  tests: DataTestDeclaration[];
}

export interface SourceTableProperties {
  name: string;
  identifier: string | null;
  description: string;
  meta: Record<string, unknown>;
  config: Record<string, unknown>;
  columns: ColumnProperties[];
  tests: DataTestDeclaration[];
  /** As written (validated where it is used); undefined when not set here. */
  freshness: unknown;
  loadedAtField: string | null;
  line: number | null;
}

export interface SourceProperties {
  name: string;
  description: string;
  schema: string | null;
  database: string | null;
  meta: Record<string, unknown>;
  config: Record<string, unknown>;
  freshness: unknown;
  loadedAtField: string | null;
  tables: SourceTableProperties[];
  file: string;
  line: number | null;
}

/** A model's or a seed's entry in a property file. */
export interface ModelProperties {
  name: string;
  description: string;
  meta: Record<string, unknown>;
  config: ModelConfigInput;
  columns: ColumnProperties[];
  tests: DataTestDeclaration[];
  file: string;
  line: number | null;
}

export interface PropertyFile {
  path: string;
  sources: SourceProperties[];
  models: ModelProperties[];
  seeds: ModelProperties[];
}

/** Config keys dbt accepts at the top level of a test entry as well as under `config:`. */
const TEST_CONFIG_KEYS = new Set(['severity', 'where', 'enabled', 'tags', 'meta', 'warn_if', 'error_if', 'store_failures', 'limit']);

export function parsePropertyYaml(file: string, text: string): Validated<PropertyFile> {
  const loaded = loadYaml(file, text);
  if (!loaded.ok) return loaded;
  const result = propertyFileSchema.safeParse(loaded.value ?? {});
  if (!result.success) return { ok: false, problems: zodProblems(file, loaded.doc, loaded.lines, result.error, loaded.value) };
  const problems: Problem[] = [];
  const lineAt = (path: (string | number)[]) => nodeLine(loaded.doc, loaded.lines, path);
  const tests = (node: { data_tests?: unknown[] | undefined; tests?: unknown[] | undefined }, path: (string | number)[]): DataTestDeclaration[] => {
    const key = node.data_tests ? 'data_tests' : 'tests';
    return (node.data_tests ?? node.tests ?? []).flatMap((entry, i) => {
      const at = [...path, key, i];
      const declared = dataTestDeclaration(entry, keyPath(at), lineAt(at));
      if (typeof declared === 'string') {
        problems.push(keyProblem(file, loaded.doc, loaded.lines, at, declared));
        return [];
      }
      return [declared];
    });
  };
  const columns = (cols: z.output<typeof columnSchema>[] | undefined, path: (string | number)[]): ColumnProperties[] =>
    (cols ?? []).map((c, i) => ({
      name: c.name,
      description: c.description ?? '',
      dataType: c.data_type ?? null,
      meta: c.meta ?? {},
      tests: tests(c, [...path, 'columns', i]),
    }));
  const nodes = (list: z.output<typeof nodePropertiesSchema>[] | undefined, kind: 'models' | 'seeds'): ModelProperties[] =>
    (list ?? []).map((m, i) => ({
      name: m.name,
      description: m.description ?? '',
      meta: m.meta ?? {},
      config: m.config ?? {},
      columns: columns(m.columns, [kind, i]),
      tests: tests(m, [kind, i]),
      file,
      line: lineAt([kind, i]),
    }));
  const value: PropertyFile = {
    path: file,
    sources: (result.data.sources ?? []).map((s, i) => ({
      name: s.name,
      description: s.description ?? '',
      schema: s.schema ?? null,
      database: s.database ?? null,
      meta: s.meta ?? {},
      config: s.config ?? {},
      freshness: s.config?.freshness !== undefined ? s.config.freshness : s.freshness,
      loadedAtField: s.config?.loaded_at_field ?? s.loaded_at_field ?? null,
      file,
      line: lineAt(['sources', i]),
      tables: (s.tables ?? []).map((t, j) => ({
        name: t.name,
        identifier: t.identifier ?? null,
        description: t.description ?? '',
        meta: t.meta ?? {},
        config: t.config ?? {},
        columns: columns(t.columns, ['sources', i, 'tables', j]),
        tests: tests(t, ['sources', i, 'tables', j]),
        freshness: t.config?.freshness !== undefined ? t.config.freshness : t.freshness,
        loadedAtField: t.config?.loaded_at_field ?? t.loaded_at_field ?? null,
        line: lineAt(['sources', i, 'tables', j]),
      })),
    })),
    models: nodes(result.data.models, 'models'),
    seeds: nodes(result.data.seeds, 'seeds'),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

/** A declaration, or the reason it is not one. */
function dataTestDeclaration(entry: unknown, key: string, line: number | null): DataTestDeclaration | string {
  if (typeof entry === 'string') return { test: entry, args: {}, config: {}, name: null, key, line };
  if (!isRecord(entry)) return 'is invalid: expected a test name or a mapping';
  const names = Object.keys(entry);
  if (names.length !== 1) return `is invalid: expected one test per list item, got ${names.length} keys (${names.join(', ')})`;
  const test = names[0] as string;
  const body = entry[test] ?? {};
  if (!isRecord(body)) return `is invalid: the arguments of '${test}' must be a mapping`;
  const args: Record<string, unknown> = {};
  const config: Record<string, unknown> = {};
  let name: string | null = null;
  for (const [k, v] of Object.entries(body)) {
    if (k === 'config') {
      if (!isRecord(v)) return `is invalid: '${test}.config' must be a mapping`;
      Object.assign(config, v);
    } else if (k === 'arguments') {
      if (!isRecord(v)) return `is invalid: '${test}.arguments' must be a mapping`;
      Object.assign(args, v);
    } else if (k === 'name') {
      if (typeof v !== 'string') return `is invalid: '${test}.name' must be text`;
      name = v;
    } else if (TEST_CONFIG_KEYS.has(k)) {
      config[k] ??= v;
    } else args[k] = v;
  }
  return { test, args, config, name, key, line };
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
