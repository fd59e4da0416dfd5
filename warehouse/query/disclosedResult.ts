// An analyst's aggregate query leaves the server as an export, so its counts pass the same disclosure
// policy as commissioner outputs: each cell of a count column (the outermost `count(…)` items the
// statement check found) is suppressed (NULL) or rounded. This is output checking, not the security
// boundary — analysts may see pseudonymised rows — and it only knows counts it can see: a count
// hidden in a subquery passes as it is (README.md, "Serving").

import type { DuckDBValue } from '@duckdb/node-api';
import { applyToCount, type DisclosurePolicy } from '../disclosure/policy.ts';
import type { QueryRows, ResultSource } from './queryRunner.ts';
import type { StatementCheck } from './statementCheck.ts';

/** The column indexes disclosure applies to, or none when positions cannot be known before running. */
export function disclosedColumnIndexes(statement: StatementCheck): number[] {
  return statement.aggregate && statement.countColumnsExact ? statement.countColumns : [];
}

export function disclosedResult(source: ResultSource, indexes: readonly number[], policy: DisclosurePolicy): ResultSource & { suppressed: number } {
  if (indexes.length === 0) return Object.assign(source, { suppressed: 0 });
  let suppressed = 0;
  const disclose = (value: DuckDBValue): DuckDBValue => {
    if (typeof value !== 'bigint' && typeof value !== 'number') return value;
    const cell = applyToCount(policy, Number(value));
    if (cell.suppressed) suppressed += 1;
    return cell.value === null ? null : typeof value === 'bigint' ? BigInt(cell.value) : cell.value;
  };
  return {
    get columns() {
      return source.columns;
    },
    get rowCount() {
      return source.rowCount;
    },
    get truncated() {
      return source.truncated;
    },
    get suppressed() {
      return suppressed;
    },
    async *[Symbol.asyncIterator](): AsyncIterator<QueryRows> {
      for await (const rows of source) {
        yield rows.map((row) => row.map((value, i) => (indexes.includes(i) ? disclose(value) : value)));
      }
    },
  };
}
