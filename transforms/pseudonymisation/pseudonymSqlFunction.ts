// `pseudonym(kind VARCHAR, value VARCHAR) -> VARCHAR` for SQL models: the keyed token of an
// identifier, computed by the same Pseudonymiser the serving publish uses, so a token made in a model
// equals the one serving makes for the same kind and value and the two keep linking.
//
// Why a UDF here when servingBuild.ts prefers a temp mapping table: models are SQL files, and the
// curated tables must hold tokens rather than identifiers, so the tokenising has to be callable from
// SQL. The function lives in the connection's catalog only; the key stays in this closure and never
// appears in SQL text, in the database file or in an error. Workforce tables are small (tens of
// thousands of rows), where the UDF's per-row cost does not matter.
//
// A view must not call it: anyone who opens the warehouse without registering the function (an
// engineer's `carelake query`, a dbt run) could not read the view. Call it from table models only.

import { DuckDBScalarFunction, VARCHAR, type DuckDBVector } from '@duckdb/node-api';
import type { DuckDb } from '../../core/duckdb.ts';
import { IDENTIFIER_KINDS, isIdentifierKind, type Pseudonymiser } from './pseudonymiser.ts';

export const PSEUDONYM_SQL_FUNCTION = 'pseudonym';

/** Registers `pseudonym(kind, value)` on `db`'s connection, backed by `pseudonymiser`. */
export function registerPseudonymFunction(db: DuckDb, pseudonymiser: Pseudonymiser): void {
  db.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: PSEUDONYM_SQL_FUNCTION,
      parameterTypes: [VARCHAR, VARCHAR],
      returnType: VARCHAR,
      // Default NULL handling: DuckDB answers NULL for a NULL argument without calling us.
      mainFunction: (info, input, output) => {
        const kinds = input.getColumnVector(0) as DuckDBVector<string>;
        const values = input.getColumnVector(1) as DuckDBVector<string>;
        const out = output as DuckDBVector<string>;
        for (let row = 0; row < input.rowCount; row++) {
          const kind = kinds.getItem(row);
          if (kind === null || !isIdentifierKind(kind)) {
            // The kind is a literal in model SQL, never data; the value is not echoed.
            info.setError(`${PSEUDONYM_SQL_FUNCTION}(kind, value): kind must be one of ${IDENTIFIER_KINDS.join(', ')}`);
            return;
          }
          out.setItem(row, pseudonymiser.token(kind, values.getItem(row)));
        }
        out.flush();
      },
    }),
  );
}
