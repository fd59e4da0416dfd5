// Translates a parsed FHIRPath expression into one DuckDB SQL expression, using the FHIR R4 model to
// know each step's type and whether it repeats. Navigation reads STRUCT fields (declaring them on the
// view's `from_json` shape as it goes) or JSON paths below a field kept as JSON; filters are
// `list_filter` and list comprehensions, never UNNEST, so `where(...).first()` costs one pass over a
// short list. Functions are looked up in a registry. Nothing is evaluated here: the output is SQL text.
// Pure.

import { quoteIdent, quoteLiteral } from '../../core/sql.ts';
import { boundarySql } from './boundary.ts';
import type { BinaryOperator, FhirPathNode } from './fhirpathAst.ts';
import { choiceFieldName, elementOf, isPrimitive, isResourceType, isTypeOf, primitiveFamily, primitiveSqlType, type ElementInfo } from './fhirModel.ts';
import { asList, countOf, EMPTY, existsSql, FhirPathCompileError, operand, primitive, singleton, type SqlValue } from './sqlValue.ts';

export interface TranslateScope {
  /** `$this`, and the implicit base of a path. */
  focus: SqlValue;
  /** The resource being viewed (for getResourceKey() and %resource). */
  resource: SqlValue;
  /** SQL for `%rowIndex` at this level. */
  rowIndex: string;
  constants: ReadonlyMap<string, SqlValue>;
  names: NameSource;
  /** Shape paths declared JSON (from the previous pass); new needs are recorded in `jsonNeeded`. */
  jsonFields: ReadonlySet<string>;
  jsonNeeded: Set<string>;
  /**
   * Unknown elements read as empty instead of failing. `repeat` needs this: its paths apply at every
   * depth, and some do not exist at some depths (`answer.item` on the resource itself).
   */
  lenient?: boolean;
}

/** Fresh lambda variable names (`it1`, `it2`, …), unique across one view. */
export class NameSource {
  private counters = new Map<string, number>();

  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}${n}`;
  }
}

type FunctionTranslator = (base: SqlValue, call: Extract<FhirPathNode, { kind: 'call' }>, scope: TranslateScope) => SqlValue;

export function translate(node: FhirPathNode, scope: TranslateScope): SqlValue {
  switch (node.kind) {
    case 'literal':
      return literalValue(node);
    case 'empty':
      return EMPTY;
    case 'this':
      return scope.focus;
    case 'variable':
      return variable(node.name, node.at, scope);
    case 'member': {
      const base = node.base === null ? scope.focus : translate(node.base, scope);
      // A path may start with the resource type: `Patient.name`.
      if (node.base === null && base === scope.resource && node.name === scope.resource.type) return base;
      return navigate(base, node.name, node.at, scope);
    }
    case 'call':
      return call(node, scope);
    case 'index':
      return indexed(translate(node.base, scope), node.index, scope);
    case 'unary': {
      const operand = singleton(translate(node.operand, scope), 'a signed expression');
      if (primitiveFamily(operand.type) !== 'number') throw new FhirPathCompileError(`unary ${node.op} needs a number, not ${operand.type}`, node.at);
      return node.op === '-' ? { ...operand, sql: `(-${operand.sql})` } : operand;
    }
    case 'binary':
      return binary(node.op, node.left, node.right, node.at, scope);
    case 'typeTest': {
      const asType = ofType(node.operand, node.type, node.at, scope);
      return node.op === 'as' ? asType : primitive(existsSql(asType), 'boolean');
    }
  }
}

function literalValue(node: Extract<FhirPathNode, { kind: 'literal' }>): SqlValue {
  switch (node.type) {
    case 'string':
    case 'date':
    case 'dateTime':
    case 'time':
      return primitive(quoteLiteral(node.value), node.type);
    case 'boolean':
      return primitive(node.value === 'true' ? 'TRUE' : 'FALSE', 'boolean');
    case 'integer':
      return primitive(`CAST(${node.value} AS BIGINT)`, 'integer');
    case 'decimal':
      return primitive(`CAST(${node.value} AS DOUBLE)`, 'decimal');
  }
}

function variable(name: string, at: number, scope: TranslateScope): SqlValue {
  if (name === 'rowIndex') return primitive(scope.rowIndex, 'integer');
  if (name === 'resource' || name === 'rootResource') return scope.resource;
  const constant = scope.constants.get(name);
  if (constant === undefined) throw new FhirPathCompileError(`%${name} is not defined: add it to the view's "constant" list`, at);
  return constant;
}

