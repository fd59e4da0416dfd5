// Character sets for HL7 v2 text. Files are split as latin1 because every delimiter is ASCII and latin1
// maps each byte to exactly one character, so offsets stay byte offsets and no byte is lost. Once
// MSH-18 is known, the message text is decoded properly:
// - `UNICODE UTF-8` (and the unofficial `UTF-8`, `UTF8`) → UTF-8;
// - bare `UNICODE` → UTF-8 too: HL7 UK ITK samples send it for 8-bit text, and a stream whose delimiters
//   are single bytes cannot be UCS-2, so UTF-8 is the only sensible Unicode reading;
// - absent, `ASCII`, `8859/1` and every set we do not decode → latin1, which keeps the bytes recoverable.
// Text labelled UTF-8 that is not valid UTF-8 stays latin1 rather than gaining U+FFFD replacement
// characters: a mislabelled feed must not silently lose data.

import { Buffer } from 'node:buffer';

export type Hl7TextEncoding = 'latin1' | 'utf8';

const UTF8_NAMES = new Set(['UNICODE UTF-8', 'UNICODE UTF8', 'UTF-8', 'UTF8', 'UNICODE']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The encoding to decode a message with, from its MSH-18 value (first repetition, component 1). */
export function hl7CharsetEncoding(charset: string | null | undefined): Hl7TextEncoding {
  if (!charset) return 'latin1';
  const name = charset.trim().toUpperCase().replace(/[_\s]+/g, ' ');
  return UTF8_NAMES.has(name) ? 'utf8' : 'latin1';
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** Decodes raw message bytes for the character set named in MSH-18 (latin1 if they are not valid UTF-8). */
export function decodeHl7Bytes(bytes: Uint8Array, charset: string | null | undefined): string {
  if (hl7CharsetEncoding(charset) === 'latin1') return latin1(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/**
 * Decodes splitter text (latin1, one character per byte) as `encoding`, saying which encoding was
 * really used: text that is not valid UTF-8 stays latin1 even when UTF-8 was asked for.
 */
export function decodeHl7Message(latin1Text: string, encoding: Hl7TextEncoding): { text: string; encoding: Hl7TextEncoding } {
  if (encoding === 'latin1' || !/[\u0080-\u00ff]/.test(latin1Text)) return { text: latin1Text, encoding };
  try {
    return { text: strictUtf8.decode(Buffer.from(latin1Text, 'latin1')), encoding: 'utf8' };
  } catch {
    return { text: latin1Text, encoding: 'latin1' };
  }
}

/**
 * Re-decodes text produced by the splitter (latin1, one character per byte) for the message's real
 * character set. Identity for latin1 and for pure ASCII, so callers may call it unconditionally.
 */
export function recodeHl7Text(latin1Text: string, charset: string | null | undefined): string {
  if (hl7CharsetEncoding(charset) === 'latin1' || !/[\u0080-\u00ff]/.test(latin1Text)) return latin1Text;
  return decodeHl7Bytes(Buffer.from(latin1Text, 'latin1'), charset);
}
