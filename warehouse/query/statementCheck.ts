// The statement check for the analyst query path (`POST /api/query`, `carelake query --role analyst`):
// exactly one read-only SELECT, nothing that reaches files, other databases, settings or SQL-in-a-string.
//
// This is defence in depth, not the boundary. The boundary is the serving connection itself
// (warehouse/serving/servingReader.ts): a read-only file opened with `enable_external_access=false`
// and `lock_configuration=true`. The check exists so a refused statement gets a clean 400 naming what
// was refused, and so one engine setting or engine bug is never the only thing between an analyst and
// the file system.
//
// The SQL is parsed by DuckDB's own parser (`json_serialize_sql`, DuckDB 1.5.6, on a private in-memory
// connection, never the serving one), not by regular expressions or a parser of ours: the statement
// is then seen exactly as the engine will see it, so comments, quoting, case, `$$` strings, nested
// comments and semicolons inside literals cannot make the two disagree. `json_serialize_sql` only
// serialises SELECT statements (anything else, alone or after a `;`, comes back as an error object)
// and returns one entry per statement, so "one SELECT" is DuckDB's answer, not a guess. The tree is
// then walked: every table function must be on an allowlist, every function call is checked against
// a denylist, every table reference must be an unqualified (or `main.`) table whose name is not a file
// path, and anything the walk does not recognise is refused (fail closed).

import { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';

export interface StatementCheck {
  /** The statement as sent, trimmed, without a trailing `;` or trailing comment (re-parsed by DuckDB to the same tree). */
  sql: string;
  /** The outermost query groups or aggregates (GROUP BY, GROUP BY ALL, HAVING, or an aggregate in the select list). */
  aggregate: boolean;
  /**
   * Indexes of outermost select-list items that are count(*) / count() / count(x) / count(DISTINCT x) /
   * count_if(…), also under a cast or as a window count. For a UNION etc., an index that is a count in any branch.
   */
  countColumns: number[];
  /**
   * False when a `*`, COLUMNS(…) or unnest(…) precedes a count item in the select list, so that item's
   * result column index cannot be known before running; such items are left out of countColumns.
   */
  countColumnsExact: boolean;
}

/** Longer statements are refused before parsing. */
export const MAX_STATEMENT_LENGTH = 100_000;

/** The only table functions an analyst may call in FROM. Everything else (read_*, query, glob, pragma_*, …) is refused. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'range',
  'generate_series',
  'unnest',
  'json_each',
  'json_tree',
  // Schema discovery; none of these returns file paths or settings (duckdb_databases and duckdb_settings do, and are refused).
  'duckdb_tables',
  'duckdb_columns',
  'duckdb_views',
]);

/** Schemas a table reference may name: the serving tables live in `main`; information_schema holds catalog views only. */
const ALLOWED_SCHEMAS = new Set(['', 'main', 'information_schema']);

const READS_FILES = 'reads files';
const RUNS_SQL = 'runs SQL given as a string';
const SERVER_STATE = 'reads server settings or state';

/** Scalar, aggregate and window functions refused anywhere in the statement (lower case). */
const DENIED_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['getenv', SERVER_STATE],
  ['current_setting', SERVER_STATE],
  ['which_secret', SERVER_STATE],
  ['glob', READS_FILES],
  ['sniff_csv', READS_FILES],
  ['query', RUNS_SQL],
  ['query_table', RUNS_SQL],
  ['json_execute_serialized_sql', RUNS_SQL],
  ['json_serialize_sql', RUNS_SQL],
  ['json_deserialize_sql', RUNS_SQL],
  ['json_serialize_plan', RUNS_SQL],
  ['nextval', 'changes a sequence'],
  ['currval', 'reads a sequence'],
  ['setval', 'changes a sequence'],
  ['write_log', 'writes to the server log'],
  // They block a worker thread without checking for interruption, so the time limit cannot stop them.
  ['sleep_ms', 'blocks the server'],
  ['pg_sleep', 'blocks the server'],
]);

