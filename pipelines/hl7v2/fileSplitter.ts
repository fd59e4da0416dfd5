// Splits an HL7 v2 file of any size into units — messages, batch control segments (FHS/BHS/BTS/FTS)
// and garbage — each with the byte offset of its first byte, streaming chunk by chunk.
//
// carelake parses HL7 v2 itself rather than using an npm parser: the ones we tried either skip escape
// sequences, do not understand FHS/BHS batches or MLLP framing, lose byte offsets (which quarantine
// needs), or build an object per component and are slow on large files. This file and message.ts are
// the whole of it and have no dependencies.
//
// Bytes are decoded as latin1: every HL7 delimiter and framing byte is ASCII, and latin1 maps each byte
// to one character, so string positions are byte offsets and no byte is altered. Re-decode a message
// for its MSH-18 character set with recodeHl7Text() (charset.ts) once it is parsed.
//
// Memory: the splitter holds the message being assembled, the current incomplete line and the chunk
// being scanned — never the file. Runs of garbage are cut into units of at most MAX_GARBAGE_CHARS.

import { Buffer } from 'node:buffer';

export interface Hl7BatchContext {
  /** FHS-11 of the enclosing file header, when present and non-empty. */
  fileControlId?: string;
  /** BHS-11 of the enclosing batch header, when present and non-empty. */
  batchControlId?: string;
}

interface RawHl7UnitBase {
  /** Byte offset of the unit's first byte in the file (after any BOM or MLLP start byte). */
  offset: number;
  /** Bytes the unit spans in the file, from `offset` to the end of its last segment (terminator excluded). */
  length: number;
  /** The unit's segments (latin1 text) joined by `\r`, whatever separators the file used. */
  text: string;
}

export interface RawHl7Message extends RawHl7UnitBase {
  kind: 'message';
  /** The message's segments (non-blank lines), whose join by `\r` is `text`; saves splitting it again. */
  segments: string[];
  /** Set when the message sits inside an FHS file or BHS batch. */
  batch?: Hl7BatchContext;
}

export type Hl7ControlSegmentKind = 'FHS' | 'BHS' | 'BTS' | 'FTS';

export interface RawHl7ControlSegment extends RawHl7UnitBase {
  kind: Hl7ControlSegmentKind;
}

export interface RawHl7Garbage extends RawHl7UnitBase {
  kind: 'garbage';
  /** Why this text belongs to no message, without quoting it. */
  reason: string;
}

export type RawHl7Unit = RawHl7Message | RawHl7ControlSegment | RawHl7Garbage;

/** Garbage is cut into units of at most this many characters so a file of junk cannot fill memory. */
export const MAX_GARBAGE_CHARS = 1 << 20;

const CONTROL_KINDS: readonly Hl7ControlSegmentKind[] = ['FHS', 'BHS', 'BTS', 'FTS'];
const VT = 0x0b; // MLLP start of block
const FS = 0x1c; // MLLP end of block (followed by CR, which is an ordinary terminator here)
const BOM_LATIN1 = '\u00ef\u00bb\u00bf'; // UTF-8 BOM bytes EF BB BF read as latin1
const BOUNDARY = /[\r\n\x0b\x1c]/g;

/** True when `line` starts with the segment id `id` followed by a separator (or nothing). */
function startsSegment(line: string, id: string): boolean {
  if (!line.startsWith(id)) return false;
  const next = line.charAt(3);
  // The fourth character is the field separator, which is never a letter, digit or white space.
  return next === '' || !/[A-Za-z0-9\s]/.test(next);
}

/** Field n of an FHS/BHS segment (HL7 numbering: n = 1 is the separator itself), raw. */
function headerField(line: string, n: number): string | undefined {
  const separator = line.charAt(3);
  if (separator === '') return undefined;
  const value = line.split(separator)[n - 1];
  return value === undefined || value === '' ? undefined : value;
}

function latin1(chunk: Uint8Array): string {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
}

/**
 * The splitting state machine. Feed it latin1 text in order; it returns the units each piece completed.
 * Line terminators are CR, LF (so CRLF and mixed files work) and the MLLP block bytes VT and FS, which
 * also end the current message. Blank and whitespace-only lines are skipped; a UTF-8 BOM at the start
 * of any line is skipped too, so concatenated files with BOMs split cleanly.
 */
class Hl7Splitter {
  private readonly ready: RawHl7Unit[] = [];
  private consumed = 0;
  private lineStart = 0;
  private partial = '';

  private segments: string[] = [];
  private messageOffset = 0;
  private messageEnd = 0;

  private junk: string[] = [];
  private junkOffset = 0;
  private junkEnd = 0;
  private junkChars = 0;
  private junkReason = '';
  /** Describes what precedes text that belongs to no message; becomes the garbage unit's reason. */
  private context = 'text before the first MSH segment';

  private inFile = false;
  private inBatch = false;
  private fileControlId: string | undefined;
  private batchControlId: string | undefined;

