// Text-level HL7 v2 building blocks for the synthetic feed: escaping (`\F\ \S\ \T\ \R\ \E\`),
// components and repetitions, and segments addressed by 1-based field number so builders read like
// the standard (`PV1-19`). Default delimiters only (`|^~\&`), segments terminated by CR. Pure
// functions; no I/O.

export const SEGMENT_END = '\r';
export const ENCODING_CHARACTERS = '^~\\&';

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\E\\',
  '|': '\\F\\',
  '^': '\\S\\',
  '&': '\\T\\',
  '~': '\\R\\',
};

/** Escapes delimiter characters in text going into one leaf (component or subcomponent). */
export function escapeText(text: string): string {
  return text.replace(/[\\|^&~]/g, (c) => ESCAPES[c] ?? c);
}

/** Escaped components joined with `^`, trailing empty components dropped (`A^B` not `A^B^^`). */
export function components(...parts: readonly (string | null | undefined)[]): string {
  const escaped = parts.map((p) => (p === null || p === undefined ? '' : escapeText(p)));
  while (escaped.length > 0 && escaped[escaped.length - 1] === '') escaped.pop();
  return escaped.join('^');
}

/** Already-encoded repetitions joined with `~`. */
export function repetitions(...values: readonly string[]): string {
  return values.filter((v) => v !== '').join('~');
}

/**
 * A segment from encoded field values keyed by their 1-based number: `segment('PV1', { 1: '1', 2: 'I' })`
 * gives `PV1|1|I` plus the terminator. Not for MSH/FHS/BHS, whose field 1 is the separator itself.
 */
export function segment(name: string, fields: Readonly<Record<number, string>>): string {
  let last = 0;
  for (const key of Object.keys(fields)) {
    const n = Number(key);
    if (fields[n] !== '' && n > last) last = n;
  }
  const values: string[] = [name];
  for (let n = 1; n <= last; n++) values.push(fields[n] ?? '');
  return values.join('|') + SEGMENT_END;
}

/** A header segment (MSH, FHS, BHS): field 1 is `|`, field 2 the encoding characters, then `fields[3…]`. */
export function headerSegment(name: 'MSH' | 'FHS' | 'BHS', fields: Readonly<Record<number, string>>): string {
  let last = 2;
  for (const key of Object.keys(fields)) {
    const n = Number(key);
    if (fields[n] !== '' && n > last) last = n;
  }
  const values: string[] = [`${name}|${ENCODING_CHARACTERS}`];
  for (let n = 3; n <= last; n++) values.push(fields[n] ?? '');
  return values.join('|') + SEGMENT_END;
}
