// `docs`: the project's documentation artifacts — target/manifest.json (written by the compile),
// target/catalog.json in dbt's shape (every built model, seed and readable source with its columns and
// types as DuckDB reports them) and carelake's target/lineage.json (nodes and parent → child edges,
// for lineage views). Sources over Parquet files are described with DESCRIBE, since they are not
// tables in the database; one that cannot be read yet is listed under `errors`.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DuckDb } from '../../core/duckdb.ts';
import { toCarelakeError } from '../../core/errors.ts';
import { catalogJson, lineageJson, type CatalogColumnRow, type CatalogRelation } from './catalog.ts';
import { compileProject, phaseClock, selectableNodes, writeJson, type CompileOptions } from './runProject.ts';

export async function generateDocs(options: CompileOptions & { db: DuckDb }): Promise<{ nodes: number; sources: number; errors: string[] }> {
  const clock = phaseClock(options);
  const invocationId = options.invocationId ?? randomUUID();
  const project = await compileProject({ ...options, invocationId, clock });
  const { graph } = project;
  const relations: Record<string, CatalogRelation> = {};
  const rows = (await options.db.all(
    `SELECT c.table_schema AS schema, c.table_name AS "table", c.column_name AS "column", c.ordinal_position AS "index", c.data_type AS type, t.table_type
       FROM information_schema.columns c JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
      WHERE c.table_catalog = current_database()`,
    undefined,
    'read the catalog',
  )) as unknown as (CatalogColumnRow & { table_type: string })[];
  const kinds = new Map(rows.map((r) => [`${r.schema}.${r.table}`.toLowerCase(), r.table_type === 'VIEW' ? 'VIEW' : 'BASE TABLE'] as const));

  for (const model of Object.values(graph.models)) {
    if (model.materialized === 'ephemeral') continue;
    const type = kinds.get(`${model.schema}.${model.identifier}`.toLowerCase()) ?? 'BASE TABLE';
    relations[model.uniqueId] = { schema: model.schema, identifier: model.identifier, resourceType: model.model.resourceType, type };
  }
  const columns: CatalogColumnRow[] = [...rows];
  const errors: string[] = [];
  for (const source of Object.values(graph.sources)) {
    relations[source.uniqueId] = { schema: source.schema, identifier: source.identifier, resourceType: 'source', type: source.location === null ? 'BASE TABLE' : 'VIEW' };
    if (source.location === null) continue;
    try {
      const described = await options.db.all(`DESCRIBE SELECT * FROM ${source.relation}`, undefined, `describe ${source.uniqueId}`);
      described.forEach((d, i) => columns.push({ schema: source.schema, table: source.identifier, column: String(d.column_name), index: i + 1, type: String(d.column_type) }));
    } catch (err) {
      errors.push(`${source.uniqueId}: ${toCarelakeError(err).message.split('\n')[0]}`);
    }
  }

  const target = join(options.projectDir, project.targetPath);
  const catalog = catalogJson({ columns, relations, generatedAt: new Date(clock()), invocationId, errors });
  await writeJson(join(target, 'catalog.json'), catalog);
  await writeJson(join(target, 'lineage.json'), lineageJson(selectableNodes(graph)));
  return { nodes: Object.keys(catalog.nodes).length, sources: Object.keys(catalog.sources).length, errors };
}
