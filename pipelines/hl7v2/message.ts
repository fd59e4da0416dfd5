// Parses the text of one HL7 v2 message (a unit from splitHl7Stream) into segments of raw fields plus
// the MSH header values every later stage needs. Field text stays raw — escapes are decoded only at the
// leaf by hl7Field (field.ts) — and fields are numbered as in HL7, so `segment.fields[3]` is PID-3 and,
// for MSH, fields[1] is the field separator and fields[2] the encoding characters.
//
// Rejections (Hl7ParseError) name the segment and field: no MSH first, unusable delimiters, a segment
// without a valid id (`[A-Z][A-Z0-9]{2}`; Z-segments are ordinary ids and kept), a second MSH, and an
// empty MSH-9.1 or MSH-10. Lenient elsewhere: empty MSH-9.2, MSH-12 or MSH-7 become null, because
// real feeds (acknowledgements, old v2.1 systems) omit them and the message is still usable.

import type { RawHl7Message } from './fileSplitter.ts';
import { recodeHl7Text } from './charset.ts';
import { parseHl7Delimiters, type Hl7Delimiters } from './delimiters.ts';
import { Hl7ParseError, type Hl7Origin } from './errors.ts';
import { decodeHl7Text } from './escapes.ts';

export interface Hl7Segment {
  id: string;
  /** Raw field text, not decoded; fields[0] is the segment id, fields[n] is field n. */
  fields: string[];
}

export interface Hl7Header {
  controlId: string;
  /** MSH-9.1, e.g. ADT. */
  messageType: string;
  /** MSH-9.2, e.g. A01; null when empty (acknowledgements often leave it out). */
  triggerEvent: string | null;
  /** MSH-9.3, e.g. ADT_A01; null when empty. */
  structure: string | null;
  /** MSH-12.1, e.g. 2.4; null when empty. */
  version: string | null;
  /** MSH-3.1 … MSH-6.1 (HD namespace id; NHS senders put ODS codes in MSH-4/MSH-6). */
  sendingApplication: string | null;
  sendingFacility: string | null;
  receivingApplication: string | null;
  receivingFacility: string | null;
  /** MSH-7.1 as sent (e.g. `20190514102527+0200`), or null; timestamp.ts reads it as an instant. */
  timestamp: string | null;
  /** MSH-18 first repetition, component 1 (e.g. `UNICODE UTF-8`, `8859/1`), or null. */
  charset: string | null;
}

export interface ParsedHl7Message {
  delimiters: Hl7Delimiters;
  segments: Hl7Segment[];
  header: Hl7Header;
}

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;
const HL7_NULL = '""';

/** Splits message text into segments. Accepts `\r` (as the splitter emits) and tolerates `\n`/`\r\n`. */
function segmentLines(text: string): string[] {
  const lines = text.includes('\n') ? text.split(/\r\n|\r|\n/) : text.split('\r');
  // Blank lines are skipped; only a line starting with white space (or empty) can be blank.
  return lines.some(startsBlank) ? lines.filter((line) => /\S/.test(line)) : lines;
}

function startsBlank(line: string): boolean {
  return line === '' || line.charCodeAt(0) <= 32;
}

/** What a landing needs of a message, checked as strictly as a full parse but without splitting fields. */
export interface Hl7MessageScan {
  delimiters: Hl7Delimiters;
  header: Hl7Header;
  /** The segments' text, in order; segmentTexts[0] is MSH. */
  segmentTexts: string[];
  /** MSH split on the field separator, HL7-numbered like Hl7Segment.fields. */
  msh: Hl7Segment;
}

/** True when the text at the start of `line` is a segment id followed by the field separator (or nothing). */
function hasSegmentId(line: string, field: string): boolean {
  if (line.length < 3) return false;
  const a = line.charCodeAt(0);
  if (a < 65 || a > 90) return false;
  for (let i = 1; i < 3; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return false;
  }
  return line.length === 3 || line.charAt(3) === field;
}

/**
 * Checks a message's structure and reads its MSH header. Rejects (Hl7ParseError) exactly what
 * parseHl7Message rejects; landing uses this, since DuckDB splits the fields of landed segments.
 */
