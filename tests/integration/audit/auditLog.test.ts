import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryHash, serialiseEntry, type AuditEntry, type AuditEntryInput } from '../../../warehouse/audit/auditEntry.ts';
import { auditCompanionPaths, AuditLog, type AuditPaths } from '../../../warehouse/audit/auditLog.ts';
import { verifyAuditLog } from '../../../warehouse/audit/auditVerify.ts';

const APPENDER = resolve(import.meta.dirname, '../../support/auditAppender.ts');

function freshLog(): AuditPaths {
  const dir = mkdtempSync(join(tmpdir(), 'carelake-audit-'));
  return auditCompanionPaths(join(dir, 'audit', 'audit.jsonl'));
}

function request(i: number, principal = 'key:ab12cd'): AuditEntryInput {
  return {
    principal,
    role: 'analyst',
    endpoint: 'POST /api/query',
    query: `select * from marts.encounters limit ${i}`,
    params: { limit: i },
    rows: i,
    durationMs: 3.25,
    outcome: 'ok',
    status: 200,
    requestId: `req-${i}`,
    release: '20260301T090000000Z',
  };
}

async function logWith(n: number): Promise<AuditPaths> {
  const paths = freshLog();
  const log = AuditLog.open(paths.file);
  for (let i = 1; i <= n; i++) await log.append(request(i));
  await log.close();
  return paths;
}

const verify = (paths: AuditPaths) => verifyAuditLog(paths.file, paths.headFile);
const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const writeLines = (file: string, lines: readonly string[]) => writeFileSync(file, lines.map((l) => `${l}\n`).join(''));

function runAppender(file: string, count: number, principal: string, concurrency: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', APPENDER, file, String(count), principal, String(concurrency)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise(stdout.trim()) : reject(new Error(`appender exited ${code}: ${stderr}`))));
  });
}

