// Compiles a SQL on FHIR v2 ViewDefinition into one DuckDB SELECT. Each resource is parsed once by
// `from_json` into a STRUCT holding only the fields the view reads, and the view's `where` filters
// those rows. Every iteration then adds one CTE step that multiplies rows with a select-list UNNEST:
// `forEach`/`forEachOrNull` unnest their items numbered for %rowIndex; `unionAll` unnests its branch
// numbers, and the steps and columns inside a branch apply to that branch's rows only; sibling selects
// multiply in turn. Select-list UNNEST, unlike a LATERAL join, needs no decorrelation join on the
// resource struct (about seven times faster measured). Only `repeat` (a recursive CTE walking JSON in
// document order) is a lateral join. Columns are plain expressions (see fhirpathToSql.ts). `json` mode
// emits every column as JSON for viewRows(); `typed` mode real SQL types for warehouse tables.
// Invalid views throw before any SQL exists. Pure: it returns text.

import { CarelakeError } from '../../core/errors.ts';
import { quoteIdent, quoteLiteral } from '../../core/sql.ts';
import { primitiveFamily, primitiveSqlType } from './fhirModel.ts';
import type { FhirPathNode } from './fhirpathAst.ts';
import { FhirPathSyntaxError } from './fhirpathLexer.ts';
import { parseFhirPath } from './fhirpathParser.ts';
import { NameSource, translate, type TranslateScope } from './fhirpathToSql.ts';
import { ShapeNode } from './jsonShape.ts';
import { asList, EMPTY, FhirPathCompileError, primitive, singleton, type SqlValue } from './sqlValue.ts';
import { invalidViewError, parseViewDefinition, type ViewColumn, type ViewDefinition, type ViewSelect } from './viewDefinition.ts';

export type ViewMode = 'json' | 'typed';

export interface CompileViewOptions {
  /** A relation with a `resource` VARCHAR column of resource JSON: `"raw"."observation"` or `(SELECT …)`. */
  from: string;
  mode: ViewMode;
  /** Columns of `from` copied onto every row after the view's columns (lineage: _source, _run_id, …). */
  passThrough?: string[];
  /** The view's file, for error messages. */
  file?: string;
}

export interface CompiledColumn {
  name: string;
  /** The declared FHIR type, else the one inferred from the path (`string` when unknown). */
  type: string;
  collection: boolean;
  /** The column's SQL type: JSON in json mode; VARCHAR, BOOLEAN, BIGINT, DOUBLE or a LIST of one in typed mode. */
  sqlType: string;
}

export interface CompiledView {
  name: string;
  resource: string;
  sql: string;
  columns: CompiledColumn[];
}


interface OutputColumn {
  name: string;
  /** The value before mode conversion (complex values are already JSON). */
  value: SqlValue;
  column: ViewColumn;
  /** Set for a column that a unionAll produces: the branch number column and each branch's column. */
  union?: { alias: string; branches: OutputColumn[] };
}

/** One CTE step: `<name> AS (SELECT … FROM <previous step>)`. */
interface Step {
  name: string;
  /** The step's body, given the name of the step before it. */
  body: (previous: string) => string;
}

/** Pass state: the shape being declared, names, and the JSON fields carried between passes. */
interface Pass {
  view: ViewDefinition;
  options: CompileViewOptions;
  names: NameSource;
  constants: Map<string, SqlValue>;
  resource: SqlValue;
  jsonFields: ReadonlySet<string>;
  jsonNeeded: Set<string>;
  steps: Step[];
}

const RESOURCE = 'res';

export function compileViewDefinition(input: unknown, options: CompileViewOptions): CompiledView {
  const view = parseViewDefinition(input, options.file);
  const passThrough = options.passThrough ?? [];
  for (const name of passThrough) {
    if (name === RESOURCE || view.select.some((s) => columnNames(s).includes(name))) {
      throw invalidViewError([{ path: 'select', message: `column '${name}' clashes with a pass-through column of the same name` }], options.file);
    }
  }
  // Pass 1 learns which struct fields must be kept as JSON (repeat roots, whole complex values);
  // pass 2 compiles with them declared so. A third pass is a safety net and never needed in practice.
  let jsonFields = new Set<string>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const pass = compilePass(view, options, jsonFields);
    const missing = [...pass.jsonNeeded].filter((f) => !jsonFields.has(f));
    if (missing.length === 0) return pass.compiled;
    jsonFields = new Set([...jsonFields, ...missing]);
  }
  throw new CarelakeError({ code: 'sof.internal', kind: 'internal', message: `ViewDefinition ${options.file ?? view.name ?? ''}: JSON field marking did not settle` });
}

