// What the compiler knows about FHIR R4 types, from the generated model: the elements of a type (with
// inheritance, e.g. Age → Quantity, Patient → DomainResource → Resource), whether an element repeats,
// the types of a choice element, and how a FHIR primitive is held in SQL. Knowing this before running
// is what lets a path compile to a plain struct field read instead of a run-time type test. Pure.

import { R4_ELEMENTS, R4_PARENT_TYPES } from './fhirR4Model.generated.ts';

export interface ElementInfo {
  name: string;
  /** The element repeats (a JSON array). */
  many: boolean;
  /** One type, or several for a choice element (`value[x]`). Backbone elements are typed by their path. */
  types: readonly string[];
  choice: boolean;
}

/** The SQL type holding each FHIR primitive. Dates stay text: FHIR dates may be partial (`2020-03`). */
export type PrimitiveSqlType = 'VARCHAR' | 'BOOLEAN' | 'BIGINT' | 'DOUBLE';

const PRIMITIVE_SQL_TYPES: Readonly<Record<string, PrimitiveSqlType>> = {
  boolean: 'BOOLEAN',
  integer: 'BIGINT',
  positiveInt: 'BIGINT',
  unsignedInt: 'BIGINT',
  integer64: 'BIGINT',
  decimal: 'DOUBLE',
  string: 'VARCHAR',
  code: 'VARCHAR',
  id: 'VARCHAR',
  uri: 'VARCHAR',
  url: 'VARCHAR',
  canonical: 'VARCHAR',
  markdown: 'VARCHAR',
  oid: 'VARCHAR',
  uuid: 'VARCHAR',
  base64Binary: 'VARCHAR',
  xhtml: 'VARCHAR',
  date: 'VARCHAR',
  dateTime: 'VARCHAR',
  instant: 'VARCHAR',
  time: 'VARCHAR',
};

/** The SQL type of a FHIR primitive type name, or undefined for a complex type. */
export function primitiveSqlType(type: string): PrimitiveSqlType | undefined {
  return Object.hasOwn(PRIMITIVE_SQL_TYPES, type) ? PRIMITIVE_SQL_TYPES[type] : undefined;
}

export function isPrimitive(type: string): boolean {
  return primitiveSqlType(type) !== undefined;
}

/** Numbers compare and add with each other; strings, dates and booleans only with their own kind. */
export type PrimitiveFamily = 'boolean' | 'number' | 'string' | 'date' | 'time';

export function primitiveFamily(type: string): PrimitiveFamily | undefined {
  const sqlType = primitiveSqlType(type);
  if (sqlType === undefined) return undefined;
  if (sqlType === 'BOOLEAN') return 'boolean';
  if (sqlType === 'BIGINT' || sqlType === 'DOUBLE') return 'number';
  if (type === 'date' || type === 'dateTime' || type === 'instant') return 'date';
  if (type === 'time') return 'time';
  return 'string';
}

export function isResourceType(type: string): boolean {
  let current: string | undefined = type;
  while (current !== undefined) {
    if (current === 'Resource') return type !== 'Resource' && type !== 'DomainResource';
    current = R4_PARENT_TYPES[current];
  }
  return false;
}

/** A type's parent: the declared one, BackboneElement for a backbone path. */
function parentType(type: string): string | undefined {
  if (Object.hasOwn(R4_PARENT_TYPES, type)) return R4_PARENT_TYPES[type];
  return type.includes('.') ? 'BackboneElement' : undefined;
}

const parsed = new Map<string, Map<string, ElementInfo>>();

function ownElements(type: string): Map<string, ElementInfo> | undefined {
  const cached = parsed.get(type);
  if (cached) return cached;
  if (!Object.hasOwn(R4_ELEMENTS, type)) return undefined;
  const elements = new Map<string, ElementInfo>();
  for (const entry of (R4_ELEMENTS[type] ?? '').split(' ')) {
    const colon = entry.indexOf(':');
    const many = entry[colon - 1] === '*';
    const name = entry.slice(0, many ? colon - 1 : colon);
    const declared = entry.slice(colon + 1);
    const types = declared === '@' ? [`${type}.${name}`] : declared.startsWith('=') ? [declared.slice(1)] : declared.split('|');
    elements.set(name, { name, many, types, choice: types.length > 1 });
  }
  parsed.set(type, elements);
  return elements;
}

const GENERIC: Readonly<Record<string, ElementInfo>> = {
  id: { name: 'id', many: false, types: ['string'], choice: false },
  extension: { name: 'extension', many: true, types: ['Extension'], choice: false },
  modifierExtension: { name: 'modifierExtension', many: true, types: ['Extension'], choice: false },
};

/** The element `name` of `type` (own or inherited), or undefined when the type has no such element. */
export function elementOf(type: string, name: string): ElementInfo | undefined {
  if (isPrimitive(type)) return name === 'id' || name === 'extension' ? GENERIC[name] : undefined;
  for (let current: string | undefined = type; current !== undefined; current = parentType(current)) {
    const found = ownElements(current)?.get(name);
    if (found) return found;
  }
  if (name === 'modifierExtension' && !(type.includes('.') || isResourceType(type) || type === 'BackboneElement')) return undefined;
  return Object.hasOwn(GENERIC, name) ? GENERIC[name] : undefined;
}

/** Whether a value of type `actual` is a `wanted` (same type or a specialisation, e.g. Age is a Quantity). */
export function isTypeOf(actual: string, wanted: string): boolean {
  for (let current: string | undefined = actual; current !== undefined; current = parentType(current)) {
    if (current === wanted) return true;
  }
  return false;
}

/** `value` + `Quantity` → `valueQuantity`; `deceased` + `boolean` → `deceasedBoolean`. */
export function choiceFieldName(element: string, type: string): string {
  return element + type.charAt(0).toUpperCase() + type.slice(1);
}
