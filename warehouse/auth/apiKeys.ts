// API keys for the serving API: `clk_<keyId>_<secret>`, shown once at creation and stored only as a
// hash in an admin file (default `secrets/api-keys.json` beside carelake.yml, never in the lake).
//
// Why SHA-256 and not bcrypt/scrypt/argon2: the secret is 32 random bytes (256 bits) made by the
// machine, not a password a person chose, so there is nothing to guess and a slow hash would only cost
// CPU on every request. The hash is compared with timingSafeEqual so response time says nothing about
// how much of a guess was right. The keyId is a non-secret lookup handle (it names the key in the
// audit log as `key:<keyId>`); the secret alone proves possession.
//
// The file is written like the pseudonymisation key file: mode 0600, to a temporary file that is then
// renamed into place, so a reader (a running server) sees the old file or the new one, never half of
// one. A file that group or others can read or write is refused. Writers take a lock beside the file so
// two `carelake keys` commands cannot lose each other's changes. The server re-reads the file when it
// changes, so `keys create` and `keys revoke` take effect without a restart.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Stats } from 'node:fs';
import { z } from 'zod';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { LakeLock } from '../../core/lakeLock.ts';
import { isRole, ROLES, type Principal, type Role } from './principal.ts';
import { writeFileAtomically } from '../../core/atomicFile.ts';

export const API_KEY_PREFIX = 'clk_';
/** `clk_` + 8–12 base32 characters (the key id) + `_` + 43 base64url characters (32 random bytes). */
export const API_KEY_PATTERN = /^clk_([a-z2-7]{8,12})_([A-Za-z0-9_-]{43})$/;
/** A key's name: a person, team or service, e.g. `reporting-service` or `a.smith@trust`. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

const KEY_ID_LENGTH = 10;
const SECRET_BYTES = 32;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Compared against when the key id is unknown, so every verify does the same work. */
const DUMMY_HASH = createHash('sha256').update('carelake: no such key').digest();

const isoInstant = z.iso.datetime({ offset: true });

const recordSchema = z.strictObject({
  keyId: z.string().regex(/^[a-z2-7]{8,12}$/, '8 to 12 base32 characters'),
  name: z.string().regex(KEY_NAME_PATTERN, 'letters, digits, ".", "_", "@" or "-", at most 64'),
  role: z.enum(ROLES),
  /** SHA-256 of the secret part, hex. */
  hash: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters'),
  createdAt: isoInstant,
  revokedAt: isoInstant.nullable(),
});

const fileSchema = z.strictObject({ version: z.literal(1), keys: z.array(recordSchema) });

export type ApiKeyRecord = z.infer<typeof recordSchema>;
/** A key as shown to people: no secret, no hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;

export interface CreatedApiKey {
  /** The whole key, `clk_<keyId>_<secret>`: shown once, stored nowhere. */
  token: string;
  record: ApiKeyInfo;
}

/** Makes a key and records its hash. Names are unique among active keys. */
export async function createApiKey(file: string, options: { name: string; role: string; now?: Date }): Promise<CreatedApiKey> {
  const name = checkName(options.name);
  const role = checkRole(options.role);
  const now = options.now ?? new Date();
  return mutate(file, 'keys create', (records) => {
    if (records.some((r) => r.revokedAt === null && r.name === name)) {
      throw new CarelakeError({
        code: 'auth.key-name-taken',
        kind: 'config',
        message: `An active API key is already named '${name}'`,
        location: { file },
        hint: 'choose another name, or revoke the existing key first (`carelake keys revoke <name>`)',
      });
    }
    const taken = new Set(records.map((r) => r.keyId));
    let keyId = randomKeyId();
    while (taken.has(keyId)) keyId = randomKeyId();
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const record: ApiKeyRecord = { keyId, name, role, hash: hashSecret(secret).toString('hex'), createdAt: now.toISOString(), revokedAt: null };
    return { records: [...records, record], result: { token: `${API_KEY_PREFIX}${keyId}_${secret}`, record: info(record) } };
  });
}

