// Phase 1 of the model runner: project files → `UnparsedModel`s (SQL models, ViewDefinitions, seeds),
// `UnparsedSource`s and `UnparsedTest`s, each with a stable id (`model.carelake.stg_patient`,
// `seed.carelake.snomed_map`, `source.carelake.esr.assignments`), its file, its fqn and the config
// layered onto it by dbt_project.yml and property files. Nothing is rendered yet (compile.ts does both
// Jinja passes). Duplicate names are collected as problems. Pure: no I/O.

import { createHash } from 'node:crypto';
import type { CarelakeError } from '../../core/errors.ts';
import { folderConfigLayers, isRecord, mergeConfigLayers, type ModelConfigInput } from './modelConfig.ts';
import type { ProjectFiles, ProjectTextFile } from './projectFiles.ts';
import type { ColumnProperties, DataTestDeclaration, ModelProperties, ProjectConfig } from './projectYaml.ts';
import { problemError } from './problems.ts';

/** What a buildable node is written in: a SQL model, a CSV seed, or a SQL-on-FHIR ViewDefinition. */
export type NodeLanguage = 'sql' | 'csv' | 'view_definition';

/** Something the runner builds into a relation: a model, a ViewDefinition (a model too) or a seed. */
export interface UnparsedModel {
  uniqueId: string;
  resourceType: 'model' | 'seed';
  language: NodeLanguage;
  name: string;
  packageName: string;
  /** Relative to the project folder: `models/staging/stg_patient.sql` (dbt's original_file_path). */
  path: string;
  /** Relative to its model path: `staging/stg_patient.sql` (dbt's path). */
  pathInModelDir: string;
  fqn: string[];
  /** The file's text: SQL, a ViewDefinition's JSON, or '' for a seed (read by DuckDB, not by us). */
  rawSql: string;
  checksum: string;
  /** The dbt_project.yml layers for this model, merged (folder `+` config). */
  folderConfig: ModelConfigInput;
  /** The model's entry in a property file, if any. */
  properties: ModelProperties | null;
}

export interface UnparsedSource {
  uniqueId: string;
  sourceName: string;
  name: string;
  identifier: string;
  schema: string;
  database: string | null;
  description: string;
  sourceDescription: string;
  columns: ColumnProperties[];
  /** The source's own meta and the table's meta, as written. */
  sourceMeta: Record<string, unknown>;
  tableMeta: Record<string, unknown>;
  /** `freshness:` of the source, then of the table, as written (validated in freshness.ts). */
  sourceFreshness: unknown;
  tableFreshness: unknown;
  loadedAtField: string | null;
  /**
   * What dbt-duckdb reads `external_location` and `{placeholders}` from: source meta, then table meta,
   * then source config, then table config, later ones winning.
   */
  effectiveMeta: Record<string, unknown>;
  /** The unrendered `external_location` template, if any. */
  externalLocation: string | null;
  path: string;
  line: number | null;
  fqn: string[];
}

/** A data test before it is rendered: a generic test declared in YAML, or a singular test's SQL file. */
export type UnparsedTest = UnparsedGenericTest | UnparsedSingularTest;

export interface UnparsedGenericTest {
  kind: 'generic';
  declaration: DataTestDeclaration;
  /** The model, seed or source table the test is declared on. */
  attachedTo: { resourceType: 'model' | 'seed' | 'source'; name: string; sourceName: string | null };
  column: string | null;
  /** The property file declaring it. */
  path: string;
}

export interface UnparsedSingularTest {
  kind: 'singular';
  uniqueId: string;
  name: string;
  path: string;
  fqn: string[];
  rawSql: string;
  checksum: string;
}

export interface ParsedProject {
  project: ProjectConfig;
  /** Models, ViewDefinitions and seeds. */
  models: UnparsedModel[];
  sources: UnparsedSource[];
  tests: UnparsedTest[];
  macros: ProjectTextFile[];
  problems: CarelakeError[];
}