function columnNames(select: ViewSelect): string[] {
  return [...(select.column ?? []).map((c) => c.name), ...(select.select ?? []).flatMap(columnNames), ...(select.unionAll ?? []).flatMap(columnNames)];
}

function compilePass(view: ViewDefinition, options: CompileViewOptions, jsonFields: ReadonlySet<string>): { compiled: CompiledView; jsonNeeded: Set<string> } {
  const shape = new ShapeNode('');
  shape.leaf('resourceType', false, 'VARCHAR');
  const pass: Pass = {
    view,
    options,
    names: new NameSource(),
    constants: new Map(view.constant.map((c) => [c.name, constantValue(c.type, c.value)])),
    resource: { sql: RESOURCE, many: false, type: view.resource, repr: 'struct', shape },
    jsonFields,
    jsonNeeded: new Set(),
    steps: [],
  };
  const root: Level = { focus: pass.resource, rowIndex: 'CAST(0 AS BIGINT)' };
  const filters = view.where.map((w, i) => whereSql(w.path, `where[${i}].path`, root, pass));
  const outputs = view.select.flatMap((s, i) => compileSelect(s, `select[${i}]`, root, null, pass));
  const rendered = outputs.map((o) => renderColumn(o, options.mode));

  const passThrough = options.passThrough ?? [];
  const keep = passThrough.map((c) => `,\n    src.${quoteIdent(c)}`).join('');
  const where = [`${RESOURCE}."resourceType" = ${quoteLiteral(view.resource)}`, ...filters.map((f) => `(${f})`)];
  const ctes = [
    `resources AS (\n  SELECT\n    from_json(src."resource", ${quoteLiteral(shape.render())}) AS ${RESOURCE}${keep}\n  FROM ${options.from} AS src\n)`,
    `viewed AS (\n  SELECT * FROM resources\n  WHERE ${where.join('\n    AND ')}\n)`,
  ];
  let previous = 'viewed';
  for (const step of pass.steps) {
    ctes.push(`${step.name} AS (\n${step.body(previous)}\n)`);
    previous = step.name;
  }
  const select = [...rendered.map((r) => `  ${r.sql} AS ${quoteIdent(r.meta.name)}`), ...passThrough.map((c) => `  ${quoteIdent(c)}`)];
  const sql = `WITH ${ctes.join(',\n')}\nSELECT\n${select.join(',\n')}\nFROM ${previous}`;
  return {
    compiled: { name: view.name ?? view.resource.toLowerCase(), resource: view.resource, sql, columns: rendered.map((r) => r.meta) },
    jsonNeeded: pass.jsonNeeded,
  };
}

interface Level {
  focus: SqlValue;
  rowIndex: string;
}

function scopeOf(level: Level, pass: Pass): TranslateScope {
  return {
    focus: level.focus,
    resource: pass.resource,
    rowIndex: level.rowIndex,
    constants: pass.constants,
    names: pass.names,
    jsonFields: pass.jsonFields,
    jsonNeeded: pass.jsonNeeded,
  };
}

function constantValue(type: string, value: string | number | boolean): SqlValue {
  if (typeof value === 'boolean') return primitive(value ? 'TRUE' : 'FALSE', 'boolean');
  if (typeof value === 'number') return primitive(`CAST(${String(value)} AS ${primitiveSqlType(type) ?? 'DOUBLE'})`, type);
  return primitive(quoteLiteral(value), type);
}

/** Parses and translates one expression, turning its errors into view errors at `path`. */
function expression(source: string, path: string, level: Level, pass: Pass, lenient = false): SqlValue {
  let ast: FhirPathNode;
  try {
    ast = parseFhirPath(source);
    return translate(ast, { ...scopeOf(level, pass), lenient });
  } catch (err) {
    if (err instanceof FhirPathSyntaxError || err instanceof FhirPathCompileError) {
      const at = err.at === undefined ? '' : ` (at character ${err.at + 1})`;
      const kind = err instanceof FhirPathSyntaxError ? 'is not valid FHIRPath' : 'cannot be compiled';
      throw invalidViewError([{ path, message: `'${source}' ${kind}: ${err.message}${at}` }], pass.options.file);
    }
    throw err;
  }
}

function whereSql(source: string, path: string, level: Level, pass: Pass): string {
  const value = expression(source, path, level, pass);
  if (value.type !== 'empty' && primitiveFamily(value.type) !== 'boolean') {
    throw invalidViewError([{ path, message: `'${source}' must be true or false for each resource, but it is ${value.type}` }], pass.options.file);
  }
  return singleton(value, `where ${path}`).sql;
}

/**
 * The output columns of a select, adding the steps its iterations need. `guard` is set inside a unionAll
 * branch: the SQL condition true on that branch's rows, whose steps must leave other rows alone.
 */