describe('AuditLog appends', () => {
  it('chains entries from many concurrent callers on two handles in one process', async () => {
    const paths = freshLog();
    const a = AuditLog.open(paths.file);
    const b = AuditLog.open(paths.file);
    const returned = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? a : b).append(request(i + 1))));
    await Promise.all([a.close(), b.close()]);

    expect(returned.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    const result = await verify(paths);
    expect(result).toMatchObject({ ok: true, entries: 400, lastSeq: 400 });
    expect(result.notes).toEqual([]);
    // What append returned is what the file holds, line for line.
    const lines = readLines(paths.file);
    for (const entry of returned) expect(lines[entry.seq - 1]).toBe(serialiseEntry(entry));
    expect(JSON.parse(readFileSync(paths.headFile, 'utf8'))).toEqual({ seq: 400, hash: result.lastHash });
  });

  it('stays consecutive and chained with three other processes appending at the same time', async () => {
    const paths = freshLog();
    const log = AuditLog.open(paths.file);
    let childrenDone = false;
    const children = Promise.all([runAppender(paths.file, 150, 'cli:one', 3), runAppender(paths.file, 150, 'cli:two', 1), runAppender(paths.file, 150, 'cli:three', 5)]).finally(() => {
      childrenDone = true;
    });
    // This process keeps appending, ten requests at a time, for as long as the children run.
    let ours = 0;
    while (!childrenDone) {
      await Promise.all(Array.from({ length: 10 }, () => log.append(request(++ours, 'key:server'))));
    }
    expect(await children).toEqual(['150', '150', '150']);
    await log.close();

    const result = await verify(paths);
    expect(result).toMatchObject({ ok: true, entries: 450 + ours, lastSeq: 450 + ours });
    const entries = readLines(paths.file).map((l) => JSON.parse(l) as AuditEntry);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 450 + ours }, (_, i) => i + 1));
    const perPrincipal = new Map<string, number>();
    for (const e of entries) perPrincipal.set(e.principal, (perPrincipal.get(e.principal) ?? 0) + 1);
    expect(Object.fromEntries(perPrincipal)).toEqual({ 'cli:one': 150, 'cli:two': 150, 'cli:three': 150, 'key:server': ours });
    // The writers really did take turns, rather than one after another.
    const turns = entries.filter((e, i) => i > 0 && e.principal !== entries[i - 1]!.principal).length;
    expect(turns).toBeGreaterThan(20);
    expect(existsSync(paths.lockFile)).toBe(false);
  }, 60_000);

  it('stamps at, defaults the optional fields to null and refuses an invalid entry by field', async () => {
    const paths = freshLog();
    const log = AuditLog.open(paths.file, { now: () => new Date('2026-03-01T10:00:00.000Z') });
    const entry = await log.append({ principal: 'anonymous', role: null, endpoint: 'GET /api/reports/:id', durationMs: 1, outcome: 'unauthenticated', status: 401, requestId: 'r1' });
    expect(entry).toMatchObject({ seq: 1, at: '2026-03-01T10:00:00.000Z', query: null, reportId: null, params: null, rows: null, error: null, release: null, prev: '0'.repeat(64) });
    expect(entry.hash).toBe(entryHash(entry));
    await expect(log.append({ ...request(1), outcome: 'maybe' as never })).rejects.toMatchObject({ code: 'audit.invalid-entry', message: expect.stringMatching(/field outcome/) });
    await expect(log.append({ ...request(1), params: { bad: Number.NaN } })).rejects.toMatchObject({ code: 'audit.invalid-entry' });
    await log.close();
    expect((await verify(paths)).entries).toBe(1);
  });

  it('takes over a lock left by a process that is gone, and waits then gives up on a live holder', async () => {
    const paths = await logWith(1);
    writeFileSync(paths.lockFile, JSON.stringify({ pid: 2 ** 22 + 4321, token: 'dead', since: '2026-01-01T00:00:00.000Z' }));
    const log = AuditLog.open(paths.file, { lockTimeoutMs: 300 });
    expect((await log.append(request(2))).seq).toBe(2);

    // Our parent is alive: its lock is respected until the timeout.
    writeFileSync(paths.lockFile, JSON.stringify({ pid: process.ppid, token: 'live', since: '2026-01-01T00:00:00.000Z' }));
    await expect(log.append(request(3))).rejects.toMatchObject({ code: 'audit.lock-timeout', message: expect.stringMatching(new RegExp(`process ${process.ppid}`)) });
    rmSync(paths.lockFile);
    expect((await log.append(request(3))).seq).toBe(3);
    await log.close();
    expect(await verify(paths)).toMatchObject({ ok: true, entries: 3 });
  });

  it('keeps up with a burst of 1000 concurrent appends (group commit)', async () => {
    const paths = freshLog();
    const log = AuditLog.open(paths.file);
    const started = performance.now();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(request(i))));
    const elapsed = performance.now() - started;
    await log.close();
    expect((await verify(paths)).entries).toBe(1000);
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe('verifyAuditLog finds tampering', () => {
  it('passes an untouched log, and an empty or absent one', async () => {
    expect(await verify(await logWith(10))).toMatchObject({ ok: true, entries: 10 });
    const none = freshLog();
    expect(await verify(none)).toMatchObject({ ok: true, entries: 0 });
  });

  it('a changed field in a middle line, naming that line', async () => {
    const paths = await logWith(10);
    const lines = readLines(paths.file);
    lines[4] = lines[4]!.replace('"rows":5', '"rows":50');
    writeLines(paths.file, lines);
    const result = await verify(paths);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatchObject({ line: 5, seq: 5 });
    expect(result.firstProblem!.problem).toMatch(/^line 5 does not match its hash/);
    expect(result.entries).toBe(4);
  });

  it('a deleted middle line', async () => {
    const paths = await logWith(10);
    const lines = readLines(paths.file);
    lines.splice(4, 1);
    writeLines(paths.file, lines);
    const result = await verify(paths);
    expect(result.firstProblem).toMatchObject({ line: 5, seq: 6 });
    expect(result.firstProblem!.problem).toMatch(/line 5 has seq 6 where 5 was expected/);
  });

  it('a deleted last line, through the head file', async () => {
    const paths = await logWith(10);
    writeLines(paths.file, readLines(paths.file).slice(0, 9));
    const result = await verify(paths);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatchObject({ line: 10, seq: 10 });
    expect(result.firstProblem!.problem).toMatch(/head file records 10 entries but the log ends at line 9 .*1 line was removed from the end/);
    // …and a writer will not chain onto it.
    const log = AuditLog.open(paths.file);
    await expect(log.append(request(11))).rejects.toMatchObject({ code: 'audit.damaged', hint: expect.stringMatching(/carelake audit verify/) });
    await log.close();
  });

  it('swapped lines', async () => {
    const paths = await logWith(10);
    const lines = readLines(paths.file);
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    writeLines(paths.file, lines);
    expect((await verify(paths)).firstProblem).toMatchObject({ line: 4, seq: 5 });
  });

  it('an inserted forged line whose own hash was recomputed', async () => {
    const paths = await logWith(10);
    const lines = readLines(paths.file);
    const fifth = JSON.parse(lines[4]!) as AuditEntry;
    const { hash: _hash, ...forgedFields } = { ...fifth, seq: 6, principal: 'key:someone-else', prev: fifth.hash, requestId: 'forged' };
    const forged: AuditEntry = { ...forgedFields, hash: entryHash(forgedFields) };
    lines.splice(5, 0, serialiseEntry(forged));
    writeLines(paths.file, lines);
    const result = await verify(paths);
    // The forgery chains onto line 5, so the break shows at the line after it.
    expect(result.firstProblem).toMatchObject({ line: 7, seq: 6 });
    expect(result.firstProblem!.problem).toMatch(/line 7 has seq 6 where 7 was expected/);
  });

  it('a forged line that keeps the seq and prev of the one it replaces', async () => {
    const paths = await logWith(10);
    const lines = readLines(paths.file);
    const fifth = JSON.parse(lines[4]!) as AuditEntry;
    const { hash: _hash, ...fields } = { ...fifth, rows: 0 };
    lines[4] = serialiseEntry({ ...fields, hash: entryHash(fields) });
    writeLines(paths.file, lines);
    const result = await verify(paths);
    expect(result.firstProblem).toMatchObject({ line: 6, seq: 6 });
    expect(result.firstProblem!.problem).toMatch(/line 6 does not chain onto line 5/);
  });

  it('a partial last line: reported by verify, and append refuses to chain onto it', async () => {
    const paths = await logWith(10);
    truncateSync(paths.file, statSync(paths.file).size - 20);
    const result = await verify(paths);
    expect(result.firstProblem).toMatchObject({ line: 10 });
    expect(result.firstProblem!.problem).toMatch(/line 10 is incomplete/);
    expect(result.entries).toBe(9);

    const log = AuditLog.open(paths.file);
    await expect(log.append(request(11))).rejects.toThrow(/last line is incomplete/);
    await expect(log.append(request(11))).rejects.toMatchObject({ code: 'audit.damaged', hint: expect.stringMatching(/carelake audit verify/) });
    await log.close();
    // Nothing was appended.
    expect((await verify(paths)).firstProblem?.line).toBe(10);
  });

  it('a head file deleted while the log has entries, or holding garbage', async () => {
    const paths = await logWith(3);
    const head = readFileSync(paths.headFile, 'utf8');
    rmSync(paths.headFile);
    expect((await verify(paths)).firstProblem).toMatchObject({ line: 0, problem: expect.stringMatching(/head file .* is missing while the log has 3 entries/) });
    writeFileSync(paths.headFile, '{"seq": "three"}');
    expect((await verify(paths)).firstProblem?.problem).toMatch(/not a valid head/);
    writeFileSync(paths.headFile, head);
    expect((await verify(paths)).ok).toBe(true);
  });

  it('a log deleted while its head remains, and a blank line', async () => {
    const paths = await logWith(3);
    const text = readFileSync(paths.file, 'utf8');
    rmSync(paths.file);
    expect((await verify(paths)).firstProblem?.problem).toMatch(/log file .* is missing, but the head file records 3 entries/);
    writeFileSync(paths.file, text.replace('\n', '\n\n'));
    expect((await verify(paths)).firstProblem).toMatchObject({ line: 2, problem: 'line 2 is empty' });
  });

  it('accepts a head left behind by an interrupted append, says so, and the next append moves it', async () => {
    const paths = await logWith(5);
    const third = JSON.parse(readLines(paths.file)[2]!) as AuditEntry;
    writeFileSync(paths.headFile, JSON.stringify({ seq: 3, hash: third.hash }));
    const lagging = await verify(paths);
    expect(lagging).toMatchObject({ ok: true, entries: 5 });
    expect(lagging.notes.join()).toMatch(/lags the log by 2 entries/);

    // A lagging head that names the wrong hash is a rewrite, not an interruption.
    writeFileSync(paths.headFile, JSON.stringify({ seq: 3, hash: 'a'.repeat(64) }));
    expect((await verify(paths)).firstProblem).toMatchObject({ line: 3, seq: 3 });

    writeFileSync(paths.headFile, JSON.stringify({ seq: 3, hash: third.hash }));
    const log = AuditLog.open(paths.file);
    expect((await log.append(request(6))).seq).toBe(6);
    await log.close();
    expect(await verify(paths)).toMatchObject({ ok: true, entries: 6, notes: [] });
  });
});
