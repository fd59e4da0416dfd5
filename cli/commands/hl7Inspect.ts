// `carelake hl7 inspect <file>`: the HL7 v2 parser's public face, for an engineer debugging a feed.
// It reads a file exactly as landing would — split into units as it streams, batch trailers
// reconciled, each message parsed — and prints what it found, unit by unit, without a lake or config.
//
// Output, one line per unit and then a summary (JSON Lines with --json; the shapes are stable):
//   {"kind":"message","status":"parsed","offset","length","controlId","messageType","triggerEvent",
//    "structure","version","sendingApplication","sendingFacility","receivingApplication",
//    "receivingFacility","timestamp":{"sent","instant","precision"}|null,"charset","delimiters",
//    "segments":[{"index","id","fields"}],"batch":{"fileControlId","batchControlId"}|null,
//    "problems":[{"field","code","reason"}]}
//   {"kind":"message","status":"rejected","offset","length","code","reason","segment","field","batch"}
//   {"kind":"FHS"|"BHS"|"BTS"|"FTS","offset","length","controlId"|"declared"}
//   {"kind":"garbage","offset","length","reason"}
//   {"kind":"summary","file","counts":{"units","messages","parsed","rejected","withProblems",
//    "controlSegments","garbage","batches","discrepancies"},"discrepancies":[…],"ok"}
// `fields` is the number of the segment's last field (MSH counts MSH-1 and MSH-2, as HL7 numbers them).
// No field values beyond the MSH header are printed, and garbage is described, never quoted: feeds
// carry patient data. Exit code: 0 all parsed and reconciled; 1 any rejected message, problem, garbage
// or trailer discrepancy; 2 the file cannot be read, or --timezone is not a time zone.

import { once } from 'node:events';
import { open, stat } from 'node:fs/promises';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { Hl7BatchReconciler, type Hl7BatchDiscrepancy } from '../../pipelines/hl7v2/batch.ts';
import { Hl7ParseError } from '../../pipelines/hl7v2/errors.ts';
import { splitHl7Stream, type Hl7BatchContext, type RawHl7Unit } from '../../pipelines/hl7v2/fileSplitter.ts';
import { parseRawHl7Message, type Hl7Header, type ParsedHl7Message } from '../../pipelines/hl7v2/message.ts';
import { isKnownTimeZone, parseHl7DateTime, type Hl7DateTimePrecision } from '../../pipelines/hl7v2/timestamp.ts';
import { reportFailure } from '../console.ts';

export interface Hl7InspectOptions {
  json: boolean;
  /** IANA zone for MSH-7 values sent without an offset. */
  timezone: string;
  verbose: boolean;
}

export const HL7_INSPECT_EXIT = { ok: 0, problems: 1, unreadable: 2 } as const;

interface BatchJson {
  fileControlId: string | null;
  batchControlId: string | null;
}

interface MessageProblem {
  field: string;
  code: string;
  reason: string;
}

/** The MSH header as parsed (message.ts), with MSH-7 read as a date/time and what inspect adds. */
type ParsedMessageJson = {
  kind: 'message';
  status: 'parsed';
  offset: number;
  length: number;
} & Omit<Hl7Header, 'timestamp'> & {
    timestamp: { sent: string; instant: string | null; precision: Hl7DateTimePrecision | null } | null;
    delimiters: string;
    segments: { index: number; id: string; fields: number }[];
    batch: BatchJson | null;
    problems: MessageProblem[];
  };

interface RejectedMessageJson {
  kind: 'message';
  status: 'rejected';
  offset: number;
  length: number;
  code: string;
  reason: string;
  /** 1-based index of the offending segment, when one is at fault. */
  segment: number | null;
  field: string | null;
  batch: BatchJson | null;
}

interface ControlSegmentJson {
  kind: 'FHS' | 'BHS' | 'BTS' | 'FTS';
  offset: number;
  length: number;
  /** FHS-11 / BHS-11, for headers. */
  controlId?: string | null;
  /** BTS-1 / FTS-1 as sent, for trailers. */
  declared?: string | null;
}

interface GarbageJson {
  kind: 'garbage';
  offset: number;
  length: number;
  reason: string;
}

type UnitJson = ParsedMessageJson | RejectedMessageJson | ControlSegmentJson | GarbageJson;

interface SummaryJson {
  kind: 'summary';
  file: string;
  counts: {
    units: number;
    messages: number;
    parsed: number;
    rejected: number;
    withProblems: number;
    controlSegments: number;
    garbage: number;
    batches: number;
    discrepancies: number;
  };
  discrepancies: Hl7BatchDiscrepancy[];
  ok: boolean;
}