function compileSelect(select: ViewSelect, path: string, parent: Level, guard: string | null, pass: Pass): OutputColumn[] {
  const level = iterate(select, path, parent, guard, pass);
  const columns: OutputColumn[] = (select.column ?? []).map((column, i) => {
    const where = `${path}.column[${i}].path`;
    return { name: column.name, column, value: asJson(expression(column.path, where, level, pass), where, pass) };
  });
  for (const [i, nested] of (select.select ?? []).entries()) columns.push(...compileSelect(nested, `${path}.select[${i}]`, level, guard, pass));
  if (select.unionAll) {
    const alias = pass.names.next('union');
    const numbers = `[${select.unionAll.map((_, i) => i + 1).join(', ')}]`;
    pass.steps.push({ name: `${alias}_rows`, body: (previous) => `  SELECT *, unnest(${guarded(guard, numbers, '[0]')}) AS ${alias}\n  FROM ${previous}` });
    const branches = select.unionAll.map((b, i) => {
      const branchGuard = guard === null ? `${alias} = ${i + 1}` : `${guard} AND ${alias} = ${i + 1}`;
      return compileSelect(b, `${path}.unionAll[${i}]`, level, branchGuard, pass);
    });
    for (const [i, c] of branches[0]!.entries()) {
      columns.push({ ...c, union: { alias, branches: branches.map((b) => b[i]!) } });
    }
  }
  return columns;
}

/** Inside a unionAll branch, other branches' rows pass a step unchanged (one NULL item each). */
function guarded(guard: string | null, list: string, passThrough = '[NULL]'): string {
  return guard === null ? list : `CASE WHEN ${guard} THEN ${list} ELSE ${passThrough} END`;
}

/** The focus and %rowIndex of a select's rows, adding the step that iterates when it has one. */
function iterate(select: ViewSelect, path: string, parent: Level, guard: string | null, pass: Pass): Level {
  if (select.forEach !== undefined || select.forEachOrNull !== undefined) {
    const orNull = select.forEach === undefined;
    const source = (select.forEach ?? select.forEachOrNull)!;
    const items = expression(source, `${path}.${orNull ? 'forEachOrNull' : 'forEach'}`, parent, pass);
    const alias = pass.names.next('each');
    const list = asList(items);
    // Items numbered from 1 (DuckDB's lambda index) for %rowIndex; forEachOrNull's empty case is one NULL item.
    const numbered = `list_transform(${list}, lambda item, ord: {'item': item, 'ord': ord})`;
    const iteration = orNull ? `CASE WHEN len(${list}) > 0 THEN ${numbered} ELSE [NULL] END` : numbered;
    pass.steps.push({ name: `${alias}_rows`, body: (previous) => `  SELECT *, unnest(${guarded(guard, iteration)}) AS ${alias}\n  FROM ${previous}` });
    const rowIndex = orNull ? `(coalesce(${alias}.ord, 1) - 1)` : `(${alias}.ord - 1)`;
    return { focus: { ...items, many: false, sql: `${alias}.item` }, rowIndex };
  }
  if (select.repeat !== undefined) return repeat(select.repeat, `${path}.repeat`, parent, guard, pass);
  return parent;
}

/**
 * `repeat`: the items the paths reach from the focus, then from each of those, to any depth, in
 * document order (depth first, as the paths list them), which is the order %rowIndex counts in. Items
 * are JSON, since a recursive element cannot be a STRUCT; recursion needs a recursive CTE, joined
 * laterally per row.
 */
