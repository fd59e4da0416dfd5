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
import { hl7SegmentField } from './field.ts';

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
  /** MSH-7.1 as sent (e.g. `20190514102527+0200`), or null. Parsing into an instant is a staging job. */
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

function rejectIf(condition: boolean, error: () => Hl7ParseError): void {
  if (condition) throw error();
}

/** Splits message text into segments. Accepts `\r` (as the splitter emits) and tolerates `\n`/`\r\n`. */
function segmentLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((line) => /\S/.test(line));
}

export function parseHl7Message(text: string, origin?: Hl7Origin): ParsedHl7Message {
  const at = origin ? { origin } : {};
  const lines = segmentLines(text);
  const first = lines[0];
  if (first === undefined) throw new Hl7ParseError({ code: 'hl7.empty', reason: 'the message has no segments', ...at });
  if (!first.startsWith('MSH')) {
    const id = first.slice(0, 3);
    const found = SEGMENT_ID.test(id) && !/[A-Za-z0-9]/.test(first.charAt(3)) ? `segment ${id}` : 'text that is not a segment';
    throw new Hl7ParseError({ code: 'hl7.no-msh', reason: `the message starts with ${found}, not MSH`, segmentIndex: 1, ...at });
  }
  const delimiters = parseHl7Delimiters(first, origin);

  const segments = lines.map((line, index): Hl7Segment => {
    const parts = line.split(delimiters.field);
    const id = parts[0] ?? '';
    if (index === 0) return { id: 'MSH', fields: ['MSH', delimiters.field, ...parts.slice(1)] };
    rejectIf(
      !SEGMENT_ID.test(id),
      () =>
        new Hl7ParseError({
          code: 'hl7.bad-segment-id',
          reason:
            `segment ${index + 1} does not start with a segment id ` +
            `(3 characters [A-Z][A-Z0-9]{2} followed by the field separator '${delimiters.field}')`,
          segmentIndex: index + 1,
          ...at,
        }),
    );
    rejectIf(
      id === 'MSH',
      () =>
        new Hl7ParseError({
          code: 'hl7.second-msh',
          reason: `segment ${index + 1} is a second MSH: the text holds more than one message`,
          segmentIndex: index + 1,
          field: 'MSH-1',
          ...at,
        }),
    );
    return { id, fields: parts };
  });

  const msh = segments[0]!;
  const value = (field: number, component = 1): string | null => {
    const leaf = hl7SegmentField(msh, delimiters, field, 1, component);
    return leaf === '' ? null : leaf;
  };
  const messageType = value(9, 1);
  if (messageType === null) {
    throw new Hl7ParseError({ code: 'hl7.missing-message-type', reason: 'MSH-9 (message type) is empty', segmentIndex: 1, field: 'MSH-9', ...at });
  }
  const controlId = value(10);
  if (controlId === null) {
    throw new Hl7ParseError({ code: 'hl7.missing-control-id', reason: 'MSH-10 (message control id) is empty', segmentIndex: 1, field: 'MSH-10', ...at });
  }
  return {
    delimiters,
    segments,
    header: {
      controlId,
      messageType,
      triggerEvent: value(9, 2),
      structure: value(9, 3),
      version: value(12),
      sendingApplication: value(3),
      sendingFacility: value(4),
      receivingApplication: value(5),
      receivingFacility: value(6),
      timestamp: value(7),
      charset: value(18),
    },
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
