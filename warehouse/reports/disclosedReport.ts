// A report's rows after disclosure control: every count cell passed through the policy, with a record
// of which cells were suppressed so that a suppressed cell is never confused with a missing value.
// Pure: takes the query result, returns what may be published.

import type { Json } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import { applyToCount, describePolicy, type DisclosurePolicy } from '../disclosure/policy.ts';
import type { ReportDefinition } from './reportDefinitions.ts';

export interface DisclosedReport {
  id: string;
  title: string;
  description: string;
  /** When the data in the release was built (ISO-8601). */
  asOf: string;
  /** The serving release id the rows came from. */
  release: string;
  policy: DisclosurePolicy & { description: string };
  columns: string[];
  /** The columns disclosure control was applied to. */
  countColumns: string[];
  rows: Json[][];
  /** Cells replaced by `null` because they were too small to publish. */
  suppressed: { row: number; column: string }[];
}

export interface ReportSource {
  release: string;
  asOf: string;
  policy: DisclosurePolicy;
}

export function discloseReport(report: ReportDefinition, result: { columns: string[]; rows: Json[][] }, source: ReportSource): DisclosedReport {
  const countIndexes = report.countColumns.map((column) => {
    const index = result.columns.indexOf(column);
    if (index < 0) {
      throw new CarelakeError({
        code: 'reports.count-column-missing',
        kind: 'config',
        message: `Report '${report.id}' lists count column '${column}', which its SQL does not return`,
        location: { file: 'warehouse/reports/reportDefinitions.ts', field: column },
      });
    }
    return index;
  });
  const suppressed: { row: number; column: string }[] = [];
  const rows = result.rows.map((row, rowIndex) => {
    const out = [...row];
    for (const index of countIndexes) {
      const column = result.columns[index]!;
      const count = toCount(row[index] ?? null, report.id, column, rowIndex);
      if (count === null) {
        // Counts are never missing in the commissioner file: a NULL there was suppressed at publish.
        suppressed.push({ row: rowIndex, column });
        continue;
      }
      const disclosed = applyToCount(source.policy, count);
      out[index] = disclosed.value;
      if (disclosed.suppressed) suppressed.push({ row: rowIndex, column });
    }
    return out;
  });
  return {
    id: report.id,
    title: report.title,
    description: report.description,
    asOf: source.asOf,
    release: source.release,
    policy: { ...source.policy, description: describePolicy(source.policy) },
    columns: [...result.columns],
    countColumns: [...report.countColumns],
    rows,
    suppressed,
  };
}

/** DuckDB returns BIGINT counts as decimal text; anything else in a count column is a report bug. */
function toCount(value: Json, reportId: string, column: string, rowIndex: number): number | null {
  if (value === null) return null;
  const count = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(count) || count < 0) {
    // Position only: the value itself never goes into an error.
    throw new CarelakeError({
      code: 'reports.not-a-count',
      kind: 'runtime',
      message: `Report '${reportId}' column '${column}' holds a value that is not a count at row ${rowIndex + 1}`,
      location: { file: 'warehouse/reports/reportDefinitions.ts', field: column },
    });
  }
  return count;
}