export function parseProject(files: ProjectFiles): ParsedProject {
  const { project } = files;
  const problems: CarelakeError[] = files.problems.map(problemError);

  const propertiesOf = (kind: 'models' | 'seeds', label: string): Map<string, ModelProperties> => {
    const byName = new Map<string, ModelProperties>();
    for (const file of files.propertyFiles) {
      for (const node of file[kind]) {
        const earlier = byName.get(node.name);
        if (earlier) {
          problems.push(
            problemError({
              code: 'models.duplicate_properties',
              kind: 'config',
              message: `${label} '${node.name}' has properties in two places: ${earlier.file} and ${node.file}`,
              location: { file: node.file, line: node.line ?? undefined },
              hint: `describe each ${label.toLowerCase()} once`,
            }),
          );
          continue;
        }
        byName.set(node.name, node);
      }
    }
    return byName;
  };
  const propertiesByModel = propertiesOf('models', 'Model');
  const propertiesBySeed = propertiesOf('seeds', 'Seed');

  const models: UnparsedModel[] = [];
  const byName = new Map<string, UnparsedModel>();
  const nodeFiles = [
    ...files.models.map((file) => unparsedModel(project, file, propertiesByModel, 'model')),
    ...files.seeds.map((file) => unparsedModel(project, file, propertiesBySeed, 'seed')),
  ];
  for (const model of nodeFiles) {
    const invalidName = /[\s."']/.test(model.name) || model.name === '';
    if (invalidName) {
      problems.push(
        problemError({
          code: 'models.invalid_name',
          kind: 'config',
          message: `${model.resourceType === 'seed' ? 'Seed' : 'Model'} file ${model.path} has a name dbt cannot reference ('${model.name}')`,
          location: { file: model.path },
          hint: 'name model files with letters, digits and underscores',
        }),
      );
      continue;
    }
    const earlier = byName.get(model.name);
    if (earlier) {
      problems.push(
        problemError({
          code: 'models.duplicate_name',
          kind: 'config',
          message: `Found two ${earlier.resourceType === model.resourceType ? `${model.resourceType}s` : 'resources'} with the name '${model.name}': ${earlier.path} and ${model.path}`,
          location: { file: model.path },
          hint: 'model, view and seed names share one namespace (ref() finds them all); rename one file',
        }),
      );
      continue;
    }
    byName.set(model.name, model);
    models.push(model);
  }

  const sources: UnparsedSource[] = [];
  const sourceIds = new Map<string, string>();
  for (const file of files.propertyFiles) {
    for (const source of file.sources) {
      for (const table of source.tables) {
        const unparsed = unparsedSource(project, file.path, source, table);
        if ((table.config.enabled ?? source.config.enabled) === false) continue;
        const earlier = sourceIds.get(unparsed.uniqueId);
        if (earlier) {
          problems.push(
            problemError({
              code: 'models.duplicate_source',
              kind: 'config',
              message: `Found two sources with the name '${source.name}.${table.name}': ${earlier} and ${file.path}`,
              location: { file: file.path, line: table.line ?? undefined },
            }),
          );
          continue;
        }
        sourceIds.set(unparsed.uniqueId, file.path);
        sources.push(unparsed);
      }
    }
  }

  const tests: UnparsedTest[] = [];
  for (const file of files.propertyFiles) {
    const generic = (attachedTo: UnparsedGenericTest['attachedTo'], column: string | null) => (declaration: DataTestDeclaration) =>
      tests.push({ kind: 'generic', declaration, attachedTo, column, path: file.path });
    for (const [kind, list] of [['model', file.models], ['seed', file.seeds]] as const) {
      for (const node of list) {
        const attachedTo = { resourceType: kind, name: node.name, sourceName: null };
        node.tests.forEach(generic(attachedTo, null));
        for (const column of node.columns) column.tests.forEach(generic(attachedTo, column.name));
      }
    }
    for (const source of file.sources) {
      for (const table of source.tables) {
        const attachedTo = { resourceType: 'source' as const, name: table.name, sourceName: source.name };
        table.tests.forEach(generic(attachedTo, null));
        for (const column of table.columns) column.tests.forEach(generic(attachedTo, column.name));
      }
    }
  }
  for (const file of files.singularTests) {
    const relative = file.path.slice(file.root.replace(/\/+$/, '').length + 1);
    const parts = relative.split('/');
    const name = (parts.pop() ?? '').replace(/\.sql$/, '');
    tests.push({
      kind: 'singular',
      uniqueId: `test.${project.name}.${name}`,
      name,
      path: file.path,
      fqn: [project.name, ...parts, name],
      rawSql: file.contents,
      checksum: sha256(file.contents),
    });
  }

  return { project, models, sources, tests, macros: files.macros, problems };
}

const LANGUAGE_BY_EXTENSION: Readonly<Record<string, NodeLanguage>> = { sql: 'sql', json: 'view_definition', csv: 'csv' };

function unparsedModel(project: ProjectConfig, file: ProjectTextFile, properties: Map<string, ModelProperties>, resourceType: 'model' | 'seed'): UnparsedModel {
  const pathInModelDir = file.path.slice(file.root.replace(/\/+$/, '').length + 1);
  const parts = pathInModelDir.split('/');
  const fileName = parts.pop() ?? '';
  const extension = /\.([a-z]+)$/.exec(fileName)?.[1] ?? '';
  const name = fileName.replace(/\.[a-z]+$/, '');
  const fqn = [project.name, ...parts, name];
  const tree = resourceType === 'seed' ? project.seeds : project.models;
  return {
    uniqueId: `${resourceType}.${project.name}.${name}`,
    resourceType,
    language: LANGUAGE_BY_EXTENSION[extension] ?? 'sql',
    name,
    packageName: project.name,
    path: file.path,
    pathInModelDir,
    fqn,
    rawSql: resourceType === 'seed' ? '' : file.contents,
    checksum: sha256(file.contents),
    folderConfig: mergeConfigLayers(folderConfigLayers(tree, fqn)),
    properties: properties.get(name) ?? null,
  };
}

function unparsedSource(
  project: ProjectConfig,
  file: string,
  source: ProjectFilesSource,
  table: ProjectFilesSource['tables'][number],
): UnparsedSource {
  const effectiveMeta = {
    ...source.meta,
    ...recordOf(source.config.meta),
    ...table.meta,
    ...recordOf(table.config.meta),
    ...configExtras(source.config),
    ...configExtras(table.config),
  };
  const location = effectiveMeta.external_location;
  const folders = file.split('/').slice(1, -1);
  return {
    uniqueId: `source.${project.name}.${source.name}.${table.name}`,
    sourceName: source.name,
    name: table.name,
    identifier: table.identifier ?? table.name,
    schema: source.schema ?? source.name,
    database: source.database,
    description: table.description,
    sourceDescription: source.description,
    columns: table.columns,
    sourceMeta: source.meta,
    tableMeta: table.meta,
    sourceFreshness: source.freshness,
    tableFreshness: table.freshness,
    loadedAtField: table.loadedAtField ?? source.loadedAtField,
    effectiveMeta,
    externalLocation: typeof location === 'string' ? location : null,
    path: file,
    line: table.line,
    fqn: [project.name, ...folders, source.name, table.name],
  };
}

/** Source config keys dbt itself defines; the rest (`external_location`, …) are adapter extras. */
const DBT_SOURCE_CONFIGS = new Set(['enabled', 'meta', 'tags', 'freshness', 'loaded_at_field', 'event_time', 'docs']);

function configExtras(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !DBT_SOURCE_CONFIGS.has(key)));
}

function recordOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

type ProjectFilesSource = ProjectFiles['propertyFiles'][number]['sources'][number];

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
