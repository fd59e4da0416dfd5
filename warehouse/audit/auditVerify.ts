// Checks an audit log end to end, streaming, so memory stays flat however long the log: each line is
// JSON in the exact form carelake writes, matches the schema, has the next seq, chains onto the line
// before (prev) and hashes to itself; the head file agrees with the end (lines cut from the end, or the
// head deleted while the log is not empty). Stops at the first problem and names its line.
//
// The log is read up to where it ended at one instant, taken under the audit lock together with the
// head: appends that land while verify reads are left for the next run, and a line being written is
// never mistaken for an interrupted one. A copy in a read-only folder (no lock possible) is read as is.

import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { checkEntryIntegrity, GENESIS_HASH, parseEntryLine, type AuditEntry } from './auditEntry.ts';
import { withAuditLock } from './auditLock.ts';
import { auditCompanionPaths, decodeUtf8, MAX_LINE_BYTES, readHead, type AuditHead } from './auditLog.ts';

export interface AuditProblem {
  /** 1-based line of the log; 0 when the problem is the head file itself. */
  line: number;
  seq?: number;
  problem: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Entries that passed every check (all of them when ok). */
  entries: number;
  lastSeq: number;
  lastHash: string;
  firstProblem?: AuditProblem;
  /** Things worth knowing that are not tampering, e.g. a head left behind by an interrupted append. */
  notes: string[];
}

export interface VerifyAuditOptions {
  lockFile?: string;
  lockTimeoutMs?: number;
  /** Called for each entry that passed its checks, in order (for landing or showing in the same pass). */
  onEntry?: (entry: AuditEntry, line: number) => void | Promise<void>;
}

interface Snapshot {
  head: AuditHead | null | 'invalid';
  /** Bytes of the log to read; -1 when there is no log file. */
  size: number;
  locked: boolean;
}

export async function verifyAuditLog(file: string, headFile: string, options: VerifyAuditOptions = {}): Promise<AuditVerifyResult> {
  const lockFile = options.lockFile ?? auditCompanionPaths(file).lockFile;
  const notes: string[] = [];
  // Nothing audited yet: say so without creating the folder for a lock.
  if (!existsSync(file) && !existsSync(headFile)) return { ok: true, entries: 0, lastSeq: 0, lastHash: GENESIS_HASH, notes };
  const snapshot = await takeSnapshot(file, headFile, lockFile, options.lockTimeoutMs);
  if (!snapshot.locked) notes.push('the audit lock could not be taken (read-only folder?): the log was read as it stood');

  let line = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  const head = snapshot.head;
  const result = (problem?: AuditProblem): AuditVerifyResult => ({
    ok: problem === undefined,
    entries: lastSeq,
    lastSeq,
    lastHash,
    ...(problem ? { firstProblem: problem } : {}),
    notes,
  });

  if (head === 'invalid') return result({ line: 0, problem: `the head file ${headFile} is not a valid head (seq and hash)` });

  const check = async (bytes: Uint8Array): Promise<AuditProblem | null> => {
    line++;
    const text = decodeUtf8(bytes);
    const parsed = parseEntryLine(text);
    if ('problem' in parsed) return { line, problem: `line ${line} ${parsed.problem}` };
    const entry = parsed.entry;
    const expected = lastSeq + 1;
    if (entry.seq !== expected) {
      return { line, seq: entry.seq, problem: `line ${line} has seq ${entry.seq} where ${expected} was expected: a line was deleted, inserted or moved at this point` };
    }
    if (entry.prev !== lastHash) {
      return {
        line,
        seq: entry.seq,
        problem:
          line === 1
            ? `line 1 does not start the chain (its prev is not the genesis hash): lines were removed from the start`
            : `line ${line} does not chain onto line ${line - 1} (its prev is not that line's hash): line ${line - 1} was altered, or a line was inserted, deleted or moved`,
      };
    }
    const integrity = checkEntryIntegrity(entry, text);
    if (integrity !== null) return { line, seq: entry.seq, problem: `line ${line} ${integrity}` };
    if (head !== null && entry.seq === head.seq && entry.hash !== head.hash) {
      return { line, seq: entry.seq, problem: `line ${line} (seq ${entry.seq}) is not the entry the head file records: the log was rewritten from this line on` };
    }
    lastSeq = entry.seq;
    lastHash = entry.hash;
    const pending = options.onEntry?.(entry, line);
    if (pending) await pending;
    return null;
  };

  if (snapshot.size < 0) {
    if (head !== null && head.seq > 0) return result({ line: 1, seq: 1, problem: `the log file ${file} is missing, but the head file records ${head.seq} entries` });
    return result();
  }

  // Split the first `size` bytes on \n, holding at most one line in memory.
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  if (snapshot.size > 0) {
    const stream = createReadStream(file, { start: 0, end: snapshot.size - 1, highWaterMark: 1024 * 1024 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        let from = 0;
        for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
          const piece = chunk.subarray(from, nl);
          const bytes = pieces.length === 0 ? piece : Buffer.concat([...pieces, piece]);
          pieces = [];
          pieceBytes = 0;
          from = nl + 1;
          if (bytes.length > MAX_LINE_BYTES) return result({ line: line + 1, problem: `line ${line + 1} is longer than ${MAX_LINE_BYTES} bytes` });
          const problem = await check(bytes);
          if (problem) return result(problem);
        }
        if (from < chunk.length) {
          pieces.push(chunk.subarray(from));
          pieceBytes += chunk.length - from;
          if (pieceBytes > MAX_LINE_BYTES) return result({ line: line + 1, problem: `line ${line + 1} is longer than ${MAX_LINE_BYTES} bytes` });
        }
      }
    } finally {
      stream.destroy();
    }
  }
  if (pieceBytes > 0) {
    return result({ line: line + 1, problem: `line ${line + 1} is incomplete: it does not end in a newline (a write was interrupted, or the end of the file was cut)` });
  }

  if (head === null) {
    if (lastSeq > 0) return result({ line: 0, problem: `the head file ${headFile} is missing while the log has ${lastSeq} entries: it was deleted, or the log was copied without it` });
    return result();
  }
  if (head.seq > lastSeq) {
    const missing = head.seq - lastSeq;
    return result({
      line: line + 1,
      seq: lastSeq + 1,
      problem: `the head file records ${head.seq} entries but the log ends at line ${line} (seq ${lastSeq}): ${missing} line${missing === 1 ? ' was' : 's were'} removed from the end`,
    });
  }
  if (head.seq === 0 && head.hash !== GENESIS_HASH) return result({ line: 0, problem: `the head file ${headFile} records seq 0 with a hash other than the genesis hash` });
  if (head.seq < lastSeq) {
    const lag = lastSeq - head.seq;
    notes.push(`the head file lags the log by ${lag} entr${lag === 1 ? 'y' : 'ies'}: an append was interrupted after writing its lines and before moving the head; the next append moves it`);
  }
  return result();
}

/** The head and the log's length at one instant, under the lock when the folder allows. */
async function takeSnapshot(file: string, headFile: string, lockFile: string, lockTimeoutMs: number | undefined): Promise<Snapshot> {
  const look = async (locked: boolean): Promise<Snapshot> => {
    const head = await readHead(headFile);
    let size = -1;
    try {
      size = (await stat(file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return { head, size, locked };
  };
  try {
    return await withAuditLock(lockFile, () => look(true), { timeoutMs: lockTimeoutMs ?? 10_000 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return look(false);
    throw err;
  }
}
