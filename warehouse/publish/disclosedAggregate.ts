// Builds an aggregate model's table in a commissioner serving file: every count suppressed or
// rounded by the policy with a `<count>_suppressed` flag beside it; measures (means, FTE) of a
// suppressed count suppressed with it; rates computed here from the published counts (a rate from
// true counts times a published denominator would give the true numerator back) and suppressed with
// either count; and, when the model asks for totals over one dimension, total rows by the policy's
// totals rule. Cells and their total go through `applyToColumn` together, so secondary suppression
// stops a suppressed cell being worked out from the total and its siblings (HES [1, 8, 8] → *, 10, 10,
// 15 would otherwise pin the 1). The true counts never reach the serving file.
//
// Disclosure runs in TypeScript rather than SQL so there is one implementation of the policy (the one
// the property tests check); aggregates are small (cells, not people), so the cost is milliseconds.

import type { CellValue, ColumnType, DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import { quoteIdent } from '../../core/sql.ts';
import { applyToColumn, applyToCount, applyToMean, applyToRate, type DisclosedCount, type DisclosurePolicy } from '../disclosure/policy.ts';

export interface ServingRateSpec {
  column: string;
  numerator: string;
  denominator: string;
  per: number;
}

export interface ServingMeasureSpec {
  column: string;
  /** The count of the people the measure describes: it is suppressed whenever that count is. */
  of: string;
  /** Total rows add it up (FTE); otherwise it is NULL there (a mean). */
  additive: boolean;
}

export interface ServingAggregateSpec {
  dimensions: string[];
  /** Dimensions the model declared (`disclosure: dimension`): only these may be numeric. */
  declaredDimensions: string[];
  counts: string[];
  measures: ServingMeasureSpec[];
  rates: ServingRateSpec[];
  /** Add total rows over this dimension (it is NULL in them, and `is_total` true). */
  totalsOver?: string;
}

export const SUPPRESSED_SUFFIX = '_suppressed';
export const TOTAL_FLAG = 'is_total';

/** The output columns of a disclosed aggregate, in order. */
export function disclosedColumns(spec: ServingAggregateSpec): string[] {
  return [
    ...spec.dimensions,
    ...(spec.totalsOver ? [TOTAL_FLAG] : []),
    ...[...spec.counts, ...spec.measures.map((m) => m.column), ...spec.rates.map((r) => r.column)].flatMap((c) => [c, `${c}${SUPPRESSED_SUFFIX}`]),
  ];
}

interface PublishedRow {
  /** The detail cell the row is (or, for a total, whose dimensions it shares). */
  cell: number;
  total: boolean;
  values: CellValue[];
}

/**
 * Creates `target` from `detailSql` (the model's rows: dimensions, true counts and measures). `tag`
 * keeps the build's temp tables apart from another build's.
 */
export async function buildDisclosedAggregate(
  db: DuckDb,
  target: string,
  detailSql: string,
  spec: ServingAggregateSpec,
  policy: DisclosurePolicy,
  tag: string,
): Promise<void> {
  const q = quoteIdent;
  const cells = `temp.main.${q(`_carelake_cells_${tag}`)}`;
  const published = `_carelake_published_${tag}`;
  const groupBy = spec.totalsOver ? spec.dimensions.filter((d) => d !== spec.totalsOver) : [];
  try {
    await db.run(`CREATE TEMP TABLE ${q(`_carelake_cells_${tag}`)} AS SELECT row_number() OVER () AS _cell, * FROM (${detailSql}) AS d`, undefined, 'number the aggregate cells');
    const groupKey = groupBy.length > 0 ? `to_json([${groupBy.map((d) => `CAST(${q(d)} AS VARCHAR)`).join(', ')}])` : `'all'`;
    const read = await db.table(
      `SELECT _cell, ${groupKey} AS _group, ${[...spec.counts, ...spec.measures.map((m) => m.column)].map((c) => `${q(c)}::DOUBLE`).join(', ')} FROM ${cells} ORDER BY _cell`,
      undefined,
      'read the true counts',
    );
    const rows = disclose(read.rows, spec, policy);

    const types: ColumnType[] = ['BIGINT', 'BOOLEAN', ...disclosedValueColumns(spec).map((c) => c.type)];
    await db.run(
      `CREATE TEMP TABLE ${q(published)} (_cell BIGINT, _total BOOLEAN, ${disclosedValueColumns(spec)
        .map((c) => `${q(c.name)} ${c.type}`)
        .join(', ')})`,
      undefined,
      'create the published cells',
    );
    const appender = await db.rowAppender(published, types, 'main', 'temp');
    try {
      for (const row of rows) appender.appendRow([BigInt(row.cell), row.total, ...row.values]);
    } finally {
      appender.close();
    }
    const values = disclosedValueColumns(spec).map((c) => `p.${q(c.name)}`);
    const dims = (total: boolean) => spec.dimensions.map((d) => (total && d === spec.totalsOver ? `NULL AS ${q(d)}` : `c.${q(d)}`));
    const select = (total: boolean) =>
      `SELECT ${[...dims(total), ...(spec.totalsOver ? [`${total} AS ${q(TOTAL_FLAG)}`] : []), ...values].join(', ')} FROM temp.main.${q(published)} AS p JOIN ${cells} AS c ON c._cell = p._cell WHERE p._total = ${total}`;
    const order = [...(spec.totalsOver ? [q(TOTAL_FLAG)] : []), ...spec.dimensions.map(q)].join(', ');
    await db.run(
      `CREATE TABLE ${target} AS SELECT * FROM (${select(false)}${spec.totalsOver ? ` UNION ALL ${select(true)}` : ''}) ORDER BY ${order}`,
      undefined,
      'write the disclosed aggregate',
    );
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${cells}`).catch(() => undefined);
    await db.run(`DROP TABLE IF EXISTS temp.main.${q(published)}`).catch(() => undefined);
  }
}

function disclosedValueColumns(spec: ServingAggregateSpec): { name: string; type: ColumnType }[] {
  const pair = (name: string, type: ColumnType) => [
    { name, type },
    { name: `${name}${SUPPRESSED_SUFFIX}`, type: 'BOOLEAN' as const },
  ];
  return [
    ...spec.counts.flatMap((c) => pair(c, 'BIGINT')),
    ...spec.measures.flatMap((m) => pair(m.column, 'DOUBLE')),
    ...spec.rates.flatMap((r) => pair(r.column, 'DOUBLE')),
  ];
}

/**
 * Pure: true rows `[cell, group, ...counts, ...measures]` → published rows. Cells of one group (and
 * the group's total, when totals are asked for) are disclosed together, one count column at a time.
 */
export function disclose(trueRows: readonly (readonly unknown[])[], spec: ServingAggregateSpec, policy: DisclosurePolicy): PublishedRow[] {
  const nCounts = spec.counts.length;
  const groups = new Map<string, { cell: number; counts: number[]; measures: (number | null)[] }[]>();
  for (const row of trueRows) {
    const cell = Number(row[0]);
    const counts = spec.counts.map((column, i) => asCount(row[2 + i], column));
    const measures = spec.measures.map((_, i) => asNumber(row[2 + nCounts + i]));
    const group = String(row[1]);
    const members = groups.get(group) ?? [];
    members.push({ cell, counts, measures });
    groups.set(group, members);
  }
  const out: PublishedRow[] = [];
  for (const members of groups.values()) {
    const withTotal = spec.totalsOver !== undefined;
    // published[k][i]: count column k of member i (index members.length is the total).
    const publishedCounts = spec.counts.map((_, k) => {
      const column = members.map((m) => m.counts[k]!);
      if (!withTotal) return column.map((n) => applyToCount(policy, n));
      const disclosed = protectedColumn(policy, column);
      return [...disclosed.cells, disclosed.total];
    });
    const rowsOf = withTotal ? members.length + 1 : members.length;
    for (let i = 0; i < rowsOf; i++) {
      const isTotal = i === members.length;
      const countCell = (column: string): DisclosedCount => publishedCounts[spec.counts.indexOf(column)]![i]!;
      const values: CellValue[] = [];
      for (const k of spec.counts.keys()) values.push(publishedCounts[k]![i]!.value, publishedCounts[k]![i]!.suppressed);
      for (const [j, measure] of spec.measures.entries()) {
        const memberSuppressed = (m: number): boolean => {
          const raw = members[m]!.measures[j]!;
          const of = publishedCounts[spec.counts.indexOf(measure.of)]![m]!;
          return raw !== null && (of.suppressed || applyToMean(policy, { n: members[m]!.counts[spec.counts.indexOf(measure.of)]!, value: raw }).suppressed);
        };
        if (!isTotal) {
          const suppressed = memberSuppressed(i);
          values.push(suppressed ? null : members[i]!.measures[j]!, suppressed);
          continue;
        }
        const raw = measure.additive ? sumOf(members.map((m) => m.measures[j]!)) : null;
        // A total less the published cells would give a suppressed cell's measure back, so it goes too.
        const suppressed = raw !== null && (countCell(measure.of).suppressed || members.some((_, m) => memberSuppressed(m)));
        values.push(suppressed ? null : raw, suppressed);
      }
      for (const rate of spec.rates) {
        const numerator = countCell(rate.numerator);
        const denominator = countCell(rate.denominator);
        const value = numerator.value !== null && denominator.value ? Math.round((numerator.value * rate.per * 100) / denominator.value) / 100 : null;
        const disclosed = applyToRate(policy, { numerator, denominator, value });
        values.push(disclosed.value, disclosed.suppressed);
      }
      out.push({ cell: isTotal ? members[0]!.cell : members[i]!.cell, total: isTotal, values });
    }
  }
  return out;
}

/** A column and its total; a column no suppression can protect is withheld whole rather than published. */
function protectedColumn(policy: DisclosurePolicy, counts: readonly number[]): { cells: DisclosedCount[]; total: DisclosedCount } {
  try {
    return applyToColumn(policy, counts);
  } catch (err) {
    if (!(err instanceof CarelakeError) || err.code !== 'disclosure.column-not-protectable') throw err;
    const hidden: DisclosedCount = { value: null, suppressed: true, secondary: true };
    return { cells: counts.map(() => hidden), total: hidden };
  }
}

function sumOf(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0);
}

function asNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function asCount(value: unknown, column: string): number {
  const n = asNumber(value) ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) {
    // Position only: the value itself never goes into an error.
    throw new CarelakeError({
      code: 'serving.not-a-count',
      kind: 'runtime',
      message: `Count column '${column}' holds a value that is not a count (a non-negative whole number)`,
      hint: 'mark the column disclosure: measure or dimension, or fix the model',
    });
  }
  return n;
}