function repeat(paths: string[], path: string, parent: Level, guard: string | null, pass: Pass): Level {
  const alias = pass.names.next('walk');
  const seeds = paths.map((p, i) => asJson(expression(p, `${path}[${i}]`, parent, pass, true), `${path}[${i}]`, pass));
  const reached = seeds.filter((s) => s.type !== 'empty');
  if (reached.length === 0) {
    // No path exists on the focus's type: the select has no rows (other union branches keep theirs).
    pass.steps.push({ name: `${alias}_rows`, body: (previous) => `  SELECT *, NULL AS ${alias}\n  FROM ${previous}\n  WHERE ${guard === null ? 'FALSE' : `NOT (${guard})`}` });
    return { focus: EMPTY, rowIndex: parent.rowIndex };
  }
  const type = reached[0]!.type;
  for (const [i, seed] of seeds.entries()) {
    if (seed.type === 'empty') continue;
    if (seed.repr === 'prim') throw invalidViewError([{ path: `${path}[${i}]`, message: `'${paths[i]}' reaches ${seed.type} values; repeat needs elements` }], pass.options.file);
    if (seed.type !== type) throw invalidViewError([{ path: `${path}[${i}]`, message: `'${paths[i]}' reaches ${seed.type}, but another path reaches ${type}; repeat paths must reach one type` }], pass.options.file);
  }
  const node: SqlValue = { sql: `${alias}.node`, many: false, type, repr: 'json' };
  const children = paths.map((p, i) => expression(p, `${path}[${i}]`, { focus: node, rowIndex: parent.rowIndex }, pass, true));
  const concat = (values: SqlValue[]) => {
    const lists = values.filter((v) => v.type !== 'empty').map(asList);
    return lists.length === 0 ? '[]::JSON[]' : lists.reduce((a, b) => `list_concat(${a}, ${b})`);
  };
  const walk = [
    `  WITH RECURSIVE ${alias}(node, pos) AS (`,
    `    SELECT seed.node, [seed.ord] FROM unnest(${guarded(guard, concat(seeds), '[]::JSON[]')}) WITH ORDINALITY AS seed(node, ord)`,
    '    UNION ALL',
    `    SELECT child.node, list_append(${alias}.pos, child.ord) FROM ${alias}, unnest(${concat(children)}) WITH ORDINALITY AS child(node, ord)`,
    '  )',
    `  SELECT {'item': node, 'ord': row_number() OVER (ORDER BY pos)} AS ${alias} FROM ${alias}`,
  ].join('\n  ');
  pass.steps.push({
    name: `${alias}_rows`,
    body: (previous) =>
      guard === null
        ? `  SELECT *\n  FROM ${previous}\n  CROSS JOIN LATERAL (\n  ${walk}\n  )`
        : // Other branches' rows pass with a NULL item; this branch's rows need at least one item.
          `  SELECT *\n  FROM ${previous}\n  LEFT JOIN LATERAL (\n  ${walk}\n  ) ON TRUE\n  WHERE ${alias} IS NOT NULL OR NOT (${guard})`,
  });
  return { focus: { ...node, sql: `${alias}.item` }, rowIndex: `(${alias}.ord - 1)` };
}

/** A complex value needed whole: its struct field is declared JSON on the next pass. */
function asJson(value: SqlValue, path: string, pass: Pass): SqlValue {
  if (value.repr !== 'struct') return value;
  if (value.source === undefined) {
    throw invalidViewError([{ path, message: `a whole ${value.type} can only be output or repeated when it is read from an element` }], pass.options.file);
  }
  pass.jsonNeeded.add(value.source.node.childPath(value.source.name));
  return { ...value, repr: 'json' };
}

interface RenderedColumn {
  sql: string;
  meta: CompiledColumn;
}

/** A column's final SQL and metadata for the mode; a union column picks its branch's expression. */
function renderColumn(output: OutputColumn, mode: ViewMode): RenderedColumn {
  if (output.union !== undefined) {
    const branches = output.union.branches.map((b) => renderColumn(b, mode));
    const first = branches[0]!.meta;
    // Typed columns whose branches disagree meet as VARCHAR.
    const agreed = branches.every((b) => b.meta.sqlType === first.sqlType);
    const meta = agreed ? first : { ...first, sqlType: first.collection ? 'VARCHAR[]' : 'VARCHAR' };
    const whens = branches.map((b, i) => `WHEN ${i + 1} THEN ${agreed ? b.sql : `CAST(${b.sql} AS ${meta.sqlType})`}`);
    return { sql: `CASE ${output.union.alias} ${whens.join(' ')} END`, meta };
  }
  const { column, value } = output;
  const sql = column.collection === true ? asList(value) : singleton(value, `column ${column.name}`).sql;
  const meta = columnMeta(output, mode);
  if (mode === 'json') return { sql: `to_json(${sql})`, meta };
  const natural = value.repr === 'prim' ? (primitiveSqlType(value.type) ?? 'VARCHAR') : 'JSON';
  if (natural === meta.sqlType.replace(/\[\]$/, '')) return { sql, meta };
  const cast = value.repr === 'json' ? 'CAST' : 'TRY_CAST';
  return { sql: `${cast}(${sql} AS ${meta.sqlType})`, meta };
}

function columnMeta(output: OutputColumn, mode: ViewMode): CompiledColumn {
  const { column, value } = output;
  const collection = column.collection === true;
  const inferred = value.type === 'empty' ? 'string' : value.type;
  const type = column.type ?? inferred;
  // Declared or inferred, a primitive keeps its SQL type (dates stay text: FHIR dates may be partial);
  // anything else is text.
  const scalar = primitiveSqlType(type) ?? 'VARCHAR';
  const sqlType = mode === 'json' ? 'JSON' : collection ? `${scalar}[]` : scalar;
  return { name: column.name, type, collection, sqlType };
}
