// The part of a resource's JSON that a view reads, as the structure DuckDB's `from_json` takes. A view
// parses each resource once into a STRUCT holding only these fields; every column then reads struct
// fields, which is several times faster than calling `json_extract` per column (each call parses the
// whole document again). A field that is needed whole (a complex column value, the start of a `repeat`)
// or that cannot be a struct (a recursive element) is declared JSON and read with JSON paths below it.
// Pure.

import type { PrimitiveSqlType } from './fhirModel.ts';

export type ShapeField =
  | { kind: 'leaf'; many: boolean; sqlType: PrimitiveSqlType }
  | { kind: 'object'; many: boolean; node: ShapeNode }
  | { kind: 'json'; many: boolean };

export class ShapeNode {
  readonly fields = new Map<string, ShapeField>();

  /** `path` names the node from the resource root (`contact.telecom`), so marks survive a recompile. */
  constructor(readonly path: string) {}

  childPath(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  /** Declares a primitive field (first declaration wins; a JSON mark wins over both). */
  leaf(name: string, many: boolean, sqlType: PrimitiveSqlType): void {
    if (!this.fields.has(name)) this.fields.set(name, { kind: 'leaf', many, sqlType });
  }

  /** The node of a complex field, created on first use. */
  object(name: string, many: boolean): ShapeNode {
    const existing = this.fields.get(name);
    if (existing?.kind === 'object') return existing.node;
    const node = new ShapeNode(this.childPath(name));
    this.fields.set(name, { kind: 'object', many, node });
    return node;
  }

  json(name: string, many: boolean): void {
    this.fields.set(name, { kind: 'json', many });
  }

  /** The `from_json` structure: `{"id":"VARCHAR","name":[{"family":"VARCHAR"}]}`. */
  render(): string {
    const parts = [...this.fields].map(([name, field]) => `${JSON.stringify(name)}:${renderField(field)}`);
    return `{${parts.join(',')}}`;
  }
}

function renderField(field: ShapeField): string {
  // An object read only for existence (`name.exists()`) has no fields; DuckDB needs at least one.
  const asJson = field.kind === 'json' || (field.kind === 'object' && field.node.fields.size === 0);
  const one = field.kind === 'leaf' ? JSON.stringify(field.sqlType) : asJson || field.kind !== 'object' ? '"JSON"' : field.node.render();
  return field.many ? `[${one}]` : one;
}