export function scanHl7Message(text: string, origin?: Hl7Origin, segments?: string[]): Hl7MessageScan {
  const at = origin ? { origin } : {};
  // `segments`: the splitter's lines of `text`, when the caller has them (no blank lines).
  const lines = segments ?? segmentLines(text);
  const first = lines[0];
  if (first === undefined || first === '') throw new Hl7ParseError({ code: 'hl7.empty', reason: 'the message has no segments', ...at });
  if (!first.startsWith('MSH')) {
    const id = first.slice(0, 3);
    const found = SEGMENT_ID.test(id) && !/[A-Za-z0-9]/.test(first.charAt(3)) ? `segment ${id}` : 'text that is not a segment';
    throw new Hl7ParseError({ code: 'hl7.no-msh', reason: `the message starts with ${found}, not MSH`, segmentIndex: 1, ...at });
  }
  const delimiters = parseHl7Delimiters(first, origin);
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index]!;
    if (!hasSegmentId(line, delimiters.field)) {
      throw new Hl7ParseError({
        code: 'hl7.bad-segment-id',
        reason:
          `segment ${index + 1} does not start with a segment id ` +
          `(3 characters [A-Z][A-Z0-9]{2} followed by the field separator '${delimiters.field}')`,
        segmentIndex: index + 1,
        ...at,
      });
    }
    if (line.startsWith('MSH')) {
      throw new Hl7ParseError({
        code: 'hl7.second-msh',
        reason: `segment ${index + 1} is a second MSH: the text holds more than one message`,
        segmentIndex: index + 1,
        field: 'MSH-1',
        ...at,
      });
    }
  }
  const msh: Hl7Segment = { id: 'MSH', fields: ['MSH', delimiters.field, ...first.split(delimiters.field).slice(1)] };
  return { delimiters, header: readHeader(msh, delimiters, at), segmentTexts: lines, msh };
}

export function parseHl7Message(text: string, origin?: Hl7Origin): ParsedHl7Message {
  const scan = scanHl7Message(text, origin);
  const segments = scan.segmentTexts.map((line, index): Hl7Segment => {
    if (index === 0) return scan.msh;
    const fields = line.split(scan.delimiters.field);
    return { id: fields[0]!, fields };
  });
  return { delimiters: scan.delimiters, segments, header: scan.header };
}

/**
 * Component `component` of the first repetition of a header field, decoded; null when empty or `""`.
 * Written out rather than through hl7SegmentField because it runs for every landed message.
 */
function headerValue(raw: string | undefined, d: Hl7Delimiters, component: number): string | null {
  if (raw === undefined || raw === '') return null;
  const repetitionEnd = raw.indexOf(d.repetition);
  const first = repetitionEnd === -1 ? raw : raw.slice(0, repetitionEnd);
  let leaf: string;
  if (component === 1) {
    const end = first.indexOf(d.component);
    leaf = end === -1 ? first : first.slice(0, end);
  } else {
    leaf = first.split(d.component)[component - 1] ?? '';
  }
  const subEnd = leaf.indexOf(d.subcomponent);
  if (subEnd !== -1) leaf = leaf.slice(0, subEnd);
  if (leaf === '' || leaf === HL7_NULL) return null;
  return leaf.includes(d.escape) ? decodeHl7Text(leaf, d) : leaf;
}

function readHeader(msh: Hl7Segment, d: Hl7Delimiters, at: { origin?: Hl7Origin }): Hl7Header {
  const f = msh.fields;
  const messageType = headerValue(f[9], d, 1);
  if (messageType === null) {
    throw new Hl7ParseError({ code: 'hl7.missing-message-type', reason: 'MSH-9 (message type) is empty', segmentIndex: 1, field: 'MSH-9', ...at });
  }
  const controlId = headerValue(f[10], d, 1);
  if (controlId === null) {
    throw new Hl7ParseError({ code: 'hl7.missing-control-id', reason: 'MSH-10 (message control id) is empty', segmentIndex: 1, field: 'MSH-10', ...at });
  }
  return {
    controlId,
    messageType,
    triggerEvent: headerValue(f[9], d, 2),
    structure: headerValue(f[9], d, 3),
    version: headerValue(f[12], d, 1),
    sendingApplication: headerValue(f[3], d, 1),
    sendingFacility: headerValue(f[4], d, 1),
    receivingApplication: headerValue(f[5], d, 1),
    receivingFacility: headerValue(f[6], d, 1),
    timestamp: headerValue(f[7], d, 1),
    charset: headerValue(f[18], d, 1),
  };
}

/**
 * Parses a message unit from the splitter and, when MSH-18 names UTF-8, re-parses its text decoded as
 * UTF-8 (the splitter reads bytes as latin1). Delimiters are ASCII, so the structure cannot change.
 */
export function parseRawHl7Message(unit: RawHl7Message, file: string): ParsedHl7Message {
  const origin = { file, offset: unit.offset };
  const parsed = parseHl7Message(unit.text, origin);
  const recoded = recodeHl7Text(unit.text, parsed.header.charset);
  return recoded === unit.text ? parsed : parseHl7Message(recoded, origin);
}