/** The element `name` of every item of `base`. */
export function navigate(base: SqlValue, name: string, at: number, scope: TranslateScope): SqlValue {
  // Anything read from nothing is nothing (e.g. after ofType() of a type the choice does not have).
  if (base.type === 'empty') return EMPTY;
  if (base.repr === 'prim') throw new FhirPathCompileError(`'${name}' cannot be read from a ${base.type} value`, at);
  if (base.type === 'Resource') throw new FhirPathCompileError(`'${name}' cannot be read from a contained resource of unknown type`, at);
  const element = elementOf(base.type, name);
  if (element === undefined && scope.lenient) return EMPTY;
  if (element === undefined) throw new FhirPathCompileError(`${base.type} has no element '${name}'`, at);
  if (element.choice) {
    throw new FhirPathCompileError(`'${name}' is a choice element (${name}[x]); pick a type with ${name}.ofType(${element.types[0]})`, at);
  }
  return readField(base, name, element, element.types[0]!, scope);
}

/** Reads field `field` (of FHIR type `type`) from each item of `base`. */
function readField(base: SqlValue, field: string, element: ElementInfo, type: string, scope: TranslateScope): SqlValue {
  const sqlType = primitiveSqlType(type);
  if (base.repr === 'json') return readJsonField(base, field, element.many, type, scope);
  const node = base.shape!;
  const path = node.childPath(field);
  let item: Pick<SqlValue, 'repr' | 'shape'>;
  if (scope.jsonFields.has(path) || type === 'Resource') {
    node.json(field, element.many);
    item = { repr: 'json' };
  } else if (sqlType !== undefined) {
    node.leaf(field, element.many, sqlType);
    item = { repr: 'prim' };
  } else {
    item = { repr: 'struct', shape: node.object(field, element.many) };
  }
  const source = { node, name: field };
  if (!base.many) return { sql: `${operand(base.sql)}.${quoteIdent(field)}`, many: element.many, type, ...item, source };
  const it = scope.names.next('it');
  const read = `${it}.${quoteIdent(field)}`;
  const list = `[${read} FOR ${it} IN ${base.sql} IF ${read} IS NOT NULL]`;
  return { sql: element.many ? `flatten(${list})` : list, many: true, type, ...item, source };
}

/** JSON navigation below a field kept as JSON (inside `repeat`, or a value output whole). */
function readJsonField(base: SqlValue, field: string, many: boolean, type: string, scope: TranslateScope): SqlValue {
  const sqlType = primitiveSqlType(type);
  const step = `.${jsonKey(field)}${many ? '[*]' : ''}`;
  const path = quoteLiteral(`$${step}`);
  const fn = sqlType === undefined ? 'json_extract' : 'json_extract_string';
  const cast = (sql: string, list: boolean) => (sqlType === undefined || sqlType === 'VARCHAR' ? sql : `TRY_CAST(${sql} AS ${sqlType}${list ? '[]' : ''})`);
  const repr = sqlType === undefined ? 'json' : 'prim';
  // One JSON path for a chain of steps: `$.answer[*].item[*]` rather than a comprehension per step
  // (a wildcard path returns the matches of every element, flattened, as FHIRPath navigation does).
  const chain = /^json_extract\((.+), '(\$[A-Za-z0-9_.[\]*]*)'\)$/.exec(base.sql);
  if (chain) {
    const merged = base.many || many;
    return { sql: cast(`${fn}(${chain[1]}, ${quoteLiteral(`${chain[2]}${step}`)})`, merged), many: merged, type, repr };
  }
  if (!base.many) return { sql: cast(`${fn}(${base.sql}, ${path})`, many), many, type, repr };
  const it = scope.names.next('it');
  const read = `${fn}(${it}, ${path})`;
  const list = `[${read} FOR ${it} IN ${base.sql} IF ${read} IS NOT NULL]`;
  return { sql: cast(many ? `flatten(${list})` : list, true), many: true, type, repr };
}

function jsonKey(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : JSON.stringify(name);
}

