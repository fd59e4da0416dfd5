// Which models reach which serving file, and in what form, is declared beside the models in their
// schema.yml, so the people who write a model decide — in review — what of it may be served:
//
//   models:
//     - name: encounter
//       config: { meta: { serve: analyst } }
//       columns:
//         - { name: person_id, meta: { serve: { token: person } } }      # → person_token
//         - { name: admitted_week }                                       # served as it is
//         - { name: admitted_at, meta: { serve: false } }                 # documented, withheld
//
// Only documented columns are served (minimisation by allow-list: a column added to a model stays out of
// serving until someone documents it). Minimised forms are computed here, not in the model: a birth
// date becomes year of birth and age band at the release date, a postcode its district. Commissioner models are aggregates; every numeric column must say how
// disclosure control treats it, so a count can never be published unnoticed. Pure: manifest in, specs out.

import { CarelakeError } from '../../core/errors.ts';
import { quoteIdent } from '../../core/sql.ts';
import { isIdentifierKind, type IdentifierKind } from '../../transforms/pseudonymisation/pseudonymiser.ts';
import type { Manifest, ManifestNode } from '../../transforms/models/manifest.ts';
import type { ServingAggregateSpec, ServingTableSpec, ServingTokenSpec } from './servingBuild.ts';

export const SERVING_ROLES = ['analyst', 'commissioner'] as const;
export type ServingRole = (typeof SERVING_ROLES)[number];

export interface ServedModelOptions {
  /** The release date: ages are computed at it. */
  asOf: Date;
}

export type ServedModels = Record<ServingRole, ServingTableSpec[]>;

// The outward code of a full UK postcode (`LS1 4AP` → `LS1`); anything else gives NULL, never a guess.
const DISTRICT_SQL = (column: string) =>
  `nullif(regexp_extract(upper(replace(${column}, ' ', '')), '^([A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}$', 1), '')`;

/** ONS five-year bands, 90 and over together: `0-4`, `5-9`, …, `85-89`, `90+`. */
export function ageBandSql(birthDate: string, asOf: Date): string {
  const age = `date_sub('year', ${birthDate}, DATE '${asOf.toISOString().slice(0, 10)}')`;
  return `CASE WHEN ${birthDate} IS NULL OR ${age} < 0 THEN NULL WHEN ${age} >= 90 THEN '90+' ELSE CAST(${age} // 5 * 5 AS VARCHAR) || '-' || CAST(${age} // 5 * 5 + 4 AS VARCHAR) END`;
}