/** Every key, active and revoked, oldest first; no secrets and no hashes. An absent file has none. */
export async function listApiKeys(file: string): Promise<ApiKeyInfo[]> {
  const { records } = await readKeysFile(file);
  return records.map(info);
}

/**
 * Revokes a key named by its key id, or by the name of an active key. Revoked keys stay in the file so
 * the audit log's `key:<keyId>` can still be traced to a name.
 */
export async function revokeApiKey(file: string, nameOrKeyId: string, now: Date = new Date()): Promise<ApiKeyInfo> {
  return mutate(file, 'keys revoke', (records) => {
    const matches = records.filter((r) => r.keyId === nameOrKeyId || (r.name === nameOrKeyId && r.revokedAt === null));
    if (matches.length === 0) {
      throw new CarelakeError({
        code: 'auth.unknown-key',
        kind: 'config',
        message: `No active API key is named '${nameOrKeyId}' and no key has that id`,
        location: { file },
        hint: 'see `carelake keys list`',
      });
    }
    if (matches.length > 1) {
      throw new CarelakeError({
        code: 'auth.ambiguous-key',
        kind: 'config',
        message: `'${nameOrKeyId}' names more than one API key (${matches.map((m) => m.keyId).join(', ')})`,
        location: { file },
        hint: 'revoke by key id instead (see `carelake keys list`)',
      });
    }
    const target = matches[0] as ApiKeyRecord;
    if (target.revokedAt !== null) {
      throw new CarelakeError({
        code: 'auth.key-already-revoked',
        kind: 'config',
        message: `The API key ${target.keyId} ('${target.name}') was already revoked at ${target.revokedAt}`,
        location: { file },
      });
    }
    const revoked: ApiKeyRecord = { ...target, revokedAt: now.toISOString() };
    return { records: records.map((r) => (r === target ? revoked : r)), result: info(revoked) };
  });
}

export type ApiKeyCheck = { principal: Principal } | { principal: null; reason: string };

export interface ApiKeyStoreOptions {
  /** The file is stat'ed at most this often (ms) to notice changes; 0 = on every verify. Default 1000. */
  recheckMs?: number;
  /** Called when a changed file cannot be used; all keys are refused until it is fixed (fail closed). */
  onReloadError?: (error: CarelakeError) => void;
}

interface LoadedKey {
  record: ApiKeyRecord;
  hash: Buffer;
}

/**
 * The keys a running server accepts. Loads the file on open (a bad file stops the server from
 * starting) and re-reads it whenever it changes. A file that later becomes unusable (unreadable,
 * invalid, group- or world-accessible) refuses every key until it is fixed: failing closed means a
 * revocation can never be undone by a broken edit.
 */
export class ApiKeyStore {
  private keys = new Map<string, LoadedKey>();
  private stamp: string;
  private lastCheck: number;
  private refreshing: Promise<void> | null = null;
  private failure: CarelakeError | null = null;
  private readonly recheckMs: number;
  private readonly onReloadError: ((error: CarelakeError) => void) | undefined;

  private constructor(
    readonly file: string,
    loaded: { records: ApiKeyRecord[]; stamp: string },
    options: ApiKeyStoreOptions,
  ) {
    this.recheckMs = options.recheckMs ?? 1000;
    this.onReloadError = options.onReloadError;
    this.stamp = loaded.stamp;
    this.lastCheck = Date.now();
    this.install(loaded.records);
  }

  /** Throws when the file exists but cannot be used; an absent file is a store with no keys. */
  static async open(file: string, options: ApiKeyStoreOptions = {}): Promise<ApiKeyStore> {
    return new ApiKeyStore(file, await readKeysFile(file), options);
  }

  /** Active keys currently loaded. */
  get activeKeys(): number {
    let n = 0;
    for (const k of this.keys.values()) if (k.record.revokedAt === null) n++;
    return n;
  }

  /** The principal a key belongs to, or null: unknown, revoked, wrong or malformed. Never throws. */
  async verify(token: unknown): Promise<Principal | null> {
    return (await this.check(token)).principal;
  }

