// 1-based accessors for parsed HL7 v2 messages, so code reads like the specification: PID.3.1 is
// hl7Field(message, 'PID', 3, 1, 1). They return the decoded leaf value.
//
// Empty and explicit null are kept apart, because HL7 gives them different meanings in updates
// (an A08 with PID-8 empty leaves the sex unchanged; `""` clears it):
//   ''     — not present: the field, repetition, component or segment is empty or absent;
//   null   — explicit HL7 null: the raw leaf is exactly `""`;
//   string — the value with escapes decoded.

import { CarelakeError } from '../../core/errors.ts';
import { hl7CharsetEncoding, type Hl7TextEncoding } from './charset.ts';
import type { Hl7Delimiters } from './delimiters.ts';
import { decodeHl7Text } from './escapes.ts';
import type { Hl7Segment, ParsedHl7Message } from './message.ts';

/** '' = not present, null = explicit HL7 null (`""`), otherwise the decoded value. */
export type Hl7Value = string | null;

const HL7_NULL = '""';

function checkPosition(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new CarelakeError({
      code: 'hl7.bad-accessor',
      kind: 'internal',
      message: `HL7 accessor ${name} must be a whole number from 1 (HL7 numbering is 1-based), got ${value}`,
    });
  }
}

/** All segments with the given id, in message order (e.g. every OBX). */
export function hl7Segments(message: ParsedHl7Message, segmentId: string): Hl7Segment[] {
  return message.segments.filter((segment) => segment.id === segmentId);
}

/** The raw repetitions of one field (e.g. every identifier in PID-3); [] when the field is empty. */
export function hl7Repetitions(segment: Hl7Segment, delimiters: Hl7Delimiters, field: number): string[] {
  checkPosition('field', field);
  const raw = segment.fields[field] ?? '';
  if (raw === '') return [];
  // MSH-1 and MSH-2 are the delimiters themselves; splitting them would tear them apart.
  if (segment.id === 'MSH' && field <= 2) return [raw];
  return raw.split(delimiters.repetition);
}

/** The decoded leaf of one segment, e.g. for the third OBX: hl7SegmentField(obx, delimiters, 5). */
export function hl7SegmentField(
  segment: Hl7Segment,
  delimiters: Hl7Delimiters,
  field: number,
  repetition = 1,
  component = 1,
  subcomponent = 1,
  encoding: Hl7TextEncoding = 'latin1',
): Hl7Value {
  checkPosition('field', field);
  checkPosition('repetition', repetition);
  checkPosition('component', component);
  checkPosition('subcomponent', subcomponent);
  const raw = segment.fields[field] ?? '';
  if (segment.id === 'MSH' && field <= 2) {
    return repetition === 1 && component === 1 && subcomponent === 1 ? raw : '';
  }
  const leaf =
    raw
      .split(delimiters.repetition)
      [repetition - 1]?.split(delimiters.component)
      [component - 1]?.split(delimiters.subcomponent)[subcomponent - 1] ?? '';
  if (leaf === HL7_NULL) return null;
  return decodeHl7Text(leaf, delimiters, encoding);
}

/** The decoded leaf of the first segment with this id; '' when the message has no such segment. */
export function hl7Field(
  message: ParsedHl7Message,
  segmentId: string,
  field: number,
  repetition = 1,
  component = 1,
  subcomponent = 1,
): Hl7Value {
  const segment = message.segments.find((candidate) => candidate.id === segmentId);
  if (segment === undefined) return '';
  return hl7SegmentField(segment, message.delimiters, field, repetition, component, subcomponent, hl7CharsetEncoding(message.header.charset));
}
