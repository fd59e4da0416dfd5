// What `docs generate` writes: dbt's target/catalog.json, built from the column rows DuckDB reports in
// information_schema.columns and the relation each node was built as, so docs sites and catalog tools
// that read dbt artifacts read ours; and carelake's own lineage.json, a small sorted node-and-edge list
// for drawing the DAG. Tables are matched to nodes as dbt matches them (schema and name, ignoring
// case); a node whose relation is not in the database is left out, as dbt leaves it out. Columns come
// in ordinal order. Pure: the caller runs the query and writes the files.

import { ARTIFACT_GENERATOR } from './manifest.ts';
import type { SelectableNode } from './selectors.ts';

export const DBT_CATALOG_SCHEMA = 'https://schemas.getdbt.com/dbt/catalog/v1.json';

/** One row of `information_schema.columns` (table_schema, table_name, column_name, ordinal_position, data_type, COLUMN_COMMENT). */
export interface CatalogColumnRow {
  schema: string;
  table: string;
  column: string;
  /** 1-based ordinal position. */
  index: number | bigint | string;
  type: string;
  comment?: string | null;
}

/** The relation a node was built as (or a source reads), and the kind DuckDB reports for it. */
export interface CatalogRelation {
  schema: string;
  identifier: string;
  resourceType: 'model' | 'seed' | 'source';
  type: 'BASE TABLE' | 'VIEW';
}

export interface CatalogInput {
  columns: readonly CatalogColumnRow[];
  /** uniqueId → relation, for every node and source to describe. */
  relations: Readonly<Record<string, CatalogRelation>>;
  /** The database (DuckDB catalog) name, e.g. the file's stem; null when unknown. */
  database?: string | null;
  generatedAt: Date;
  invocationId: string;
  /** Messages from metadata queries that failed; none is written as null, as dbt does. */
  errors?: readonly string[];
}

export interface CatalogColumn {
  type: string;
  index: number;
  name: string;
  comment: string | null;
}

export interface CatalogStat {
  id: string;
  label: string;
  value: boolean | string | number | null;
  include: boolean;
  description: string | null;
}

export interface CatalogTable {
  metadata: { type: string; schema: string; name: string; database: string | null; comment: string | null; owner: string | null };
  columns: Record<string, CatalogColumn>;
  stats: Record<string, CatalogStat>;
  unique_id: string;
}

/** The shape of dbt's target/catalog.json (schema v1). */
export interface Catalog {
  metadata: { dbt_schema_version: typeof DBT_CATALOG_SCHEMA; dbt_version: string; generated_at: string; invocation_id: string; env: Record<string, string> };
  nodes: Record<string, CatalogTable>;
  sources: Record<string, CatalogTable>;
  errors: string[] | null;
}

/** dbt's format_stats with no statistics: DuckDB reports none through this query. */
const NO_STATS: Record<string, CatalogStat> = {
  has_stats: { id: 'has_stats', label: 'Has Stats?', value: false, include: false, description: 'Indicates whether there are statistics for this table' },
};

export function catalogJson(input: CatalogInput): Catalog {
  const byTable = new Map<string, CatalogColumnRow[]>();
  for (const row of input.columns) {
    const key = tableKey(row.schema, row.table);
    byTable.set(key, [...(byTable.get(key) ?? []), row]);
  }

  const nodes: Record<string, CatalogTable> = {};
  const sources: Record<string, CatalogTable> = {};
  for (const uniqueId of Object.keys(input.relations).sort()) {
    const relation = input.relations[uniqueId] as CatalogRelation;
    const rows = byTable.get(tableKey(relation.schema, relation.identifier));
    if (!rows) continue;
    const target = relation.resourceType === 'source' ? sources : nodes;
    target[uniqueId] = tableOf(uniqueId, relation, rows, input.database ?? null);
  }

  return {
    metadata: {
      dbt_schema_version: DBT_CATALOG_SCHEMA,
      dbt_version: ARTIFACT_GENERATOR,
      generated_at: input.generatedAt.toISOString(),
      invocation_id: input.invocationId,
      env: {},
    },
    nodes,
    sources,
    errors: input.errors && input.errors.length > 0 ? [...input.errors] : null,
  };
}

function tableKey(schema: string, table: string): string {
  return `${schema.toLowerCase()}\u0000${table.toLowerCase()}`;
}

function tableOf(uniqueId: string, relation: CatalogRelation, rows: readonly CatalogColumnRow[], database: string | null): CatalogTable {
  const ordered = rows.map((row) => ({ row, index: Number(row.index) })).sort((a, b) => a.index - b.index);
  const columns: Record<string, CatalogColumn> = {};
  for (const { row, index } of ordered) columns[row.column] = { type: row.type, index, name: row.column, comment: blankToNull(row.comment) };
  const first = ordered[0]?.row;
  return {
    metadata: { type: relation.type, schema: first?.schema ?? relation.schema, name: first?.table ?? relation.identifier, database, comment: null, owner: null },
    columns,
    stats: structuredClone(NO_STATS),
    unique_id: uniqueId,
  };
}

function blankToNull(text: string | null | undefined): string | null {
  return text === undefined || text === null || text.trim() === '' ? null : text;
}

// ---- lineage.json ---------------------------------------------------------------------------------

export interface LineageNode {
  id: string;
  name: string;
  resource_type: SelectableNode['resourceType'];
  path: string;
  materialized: string | null;
  tags: string[];
}

export interface LineageEdge {
  from: string;
  to: string;
}

/** carelake's lineage file: nodes by id, edges parent → child by (from, to); parents not among the nodes are left out. */
export interface Lineage {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export function lineageJson(nodes: readonly SelectableNode[]): Lineage {
  const ids = new Set(nodes.map((node) => node.uniqueId));
  const sorted = [...nodes].sort((a, b) => compare(a.uniqueId, b.uniqueId));
  const edges = new Map<string, LineageEdge>();
  for (const node of sorted) {
    for (const parent of node.parents) {
      if (ids.has(parent)) edges.set(`${parent}\u0000${node.uniqueId}`, { from: parent, to: node.uniqueId });
    }
  }
  return {
    nodes: sorted.map((node) => ({
      id: node.uniqueId,
      name: node.name,
      resource_type: node.resourceType,
      path: node.originalFilePath,
      materialized: node.materialized ?? null,
      tags: [...new Set(node.tags)].sort(compare),
    })),
    edges: [...edges.values()].sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to)),
  };
}

/** Code-unit order, independent of locale, so the file is byte-stable across machines. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
