// A FHIRPath value as SQL: an expression, whether it is a LIST (a FHIRPath collection that may hold
// several items) or a scalar (NULL is the empty collection), the FHIR type of its items, and how items
// are held — a typed primitive, a STRUCT parsed by `from_json`, or JSON. Helpers here turn values into
// the forms operators need. Pure.

import { quoteLiteral } from '../../core/sql.ts';
import { primitiveSqlType, type PrimitiveSqlType } from './fhirModel.ts';
import type { ShapeNode } from './jsonShape.ts';

export type Representation = 'prim' | 'struct' | 'json';

export interface SqlValue {
  sql: string;
  many: boolean;
  /** FHIR type of the items: `string`, `HumanName`, `Patient.contact` (a backbone element), `Patient`. */
  type: string;
  repr: Representation;
  /** For STRUCT items: the shape node their fields are declared on. */
  shape?: ShapeNode;
  /** The struct field the items were read from (through filters), so it can be re-declared as JSON. */
  source?: { node: ShapeNode; name: string };
}

/** Thrown while translating; compileView adds the view path and expression. */
export class FhirPathCompileError extends Error {
  constructor(
    message: string,
    readonly at?: number,
  ) {
    super(message);
  }
}

export function sqlTypeOf(value: SqlValue): PrimitiveSqlType | 'JSON' | 'STRUCT' {
  if (value.repr === 'prim') return primitiveSqlType(value.type) ?? 'VARCHAR';
  return value.repr === 'json' ? 'JSON' : 'STRUCT';
}

export function primitive(sql: string, type: string, many = false): SqlValue {
  return { sql, many, type, repr: 'prim' };
}

export const EMPTY: SqlValue = { sql: 'NULL', many: false, type: 'empty', repr: 'prim' };

/**
 * Whether `sql` is one operand as it stands: a column or field chain, a function call, or a
 * parenthesised or bracketed whole. Anything else is wrapped before `IS NULL`, `[1]` or `.field` is
 * appended (`NOT x IS NULL` would parse as `NOT (x IS NULL)`).
 */
export function isAtomic(sql: string): boolean {
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|"[^"]*"))*$/.test(sql)) return true;
  const head = /^([A-Za-z_][A-Za-z0-9_]*)?[([]/.exec(sql);
  if (!head || (head[1] !== undefined && /^(CASE|NOT|CAST)$/i.test(head[1]) && !sql.startsWith(`${head[1]}(`))) return false;
  // The bracket opened at the head must close at the very end.
  let depth = 0;
  let quote: string | null = null;
  for (let i = head[0].length - 1; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      depth--;
      if (depth === 0) return i === sql.length - 1;
    }
  }
  return false;
}

export function operand(sql: string): string {
  return isAtomic(sql) ? sql : `(${sql})`;
}

/** The collection as a LIST that is never NULL (an absent array or empty scalar becomes []). */
export function asList(value: SqlValue): string {
  if (value.many) return `coalesce(${value.sql}, [])`;
  if (value.sql === 'NULL') return '[]';
  return `CASE WHEN ${operand(value.sql)} IS NULL THEN [] ELSE [${value.sql}] END`;
}

/** Number of items, never NULL. */
export function countOf(value: SqlValue): string {
  return value.many ? `coalesce(len(${value.sql}), 0)` : `CASE WHEN ${operand(value.sql)} IS NULL THEN 0 ELSE 1 END`;
}

export function existsSql(value: SqlValue): string {
  return value.many ? `coalesce(len(${value.sql}), 0) > 0` : `${operand(value.sql)} IS NOT NULL`;
}

/**
 * FHIRPath's singleton evaluation: one item or empty, and an error when a collection holds more. The
 * message is fixed text (DuckDB strips quoted parts from data errors) and never carries a value.
 */
export function singleton(value: SqlValue, what: string): SqlValue {
  if (!value.many) return value;
  const message = quoteLiteral(`${what} returned more than one value`.replace(/'/g, ''));
  return { ...value, many: false, sql: `CASE WHEN len(${value.sql}) > 1 THEN error(${message}) ELSE ${operand(value.sql)}[1] END` };
}
