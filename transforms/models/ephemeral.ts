// dbt's ephemeral models: never built, but inlined into each consumer as a CTE named
// `__dbt__cte__<model>`, which is what `ref()` to an ephemeral model renders to. The CTEs go in front of
// the consumer's own: after its `with` (or `with recursive`) when it has one, else as a new `with`. An
// ephemeral model's own SQL already carries the CTEs of the ephemerals it uses, so nesting is enough —
// no flattening. Pure: no I/O.

export const EPHEMERAL_PREFIX = '__dbt__cte__';

export function ephemeralCteName(model: string): string {
  return `${EPHEMERAL_PREFIX}${model}`;
}

/** `sql` with the given CTEs (name → SELECT) in front. */
export function injectCtes(sql: string, ctes: ReadonlyMap<string, string>): string {
  if (ctes.size === 0) return sql;
  const definitions = [...ctes].map(([name, body]) => `${name} as (\n${body.replace(/[\s;]+$/, '')}\n)`).join(',\n');
  const start = leadingTrivia(sql);
  const rest = sql.slice(start);
  const withClause = /^with(\s+recursive)?\s/i.exec(rest);
  if (withClause) {
    const at = start + withClause[0].length;
    return `${sql.slice(0, at)}${definitions},\n${sql.slice(at)}`;
  }
  return `${sql.slice(0, start)}with ${definitions}\n${rest}`;
}

/** Length of the whitespace and comments before the first token. */
function leadingTrivia(sql: string): number {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i] as string)) i += 1;
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}
