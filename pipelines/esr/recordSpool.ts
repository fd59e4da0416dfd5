// Stages the records of one ESR record type for DuckDB: each line as `<line number>~<line>`, which
// DuckDB reads back with read_csv (delimiter `~`, no quoting) on its own thread while JavaScript reads
// on. Why not DuckDB's appender: csv-parse is the landing's bottleneck, and appending a 50-column row
// cell by cell costs more JavaScript time than writing the line it already has (see the HL7 spool).
//
// DuckDB's CSV reader ends lines at CR as well as LF, so a lone CR inside a field is written as VT
// (0x0B) and restored in SQL; a line holding both cannot be staged and is the caller's to reject.

import { open, type FileHandle } from 'node:fs/promises';
import { quoteLiteral } from '../../core/sql.ts';
import type { EsrRecordLayout } from './layout.ts';
import { spoolColumns } from './esrDatasets.ts';

const WRITE_CHARS = 1 << 20;
const CR_STAND_IN = '\x0b';
const MIN_LINE_LIMIT = 1 << 16;

export class EsrRecordSpool {
  private handle: FileHandle | null = null;
  private pending = '';
  private hasCarriageReturn = false;
  private longest = 0;
  records = 0;

  private constructor(
    readonly path: string,
    readonly record: EsrRecordLayout,
  ) {}

  static async create(path: string, record: EsrRecordLayout): Promise<EsrRecordSpool> {
    const spool = new EsrRecordSpool(path, record);
    spool.handle = await open(path, 'w');
    return spool;
  }

  /** Whether a line can be staged: false only for one holding both CR and the VT that stands in for it. */
  static canStage(raw: string): boolean {
    return !(raw.includes('\r') && raw.includes(CR_STAND_IN));
  }

  async add(line: number, raw: string): Promise<void> {
    let text = raw;
    if (text.includes('\r')) {
      this.hasCarriageReturn = true;
      text = text.replaceAll('\r', CR_STAND_IN);
    }
    const staged = `${line}~${text}\n`;
    this.longest = Math.max(this.longest, staged.length);
    this.pending += staged;
    this.records += 1;
    if (this.pending.length >= WRITE_CHARS) await this.write();
  }

  async close(): Promise<void> {
    await this.write();
    await this.handle?.close();
    this.handle = null;
  }

  /** SQL reading the spool back: `_record`, `_type` and the fields `f0`, `f1`, … as text (empty = NULL). */
  readSql(): string {
    // DuckDB's CSV buffers are a multiple of the line limit: sized to the longest line, not its 2 MB default.
    const lineLimit = Math.max(MIN_LINE_LIMIT, this.longest * 3 + 1024);
    const read =
      `read_csv(${quoteLiteral(this.path)}, delim = '~', quote = '', escape = '', header = false, auto_detect = false, ` +
      `new_line = '\\n', max_line_size = ${lineLimit}, buffer_size = ${lineLimit * 2}, columns = {${spoolColumns(this.record)}})`;
    if (!this.hasCarriageReturn) return `SELECT * FROM ${read}`;
    const fields = this.record.columns.map((_, i) => `replace(f${i}, chr(11), chr(13)) AS f${i}`);
    return `SELECT _record, _type, ${fields.join(', ')} FROM ${read}`;
  }

  private async write(): Promise<void> {
    if (this.pending === '' || this.handle === null) return;
    const text = this.pending;
    this.pending = '';
    await this.handle.write(text, null, 'utf8');
  }
}
