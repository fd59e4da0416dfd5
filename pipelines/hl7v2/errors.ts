// Why an HL7 v2 message was rejected. A rejected message goes to quarantine with its file, byte offset
// and this reason while the rest of the file carries on, so the reason names the segment and field in
// HL7 terms ("MSH-10 (message control id) is empty") and never quotes field values: they can hold
// patient identifiers.

import { CarelakeError } from '../../core/errors.ts';

export type Hl7ParseErrorCode =
  | 'hl7.empty'
  | 'hl7.no-msh'
  | 'hl7.bad-delimiters'
  | 'hl7.bad-segment-id'
  | 'hl7.second-msh'
  | 'hl7.missing-message-type'
  | 'hl7.missing-control-id';

/** Where the message text came from: the splitter reports the byte offset of each message in its file. */
export interface Hl7Origin {
  file: string;
  offset: number;
}

export interface Hl7ParseErrorInit {
  code: Hl7ParseErrorCode;
  /** What is wrong, in HL7 terms, without values. */
  reason: string;
  /** 1-based position of the offending segment in the message, when one segment is at fault. */
  segmentIndex?: number;
  /** HL7 field reference such as `MSH-10`, when one field is at fault. */
  field?: string;
  origin?: Hl7Origin;
}

const hints: Record<Hl7ParseErrorCode, string> = {
  'hl7.empty': 'the sender produced an empty message; check the feed configuration',
  'hl7.no-msh': 'every HL7 v2 message must start with an MSH segment; check the file is HL7 v2 pipe-delimited text',
  'hl7.bad-delimiters':
    'MSH-1 must be one separator character and MSH-2 four encoding characters (five from v2.7), all distinct and not letters, digits or spaces',
  'hl7.bad-segment-id':
    'a line break inside a field value (for example text wrapped by a copy from a PDF or e-mail) splits a segment in two; the sender must escape line breaks as \\.br\\',
  'hl7.second-msh': 'split the file into messages with splitHl7Stream before parsing',
  'hl7.missing-message-type': 'the sender must fill MSH-9 (e.g. ADT^A01)',
  'hl7.missing-control-id': 'the sender must give every message a unique MSH-10 control id',
};

export class Hl7ParseError extends CarelakeError {
  readonly reason: string;
  readonly segmentIndex: number | null;
  readonly field: string | null;
  readonly offset: number | null;

  constructor(init: Hl7ParseErrorInit) {
    const where = init.origin ? ` at byte ${init.origin.offset} of ${init.origin.file}` : '';
    super({
      code: init.code,
      kind: 'parse',
      message: `HL7 v2 message${where} rejected: ${init.reason}`,
      location: init.origin ? { file: init.origin.file, ...(init.field ? { field: init.field } : {}) } : undefined,
      hint: hints[init.code],
    });
    this.name = 'Hl7ParseError';
    this.reason = init.reason;
    this.segmentIndex = init.segmentIndex ?? null;
    this.field = init.field ?? null;
    this.offset = init.origin?.offset ?? null;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason, segmentIndex: this.segmentIndex, field: this.field, offset: this.offset };
  }
}
