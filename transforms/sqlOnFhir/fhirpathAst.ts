// The syntax tree of a FHIRPath expression, as the parser builds it and the SQL translator reads it.
// `at` is the offset in the expression text, for error messages.

export type LiteralType = 'string' | 'integer' | 'decimal' | 'boolean' | 'date' | 'dateTime' | 'time';

export type FhirPathNode =
  | { kind: 'literal'; type: LiteralType; value: string; at: number }
  | { kind: 'empty'; at: number }
  /** `$this` (or an implicit focus when `base` of a member or call is null). */
  | { kind: 'this'; at: number }
  | { kind: 'variable'; name: string; at: number }
  /** `base.name`; a null base reads from the current focus. */
  | { kind: 'member'; base: FhirPathNode | null; name: string; at: number }
  | { kind: 'call'; base: FhirPathNode | null; name: string; args: FhirPathNode[]; at: number }
  | { kind: 'index'; base: FhirPathNode; index: FhirPathNode; at: number }
  | { kind: 'unary'; op: '+' | '-'; operand: FhirPathNode; at: number }
  | { kind: 'binary'; op: BinaryOperator; left: FhirPathNode; right: FhirPathNode; at: number }
  | { kind: 'typeTest'; op: 'is' | 'as'; operand: FhirPathNode; type: string; at: number };

export type BinaryOperator =
  | 'implies'
  | 'or'
  | 'xor'
  | 'and'
  | 'in'
  | 'contains'
  | '='
  | '!='
  | '~'
  | '!~'
  | '<'
  | '>'
  | '<='
  | '>='
  | '|'
  | '+'
  | '-'
  | '&'
  | '*'
  | '/'
  | 'div'
  | 'mod';
