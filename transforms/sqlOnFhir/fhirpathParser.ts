// A recursive-descent parser for FHIRPath (N1 grammar, the part SQL on FHIR uses and a little more),
// with the spec's operator precedence: invocation and indexer, unary sign, * / div mod, + - &, is/as,
// |, comparisons, equality, in/contains, and, or/xor, implies. Syntax errors carry the offset. Pure.

import type { BinaryOperator, FhirPathNode, LiteralType } from './fhirpathAst.ts';
import { FhirPathSyntaxError, tokenize, type Token } from './fhirpathLexer.ts';

/** Binary operator levels, loosest first; each level is left-associative. */
const LEVELS: readonly (readonly BinaryOperator[])[] = [
  ['implies'],
  ['or', 'xor'],
  ['and'],
  ['in', 'contains'],
  ['=', '~', '!=', '!~'],
  ['<', '>', '<=', '>='],
  ['|'],
  ['+', '-', '&'],
  ['*', '/', 'div', 'mod'],
];
const TYPE_LEVEL = 7; // `is` / `as` bind between `|` and `+`.
const WORD_OPERATORS = new Set(['implies', 'or', 'xor', 'and', 'in', 'contains', 'div', 'mod', 'is', 'as']);

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  private isOperator(token: Token, text: string): boolean {
    if (token.kind === 'operator') return token.text === text;
    return token.kind === 'identifier' && !token.quoted && token.text === text && WORD_OPERATORS.has(text);
  }

  private expect(text: string): Token {
    const token = this.next();
    if (!this.isOperator(token, text)) throw new FhirPathSyntaxError(`expected '${text}' but found ${describe(token)}`, token.at);
    return token;
  }

  parseAll(): FhirPathNode {
    const node = this.expression(0);
    const rest = this.peek();
    if (rest.kind !== 'end') throw new FhirPathSyntaxError(`unexpected ${describe(rest)}`, rest.at);
    return node;
  }

  private expression(level: number): FhirPathNode {
    if (level === LEVELS.length) return this.unary();
    let left = level === TYPE_LEVEL ? this.typeExpression() : this.expression(level + 1);
    for (;;) {
      const token = this.peek();
      const op = LEVELS[level]!.find((o) => this.isOperator(token, o));
      if (op === undefined) return left;
      this.next();
      const right = level === TYPE_LEVEL ? this.typeExpression() : this.expression(level + 1);
      left = { kind: 'binary', op, left, right, at: token.at };
    }
  }

  /** `+ - &` operands, each possibly followed by `is Type` / `as Type`. */
  private typeExpression(): FhirPathNode {
    let operand = this.expression(TYPE_LEVEL + 1);
    for (;;) {
      const token = this.peek();
      const op = this.isOperator(token, 'is') ? 'is' : this.isOperator(token, 'as') ? 'as' : null;
      if (op === null) return operand;
      this.next();
      operand = { kind: 'typeTest', op, operand, type: this.typeSpecifier(), at: token.at };
    }
  }

  private typeSpecifier(): string {
    const parts = [this.identifier()];
    while (this.isOperator(this.peek(), '.')) {
      this.next();
      parts.push(this.identifier());
    }
    return parts.join('.');
  }

  private identifier(): string {
    const token = this.next();
    if (token.kind !== 'identifier') throw new FhirPathSyntaxError(`expected a name but found ${describe(token)}`, token.at);
    return token.text;
  }

  private unary(): FhirPathNode {
    const token = this.peek();
    if (this.isOperator(token, '-') || this.isOperator(token, '+')) {
      this.next();
      return { kind: 'unary', op: token.text as '+' | '-', operand: this.unary(), at: token.at };
    }
    return this.postfix(this.term());
  }

  private postfix(start: FhirPathNode): FhirPathNode {
    let node = start;
    for (;;) {
      const token = this.peek();
      if (this.isOperator(token, '.')) {
        this.next();
        node = this.invocation(node);
      } else if (this.isOperator(token, '[')) {
        this.next();
        const index = this.expression(0);
        this.expect(']');
        node = { kind: 'index', base: node, index, at: token.at };
      } else {
        return node;
      }
    }
  }

  /** A name or function call after `.` (base given) or at the start of a path (base null). */
  private invocation(base: FhirPathNode | null): FhirPathNode {
    const token = this.next();
    if (token.kind === 'special') return this.special(token, base);
    if (token.kind !== 'identifier') throw new FhirPathSyntaxError(`expected a name but found ${describe(token)}`, token.at);
    if (this.isOperator(this.peek(), '(') && !token.quoted) {
      this.next();
      const args: FhirPathNode[] = [];
      if (!this.isOperator(this.peek(), ')')) {
        args.push(this.expression(0));
        while (this.isOperator(this.peek(), ',')) {
          this.next();
          args.push(this.expression(0));
        }
      }
      this.expect(')');
      return { kind: 'call', base, name: token.text, args, at: token.at };
    }
    return { kind: 'member', base, name: token.text, at: token.at };
  }

  private special(token: Token, base: FhirPathNode | null): FhirPathNode {
    if (base !== null) throw new FhirPathSyntaxError(`${token.text} cannot follow '.'`, token.at);
    if (token.text === '$this') return { kind: 'this', at: token.at };
    throw new FhirPathSyntaxError(`${token.text || "'$'"} is not supported (only $this)`, token.at);
  }

  private term(): FhirPathNode {
    const token = this.peek();
    switch (token.kind) {
      case 'string':
        this.next();
        return literal('string', token);
      case 'number':
        this.next();
        return literal(token.text.includes('.') ? 'decimal' : 'integer', token);
      case 'datetime': {
        this.next();
        const type: LiteralType = token.text.startsWith('T') ? 'time' : token.text.includes('T') ? 'dateTime' : 'date';
        return { kind: 'literal', type, value: type === 'time' ? token.text.slice(1) : token.text, at: token.at };
      }
      case 'variable':
        this.next();
        return { kind: 'variable', name: token.text, at: token.at };
      case 'special':
        this.next();
        return this.special(token, null);
      case 'identifier':
        if (!token.quoted && (token.text === 'true' || token.text === 'false')) {
          this.next();
          return literal('boolean', token);
        }
        return this.invocation(null);
      case 'operator':
        if (token.text === '(') {
          this.next();
          const inner = this.expression(0);
          this.expect(')');
          return inner;
        }
        if (token.text === '{') {
          this.next();
          this.expect('}');
          return { kind: 'empty', at: token.at };
        }
        throw new FhirPathSyntaxError(`unexpected ${describe(token)}`, token.at);
      case 'end':
        throw new FhirPathSyntaxError('the expression ends too early', token.at);
    }
  }
}

function literal(type: LiteralType, token: Token): FhirPathNode {
  return { kind: 'literal', type, value: token.text, at: token.at };
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the expression';
  if (token.kind === 'string') return 'a string';
  return `'${token.text}'`;
}

/** Parses a whole expression; throws FhirPathSyntaxError with the offending offset. */
export function parseFhirPath(source: string): FhirPathNode {
  if (source.trim() === '') throw new FhirPathSyntaxError('the expression is empty', 0);
  return new Parser(tokenize(source)).parseAll();
}