const DENIED_FUNCTION_PREFIXES: readonly (readonly [string, string])[] = [
  ['read_', READS_FILES],
  ['parquet_', READS_FILES],
  ['iceberg_', READS_FILES],
  ['delta_', READS_FILES],
  ['ducklake_', READS_FILES],
  ['sqlite_', READS_FILES],
  ['postgres_', 'reads another database'],
  ['mysql_', 'reads another database'],
  ['pragma_', SERVER_STATE],
  ['duckdb_', SERVER_STATE],
  ['__internal', 'is internal to DuckDB'],
];

/** Aggregates that DuckDB defines as macros, so duckdb_functions() lists them as 'macro'. */
const MACRO_AGGREGATES = ['geomean', 'geometric_mean', 'weighted_avg', 'wavg', 'json_group_array', 'json_group_object', 'json_group_structure'];

const COUNT_FUNCTIONS = new Set(['count', 'count_star', 'count_if', 'countif']);

const QUERY_NODE_TYPES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);
const TABLE_REF_TYPES = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'TABLE_FUNCTION', 'EXPRESSION_LIST', 'EMPTY', 'SHOW_REF']);
/** `SHOW TABLES` and `SHOW ALL TABLES`; SHOW DATABASES (file paths) and the rest are refused. */
const ALLOWED_SHOW_TABLES = new Set(['"tables"', '__show_tables_expanded']);
/** First words of statements that are SELECTs to DuckDB, for naming what was refused. */
const SELECT_HEADS = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'TABLE', '(', 'DESCRIBE', 'SHOW', 'SUMMARIZE']);

const REFUSED_HINT = 'send one read-only SELECT (or WITH … SELECT) over the serving tables; files, other databases and settings are not reachable from analyst queries';

type JsonNode = { [key: string]: unknown };

/**
 * Checks one analyst statement. Parses on `db` when given (a private in-memory DuckDb, never the serving
 * connection), else on a shared private in-memory instance opened on first use.
 * Throws `query.refused` (runtime) naming what was refused, or `query.syntax` (parse) for SQL DuckDB cannot parse.
 */
export async function checkStatement(sql: string, db?: DuckDb, options: { parameters?: boolean } = {}): Promise<StatementCheck> {
  if (sql.includes('\0')) refuse('a statement containing a NUL character');
  if (sql.length > MAX_STATEMENT_LENGTH) refuse(`a statement longer than ${MAX_STATEMENT_LENGTH} characters`);
  const parser = await parserFor(db);
  const text = sql.trim();
  const serialized = await parser.serialize(text);
  const parsed = JSON.parse(serialized) as JsonNode;
  if (parsed.error === true) throw parseFailure(text, parsed);
  const statements = parsed.statements as JsonNode[];
  if (statements.length === 0) refuse('an empty statement (nothing but whitespace, comments or semicolons)');
  if (statements.length > 1) refuse(`${statements.length} statements; send exactly one`);
  const statement = statements[0]!;
  walk(statement.node, options.parameters === true);
  const node = statement.node as JsonNode;
  const aggregates = await parser.aggregates();
  const shape = outputShape(node, aggregates);
  return {
    sql: await normalise(text, serialized, parser),
    aggregate: shape.aggregate,
    countColumns: [...shape.counts].sort((a, b) => a - b),
    countColumnsExact: shape.exact,
  };
}

/** Closes the shared parser instance (tests, shutdown). A later check opens a new one. */
export async function closeStatementParser(): Promise<void> {
  const pending = shared;
  shared = null;
  if (!pending) return;
  const parser = await pending.catch(() => null);
  if (parser) await parser.close();
}

// ---- the parser connection ----------------------------------------------------------------------

class Parser {
  private queue: Promise<unknown> = Promise.resolve();
  private aggregateNames: Promise<Set<string>> | null = null;

  constructor(private readonly db: DuckDb) {}

