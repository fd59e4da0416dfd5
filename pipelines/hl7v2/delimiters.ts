// The delimiters of one HL7 v2 message, read from its MSH segment: MSH-1 is the field separator and
// MSH-2 the encoding characters (component, repetition, escape, subcomponent and, from v2.7, the
// truncation character). Every message declares its own set and any of them may differ from the
// usual `|^~\&`, so nothing downstream may assume the defaults.

import { Hl7ParseError, type Hl7Origin } from './errors.ts';

export interface Hl7Delimiters {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subcomponent: string;
  /** v2.7 truncation character (`#`), or null when MSH-2 has only the four classic characters. */
  readonly truncation: string | null;
}

export const DEFAULT_HL7_DELIMITERS: Hl7Delimiters = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
  truncation: null,
});

/** Characters that can never be delimiters: they are data, or they end segments and MLLP blocks. */
function unusable(ch: string): boolean {
  return /[A-Za-z0-9\s\x00-\x1f\x7f]/.test(ch);
}

function describeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `control character 0x${code.toString(16).padStart(2, '0')}` : `'${ch}'`;
}

/**
 * Reads the delimiters from the text of an MSH segment (`MSH|^~\&|…`). Strict about MSH-2: four
 * characters, or five with the truncation character. A message with three (no subcomponent separator)
 * is rejected rather than guessed at, because `&` would then be data and guessing wrong corrupts values.
 */
export function parseHl7Delimiters(mshSegment: string, origin?: Hl7Origin): Hl7Delimiters {
  const fail = (reason: string, field: string): never => {
    throw new Hl7ParseError({ code: 'hl7.bad-delimiters', reason, segmentIndex: 1, field, ...(origin ? { origin } : {}) });
  };
  if (!mshSegment.startsWith('MSH')) {
    throw new Hl7ParseError({ code: 'hl7.no-msh', reason: 'the segment is not MSH', segmentIndex: 1, ...(origin ? { origin } : {}) });
  }
  const field = mshSegment.charAt(3);
  if (field === '') fail('MSH-1 (field separator) is missing: the segment ends after "MSH"', 'MSH-1');
  if (unusable(field)) fail(`MSH-1 (field separator) is ${describeChar(field)}, which cannot be a delimiter`, 'MSH-1');

  const end = mshSegment.indexOf(field, 4);
  const encoding = end === -1 ? mshSegment.slice(4) : mshSegment.slice(4, end);
  if (encoding.length < 4 || encoding.length > 5) {
    fail(
      `MSH-2 (encoding characters) has ${encoding.length} character${encoding.length === 1 ? '' : 's'}; ` +
        'expected 4 (component, repetition, escape, subcomponent) or 5 (with the v2.7 truncation character)',
      'MSH-2',
    );
  }
  const chars = [...encoding];
  const names = ['component', 'repetition', 'escape', 'subcomponent', 'truncation'];
  chars.forEach((ch, i) => {
    if (unusable(ch)) fail(`MSH-2 (encoding characters): the ${names[i]} character is ${describeChar(ch)}, which cannot be a delimiter`, 'MSH-2');
  });
  const all = [field, ...chars];
  if (new Set(all).size !== all.length) {
    fail('MSH-1 and MSH-2 repeat a character: every delimiter must be distinct', 'MSH-2');
  }
  return {
    field,
    component: chars[0]!,
    repetition: chars[1]!,
    escape: chars[2]!,
    subcomponent: chars[3]!,
    truncation: chars[4] ?? null,
  };
}