function batchJson(batch: Hl7BatchContext | undefined): BatchJson | null {
  return batch ? { fileControlId: batch.fileControlId ?? null, batchControlId: batch.batchControlId ?? null } : null;
}

/** Field n of a control segment (n = 1 is the first field after the id), or null when empty. */
function controlField(text: string, n: number): string | null {
  const separator = text.charAt(3);
  const value = separator === '' ? '' : (text.split(separator)[n] ?? '');
  return value === '' ? null : value;
}

function parsedJson(unit: RawHl7Unit & { kind: 'message' }, message: ParsedHl7Message, timezone: string): ParsedMessageJson {
  const { header, delimiters } = message;
  const problems: MessageProblem[] = [];
  let timestamp: ParsedMessageJson['timestamp'] = null;
  if (header.timestamp !== null) {
    const parsed = parseHl7DateTime(header.timestamp, timezone);
    timestamp = { sent: header.timestamp, instant: parsed?.ok ? parsed.instant : null, precision: parsed?.ok ? parsed.precision : null };
    if (parsed && !parsed.ok) problems.push({ field: 'MSH-7', code: `hl7.datetime.${parsed.problem}`, reason: `MSH-7 (date/time of message): ${parsed.reason}` });
  }
  return {
    kind: 'message',
    status: 'parsed',
    offset: unit.offset,
    length: unit.length,
    controlId: header.controlId,
    messageType: header.messageType,
    triggerEvent: header.triggerEvent,
    structure: header.structure,
    version: header.version,
    sendingApplication: header.sendingApplication,
    sendingFacility: header.sendingFacility,
    receivingApplication: header.receivingApplication,
    receivingFacility: header.receivingFacility,
    timestamp,
    charset: header.charset,
    delimiters: `${delimiters.field}${delimiters.component}${delimiters.repetition}${delimiters.escape}${delimiters.subcomponent}${delimiters.truncation ?? ''}`,
    segments: message.segments.map((segment, i) => ({ index: i + 1, id: segment.id, fields: segment.fields.length - 1 })),
    batch: batchJson(unit.batch),
    problems,
  };
}

/** One unit as its JSON object. Parse failures other than Hl7ParseError are bugs and propagate. */
function unitJson(unit: RawHl7Unit, file: string, timezone: string): UnitJson {
  switch (unit.kind) {
    case 'message':
      try {
        return parsedJson(unit, parseRawHl7Message(unit, file), timezone);
      } catch (err) {
        if (!(err instanceof Hl7ParseError)) throw err;
        return {
          kind: 'message',
          status: 'rejected',
          offset: unit.offset,
          length: unit.length,
          code: err.code,
          reason: err.reason,
          segment: err.segmentIndex,
          field: err.field,
          batch: batchJson(unit.batch),
        };
      }
    case 'garbage':
      return { kind: 'garbage', offset: unit.offset, length: unit.length, reason: unit.reason };
    case 'FHS':
    case 'BHS':
      return { kind: unit.kind, offset: unit.offset, length: unit.length, controlId: controlField(unit.text, 10) };
    case 'BTS':
    case 'FTS':
      return { kind: unit.kind, offset: unit.offset, length: unit.length, declared: controlField(unit.text, 1) };
  }
}

/** Segment ids in order, with runs of three or more shortened: `MSH PID OBR OBX×12`. */
function segmentList(ids: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let end = i;
    while (end + 1 < ids.length && ids[end + 1] === ids[i]) end += 1;
    const run = end - i + 1;
    out.push(run >= 3 ? `${ids[i]}×${run}` : Array(run).fill(ids[i]).join(' '));
    i = end + 1;
  }
  return out.join(' ');
}

