// The FHIRPath parser: precedence, invocations, indexers, literals and variables as a compact
// S-expression, and syntax errors that point at the offending character.

import { describe, expect, it } from 'vitest';
import type { FhirPathNode } from '../../../transforms/sqlOnFhir/fhirpathAst.ts';
import { FhirPathSyntaxError } from '../../../transforms/sqlOnFhir/fhirpathLexer.ts';
import { parseFhirPath } from '../../../transforms/sqlOnFhir/fhirpathParser.ts';

/** `name.family` → `(. (. $ name) family)`: one readable line per tree. */
function show(node: FhirPathNode | null): string {
  if (node === null) return '$';
  switch (node.kind) {
    case 'literal':
      return `${node.type}:${node.value}`;
    case 'empty':
      return '{}';
    case 'this':
      return '$this';
    case 'variable':
      return `%${node.name}`;
    case 'member':
      return `(. ${show(node.base)} ${node.name})`;
    case 'call':
      return `(${node.name} ${show(node.base)}${node.args.map((a) => ` ${show(a)}`).join('')})`;
    case 'index':
      return `([] ${show(node.base)} ${show(node.index)})`;
    case 'unary':
      return `(${node.op} ${show(node.operand)})`;
    case 'binary':
      return `(${node.op} ${show(node.left)} ${show(node.right)})`;
    case 'typeTest':
      return `(${node.op} ${show(node.operand)} ${node.type})`;
  }
}

const cases: { description: string; source: string; tree: string }[] = [
  { description: 'a path', source: 'name.family', tree: '(. (. $ name) family)' },
  { description: 'a function call with no arguments', source: 'name.family.first()', tree: '(first (. (. $ name) family))' },
  { description: 'where() with a comparison', source: "name.where(use = 'official').family", tree: "(. (where (. $ name) (= (. $ use) string:official)) family)" },
  { description: 'and binds tighter than or', source: 'a or b and c', tree: '(or (. $ a) (and (. $ b) (. $ c)))' },
  { description: 'implies is loosest', source: 'a and b implies c', tree: '(implies (and (. $ a) (. $ b)) (. $ c))' },
  { description: 'multiplication before addition', source: '1 + 2 * 3', tree: '(+ integer:1 (* integer:2 integer:3))' },
  { description: 'comparison before equality', source: 'a < 1 = true', tree: '(= (< (. $ a) integer:1) boolean:true)' },
  { description: 'div and mod are words', source: '7 div 2 mod 3', tree: '(mod (div integer:7 integer:2) integer:3)' },
  { description: 'an indexer', source: 'name[1].family', tree: '(. ([] (. $ name) integer:1) family)' },
  { description: 'a constant as index', source: 'name[%i]', tree: '([] (. $ name) %i)' },
  { description: 'ofType with a type name', source: 'value.ofType(Quantity).value', tree: '(. (ofType (. $ value) (. $ Quantity)) value)' },
  { description: '%rowIndex and $this', source: '%rowIndex = $this', tree: '(= %rowIndex $this)' },
  { description: 'a decimal and a unary minus', source: '-1.50', tree: '(- decimal:1.50)' },
  { description: 'date, dateTime and time literals', source: '@2020-01 | @2020-01-02T10:00:00Z | @T12:30', tree: '(| (| date:2020-01 dateTime:2020-01-02T10:00:00Z) time:12:30)' },
  { description: 'string escapes', source: "'it\\'s'", tree: "string:it's" },
  { description: 'a backticked name is never a keyword', source: '`and`.x', tree: '(. (. $ and) x)' },
  { description: 'is/as bind tighter than |', source: 'a as Quantity | b', tree: '(| (as (. $ a) Quantity) (. $ b))' },
  { description: 'parentheses and not()', source: "(gender = 'male').not()", tree: '(not (= (. $ gender) string:male))' },
  { description: 'a function with two arguments', source: "f(1, 'x')", tree: '(f $ integer:1 string:x)' },
  { description: 'the empty collection', source: '{}', tree: '{}' },
];

const errors: { description: string; source: string; message: RegExp; at: number }[] = [
  { description: 'stray characters', source: '@@', message: /date or time literal/, at: 0 },
  { description: 'an unclosed call', source: 'name.where(use = 1', message: /expected '\)'/, at: 18 },
  { description: 'a trailing operator', source: 'a and', message: /ends too early/, at: 5 },
  { description: 'an unterminated string', source: "name = 'x", message: /unterminated string/, at: 7 },
  { description: 'two terms with no operator', source: 'a b', message: /unexpected 'b'/, at: 2 },
  { description: 'an empty expression', source: '  ', message: /empty/, at: 0 },
  { description: 'an unsupported special variable', source: '$index', message: /not supported/, at: 0 },
];

describe('parseFhirPath', () => {
  it.each(cases)('$description: $source', ({ source, tree }) => {
    expect(show(parseFhirPath(source))).toBe(tree);
  });

  it.each(errors)('rejects $description', ({ source, message, at }) => {
    let caught: unknown;
    try {
      parseFhirPath(source);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FhirPathSyntaxError);
    expect((caught as FhirPathSyntaxError).message).toMatch(message);
    expect((caught as FhirPathSyntaxError).at).toBe(at);
  });
});
