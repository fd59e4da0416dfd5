// The writer of the audit log: every request to the serving API, and every governed CLI query, appends
// one entry here. Hand-written because no maintained npm package does an append-only, hash-chained log
// that several processes append to at once.
//
// How an append stays trustworthy:
// - across processes, a short exclusive lock (auditLock.ts) covers "read the last entry and the head,
//   append, move the head", so two writers never chain onto the same entry;
// - within a process, appends queue on one promise chain per file and are written as a group: whoever
//   is waiting when the lock comes free goes into one write() and one fsync (group commit), so a busy
//   server does not pay a lock and two fsyncs per request;
// - the log is opened with the append flag only (the writer never seeks or rewrites), and each group is
//   fsync'd before its promises resolve: an entry a caller has seen returned is on disk;
// - the head file (seq and hash of the last entry, replaced by fsync'd temp file + rename) lets verify
//   notice lines cut from the end, which a chain alone cannot show;
// - before chaining, the writer checks the last line (complete, parses, hashes to itself) and the head
//   (not ahead of the log): it refuses to append onto a damaged log rather than chain onto garbage, and
//   points to `carelake audit verify`.
// A crash between the fsync of the lines and the rename of the head leaves the head behind the log by
// that group: verify accepts a lagging head (it says so), the next append moves it on.
//
// Hash chaining without a secret shows tampering by anyone who does not also rewrite everything after
// the change and the head; the file permissions (and, in production, an OS append-only attribute on the
// log and a copy of the head kept elsewhere) are what stop a full rewrite.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';
import {
  auditEntryInputSchema,
  checkEntryIntegrity,
  entryHash,
  GENESIS_HASH,
  parseEntryLine,
  serialiseEntry,
  type AuditEntry,
  type AuditEntryFields,
  type AuditEntryInput,
} from './auditEntry.ts';
import { withAuditLock } from './auditLock.ts';
import { syncDirectory, writeFileAtomically } from '../../core/atomicFile.ts';

/** A line longer than this is refused by append and reported by verify (memory stays bounded). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Entries written by one group commit, at most. */
const MAX_GROUP = 1000;

export interface AuditHead {
  seq: number;
  hash: string;
}

export const auditHeadSchema = z.strictObject({
  seq: z.int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

export interface AuditPaths {
  file: string;
  headFile: string;
  lockFile: string;
}

/** `x/audit.jsonl` → `x/audit.head.json` and `x/audit.lock` (what LakeLayout.auditHead/auditLock name). */
export function auditCompanionPaths(file: string): AuditPaths {
  const full = resolve(file);
  const stem = basename(full).replace(/\.jsonl$/, '');
  return { file: full, headFile: join(dirname(full), `${stem}.head.json`), lockFile: join(dirname(full), `${stem}.lock`) };
}

export interface AuditLogOptions {
  headFile?: string;
  lockFile?: string;
  /** How long an append waits for another process's append (default 10 s). */
  lockTimeoutMs?: number;
  /** The clock for `at` when the caller gives none. */
  now?: () => Date;
}

interface Pending {
  input: z.output<typeof auditEntryInputSchema>;
  resolve: (entry: AuditEntry) => void;
  reject: (err: unknown) => void;
}

/** One promise chain per log file in this process, shared by every AuditLog open on it. */
const chains = new Map<string, Promise<unknown>>();

function onChain<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, settled);
  void settled.then(() => {
    if (chains.get(key) === settled) chains.delete(key);
  });
  return next;
}

