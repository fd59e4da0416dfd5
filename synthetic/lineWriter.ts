// A buffered, backpressure-aware text file writer for the generator. Text is collected into ~64 KiB
// chunks and handed to a write stream; when the stream's buffer is full we wait for 'drain' before
// producing more, so a million-patient run never queues unbounded output in memory. Stream errors
// are captured and rethrown at the next call as a CarelakeError naming the file.

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileSystemError } from '../core/errors.ts';

const CHUNK_CHARS = 64 * 1024;

export class LineWriter {
  readonly path: string;
  private readonly stream: WriteStream;
  private readonly encoding: BufferEncoding;
  private pending = '';
  private failure: unknown = null;
  private closed = false;

  private constructor(path: string, stream: WriteStream, encoding: BufferEncoding) {
    this.path = path;
    this.stream = stream;
    this.encoding = encoding;
    stream.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Opens (truncating) `path`; `latin1` for HL7 files that declare `8859/1` in MSH-18. */
  static async open(path: string, encoding: BufferEncoding = 'utf8'): Promise<LineWriter> {
    const stream = createWriteStream(path, { flags: 'w' });
    try {
      await once(stream, 'open');
    } catch (err) {
      throw fileSystemError('create', path, err);
    }
    return new LineWriter(path, stream, encoding);
  }

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.stream.end();
    try {
      await once(this.stream, 'finish');
    } catch (err) {
      throw fileSystemError('write', this.path, err);
    }
    this.throwIfFailed();
  }

  /** Drops the file handle after an error elsewhere; never throws. */
  destroy(): void {
    this.closed = true;
    this.stream.destroy();
  }

  private async flush(): Promise<void> {
    this.throwIfFailed();
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    if (!this.stream.write(chunk, this.encoding)) {
      try {
        await once(this.stream, 'drain');
      } catch (err) {
        throw fileSystemError('write', this.path, err);
      }
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw fileSystemError('write', this.path, this.failure);
  }
}