function indexed(base: SqlValue, indexNode: FhirPathNode, scope: TranslateScope): SqlValue {
  const index = singleton(translate(indexNode, scope), 'an index');
  if (primitiveFamily(index.type) !== 'number') throw new FhirPathCompileError(`an index must be an integer, not ${index.type}`, indexNode.at);
  const position = /^CAST\((\d+) AS BIGINT\)$/.exec(index.sql)?.[1];
  const oneBased = position !== undefined ? String(Number(position) + 1) : `(${index.sql}) + 1`;
  if (base.many) return { ...base, many: false, sql: `${operand(base.sql)}[${oneBased}]` };
  return { ...base, sql: position === '0' ? base.sql : `CASE WHEN ${oneBased} = 1 THEN ${base.sql} END` };
}

// ── operators ──────────────────────────────────────────────────────────────────────────────────────

function binary(op: BinaryOperator, leftNode: FhirPathNode, rightNode: FhirPathNode, at: number, scope: TranslateScope): SqlValue {
  const left = translate(leftNode, scope);
  const right = translate(rightNode, scope);
  switch (op) {
    case 'and':
    case 'or':
    case 'xor':
    case 'implies': {
      const a = booleanOperand(left, op, at);
      const b = booleanOperand(right, op, at);
      const sql = op === 'xor' ? `(${a} <> ${b})` : op === 'implies' ? `((NOT ${a}) OR ${b})` : `(${a} ${op.toUpperCase()} ${b})`;
      return primitive(sql, 'boolean');
    }
    case '=':
    case '!=':
      return equality(left, right, op, at);
    case '~':
    case '!~':
      return equivalence(left, right, op, at);
    case '<':
    case '>':
    case '<=':
    case '>=': {
      const a = singleton(left, `the left side of ${op}`);
      const b = singleton(right, `the right side of ${op}`);
      comparable(a, b, op, at);
      return primitive(`(${a.sql} ${op} ${b.sql})`, 'boolean');
    }
    case '|': {
      if (left.type !== right.type && left.type !== 'empty' && right.type !== 'empty') {
        throw new FhirPathCompileError(`'|' joins collections of one type, not ${left.type} and ${right.type}`, at);
      }
      const typed = left.type === 'empty' ? right : left;
      return { ...typed, many: true, source: undefined, sql: `list_distinct(list_concat(${asList(left)}, ${asList(right)}))` };
    }
    case 'in':
    case 'contains': {
      const [item, collection] = op === 'in' ? [left, right] : [right, left];
      const one = singleton(item, `the item of ${op}`);
      comparable(one, collection, op, at);
      return primitive(`CASE WHEN ${operand(one.sql)} IS NULL THEN NULL ELSE list_contains(${asList(collection)}, ${one.sql}) END`, 'boolean');
    }
    case '&': {
      const a = singleton(left, "the left side of '&'");
      const b = singleton(right, "the right side of '&'");
      return primitive(`(coalesce(${a.sql}, '') || coalesce(${b.sql}, ''))`, 'string');
    }
    case '+':
    case '-':
    case '*':
    case '/':
    case 'div':
    case 'mod':
      return arithmetic(op, singleton(left, `the left side of '${op}'`), singleton(right, `the right side of '${op}'`), at);
  }
}

function booleanOperand(value: SqlValue, op: string, at: number): string {
  if (value.type === 'empty') return 'CAST(NULL AS BOOLEAN)';
  if (primitiveFamily(value.type) !== 'boolean') throw new FhirPathCompileError(`'${op}' needs true/false on both sides, not ${value.type}`, at);
  return singleton(value, `an operand of ${op}`).sql;
}

/** Same family (numbers with numbers, text with text, dates with dates), or one side empty. */
function comparable(a: SqlValue, b: SqlValue, op: string, at: number): void {
  if (a.type === 'empty' || b.type === 'empty') return;
  const fa = primitiveFamily(a.type);
  const fb = primitiveFamily(b.type);
  if (fa === undefined || fb === undefined) throw new FhirPathCompileError(`'${op}' compares primitive values, not ${fa === undefined ? a.type : b.type}`, at);
  if (fa !== fb) throw new FhirPathCompileError(`'${op}' cannot compare ${a.type} with ${b.type}`, at);
}

function equality(left: SqlValue, right: SqlValue, op: '=' | '!=', at: number): SqlValue {
  comparable(left, right, op, at);
  const sqlOp = op === '=' ? '=' : '<>';
  if (!left.many && !right.many) return primitive(`(${left.sql} ${sqlOp} ${right.sql})`, 'boolean');
  // Collections are equal when they hold equal items in the same order; empty on either side is empty.
  const a = asList(left);
  const b = asList(right);
  return primitive(`CASE WHEN len(${a}) = 0 OR len(${b}) = 0 THEN NULL ELSE ${a} ${sqlOp} ${b} END`, 'boolean');
}