  /** As verify, with a reason for the log when refused. Reasons never contain the token or secret. */
  async check(token: unknown): Promise<ApiKeyCheck> {
    const match = typeof token === 'string' ? API_KEY_PATTERN.exec(token) : null;
    if (!match) return { principal: null, reason: 'malformed API key' };
    const keyId = match[1] as string;
    const presented = hashSecret(match[2] as string);
    try {
      await this.refresh();
    } catch (err) {
      // refresh() records its own failures; anything else is unexpected, and still refuses.
      return { principal: null, reason: `API keys unavailable: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (this.failure) return { principal: null, reason: `API keys unavailable: ${this.failure.message}` };
    const known = this.keys.get(keyId);
    // Always one constant-time comparison of two 32-byte digests, whether or not the key id exists.
    const same = timingSafeEqual(presented, known?.hash ?? DUMMY_HASH);
    if (!known) return { principal: null, reason: `unknown API key id ${keyId}` };
    if (!same) return { principal: null, reason: `wrong secret for API key ${keyId}` };
    if (known.record.revokedAt !== null) return { principal: null, reason: `API key ${keyId} was revoked at ${known.record.revokedAt}` };
    return { principal: { id: `key:${keyId}`, name: known.record.name, role: known.record.role, via: 'api-key' } };
  }

  /**
   * Whether the key with this id is still loaded and not revoked: how a browser session begun with
   * the key (which keeps the key id, never the key) learns that it has been revoked. The file is
   * re-read as for check(), and an unusable file answers false (fail closed).
   */
  async isActive(keyId: string): Promise<boolean> {
    try {
      await this.refresh();
    } catch {
      return false;
    }
    if (this.failure) return false;
    return this.keys.get(keyId)?.record.revokedAt === null;
  }

  /** Re-reads the file now if it changed, regardless of recheckMs. */
  async reload(): Promise<void> {
    this.lastCheck = 0;
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    if (Date.now() - this.lastCheck < this.recheckMs) return;
    // One stat (and at most one read) at a time, however many requests arrive together.
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
  }

  private async refreshNow(): Promise<void> {
    this.lastCheck = Date.now();
    let current: string;
    try {
      current = stampOf(await stat(this.file));
    } catch (err) {
      current = (err as NodeJS.ErrnoException).code === 'ENOENT' ? ABSENT : `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
    }
    if (current === this.stamp) return;
    try {
      const loaded = await readKeysFile(this.file);
      this.install(loaded.records);
      this.stamp = loaded.stamp;
      this.failure = null;
    } catch (err) {
      const error = err instanceof CarelakeError ? err : fileSystemError('read the API keys file', this.file, err);
      this.keys = new Map();
      this.failure = error;
      // Remember what we saw, so a broken file is reported once and retried only when it changes again.
      this.stamp = current;
      this.onReloadError?.(error);
    }
  }

  private install(records: readonly ApiKeyRecord[]): void {
    this.keys = new Map(records.map((record) => [record.keyId, { record, hash: Buffer.from(record.hash, 'hex') }]));
  }
}

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function randomKeyId(): string {
  // 256 is a multiple of 32, so `byte & 31` is uniform over the alphabet.
  return [...randomBytes(KEY_ID_LENGTH)].map((b) => BASE32[b & 31]).join('');
}

function info(record: ApiKeyRecord): ApiKeyInfo {
  return { keyId: record.keyId, name: record.name, role: record.role, createdAt: record.createdAt, revokedAt: record.revokedAt };
}

function checkName(name: string): string {
  if (typeof name !== 'string' || !KEY_NAME_PATTERN.test(name)) {
    throw new CarelakeError({
      code: 'auth.invalid-key-name',
      kind: 'config',
      message: `'${String(name).slice(0, 80)}' is not a valid API key name`,
      hint: 'use 1 to 64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    });
  }
  return name;
}

function checkRole(role: string): Role {
  if (!isRole(role)) {
    throw new CarelakeError({
      code: 'auth.invalid-role',
      kind: 'config',
      message: `'${String(role).slice(0, 40)}' is not a role`,
      hint: `use one of ${ROLES.join(', ')}`,
    });
  }
  return role;
}

const ABSENT = 'absent';

/** Changes whenever the file is replaced (inode), written (size, mtime) or chmod-ed (ctime, mode). */
function stampOf(info: Stats): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}:${info.mode}`;
}

/** The records in the file, or none when it is absent. The stamp is of the very file read. */
async function readKeysFile(file: string): Promise<{ records: ApiKeyRecord[]; stamp: string }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], stamp: ABSENT };
    throw fileSystemError('read the API keys file', file, err);
  }
  let text: string;
  let info: Stats;
  try {
    // fstat on the open handle: the mode checked is that of the bytes read, even if a writer renames
    // a new file into place between the two.
    info = await handle.stat();
    assertPrivate(file, info);
    text = await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof CarelakeError) throw err;
    throw fileSystemError('read the API keys file', file, err);
  } finally {
    await handle.close();
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    // The parser's message quotes the text; say only where, never what.
    throw invalidFile(file, ['it is not valid JSON']);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    throw invalidFile(
      file,
      parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`),
    );
  }
  const seen = new Set<string>();
  for (const record of parsed.data.keys) {
    if (seen.has(record.keyId)) throw invalidFile(file, [`key id ${record.keyId} appears twice`]);
    seen.add(record.keyId);
  }
  return { records: parsed.data.keys, stamp: stampOf(info) };
}

