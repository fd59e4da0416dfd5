// Stages parsed HL7 v2 messages for DuckDB: one line per message in a plain text file, which DuckDB
// reads with read_csv on its own thread while JavaScript parses the next part of the file.
//
// Why a file and not DuckDB's appender: measured on this machine, appending a 22-column row costs
// 7.4 µs on the JavaScript thread, writing it as a line 2 µs; DuckDB then reads 300k lines in
// 0.6 s off that thread. JavaScript parsing is the bottleneck of HL7 landing, so it must do as
// little else as possible.
//
// Format: fields separated by 0x1C, lines ended by LF, no quoting. The message text can hold neither
// (the splitter ends messages at LF and 0x1C), and its segment separator CR is written as 0x0B,
// which it cannot hold either (an MLLP byte), because DuckDB's CSV reader treats CR as a line end.
// Header values are decoded text and could, in theory, hold any character; one holding a line or
// field break is written as 0x1D + base64 of its UTF-8 bytes and decoded back in SQL.

import { open, type FileHandle } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import { quoteLiteral } from '../../core/sql.ts';

/** Spool columns, in line order, with the DuckDB type each is read as. */
export const SPOOL_COLUMNS = [
  ['_record', 'BIGINT'],
  ['byte_length', 'INTEGER'],
  ['control_id', 'VARCHAR'],
  ['message_type', 'VARCHAR'],
  ['trigger_event', 'VARCHAR'],
  ['structure', 'VARCHAR'],
  ['version', 'VARCHAR'],
  ['sending_application', 'VARCHAR'],
  ['sending_facility', 'VARCHAR'],
  ['receiving_application', 'VARCHAR'],
  ['receiving_facility', 'VARCHAR'],
  ['message_timestamp', 'VARCHAR'],
  ['message_time', 'VARCHAR'],
  ['message_time_precision', 'VARCHAR'],
  ['charset', 'VARCHAR'],
  ['encoding', 'VARCHAR'],
  ['delimiters', 'VARCHAR'],
  ['file_control_id', 'VARCHAR'],
  ['batch_control_id', 'VARCHAR'],
  ['segment_count', 'INTEGER'],
  ['message', 'VARCHAR'],
] as const;

export type SpoolColumn = (typeof SPOOL_COLUMNS)[number][0];
export type SpoolRow = Record<Exclude<SpoolColumn, 'message'>, string | number | null> & { message: string };

const FIELD = '\x1c';
const SEGMENT_STAND_IN = '\x0b';
const ENCODED = '\x1d';
const NEEDS_ENCODING = /[\n\r\x0b\x1c\x1d]/;
const WRITE_CHARS = 1 << 20;
/** DuckDB's CSV reader needs a line limit; its buffers are a multiple of it, so keep it small unless needed. */
const MIN_LINE_LIMIT = 1 << 20;

function spoolValue(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return NEEDS_ENCODING.test(text) ? ENCODED + Buffer.from(text, 'utf8').toString('base64') : text;
}

/** One spool file: rows go in through add(), DuckDB reads them back through readSql() after close(). */
export class Hl7MessageSpool {
  private handle: FileHandle | null = null;
  private pending = '';
  private longest = 0;
  messages = 0;
  chars = 0;

  private constructor(readonly path: string) {}

  static async create(path: string): Promise<Hl7MessageSpool> {
    const spool = new Hl7MessageSpool(path);
    spool.handle = await open(path, 'w');
    return spool;
  }

  async add(row: SpoolRow): Promise<void> {
    let line = '';
    for (const [name] of SPOOL_COLUMNS) {
      if (name === 'message') continue;
      line += spoolValue(row[name]) + FIELD;
    }
    line += row.message.replaceAll('\r', SEGMENT_STAND_IN) + '\n';
    this.longest = Math.max(this.longest, line.length);
    this.pending += line;
    this.messages += 1;
    this.chars += line.length;
    if (this.pending.length >= WRITE_CHARS) await this.write();
  }

  async close(): Promise<void> {
    await this.write();
    await this.handle?.close();
    this.handle = null;
  }

  /** SQL reading the spool back as typed rows, with header values and segment separators restored. */
  readSql(): string {
    // UTF-8 can take up to 3 bytes for a character the line length counts once.
    const lineLimit = Math.max(MIN_LINE_LIMIT, this.longest * 3 + 1024);
    const columns = SPOOL_COLUMNS.map(([name, type]) => `${quoteLiteral(name)}: ${quoteLiteral(type)}`).join(', ');
    const select = SPOOL_COLUMNS.map(([name, type]) => {
      if (name === 'message') return `replace(message, chr(11), chr(13)) AS message`;
      if (type !== 'VARCHAR') return name;
      return `CASE WHEN starts_with(${name}, chr(29)) THEN decode(from_base64(${name}[2:])) ELSE ${name} END AS ${name}`;
    }).join(', ');
    return (
      `SELECT ${select} FROM read_csv(${quoteLiteral(this.path)}, delim = ${quoteLiteral(FIELD)}, quote = '', escape = '', header = false, ` +
      `auto_detect = false, new_line = '\\n', max_line_size = ${lineLimit}, buffer_size = ${lineLimit * 2}, columns = {${columns}})`
    );
  }

  private async write(): Promise<void> {
    if (this.pending === '' || this.handle === null) return;
    const text = this.pending;
    this.pending = '';
    await this.handle.write(text, null, 'utf8');
  }
}