  /** One call at a time on the connection. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  serialize(text: string): Promise<string> {
    return this.exclusive(async () => String(await this.db.scalar('SELECT json_serialize_sql($1::VARCHAR)', [text], 'parse the query')));
  }

  aggregates(): Promise<Set<string>> {
    this.aggregateNames ??= this.exclusive(async () => {
      const rows = await this.db.table(`SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'aggregate'`, undefined, 'list aggregates');
      return new Set([...rows.rows.map((row) => String(row[0]).toLowerCase()), ...MACRO_AGGREGATES]);
    });
    return this.aggregateNames;
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}

const parsers = new WeakMap<DuckDb, Parser>();
let shared: Promise<Parser> | null = null;

function parserFor(db: DuckDb | undefined): Promise<Parser> {
  if (db) {
    let parser = parsers.get(db);
    if (!parser) {
      parser = new Parser(db);
      parsers.set(db, parser);
    }
    return Promise.resolve(parser);
  }
  shared ??= DuckDb.open(':memory:', {
    // Parsing needs nothing from outside; lock it down like the serving connection anyway.
    settings: { threads: '1', enable_external_access: 'false', lock_configuration: 'true' },
  }).then(
    (opened) => new Parser(opened),
    (err: unknown) => {
      shared = null;
      throw err;
    },
  );
  return shared;
}

// ---- refusals -------------------------------------------------------------------------------------

function refusal(what: string, hint = REFUSED_HINT): CarelakeError {
  return new CarelakeError({ code: 'query.refused', kind: 'runtime', message: `Query refused: ${what}`, hint });
}

function refuse(what: string, hint?: string): never {
  throw refusal(what, hint);
}

/** An error object from json_serialize_sql: a syntax error, or DuckDB saying the input is not (only) SELECTs. */
function parseFailure(text: string, parsed: JsonNode): CarelakeError {
  const type = String(parsed.error_type ?? '');
  const detail = String(parsed.error_message ?? 'unknown error');
  if (type === 'parser') {
    const position = Number(parsed.position);
    const at = Number.isInteger(position) && position >= 0 ? ` (at character ${position + 1})` : '';
    return new CarelakeError({
      code: 'query.syntax',
      kind: 'parse',
      message: `The query could not be parsed: ${detail}${at}`,
      hint: 'check the SQL syntax (DuckDB dialect)',
    });
  }
  return refusal(describeNonSelect(text));
}

/** Names the refused statement(s) for the message only; whether to refuse was DuckDB's decision. */
function describeNonSelect(text: string): string {
  const heads = statementHeads(text);
  if (heads.length > 1) return `${heads.length} statements (${heads.join(', ')}); send exactly one SELECT`;
  const head = heads[0];
  if (head && !SELECT_HEADS.has(head)) return `${head} statement (only a read-only SELECT is allowed)`;
  if (/\b(?:UN)?PIVOT\b/i.test(text)) return 'PIVOT / UNPIVOT, which the statement check cannot inspect; use GROUP BY with FILTER clauses instead';
  return 'a statement that is not a read-only SELECT';
}

/**
 * The first word of each statement, skipping comments and quoted text, split at top-level `;`.
 * Used only to word the refusal message.
 */
export function statementHeads(text: string): string[] {
  const heads: string[] = [];
  let head: string | null = null;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (ch === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') (depth += 1), (i += 2);
        else if (text[i] === '*' && text[i + 1] === '/') (depth -= 1), (i += 2);
        else i += 1;
      }
      continue;
    }
    if (ch === "'" || ch === '"') {
      const escapes = ch === "'" && /[eE]/.test(text[i - 1] ?? '') && !/\w/.test(text[i - 2] ?? '');
      head ??= ch === '"' ? 'identifier' : 'literal';
      i += 1;
      while (i < n) {
        if (escapes && text[i] === '\\') i += 2;
        else if (text[i] === ch && text[i + 1] === ch) i += 2;
        else if (text[i] === ch) break;
        else i += 1;
      }
      i += 1;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64))?.[0];
      if (tag) {
        const end = text.indexOf(tag, i + tag.length);
        head ??= 'literal';
        i = end === -1 ? n : end + tag.length;
        continue;
      }
    }
    if (ch === ';') {
      if (head) heads.push(head);
      head = null;
      i += 1;
      continue;
    }
    if (head === null && /[eE]/.test(ch) && text[i + 1] === "'") {
      i += 1; // E'…' escape string: the quote branch above reads it
      continue;
    }
    if (head === null && /\S/.test(ch)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64))?.[0];
      head = word ? word.toUpperCase() : ch;
      i += word ? word.length : 1;
      continue;
    }
    i += 1;
  }
  if (head) heads.push(head);
  return heads;
}

// ---- the tree walk --------------------------------------------------------------------------------

