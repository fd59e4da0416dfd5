// Public surface of the HL7 v2 parsing core: split a file into units, reconcile batch trailers, parse a
// message, read decoded leaf values. Pure functions and classes; the connector does the I/O.

export { Hl7BatchReconciler, type Hl7BatchDiscrepancy, type Hl7BatchReport } from './batch.ts';
export { decodeHl7Bytes, hl7CharsetEncoding, recodeHl7Text, type Hl7TextEncoding } from './charset.ts';
export { DEFAULT_HL7_DELIMITERS, parseHl7Delimiters, type Hl7Delimiters } from './delimiters.ts';
export { Hl7ParseError, type Hl7Origin, type Hl7ParseErrorCode } from './errors.ts';
export { decodeHl7Text } from './escapes.ts';
export { hl7Field, hl7Repetitions, hl7SegmentField, hl7Segments, type Hl7Value } from './field.ts';
export {
  MAX_GARBAGE_CHARS,
  splitHl7Bytes,
  splitHl7Stream,
  type Hl7BatchContext,
  type Hl7ControlSegmentKind,
  type RawHl7ControlSegment,
  type RawHl7Garbage,
  type RawHl7Message,
  type RawHl7Unit,
} from './fileSplitter.ts';
export { parseHl7Message, parseRawHl7Message, type Hl7Header, type Hl7Segment, type ParsedHl7Message } from './message.ts';