function equivalence(left: SqlValue, right: SqlValue, op: '~' | '!~', at: number): SqlValue {
  const a = singleton(left, `the left side of ${op}`);
  const b = singleton(right, `the right side of ${op}`);
  comparable(a, b, op, at);
  const text = primitiveFamily(a.type) === 'string';
  const [x, y] = text ? [`lower(${a.sql})`, `lower(${b.sql})`] : [a.sql, b.sql];
  const same = `(${x} IS NOT DISTINCT FROM ${y})`;
  return primitive(op === '~' ? same : `(NOT ${same})`, 'boolean');
}

function arithmetic(op: '+' | '-' | '*' | '/' | 'div' | 'mod', a: SqlValue, b: SqlValue, at: number): SqlValue {
  const fa = primitiveFamily(a.type);
  const fb = primitiveFamily(b.type);
  if (op === '+' && fa === 'string' && fb === 'string') return primitive(`(${a.sql} || ${b.sql})`, 'string');
  if (fa !== 'number' || fb !== 'number') throw new FhirPathCompileError(`'${op}' needs numbers, not ${a.type} and ${b.type}`, at);
  const integers = primitiveSqlType(a.type) === 'BIGINT' && primitiveSqlType(b.type) === 'BIGINT';
  switch (op) {
    case '/':
      return primitive(`(CAST(${a.sql} AS DOUBLE) / NULLIF(${b.sql}, 0))`, 'decimal');
    case 'div':
      return primitive(`CAST(trunc(${a.sql} / NULLIF(${b.sql}, 0)) AS BIGINT)`, 'integer');
    case 'mod':
      return primitive(`(${a.sql} % NULLIF(${b.sql}, 0))`, integers ? 'integer' : 'decimal');
    default:
      return primitive(`(${a.sql} ${op} ${b.sql})`, integers ? 'integer' : 'decimal');
  }
}

// ── functions ──────────────────────────────────────────────────────────────────────────────────────

function call(node: Extract<FhirPathNode, { kind: 'call' }>, scope: TranslateScope): SqlValue {
  if (node.name === 'ofType') {
    const typeName = typeArgument(node, 0);
    return ofType(node.base, typeName, node.at, scope);
  }
  const fn = Object.hasOwn(FUNCTIONS, node.name) ? FUNCTIONS[node.name] : undefined;
  if (fn === undefined) throw new FhirPathCompileError(`unknown or unsupported function ${node.name}()`, node.at);
  const base = node.base === null ? scope.focus : translate(node.base, scope);
  return fn(base, node, scope);
}

function arity(node: Extract<FhirPathNode, { kind: 'call' }>, min: number, max: number): void {
  if (node.args.length < min || node.args.length > max) {
    const wanted = min === max ? `${min}` : `${min} to ${max}`;
    throw new FhirPathCompileError(`${node.name}() takes ${wanted} argument${max === 1 ? '' : 's'}, not ${node.args.length}`, node.at);
  }
}

/** A type name argument: `ofType(Quantity)`, `getReferenceKey(Patient)`. */
function typeArgument(node: Extract<FhirPathNode, { kind: 'call' }>, index: number): string {
  arity(node, index + 1, index + 1);
  const arg = node.args[index]!;
  if (arg.kind === 'member' && arg.base === null) return arg.name;
  if (arg.kind === 'member' && arg.base?.kind === 'member' && arg.base.base === null && (arg.base.name === 'FHIR' || arg.base.name === 'System')) return arg.name;
  throw new FhirPathCompileError(`${node.name}() takes a type name such as Quantity or Patient`, arg.at);
}