export class AuditLog {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly paths: AuditPaths,
    private readonly lockTimeoutMs: number,
    private readonly now: () => Date,
  ) {}

  /** Opens (creating its folder if need be) the log at `file`; the head and lock files sit beside it. */
  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    const defaults = auditCompanionPaths(file);
    const paths: AuditPaths = {
      file: defaults.file,
      headFile: options.headFile ? resolve(options.headFile) : defaults.headFile,
      lockFile: options.lockFile ? resolve(options.lockFile) : defaults.lockFile,
    };
    mkdirSync(dirname(paths.file), { recursive: true, mode: 0o750 });
    return new AuditLog(paths, options.lockTimeoutMs ?? 10_000, options.now ?? (() => new Date()));
  }

  get file(): string {
    return this.paths.file;
  }

  /**
   * Appends one entry and resolves once it is on disk, with the seq, prev, hash (and `at`, if absent)
   * the log gave it. Rejects with `audit.damaged` if the log's end is damaged (see `carelake audit verify`).
   */
  append(entry: AuditEntryInput): Promise<AuditEntry> {
    if (this.closed) return Promise.reject(new CarelakeError({ code: 'audit.closed', kind: 'internal', message: `The audit log ${this.paths.file} was closed` }));
    const parsed = auditEntryInputSchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return Promise.reject(
        new CarelakeError({
          code: 'audit.invalid-entry',
          kind: 'internal',
          message: `An audit entry was refused: ${issue && issue.path.length > 0 ? `field ${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid'}`,
          location: { file: this.paths.file, field: issue?.path.join('.') },
        }),
      );
    }
    return new Promise<AuditEntry>((resolvePromise, rejectPromise) => {
      this.pending.push({ input: parsed.data, resolve: resolvePromise, reject: rejectPromise });
      this.startFlushing();
    });
  }

  /** Waits for queued appends; later appends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
  }

  private startFlushing(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      while (this.pending.length > 0) {
        // The group is taken once the lock is held, so appends that arrive while it is awaited join it.
        let group: Pending[] = [];
        try {
          await onChain(this.paths.file, () =>
            withAuditLock(
              this.paths.lockFile,
              async () => {
                group = this.pending.splice(0, MAX_GROUP);
                const entries = await this.writeGroup(group);
                group.forEach((p, i) => p.resolve(entries[i]!));
              },
              { timeoutMs: this.lockTimeoutMs },
            ),
          );
        } catch (err) {
          if (group.length === 0) group = this.pending.splice(0, MAX_GROUP);
          for (const p of group) p.reject(err);
        }
      }
    })().finally(() => {
      this.flushing = null;
      // An append that arrived after the loop's last look but before this callback.
      if (this.pending.length > 0) this.startFlushing();
    });
  }

  /** Under the lock: find where the chain ends, append the group, fsync, move the head. */
  private async writeGroup(group: readonly Pending[]): Promise<AuditEntry[]> {
    const { file, headFile } = this.paths;
    const head = await readHeadForAppend(headFile);
    const tail = await readLastLine(file);
    const end = chainEnd(file, head, tail);

    const entries: AuditEntry[] = [];
    let seq = end.seq;
    let prev = end.hash;
    const lines: string[] = [];
    for (const { input } of group) {
      const { at, ...rest } = input;
      const fields: AuditEntryFields = {
        seq: ++seq,
        at: at ?? this.now().toISOString(),
        principal: rest.principal,
        role: rest.role,
        endpoint: rest.endpoint,
        query: rest.query,
        reportId: rest.reportId,
        params: rest.params,
        rows: rest.rows,
        durationMs: rest.durationMs,
        outcome: rest.outcome,
        status: rest.status,
        error: rest.error,
        requestId: rest.requestId,
        release: rest.release,
        prev,
      };
      const entry: AuditEntry = { ...fields, hash: entryHash(fields) };
      const line = serialiseEntry(entry);
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
        throw new CarelakeError({
          code: 'audit.entry-too-large',
          kind: 'runtime',
          message: `An audit entry of more than ${MAX_LINE_BYTES} bytes was refused (query text or params too large)`,
          location: { file },
          hint: 'limit the request body size in the API',
        });
      }
      entries.push(entry);
      lines.push(line);
      prev = entry.hash;
    }

    // First entry ever: a head at seq 0 goes down first, so a crash after the line still leaves a head
    // (lagging, which verify accepts) rather than none (which it rejects).
    if (head === null) await writeHead(headFile, { seq: 0, hash: GENESIS_HASH });
    await appendDurably(file, Buffer.from(lines.join('\n') + '\n', 'utf8'), !tail.exists);
    await writeHead(headFile, { seq, hash: prev });
    return entries;
  }
}

interface LastLine {
  exists: boolean;
  size: number;
  /** The last complete line without its newline; null when the log is empty. */
  text: string | null;
  /** The file does not end in a newline: a write was interrupted (or the tail was cut). */
  partial: boolean;
  /** The last line is longer than MAX_LINE_BYTES. */
  tooLong?: boolean;
}

