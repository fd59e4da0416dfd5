// Splits a FHIRPath expression into tokens for the parser: identifiers (plain or `backticked`),
// `%variables`, `$this`-style invocations, string, number, date/time and boolean literals, and operators.
// Positions are kept so an error can point at the character. Pure.

export type TokenKind = 'identifier' | 'string' | 'number' | 'datetime' | 'variable' | 'special' | 'operator' | 'end';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offset of the token's first character in the expression. */
  at: number;
  /** A `backticked` identifier: never a keyword such as `and` or `true`. */
  quoted?: boolean;
}

export class FhirPathSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const OPERATORS = ['<=', '>=', '!=', '!~', '=', '~', '<', '>', '+', '-', '*', '/', '&', '|', '.', ',', '(', ')', '[', ']', '{', '}'];
const ESCAPES: Readonly<Record<string, string>> = { "'": "'", '"': '"', '`': '`', '\\': '\\', '/': '/', f: '\f', n: '\n', r: '\r', t: '\t' };

function isIdentStart(c: string): boolean {
  return /[A-Za-z_]/.test(c);
}

function isIdentPart(c: string): boolean {
  return /[A-Za-z0-9_]/.test(c);
}

/** A quoted run (string literal or backticked identifier) with FHIRPath's escapes; returns text and end. */
function readQuoted(source: string, start: number, quote: string): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < source.length) {
    const c = source[i]!;
    if (c === quote) return { text, end: i + 1 };
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (next === 'u') {
        const hex = source.slice(i + 2, i + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new FhirPathSyntaxError('a \\u escape needs four hex digits', i);
        text += String.fromCharCode(parseInt(hex, 16));
        i += 6;
        continue;
      }
      const escaped = ESCAPES[next];
      if (escaped === undefined) throw new FhirPathSyntaxError(`unknown escape \\${next}`, i);
      text += escaped;
      i += 2;
      continue;
    }
    text += c;
    i++;
  }
  throw new FhirPathSyntaxError(`unterminated ${quote === "'" ? 'string' : 'identifier'}`, start);
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new FhirPathSyntaxError('unterminated comment', i);
      i = end + 2;
      continue;
    }
    const at = i;
    if (c === "'") {
      const { text, end } = readQuoted(source, i, "'");
      tokens.push({ kind: 'string', text, at });
      i = end;
    } else if (c === '`') {
      const { text, end } = readQuoted(source, i, '`');
      tokens.push({ kind: 'identifier', text, at, quoted: true });
      i = end;
    } else if (/[0-9]/.test(c)) {
      const match = /^[0-9]+(\.[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ kind: 'number', text: match[0], at });
      i += match[0].length;
    } else if (c === '@') {
      const match = /^@(T[0-9:.]+|[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?(T([0-9:.]+)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)/.exec(source.slice(i));
      if (!match) throw new FhirPathSyntaxError('a date or time literal must look like @2020-01-31, @2020-01-31T10:00:00Z or @T10:00', i);
      tokens.push({ kind: 'datetime', text: match[0].slice(1), at });
      i += match[0].length;
    } else if (c === '%') {
      if (source[i + 1] === '`' || source[i + 1] === "'") {
        const { text, end } = readQuoted(source, i + 1, source[i + 1]!);
        tokens.push({ kind: 'variable', text, at });
        i = end;
      } else {
        let j = i + 1;
        while (j < source.length && isIdentPart(source[j]!)) j++;
        if (j === i + 1) throw new FhirPathSyntaxError("'%' must be followed by a name", i);
        tokens.push({ kind: 'variable', text: source.slice(i + 1, j), at });
        i = j;
      }
    } else if (c === '$') {
      let j = i + 1;
      while (j < source.length && isIdentPart(source[j]!)) j++;
      tokens.push({ kind: 'special', text: source.slice(i, j), at });
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < source.length && isIdentPart(source[j]!)) j++;
      tokens.push({ kind: 'identifier', text: source.slice(i, j), at });
      i = j;
    } else {
      const op = OPERATORS.find((o) => source.startsWith(o, i));
      if (op === undefined) throw new FhirPathSyntaxError(`unexpected character '${c}'`, i);
      tokens.push({ kind: 'operator', text: op, at });
      i += op.length;
    }
  }
  tokens.push({ kind: 'end', text: '', at: source.length });
  return tokens;
}