const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`;

/** The readable listing: one line per unit; problems in capitals so they stand out. */
function unitText(unit: UnitJson): string {
  const at = `@${unit.offset}`;
  switch (unit.kind) {
    case 'message': {
      if (unit.status === 'rejected') {
        const where = [unit.segment !== null ? `segment ${unit.segment}` : null, unit.field].filter((part) => part !== null).join(', ');
        return `${at} REJECTED ${unit.code}: ${unit.reason}${where ? ` (${where})` : ''}`;
      }
      const type = unit.triggerEvent ? `${unit.messageType}^${unit.triggerEvent}` : unit.messageType;
      const line = `${at} ${type} ctl=${unit.controlId} v${unit.version ?? '?'} ${segmentList(unit.segments.map((s) => s.id))} (${plural(unit.segments.length, 'segment')})`;
      return [line, ...unit.problems.map((problem) => `${' '.repeat(at.length)} PROBLEM ${problem.code}: ${problem.reason}`)].join('\n');
    }
    case 'garbage':
      return `${at} GARBAGE ${plural(unit.length, 'byte')}: ${unit.reason}`;
    case 'FHS':
    case 'BHS':
      return `${at} ${unit.kind} ctl=${unit.controlId ?? '(none)'}`;
    case 'BTS':
    case 'FTS':
      return `${at} ${unit.kind} declares ${unit.declared ?? '(nothing)'}`;
  }
}

function summaryText(summary: SummaryJson): string {
  const { counts } = summary;
  const parts = [
    `${plural(counts.messages, 'message')} (${counts.parsed} parsed, ${counts.rejected} rejected${counts.withProblems ? `, ${counts.withProblems} with problems` : ''})`,
    plural(counts.batches, 'batch', 'batches'),
    plural(counts.garbage, 'garbage unit'),
    plural(counts.discrepancies, 'discrepancy', 'discrepancies'),
  ];
  const lines = summary.discrepancies.map((d) => `@${d.offset} DISCREPANCY ${d.segment}: ${d.reason}`);
  return [...lines, `${summary.file}: ${parts.join(', ')} — ${summary.ok ? 'ok' : 'PROBLEMS'}`].join('\n');
}

/**
 * Writes lines to a stream, waiting while it is full so a slow reader never makes output pile up.
 * Resolves false once the stream has failed (a reader such as `head` closed the pipe): stop then.
 */
function lineWriter(stream: NodeJS.WritableStream): (line: string) => Promise<boolean> {
  let failed = false;
  stream.on('error', () => {
    failed = true;
  });
  return async (line) => {
    if (failed) return false;
    if (!stream.write(`${line}\n`)) await once(stream, 'drain').catch(() => undefined);
    return !failed;
  };
}

/** The file's bytes as they stream; a read failure becomes an error naming the file. */
async function* fileChunks(file: string): AsyncGenerator<Uint8Array> {
  let handle;
  try {
    if ((await stat(file)).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    handle = await open(file, 'r');
  } catch (err) {
    throw fileSystemError('read', file, err);
  }
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) yield chunk as Uint8Array;
  } catch (err) {
    throw fileSystemError('read', file, err);
  } finally {
    await handle.close();
  }
}

/** Runs the inspection and returns the exit code; a file that cannot be read is reported here (exit 2). */
export async function hl7InspectCommand(file: string, options: Hl7InspectOptions, stream: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (!isKnownTimeZone(options.timezone)) {
    throw new CarelakeError({
      code: 'hl7.inspect.bad-timezone',
      kind: 'config',
      message: `--timezone '${options.timezone}' is not a time zone`,
      hint: 'give an IANA time zone such as Europe/London',
    });
  }
  const write = lineWriter(stream);
  const reconciler = new Hl7BatchReconciler();
  const counts = { units: 0, messages: 0, parsed: 0, rejected: 0, withProblems: 0, controlSegments: 0, garbage: 0 };
  let readerGone = false;
  try {
    for await (const unit of splitHl7Stream(fileChunks(file))) {
      reconciler.add(unit);
      const json = unitJson(unit, file, options.timezone);
      counts.units += 1;
      if (json.kind === 'message') {
        counts.messages += 1;
        if (json.status === 'rejected') counts.rejected += 1;
        else {
          counts.parsed += 1;
          if (json.problems.length > 0) counts.withProblems += 1;
        }
      } else if (json.kind === 'garbage') counts.garbage += 1;
      else counts.controlSegments += 1;
      if (!(await write(options.json ? JSON.stringify(json) : unitText(json)))) {
        readerGone = true;
        break;
      }
    }
  } catch (err) {
    if (!(err instanceof CarelakeError && err.code.startsWith('fs.'))) throw err;
    reportFailure(err, options.verbose);
    return HL7_INSPECT_EXIT.unreadable;
  }

  const report = reconciler.finish();
  const ok = counts.rejected === 0 && counts.withProblems === 0 && counts.garbage === 0 && report.discrepancies.length === 0;
  const summary: SummaryJson = {
    kind: 'summary',
    file,
    counts: { ...counts, batches: report.batches, discrepancies: report.discrepancies.length },
    discrepancies: report.discrepancies,
    ok,
  };
  if (!readerGone) await write(options.json ? JSON.stringify(summary) : summaryText(summary));
  return ok ? HL7_INSPECT_EXIT.ok : HL7_INSPECT_EXIT.problems;
}