function assertPrivate(file: string, info: Stats): void {
  if (!info.isFile()) {
    throw new CarelakeError({
      code: 'auth.api-keys-file-not-file',
      kind: 'config',
      message: `The API keys file ${file} is not a regular file`,
      location: { file },
    });
  }
  // POSIX mode bits mean nothing on Windows, where access is governed by ACLs instead.
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new CarelakeError({
      code: 'auth.api-keys-file-permissions',
      kind: 'config',
      message: `The API keys file ${file} has mode ${mode}: other users can read or change it, so it is refused`,
      location: { file },
      hint: `restrict it to its owner with \`chmod 600 ${file}\`; if others could write it, check its keys with \`carelake keys list\``,
    });
  }
}

function invalidFile(file: string, problems: string[]): CarelakeError {
  return new CarelakeError({
    code: 'auth.api-keys-file-invalid',
    kind: 'config',
    message: `The API keys file ${file} is not a valid carelake API keys file:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    location: { file },
    hint: 'it is written by `carelake keys create|revoke`; restore it from backup rather than editing it by hand',
  });
}

/** Changes queued in this process, per file: the lock file keeps other processes out, not our own callers. */
const queues = new Map<string, Promise<unknown>>();

/** Lock (in process, then across processes), read, change, write atomically, unlock. */
async function mutate<T>(file: string, purpose: string, change: (records: ApiKeyRecord[]) => { records: ApiKeyRecord[]; result: T }): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => mutateLocked(file, purpose, change));
  const tail = run.catch(() => undefined);
  queues.set(file, tail);
  void tail.then(() => {
    if (queues.get(file) === tail) queues.delete(file);
  });
  return run;
}

async function mutateLocked<T>(file: string, purpose: string, change: (records: ApiKeyRecord[]) => { records: ApiKeyRecord[]; result: T }): Promise<T> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fileSystemError('create the folder of the API keys file', dirname(file), err);
  }
  const lock = await acquireLock(`${file}.lock`, purpose);
  try {
    const { records } = await readKeysFile(file);
    const { records: next, result } = change(records);
    await writeKeysFile(file, next);
    return result;
  } finally {
    lock.release();
  }
}

/** Key commands are quick: wait a little for another one to finish rather than fail at once. */
async function acquireLock(path: string, purpose: string): Promise<LakeLock> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return LakeLock.acquire(path, purpose);
    } catch (err) {
      if (!(err instanceof CarelakeError && err.code === 'lock.held') || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function writeKeysFile(file: string, records: readonly ApiKeyRecord[]): Promise<void> {
  try {
    // Mode 0600 from creation: never readable by others, not even for a moment.
    await writeFileAtomically(file, `${JSON.stringify({ version: 1, keys: records }, null, 2)}\n`, 0o600);
  } catch (err) {
    throw fileSystemError('write the API keys file', file, err);
  }
}