/** `ofType(T)`: on a choice element, the field for that type (`value.ofType(Quantity)` → valueQuantity). */
function ofType(baseNode: FhirPathNode | null, typeName: string, at: number, scope: TranslateScope): SqlValue {
  const wanted = typeName === 'Boolean' || typeName === 'String' || typeName === 'Integer' || typeName === 'Decimal' ? typeName.toLowerCase() : typeName;
  if (baseNode?.kind === 'member') {
    const base = baseNode.base === null ? scope.focus : translate(baseNode.base, scope);
    const element = base.repr === 'prim' || base.type === 'Resource' ? undefined : elementOf(base.type, baseNode.name);
    if (element?.choice) {
      const type = element.types.find((t) => t === wanted || t.toLowerCase() === wanted.toLowerCase());
      if (type === undefined) return EMPTY;
      const fieldElement: ElementInfo = { ...element, types: [type], choice: false };
      return readField(base, choiceFieldName(baseNode.name, type), fieldElement, type, scope);
    }
  }
  const value = baseNode === null ? scope.focus : translate(baseNode, scope);
  if (value.type === 'Resource') throw new FhirPathCompileError(`ofType(${typeName}) on contained resources is not supported`, at);
  return isTypeOf(value.type, wanted) ? value : EMPTY;
}

/** `where(criteria)` with `$this` bound to each item. */
function filter(base: SqlValue, criteria: FhirPathNode, scope: TranslateScope, what: string): SqlValue {
  const it = base.many ? scope.names.next('it') : null;
  const item: SqlValue = { ...base, many: false, sql: it ?? base.sql };
  const condition = translate(criteria, { ...scope, focus: item });
  if (condition.type !== 'empty' && primitiveFamily(condition.type) !== 'boolean') {
    throw new FhirPathCompileError(`${what} needs a true/false condition, not ${condition.type}`, criteria.at);
  }
  const test = singleton(condition, `the condition of ${what}`).sql;
  if (it !== null) return { ...base, sql: `list_filter(${base.sql}, lambda ${it}: ${test})` };
  return { ...base, sql: `CASE WHEN ${test} THEN ${base.sql} END` };
}

function stringArgument(node: Extract<FhirPathNode, { kind: 'call' }>, index: number, scope: TranslateScope): string {
  const value = singleton(translate(node.args[index]!, scope), `argument ${index + 1} of ${node.name}()`);
  if (value.type !== 'empty' && primitiveFamily(value.type) !== 'string') throw new FhirPathCompileError(`${node.name}() takes text, not ${value.type}`, node.args[index]!.at);
  return value.sql;
}

function requireString(base: SqlValue, node: Extract<FhirPathNode, { kind: 'call' }>): SqlValue {
  if (base.type !== 'empty' && primitiveFamily(base.type) !== 'string' && primitiveFamily(base.type) !== 'date') {
    throw new FhirPathCompileError(`${node.name}() works on text, not ${base.type}`, node.at);
  }
  return singleton(base, `the input of ${node.name}()`);
}

/** The id in a reference (`Patient/1`, `Patient/1/_history/2`, `https://…/Patient/1`), optionally of one type only. */
function referenceKeySql(reference: string, type: string | null): string {
  const typePattern = type === null ? '[A-Z][A-Za-z]*' : type;
  const pattern = quoteLiteral(`(?:^|/)${typePattern}/([A-Za-z0-9\\-\\.]{1,64})(?:/_history/[^/]*)?$`);
  return `NULLIF(regexp_extract(${reference}, ${pattern}, 1), '')`;
}