function isNode(value: unknown): value is JsonNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Visits every object in the serialised statement; what it recognises it checks, what it does not know it refuses. */
/** `parameters`: bound `$name` parameters are allowed (reports bind their filters' values; analysts write values). */
function walk(value: unknown, parameters: boolean): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, parameters);
    return;
  }
  if (!isNode(value)) return;
  if (typeof value.class === 'string') {
    checkExpression(value, parameters);
  } else if (typeof value.type === 'string' && 'query_location' in value) {
    if (checkTableRef(value, parameters)) return;
  } else if (typeof value.type === 'string' && 'modifiers' in value) {
    if (!QUERY_NODE_TYPES.has(value.type)) refuse(`an unsupported query form (${value.type})`);
  }
  for (const child of Object.values(value)) walk(child, parameters);
}

function checkExpression(expr: JsonNode, parameters: boolean): void {
  if (expr.class === 'PARAMETER' && !parameters) refuse('query parameters ($1, ?); write the values into the statement');
  if (typeof expr.function_name === 'string') checkFunction(expr, 'function');
}

/** Scalar, aggregate and window functions. */
function checkFunction(fn: JsonNode, kind: string): void {
  const name = str(fn.function_name).toLowerCase();
  checkFunctionQualifier(fn, name, kind);
  const reason = DENIED_FUNCTIONS.get(name) ?? DENIED_FUNCTION_PREFIXES.find(([prefix]) => name.startsWith(prefix))?.[1];
  if (reason) refuse(`${kind} ${name} (${reason})`);
}

function checkFunctionQualifier(fn: JsonNode, name: string, kind: string): void {
  const catalog = str(fn.catalog).toLowerCase();
  const schema = str(fn.schema).toLowerCase();
  if ((catalog !== '' && catalog !== 'system') || (schema !== '' && schema !== 'main')) {
    refuse(`${kind} ${[catalog, schema, name].filter(Boolean).join('.')} (qualified with another database or schema)`);
  }
}

/** Returns true when it has walked the ref's children itself. */
function checkTableRef(ref: JsonNode, parameters: boolean): boolean {
  const type = str(ref.type);
  if (!TABLE_REF_TYPES.has(type)) refuse(`an unsupported table reference (${type})`);
  if (type === 'BASE_TABLE') checkBaseTable(ref);
  if (type === 'SHOW_REF') checkShow(ref);
  if (type === 'TABLE_FUNCTION') {
    const fn = ref.function;
    if (!isNode(fn) || typeof fn.function_name !== 'string') refuse('an unsupported table function call');
    const name = fn.function_name.toLowerCase();
    checkFunctionQualifier(fn, name, 'table function');
    if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
      const reason = DENIED_FUNCTIONS.get(name) ?? DENIED_FUNCTION_PREFIXES.find(([prefix]) => name.startsWith(prefix))?.[1];
      refuse(
        `table function ${name} (${reason ?? 'not available to analysts'})`,
        `the table functions allowed are ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')}; ${REFUSED_HINT}`,
      );
    }
    // The call itself is allowed; its arguments (which may hold subqueries) are walked like anything else.
    for (const [key, child] of Object.entries(ref)) if (key !== 'function') walk(child, parameters);
    for (const child of Object.values(fn)) walk(child, parameters);
    return true;
  }
  return false;
}

function checkBaseTable(ref: JsonNode): void {
  const catalog = str(ref.catalog_name);
  const schema = str(ref.schema_name);
  const table = str(ref.table_name);
  const shown = [catalog, schema, table].filter(Boolean).join('.');
  if (looksLikePath(table) || looksLikePath(schema) || looksLikePath(catalog)) {
    refuse(`reading a file by name (${JSON.stringify(table)}); only serving tables can be queried`);
  }
  if (catalog !== '') refuse(`table ${shown} (names another database); use the table name alone`);
  if (!ALLOWED_SCHEMAS.has(schema.toLowerCase())) refuse(`table ${shown} (names schema ${schema}); use the table name alone`);
}

/** DuckDB treats an unknown table whose name ends like a file (or is a URL) as a file to scan. */
function looksLikePath(name: string): boolean {
  return /[./\\:*?]/.test(name) || name.startsWith('~');
}

