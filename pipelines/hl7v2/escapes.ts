// HL7 v2 escape sequences, decoded at the leaf (a component or subcomponent value) and nowhere else:
// decoding earlier would turn an escaped `\S\` into a real component separator and split the value.
//
//   \F\ \S\ \T\ \R\ \E\   the message's own field, component, subcomponent, repetition, escape characters
//   \P\                   the v2.7 truncation character — kept raw when MSH-2 declares none
//   \Xhh…\                bytes in hex, decoded with the message's character set
//   \.br\                 line break → "\n"; \.sp n\ → n line breaks; \.sk n\ → n spaces;
//                         \.fi\ \.nf\ \.in n\ \.ti n\ \.ce\ (layout only) → dropped
//   \H\ \N\               highlighting on/off → dropped
//   \Z…\ \C…\ \M…\        locally defined and ISO 2022 character-set switches → kept raw, escapes included
// Anything unrecognised, malformed or unterminated is kept raw rather than guessed at.

import { Buffer } from 'node:buffer';
import { decodeHl7Bytes, type Hl7TextEncoding } from './charset.ts';
import type { Hl7Delimiters } from './delimiters.ts';

function repeatCount(argument: string): number | null {
  const text = argument.trim().replace(/^\+/, '');
  if (text === '') return 1;
  return /^\d{1,3}$/.test(text) ? Number(text) : null;
}

/** The replacement for one escape body (text between the escape characters), or null to keep it raw. */
function decodeEscape(body: string, delimiters: Hl7Delimiters, encoding: Hl7TextEncoding): string | null {
  switch (body) {
    case 'F':
      return delimiters.field;
    case 'S':
      return delimiters.component;
    case 'T':
      return delimiters.subcomponent;
    case 'R':
      return delimiters.repetition;
    case 'E':
      return delimiters.escape;
    case 'P':
      return delimiters.truncation;
    case 'H':
    case 'N':
      return '';
  }
  const head = body.charAt(0);
  if (head === 'X') {
    const hex = body.slice(1);
    if (!/^(?:[0-9A-Fa-f]{2})+$/.test(hex)) return null;
    const bytes = Buffer.from(hex, 'hex');
    return encoding === 'utf8' ? decodeHl7Bytes(bytes, 'UTF-8') : bytes.toString('latin1');
  }
  if (head === '.') {
    const command = body.slice(1, 3);
    const argument = body.slice(3);
    if (command === 'br' && argument === '') return '\n';
    if (command === 'sp' || command === 'sk') {
      const count = repeatCount(argument);
      return count === null ? null : (command === 'sp' ? '\n' : ' ').repeat(count);
    }
    if ((command === 'fi' || command === 'nf' || command === 'ce') && argument === '') return '';
    if ((command === 'in' || command === 'ti') && /^\s*[+-]?\d{1,3}$/.test(argument)) return '';
    return null;
  }
  return null;
}

/**
 * Decodes the escape sequences in one leaf value. `encoding` is how `\X…\` bytes are read; pass the
 * message's MSH-18 encoding (hl7CharsetEncoding) when the text was recoded as UTF-8.
 */
export function decodeHl7Text(value: string, delimiters: Hl7Delimiters, encoding: Hl7TextEncoding = 'latin1'): string {
  const escape = delimiters.escape;
  if (!value.includes(escape)) return value;
  let out = '';
  let at = 0;
  while (at < value.length) {
    const start = value.indexOf(escape, at);
    if (start === -1) {
      out += value.slice(at);
      break;
    }
    out += value.slice(at, start);
    const end = value.indexOf(escape, start + 1);
    if (end === -1) {
      out += value.slice(start);
      break;
    }
    const decoded = decodeEscape(value.slice(start + 1, end), delimiters, encoding);
    out += decoded ?? value.slice(start, end + 1);
    at = end + 1;
  }
  return out;
}