const FUNCTIONS: Readonly<Record<string, FunctionTranslator>> = {
  exists(base, node, scope) {
    arity(node, 0, 1);
    const filtered = node.args[0] ? filter(base, node.args[0], scope, 'exists()') : base;
    return primitive(existsSql(filtered), 'boolean');
  },
  empty(base, node) {
    arity(node, 0, 0);
    return primitive(`NOT (${existsSql(base)})`, 'boolean');
  },
  hasValue(base, node) {
    arity(node, 0, 0);
    return primitive(existsSql(base), 'boolean');
  },
  count(base, node) {
    arity(node, 0, 0);
    return primitive(countOf(base), 'integer');
  },
  first(base, node) {
    arity(node, 0, 0);
    return base.many ? { ...base, many: false, sql: `${operand(base.sql)}[1]` } : base;
  },
  last(base, node) {
    arity(node, 0, 0);
    return base.many ? { ...base, many: false, sql: `${operand(base.sql)}[-1]` } : base;
  },
  single(base, node) {
    arity(node, 0, 0);
    return singleton(base, 'single()');
  },
  where(base, node, scope) {
    arity(node, 1, 1);
    return filter(base, node.args[0]!, scope, 'where()');
  },
  select(base, node, scope) {
    arity(node, 1, 1);
    const it = scope.names.next('it');
    const projected = translate(node.args[0]!, { ...scope, focus: { ...base, many: false, sql: base.many ? it : base.sql } });
    if (!base.many) return projected;
    const list = `[${projected.sql} FOR ${it} IN ${base.sql} IF ${operand(projected.sql)} IS NOT NULL]`;
    return { ...projected, many: true, source: undefined, sql: projected.many ? `flatten(${list})` : list };
  },
  not(base, node) {
    arity(node, 0, 0);
    return primitive(`(NOT ${booleanOperand(base, 'not()', node.at)})`, 'boolean');
  },
  extension(base, node, scope) {
    arity(node, 1, 1);
    const url = stringArgument(node, 0, scope);
    const extensions = navigate(base, 'extension', node.at, scope);
    const it = scope.names.next('it');
    const item: SqlValue = { ...extensions, many: false, sql: it };
    const itemUrl = navigate(item, 'url', node.at, scope);
    return { ...extensions, sql: `list_filter(${extensions.sql}, lambda ${it}: ${itemUrl.sql} = ${url})` };
  },
  getResourceKey(base, node, scope) {
    arity(node, 0, 0);
    if (!isResourceType(base.type)) throw new FhirPathCompileError(`getResourceKey() works on a resource, not ${base.type}`, node.at);
    return navigate(base, 'id', node.at, scope);
  },
  getReferenceKey(base, node, scope) {
    arity(node, 0, 1);
    if (base.type !== 'Reference') throw new FhirPathCompileError(`getReferenceKey() works on a Reference, not ${base.type}`, node.at);
    const type = node.args.length === 1 ? typeArgument(node, 0) : null;
    if (type !== null && !isResourceType(type)) throw new FhirPathCompileError(`getReferenceKey(${type}): ${type} is not a resource type`, node.at);
    const reference = navigate(base, 'reference', node.at, scope);
    if (!reference.many) return primitive(referenceKeySql(reference.sql, type), 'string');
    const it = scope.names.next('it');
    const key = referenceKeySql(it, type);
    return primitive(`[${key} FOR ${it} IN ${reference.sql} IF ${key} IS NOT NULL]`, 'string', true);
  },
  join(base, node, scope) {
    arity(node, 0, 1);
    if (base.type !== 'empty' && primitiveFamily(base.type) !== 'string') throw new FhirPathCompileError(`join() works on text, not ${base.type}`, node.at);
    const separator = node.args.length === 1 ? stringArgument(node, 0, scope) : "''";
    return primitive(`coalesce(array_to_string(${asList(base)}, ${separator}), '')`, 'string');
  },
  lowBoundary(base, node) {
    arity(node, 0, 1);
    return boundarySql(singleton(base, 'lowBoundary()'), 'low', node.at);
  },
  highBoundary(base, node) {
    arity(node, 0, 1);
    return boundarySql(singleton(base, 'highBoundary()'), 'high', node.at);
  },
  lower(base, node) {
    arity(node, 0, 0);
    return primitive(`lower(${requireString(base, node).sql})`, 'string');
  },
  upper(base, node) {
    arity(node, 0, 0);
    return primitive(`upper(${requireString(base, node).sql})`, 'string');
  },
  length(base, node) {
    arity(node, 0, 0);
    return primitive(`length(${requireString(base, node).sql})`, 'integer');
  },
  startsWith(base, node, scope) {
    arity(node, 1, 1);
    return primitive(`starts_with(${requireString(base, node).sql}, ${stringArgument(node, 0, scope)})`, 'boolean');
  },
  endsWith(base, node, scope) {
    arity(node, 1, 1);
    return primitive(`ends_with(${requireString(base, node).sql}, ${stringArgument(node, 0, scope)})`, 'boolean');
  },
  contains(base, node, scope) {
    arity(node, 1, 1);
    return primitive(`contains(${requireString(base, node).sql}, ${stringArgument(node, 0, scope)})`, 'boolean');
  },
  toString(base: SqlValue, node: Extract<FhirPathNode, { kind: 'call' }>) {
    arity(node, 0, 0);
    const one = singleton(base, 'toString()');
    if (!isPrimitive(one.type)) throw new FhirPathCompileError(`toString() works on primitive values, not ${one.type}`, node.at);
    return primitive(`CAST(${one.sql} AS VARCHAR)`, 'string');
  },
};