/** Reads backwards from the end just far enough to hold the last line. */
export async function readLastLine(file: string): Promise<LastLine> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, size: 0, text: null, partial: false };
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return { exists: true, size, text: null, partial: false };
    let chunk = 16 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buffer = Buffer.alloc(size - start);
      await readFully(fh, buffer, start);
      if (buffer[buffer.length - 1] !== 0x0a) return { exists: true, size, text: null, partial: true };
      const newline = buffer.lastIndexOf(0x0a, buffer.length - 2);
      if (newline >= 0 || start === 0) {
        const bytes = buffer.subarray(newline + 1, buffer.length - 1);
        return { exists: true, size, text: decodeUtf8(bytes), partial: false };
      }
      if (chunk > MAX_LINE_BYTES) return { exists: true, size, text: null, partial: false, tooLong: true };
      chunk *= 4;
    }
  } finally {
    await fh.close();
  }
}

async function readFully(fh: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await fh.read(buffer, offset, buffer.length - offset, position + offset);
    if (bytesRead === 0) throw new Error('the file shrank while it was read');
    offset += bytesRead;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of a line, or a string that cannot parse as JSON when the bytes are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return '\u0000not utf-8';
  }
}

/** The head file, or null when there is none. */
export async function readHead(headFile: string): Promise<AuditHead | null | 'invalid'> {
  let text: string;
  try {
    text = await readFile(headFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const parsed = auditHeadSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'invalid';
  } catch {
    return 'invalid';
  }
}

async function readHeadForAppend(headFile: string): Promise<AuditHead | null> {
  const head = await readHead(headFile);
  if (head === 'invalid') throw damaged(headFile, `its head file ${headFile} is not a valid head`);
  return head;
}

/** Where the next entry chains on, or `audit.damaged` if the log's end cannot be trusted. */
function chainEnd(file: string, head: AuditHead | null, tail: LastLine): AuditHead {
  if (tail.partial) return fail('its last line is incomplete (a write was interrupted, or the end of the file was cut)');
  if (tail.tooLong) return fail(`its last line is longer than ${MAX_LINE_BYTES} bytes`);
  if (tail.text === null) {
    if (head !== null && head.seq > 0) return fail(`it is ${tail.exists ? 'empty' : 'missing'}, but its head file records ${head.seq} entries`);
    return { seq: 0, hash: GENESIS_HASH };
  }
  const parsed = parseEntryLine(tail.text);
  if ('problem' in parsed) return fail(`its last line ${parsed.problem}`);
  const integrity = checkEntryIntegrity(parsed.entry, tail.text);
  if (integrity !== null) return fail(`its last line ${integrity}`);
  const last = parsed.entry;
  if (head === null) return fail('its head file is missing');
  if (head.seq > last.seq) return fail(`its head file records ${head.seq} entries but the log ends at seq ${last.seq}: lines were removed from the end`);
  if (head.seq === last.seq && head.hash !== last.hash) return fail(`its head file disagrees with the last entry (seq ${last.seq})`);
  // head.seq < last.seq: an append was interrupted after its lines and before its head; chain on.
  return { seq: last.seq, hash: last.hash };

  function fail(why: string): never {
    throw damaged(file, why);
  }
}

function damaged(file: string, why: string): CarelakeError {
  return new CarelakeError({
    code: 'audit.damaged',
    kind: 'runtime',
    message: `Refusing to append to the audit log ${file}: ${why}`,
    location: { file },
    hint: 'run `carelake audit verify` to see which line; nothing is appended until the log is repaired',
  });
}

async function appendDurably(file: string, data: Buffer, created: boolean): Promise<void> {
  // 'a': O_APPEND|O_CREAT, never truncating or seeking; every write lands at the end of the file.
  const fh = await open(file, 'a', 0o640);
  try {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await fh.write(data, offset, data.length - offset);
      offset += bytesWritten;
    }
    // fdatasync: the data and the new length (needed to read it back), not the timestamps.
    await fh.datasync();
  } finally {
    await fh.close();
  }
  if (created) await syncDirectory(dirname(file));
}

/** Readers see the old head or the new, never half of either. */
async function writeHead(headFile: string, head: AuditHead): Promise<void> {
  await writeFileAtomically(headFile, JSON.stringify({ seq: head.seq, hash: head.hash }) + '\n', 0o640);
}