function checkShow(ref: JsonNode): void {
  const showType = str(ref.show_type);
  if ((showType === 'DESCRIBE' || showType === 'SUMMARY') && isNode(ref.query)) return; // the query is walked next
  if (showType === 'SHOW_UNQUALIFIED' && ALLOWED_SHOW_TABLES.has(str(ref.table_name))) return;
  refuse(`SHOW ${str(ref.table_name).replace(/"/g, '').toUpperCase() || showType}; use SHOW TABLES or DESCRIBE <table>`);
}

// ---- output shape ---------------------------------------------------------------------------------

interface Shape {
  aggregate: boolean;
  counts: Set<number>;
  exact: boolean;
}

function outputShape(node: JsonNode, aggregates: ReadonlySet<string>): Shape {
  const type = str(node.type);
  if (type === 'SET_OPERATION_NODE' || type === 'RECURSIVE_CTE_NODE') {
    const left = isNode(node.left) ? outputShape(node.left, aggregates) : emptyShape();
    const right = isNode(node.right) ? outputShape(node.right, aggregates) : emptyShape();
    return { aggregate: left.aggregate || right.aggregate, counts: new Set([...left.counts, ...right.counts]), exact: left.exact && right.exact };
  }
  if (type === 'CTE_NODE') return isNode(node.child) ? outputShape(node.child, aggregates) : emptyShape();
  if (type !== 'SELECT_NODE') return emptyShape();
  const items = Array.isArray(node.select_list) ? node.select_list.filter(isNode) : [];
  const counts = new Set<number>();
  let expanded = false;
  let exact = true;
  items.forEach((item, index) => {
    if (isCount(item)) {
      if (expanded) exact = false;
      else counts.add(index);
    }
    if (expands(item)) expanded = true;
  });
  const grouped =
    (Array.isArray(node.group_expressions) && node.group_expressions.length > 0) ||
    (Array.isArray(node.group_sets) && node.group_sets.length > 0) ||
    isNode(node.having) ||
    node.aggregate_handling === 'FORCE_AGGREGATES';
  return { aggregate: grouped || items.some((item) => containsAggregate(item, aggregates)), counts, exact };
}

function emptyShape(): Shape {
  return { aggregate: false, counts: new Set(), exact: true };
}

function isCount(item: JsonNode): boolean {
  let expr: unknown = item;
  while (isNode(expr) && expr.class === 'CAST') expr = expr.child;
  if (!isNode(expr)) return false;
  return (expr.class === 'FUNCTION' || expr.class === 'WINDOW') && COUNT_FUNCTIONS.has(str(expr.function_name).toLowerCase());
}

/** A select-list item that can become several result columns. */
function expands(item: JsonNode): boolean {
  if (item.class === 'STAR') return true;
  const name = str(item.function_name).toLowerCase();
  return item.class === 'FUNCTION' && (name === 'unnest' || name === 'unpack');
}

/** An aggregate call in this expression, not counting ones inside subqueries (they aggregate their own query). */
function containsAggregate(value: unknown, aggregates: ReadonlySet<string>): boolean {
  if (Array.isArray(value)) return value.some((item) => containsAggregate(item, aggregates));
  if (!isNode(value)) return false;
  if (value.class === 'SUBQUERY') return false;
  if (value.class === 'FUNCTION' && aggregates.has(str(value.function_name).toLowerCase())) return true;
  return Object.values(value).some((child) => containsAggregate(child, aggregates));
}

// ---- normalising ----------------------------------------------------------------------------------

/**
 * Drops a trailing `;` and trailing comments. A cut is kept only if DuckDB parses the shorter text to
 * exactly the same tree (byte-identical JSON, positions included), so it can never change what runs.
 */
async function normalise(text: string, reference: string, parser: Parser): Promise<string> {
  let current = text;
  for (let round = 0; round < 16; round++) {
    const cuts = [current.lastIndexOf(';'), current.lastIndexOf('--'), current.lastIndexOf('/*')]
      .filter((at) => at > 0 && /^(?:;|--[^\n]*|\/\*[\s\S]*|\s)*$/.test(current.slice(at)))
      .sort((a, b) => b - a);
    let cut = false;
    for (const at of cuts) {
      const candidate = current.slice(0, at).trimEnd();
      if (candidate && (await parser.serialize(candidate)) === reference) {
        current = candidate;
        cut = true;
        break;
      }
    }
    if (!cut) break;
  }
  return current;
}
