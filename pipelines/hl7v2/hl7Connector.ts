// The `hl7v2` source kind: files matching a glob, each split into messages (batched or plain, any line
// endings, MLLP), each message checked and its MSH header read in JavaScript, then staged in parts
// that DuckDB turns into `messages`, `segments` and `duplicates` rows (hl7Datasets.ts) while the next
// part is parsed. A message that does not parse, and any text outside a message, is quarantined with
// its byte offset; the rest of the file goes on. Batch trailer counts (BTS-1, FTS-1) that disagree are
// recorded on the file; the file still lands. A message already landed (same content) is counted as
// filtered and listed in `duplicates`, never stored twice.

import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { glob } from 'tinyglobby';
import { CarelakeError, fileSystemError, toCarelakeError } from '../../core/errors.ts';
import type { Connector, ConnectorFactory } from '../connectors/connector.ts';
import type { FileLanding, Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import { describeLocalFile, modifiedWithin } from '../landing/localFiles.ts';
import { SerialTasks } from '../landing/serialTasks.ts';
import { SftpInbox, sftpConnector } from '../sftp/sftpInbox.ts';
import { Hl7BatchReconciler } from './batch.ts';
import { decodeHl7Message, hl7CharsetEncoding, type Hl7TextEncoding } from './charset.ts';
import { splitHl7Stream, type RawHl7Message } from './fileSplitter.ts';
import { duplicatesRowsSql, HL7_DUPLICATES, HL7_MESSAGES, HL7_FLAGS_TABLE, HL7_PART_TABLE, HL7_SEGMENTS, messagesRowsSql, segmentsRowsSql, stagePartSql } from './hl7Datasets.ts';
import { scanHl7Message, type Hl7MessageScan } from './message.ts';
import { openMessageIndex } from './messageIndex.ts';
import { Hl7MessageSpool } from './messageSpool.ts';
import { parseHl7DateTime } from './timestamp.ts';

export { HL7_DUPLICATES, HL7_MESSAGES, HL7_SEGMENTS };

const READ_CHUNK = 1 << 20;

export interface Hl7PartLimits {
  /** A part is handed to DuckDB at this many characters of spooled text, or messages, whichever first. */
  chars: number;
  messages: number;
}

/** 32 MB of text keeps a part's scratch table well inside a landing slot's 128 MB DuckDB. */
export const DEFAULT_HL7_PART_LIMITS: Hl7PartLimits = { chars: 32 << 20, messages: 100_000 };

/** The connector; tests pass small part limits to cross part boundaries with a few messages. */
export function makeHl7v2Connector(limits: Hl7PartLimits = DEFAULT_HL7_PART_LIMITS): ConnectorFactory<'hl7v2'> {
  return (source, ctx) => {
    const land: Connector['land'] = async (file, landing) => {
      const parts = new Hl7PartLander(landing, source.timezone, [], (reused) =>
        ctx.logger.warn({ source: source.name, file: file.location, messages: reused }, 'control ids reused with different content (flagged control_id_reused)'),
      );
      const reconciler = new Hl7BatchReconciler();
      const dir = await landing.scratchDir();
      let spool = await Hl7MessageSpool.create(join(dir, 'part-0.txt'));
      try {
        await openMessageIndex(landing.db, ctx.layout, source.name, HL7_MESSAGES.dataset);
        for await (const unit of splitHl7Stream(createReadStream(file.localPath ?? file.location, { highWaterMark: READ_CHUNK }))) {
          reconciler.add(unit);
          if (unit.kind === 'garbage') {
            await landing.reject({ record: `offset ${unit.offset}`, reason: unit.reason, original: Buffer.from(unit.text, 'latin1') });
            continue;
          }
          if (unit.kind !== 'message') continue;
          const message = readMessage(unit, file.location, source.encoding);
          if ('rejection' in message) {
            const { field, reason } = message.rejection;
            await landing.reject({ record: `offset ${unit.offset}`, field, reason, original: Buffer.from(unit.text, 'latin1') });
            continue;
          }
          await spool.add(spoolRow(unit, message, source.timezone));
          if (spool.chars >= limits.chars || spool.messages >= limits.messages) {
            parts.land(spool);
            spool = await Hl7MessageSpool.create(join(dir, `part-${parts.started}.txt`));
          }
        }
        parts.land(spool);
        await parts.finish();
      } finally {
        await parts.settle();
        await spool.close();
        await rm(dir, { recursive: true, force: true });
      }
      const report = reconciler.finish();
      return report.discrepancies.map((d) => ({ what: `${d.segment}-1 at offset ${d.offset} (${d.reason})`, declared: d.declared, actual: d.actual }));
    };
    if (source.sftp) return sftpConnector(new SftpInbox({ source: source.name, settings: source.sftp, layout: ctx.layout, logger: ctx.logger, state: ctx.state, window: ctx.window }), land);
    return {
      async listFiles(): Promise<SourceFile[]> {
        const path = source.path!;
        const root = globRoot(path);
        try {
          const info = await stat(root);
          if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        } catch (err) {
          throw fileSystemError(`read the folder of source '${source.name}',`, root, err);
        }
        const paths = await modifiedWithin((await glob(path, { absolute: true, onlyFiles: true, dot: false, followSymbolicLinks: true })).sort(), ctx.window);
        const files: SourceFile[] = [];
        for (const path of paths) files.push(await describeLocalFile(path));
        return files;
      },
      land,
    };
  };
}

export const hl7v2Connector: ConnectorFactory<'hl7v2'> = makeHl7v2Connector();

interface ReadMessage {
  scan: Hl7MessageScan;
  text: string;
  encoding: Hl7TextEncoding;
}

/** Checks and decodes one message unit, or says why it must be quarantined. */
function readMessage(unit: RawHl7Message, file: string, configured: 'auto' | Hl7TextEncoding): ReadMessage | { rejection: { field?: string; reason: string } } {
  const origin = { file, offset: unit.offset };
  try {
    const scan = scanHl7Message(unit.text, origin, unit.segments);
    const wanted = configured === 'auto' ? hl7CharsetEncoding(scan.header.charset) : configured;
    const decoded = decodeHl7Message(unit.text, wanted);
    // Delimiters are ASCII, so decoding cannot change the structure; only header values can differ.
    const final = decoded.text === unit.text ? scan : scanHl7Message(decoded.text, origin);
    return { scan: final, text: decoded.text, encoding: decoded.encoding };
  } catch (err) {
    const error = toCarelakeError(err);
    if (error.kind === 'internal') throw error;
    const field = error.location && 'field' in error.location ? error.location.field : undefined;
    return { rejection: { ...(field ? { field } : {}), reason: error.message } };
  }
}

function spoolRow(unit: RawHl7Message, message: ReadMessage, timezone: string): Parameters<Hl7MessageSpool['add']>[0] {
  const { header: h, delimiters, segmentTexts } = message.scan;
  const time = h.timestamp === null ? null : parseHl7DateTime(h.timestamp, timezone);
  const parsed = time !== null && time.ok ? time : null;
  return {
    _record: unit.offset,
    byte_length: unit.length,
    control_id: h.controlId,
    message_type: h.messageType,
    trigger_event: h.triggerEvent,
    structure: h.structure,
    version: h.version,
    sending_application: h.sendingApplication,
    sending_facility: h.sendingFacility,
    receiving_application: h.receivingApplication,
    receiving_facility: h.receivingFacility,
    message_timestamp: h.timestamp,
    message_time: parsed?.instant ?? null,
    message_time_precision: parsed?.precision ?? null,
    charset: h.charset,
    encoding: message.encoding,
    delimiters: delimiters.field + delimiters.component + delimiters.repetition + delimiters.escape + delimiters.subcomponent + (delimiters.truncation ?? ''),
    file_control_id: unit.batch?.fileControlId ?? null,
    batch_control_id: unit.batch?.batchControlId ?? null,
    segment_count: segmentTexts.length,
    message: message.text,
  };
}

/** Lands staged parts in the background, in order (SerialTasks); each landed part joins the parts later ones are checked against for duplicates. */
class Hl7PartLander {
  private readonly tasks = new SerialTasks();

  constructor(
    private readonly landing: FileLanding,
    private readonly timezone: string,
    private readonly earlier: string[],
    private readonly onReused: (messages: number) => void,
  ) {}

  get started(): number {
    return this.tasks.started;
  }

  land(spool: Hl7MessageSpool): void {
    this.tasks.add(() => this.landPart(spool), () => spool.close());
  }

  finish(): Promise<void> {
    return this.tasks.finish();
  }

  settle(): Promise<void> {
    return this.tasks.settle();
  }

  private async landPart(spool: Hl7MessageSpool): Promise<void> {
    await spool.close();
    if (spool.messages === 0) return;
    const { db } = this.landing;
    for (const sql of stagePartSql(spool.readSql(), this.earlier)) await db.run(sql, undefined, `stage HL7 messages from ${spool.path}`);
    const messages = await this.landing.landRows(HL7_MESSAGES, messagesRowsSql(this.timezone));
    if (messages.path !== null) this.earlier.push(messages.path);
    await this.landing.landRows(HL7_SEGMENTS, segmentsRowsSql(), { derived: true });
    const duplicates = await this.landing.landRows(HL7_DUPLICATES, duplicatesRowsSql(), { derived: true });
    this.landing.recordFiltered(duplicates.rows);
    const reused = Number(await db.scalar(`SELECT count(*) FROM ${HL7_FLAGS_TABLE} WHERE control_id_reused AND NOT duplicate`));
    if (reused > 0) this.onReused(reused);
    await db.run(`DROP TABLE ${HL7_PART_TABLE}; DROP TABLE ${HL7_FLAGS_TABLE}`);
    await rm(spool.path, { force: true });
  }
}

/** The folder a glob starts in: everything before the first segment with a glob character. */
function globRoot(pattern: string): string {
  const parts = pattern.split('/');
  const first = parts.findIndex((p) => /[*?[\]{}!]/.test(p));
  if (first === -1) return dirname(pattern);
  const root = parts.slice(0, first).join('/');
  if (root === '') throw new CarelakeError({ code: 'hl7.glob', kind: 'config', message: `The path '${pattern}' must start with a folder` });
  return root;
}