  push(text: string): RawHl7Unit[] {
    const base = this.consumed;
    let start = 0;
    BOUNDARY.lastIndex = 0;
    for (let match = BOUNDARY.exec(text); match !== null; match = BOUNDARY.exec(text)) {
      const at = match.index;
      this.onLine(this.partial + text.slice(start, at), this.lineStart);
      this.partial = '';
      const code = text.charCodeAt(at);
      if (code === VT || code === FS) this.onBlockBoundary(code, base + at);
      start = at + 1;
      this.lineStart = base + start;
    }
    this.partial += text.slice(start);
    this.consumed += text.length;
    return this.drain();
  }

  end(): RawHl7Unit[] {
    if (this.partial !== '') this.onLine(this.partial, this.lineStart);
    this.partial = '';
    this.closeMessage();
    this.closeJunk();
    return this.drain();
  }

  private drain(): RawHl7Unit[] {
    return this.ready.splice(0, this.ready.length);
  }

  private onLine(raw: string, rawOffset: number): void {
    let line = raw;
    let offset = rawOffset;
    if (line.startsWith(BOM_LATIN1)) {
      line = line.slice(BOM_LATIN1.length);
      offset += BOM_LATIN1.length;
    }
    if (!/\S/.test(line)) return;

    if (startsSegment(line, 'MSH')) {
      this.closeMessage();
      this.closeJunk();
      this.segments.push(line);
      this.messageOffset = offset;
      this.messageEnd = offset + line.length;
      return;
    }
    const control = CONTROL_KINDS.find((kind) => startsSegment(line, kind));
    if (control !== undefined) {
      this.closeMessage();
      this.closeJunk();
      this.onControl(control, line, offset);
      return;
    }
    if (this.segments.length > 0) {
      this.segments.push(line);
      this.messageEnd = offset + line.length;
      return;
    }
    if (this.junk.length === 0) {
      this.junkOffset = offset;
      this.junkReason = this.context;
    }
    this.junk.push(line);
    this.junkEnd = offset + line.length;
    this.junkChars += line.length + 1;
    if (this.junkChars >= MAX_GARBAGE_CHARS) this.closeJunk();
  }

  private onControl(kind: Hl7ControlSegmentKind, line: string, offset: number): void {
    this.ready.push({ kind, offset, length: line.length, text: line });
    this.context = `text after the ${kind} segment at byte ${offset} and before the next MSH segment`;
    if (kind === 'FHS') {
      this.inFile = true;
      this.fileControlId = headerField(line, 11);
      this.inBatch = false;
      this.batchControlId = undefined;
    } else if (kind === 'BHS') {
      this.inBatch = true;
      this.batchControlId = headerField(line, 11);
    } else if (kind === 'BTS') {
      this.inBatch = false;
      this.batchControlId = undefined;
    } else {
      this.inFile = false;
      this.fileControlId = undefined;
      this.inBatch = false;
      this.batchControlId = undefined;
    }
  }

  private onBlockBoundary(code: number, position: number): void {
    this.closeMessage();
    this.closeJunk();
    this.context =
      code === FS
        ? `text after the end of an MLLP block (0x1C at byte ${position}) and before the next MSH segment`
        : `text at the start of an MLLP block (0x0B at byte ${position}) before its MSH segment`;
  }

  private closeMessage(): void {
    if (this.segments.length === 0) return;
    const message: RawHl7Message = {
      kind: 'message',
      offset: this.messageOffset,
      length: this.messageEnd - this.messageOffset,
      text: this.segments.join('\r'),
      segments: this.segments,
    };
    if (this.inFile || this.inBatch) {
      message.batch = {
        ...(this.fileControlId !== undefined ? { fileControlId: this.fileControlId } : {}),
        ...(this.batchControlId !== undefined ? { batchControlId: this.batchControlId } : {}),
      };
    }
    this.ready.push(message);
    this.segments = [];
    this.context = `text after the message at byte ${message.offset} and before the next MSH segment`;
  }

  private closeJunk(): void {
    if (this.junk.length === 0) return;
    this.ready.push({
      kind: 'garbage',
      offset: this.junkOffset,
      length: this.junkEnd - this.junkOffset,
      text: this.junk.join('\r'),
      reason: this.junkReason,
    });
    this.junk = [];
    this.junkChars = 0;
  }
}

/**
 * Streams the units of an HL7 v2 file. Accepts any chunking (a Node read stream works as is); a unit's
 * offset counts bytes from the start of the stream, BOM included.
 */
export async function* splitHl7Stream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<RawHl7Unit> {
  const splitter = new Hl7Splitter();
  for await (const chunk of chunks) yield* splitter.push(latin1(chunk));
  yield* splitter.end();
}

/** The same split for bytes already in memory (small files, tests). */
export function splitHl7Bytes(bytes: Uint8Array): RawHl7Unit[] {
  const splitter = new Hl7Splitter();
  return [...splitter.push(latin1(bytes)), ...splitter.end()];
}