export function servedModels(manifest: Manifest, options: ServedModelOptions): ServedModels {
  const served: ServedModels = { analyst: [], commissioner: [] };
  const problems: string[] = [];
  const nodes = Object.values(manifest.nodes)
    .filter((node) => node.resource_type === 'model' && node.meta.serve !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const node of nodes) {
    const where = `model ${node.name} (${node.patch_path?.replace(/^[^:]+:\/\//, '') ?? node.original_file_path})`;
    const role = node.meta.serve;
    if (role !== 'analyst' && role !== 'commissioner') {
      problems.push(`${where}: meta.serve must be 'analyst' or 'commissioner', got ${JSON.stringify(role)}`);
      continue;
    }
    const spec = role === 'analyst' ? analystTable(node, options, where, problems) : commissionerTable(node, where, problems);
    if (spec) served[role].push(spec);
  }
  if (problems.length > 0) {
    throw new CarelakeError({
      code: 'serving.model-meta',
      kind: 'config',
      message: `The models marked for serving cannot be published:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      hint: 'see README.md, "Serving": meta.serve on the model, and serve/disclosure meta on each served column',
    });
  }
  return served;
}

function documentedColumns(node: ManifestNode, where: string, problems: string[]): { name: string; meta: Record<string, unknown> }[] {
  const columns = Object.values(node.columns).filter((c) => c.meta.serve !== false);
  // Every served column is justified in writing (governance spec, "data minimisation").
  for (const column of columns) {
    if (column.description.trim() === '') problems.push(`${where}: column ${column.name} is served but has no description; describe why it is served, or mark it meta: { serve: false }`);
  }
  if (columns.length === 0) problems.push(`${where}: no column is documented for serving; list each served column under columns:`);
  return columns.map((c) => ({ name: c.name, meta: c.meta }));
}

function analystTable(node: ManifestNode, options: ServedModelOptions, where: string, problems: string[]): ServingTableSpec | null {
  const select: string[] = [];
  const tokens: ServingTokenSpec[] = [];
  for (const column of documentedColumns(node, where, problems)) {
    const col = `m.${quoteIdent(column.name)}`;
    const serve = column.meta.serve;
    if (serve === undefined || serve === true) {
      select.push(col);
    } else if (serve === 'year_of_birth') {
      select.push(`year(${col}) AS year_of_birth`, `${ageBandSql(col, options.asOf)} AS age_band`);
    } else if (serve === 'postcode_district') {
      select.push(`${DISTRICT_SQL(col)} AS postcode_district`);
    } else if (isTokenMeta(serve)) {
      if (!isIdentifierKind(serve.token)) {
        problems.push(`${where}: column ${column.name}: serve.token '${serve.token}' is not an identifier kind`);
        continue;
      }
      select.push(col);
      tokens.push({ column: serve.as ?? `${column.name.replace(/_id$/, '')}_token`, from: column.name, kind: serve.token as IdentifierKind });
    } else {
      problems.push(
        `${where}: column ${column.name}: meta.serve must be true, false, year_of_birth, postcode_district or { token: <kind> }, got ${JSON.stringify(serve)}`,
      );
    }
  }
  if (select.length === 0) return null;
  return {
    name: node.name,
    description: node.description || undefined,
    sql: `SELECT ${select.join(', ')} FROM ${node.relation_name} AS m`,
    ...(tokens.length > 0 ? { tokens } : {}),
  };
}

function isTokenMeta(value: unknown): value is { token: string; as?: string } {
  if (value === null || typeof value !== 'object') return false;
  const { token, as } = value as Record<string, unknown>;
  return typeof token === 'string' && (as === undefined || typeof as === 'string');
}

const DISCLOSURE_KINDS = ['count', 'measure', 'dimension'] as const;

function commissionerTable(node: ManifestNode, where: string, problems: string[]): ServingTableSpec | null {
  const columns = documentedColumns(node, where, problems);
  const aggregate: ServingAggregateSpec = { dimensions: [], declaredDimensions: [], counts: [], measures: [], rates: [] };
  for (const column of columns) {
    const kind = column.meta.disclosure ?? 'dimension';
    if (!DISCLOSURE_KINDS.includes(kind as (typeof DISCLOSURE_KINDS)[number])) {
      problems.push(`${where}: column ${column.name}: meta.disclosure must be count, measure or dimension, got ${JSON.stringify(kind)}`);
    } else if (kind === 'count') {
      aggregate.counts.push(column.name);
    } else if (kind === 'measure') {
      const of = column.meta.of;
      if (typeof of !== 'string') problems.push(`${where}: column ${column.name}: a measure needs meta.of, the count of the people it describes`);
      else aggregate.measures.push({ column: column.name, of, additive: column.meta.additive === true });
    } else {
      aggregate.dimensions.push(column.name);
      // Only a declared dimension may be numeric (a year, an age): publish refuses an undeclared one.
      if (column.meta.disclosure === 'dimension') aggregate.declaredDimensions.push(column.name);
    }
  }
  for (const measure of aggregate.measures) {
    if (!aggregate.counts.includes(measure.of)) problems.push(`${where}: measure ${measure.column} is of '${measure.of}', which is not a count column`);
  }
  if (aggregate.counts.length === 0) problems.push(`${where}: a commissioner model needs at least one column with meta.disclosure: count`);

  const rates = node.meta.rates ?? [];
  if (!Array.isArray(rates)) problems.push(`${where}: meta.rates must be a list`);
  for (const rate of Array.isArray(rates) ? (rates as unknown[]) : []) {
    const r = rate as Record<string, unknown>;
    const per = r.per ?? 1;
    if (typeof r.name !== 'string' || typeof r.numerator !== 'string' || typeof r.denominator !== 'string' || typeof per !== 'number' || per <= 0) {
      problems.push(`${where}: each of meta.rates needs name, numerator and denominator (count columns) and a positive per`);
      continue;
    }
    for (const side of [r.numerator, r.denominator]) {
      if (!aggregate.counts.includes(side)) problems.push(`${where}: rate ${r.name} divides by or into '${side}', which is not a count column`);
    }
    aggregate.rates.push({ column: r.name, numerator: r.numerator, denominator: r.denominator, per });
  }
  const over = node.meta.totals_over;
  if (over !== undefined) {
    if (typeof over !== 'string' || !aggregate.dimensions.includes(over)) problems.push(`${where}: meta.totals_over must name a dimension column, got ${JSON.stringify(over)}`);
    else aggregate.totalsOver = over;
  }
  return {
    name: node.name,
    description: node.description || undefined,
    sql: `SELECT ${columns.map((c) => `m.${quoteIdent(c.name)}`).join(', ')} FROM ${node.relation_name} AS m`,
    aggregate,
  };
}
