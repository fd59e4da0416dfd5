// Phase 1 of the model runner: project files → `UnparsedModel`s and `UnparsedSource`s, each with a
// stable id (`model.carelake.stg_patient`, `source.carelake.esr.assignments`), its file, its fqn and the
// config layered onto it by dbt_project.yml and property files. Nothing is rendered yet (compile.ts
// does both Jinja passes). Duplicate names are collected as problems. Pure: no I/O.

import { createHash } from 'node:crypto';
import type { CarelakeError } from '../../core/errors.ts';
import { folderConfigLayers, isRecord, mergeConfigLayers, type ModelConfigInput } from './modelConfig.ts';
import type { ProjectFiles, ProjectTextFile } from './projectFiles.ts';
import type { ColumnProperties, ModelProperties, ProjectConfig } from './projectYaml.ts';
import { problemError } from './problems.ts';

export interface UnparsedModel {
  uniqueId: string;
  name: string;
  packageName: string;
  /** Relative to the project folder: `models/staging/stg_patient.sql` (dbt's original_file_path). */
  path: string;
  /** Relative to its model path: `staging/stg_patient.sql` (dbt's path). */
  pathInModelDir: string;
  fqn: string[];
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

export interface ParsedProject {
  project: ProjectConfig;
  models: UnparsedModel[];
  sources: UnparsedSource[];
  macros: ProjectTextFile[];
  problems: CarelakeError[];
}

export function parseProject(files: ProjectFiles): ParsedProject {
  const { project } = files;
  const problems: CarelakeError[] = files.problems.map(problemError);

  const propertiesByModel = new Map<string, ModelProperties>();
  for (const file of files.propertyFiles) {
    for (const model of file.models) {
      const earlier = propertiesByModel.get(model.name);
      if (earlier) {
        problems.push(
          problemError({
            code: 'models.duplicate_properties',
            kind: 'config',
            message: `Model '${model.name}' has properties in two places: ${earlier.file} and ${model.file}`,
            location: { file: model.file, line: model.line ?? undefined },
            hint: 'describe each model once',
          }),
        );
        continue;
      }
      propertiesByModel.set(model.name, model);
    }
  }

  const models: UnparsedModel[] = [];
  const byName = new Map<string, UnparsedModel>();
  for (const file of files.models) {
    const model = unparsedModel(project, file, propertiesByModel);
    const invalidName = /[\s."']/.test(model.name) || model.name === '';
    if (invalidName) {
      problems.push(
        problemError({
          code: 'models.invalid_name',
          kind: 'config',
          message: `Model file ${file.path} has a name dbt cannot reference ('${model.name}')`,
          location: { file: file.path },
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
          message: `Found two models with the name '${model.name}': ${earlier.path} and ${model.path}`,
          location: { file: model.path },
          hint: 'model names must be unique across the project; rename one file',
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

  return { project, models, sources, macros: files.macros, problems };
}

function unparsedModel(project: ProjectConfig, file: ProjectTextFile, properties: Map<string, ModelProperties>): UnparsedModel {
  const pathInModelDir = file.path.slice(file.root.replace(/\/+$/, '').length + 1);
  const parts = pathInModelDir.split('/');
  const fileName = parts.pop() ?? '';
  const name = fileName.replace(/\.sql$/, '');
  const fqn = [project.name, ...parts, name];
  return {
    uniqueId: `model.${project.name}.${name}`,
    name,
    packageName: project.name,
    path: file.path,
    pathInModelDir,
    fqn,
    rawSql: file.contents,
    checksum: sha256(file.contents),
    folderConfig: mergeConfigLayers(folderConfigLayers(project.models, fqn)),
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
