// Rejected input is kept, never dropped: each rejected record as one NDJSON line beside its reason,
// each rejected whole file as a byte-for-byte copy beside a reason file, under
// quarantine/<source>/<run_id>/. The ledger indexes every entry.

import { createWriteStream, type WriteStream } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { once } from 'node:events';

export interface RejectedRecord {
  /** `line 12`, `offset 4096`, `record 3` — a position a person can find in the file. */
  record: string;
  field?: string | undefined;
  reason: string;
  /** The record's original bytes (or text). */
  original: string | Uint8Array;
}

/** One file's rejects: `<file>.rejects.ndjson`, opened on the first reject. */
export class QuarantineWriter {
  private stream: WriteStream | null = null;
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly location: string,
  ) {}

  get path(): string {
    return join(this.dir, `${safeName(this.location)}.rejects.ndjson`);
  }

  get rejected(): number {
    return this.count;
  }

  async write(reject: RejectedRecord): Promise<void> {
    if (!this.stream) {
      await mkdir(this.dir, { recursive: true });
      this.stream = createWriteStream(this.path, { flags: 'a' });
    }
    const original = typeof reject.original === 'string' ? { original: reject.original } : encodeBytes(reject.original);
    const line = JSON.stringify({ file: this.location, record: reject.record, field: reject.field ?? null, reason: reject.reason, ...original }) + '\n';
    this.count++;
    if (!this.stream.write(line)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (!this.stream) return;
    const stream = this.stream;
    this.stream = null;
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

/** Copies a whole rejected file and writes `<file>.reason.json` beside it. */
export async function quarantineFile(dir: string, location: string, localPath: string | null, reason: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, safeName(location));
  if (localPath) await copyFile(localPath, target);
  await writeFile(`${target}.reason.json`, JSON.stringify({ file: location, ...reason }, null, 2) + '\n');
  return target;
}

function encodeBytes(bytes: Uint8Array): { original: string } | { original_base64: string } {
  const text = Buffer.from(bytes).toString('utf8');
  // Keep text readable when it round-trips; otherwise keep the exact bytes.
  return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? { original: text } : { original_base64: Buffer.from(bytes).toString('base64') };
}

function safeName(location: string): string {
  return basename(location.replace(/[?#].*$/, '')).replace(/[^A-Za-z0-9._-]/g, '_') || 'input';
}
