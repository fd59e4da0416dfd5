// Loads the pseudonymisation master key — the one secret that turns tokens back into people, so it
// lives outside the lakehouse (an environment variable or a 0600 key file), never in the repository,
// the warehouse, logs or results. Errors name the variable or file and never carry key material.

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { PSEUDONYM_KEY_BYTES } from '../../transforms/pseudonymisation/pseudonymiser.ts';

export const DEFAULT_KEY_ENV_VAR = 'CARELAKE_PSEUDONYM_KEY';

export interface LoadMasterKeyOptions {
  /** Where the key lives when the environment variable is not set; created if absent. */
  keyFile: string;
  envVar?: string;
  /** The environment to read; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface LoadedMasterKey {
  key: Buffer;
  /** `created` means a new key file was written: say so to the operator, who must back it up. */
  source: 'env' | 'file' | 'created';
}

/** The environment variable wins; otherwise the key file, created with 32 random bytes when absent. */
export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<LoadedMasterKey> {
  const envVar = options.envVar ?? DEFAULT_KEY_ENV_VAR;
  const env = options.env ?? process.env;
  const fromEnv = env[envVar];
  // An empty variable is treated as unset, as container runtimes often export empty values.
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { key: decodeEnvKey(envVar, fromEnv.trim()), source: 'env' };

  const existing = await readKeyFile(options.keyFile);
  if (existing) return { key: existing, source: 'file' };
  const created = await createKeyFile(options.keyFile);
  // Another process may have created the file between our read and our link; theirs wins.
  if (created) return { key: created, source: 'created' };
  const raced = await readKeyFile(options.keyFile);
  if (raced) return { key: raced, source: 'file' };
  throw new CarelakeError({
    code: 'secrets.key-file-vanished',
    kind: 'runtime',
    message: `The key file ${options.keyFile} disappeared while it was being created`,
    location: { file: options.keyFile },
    hint: 'check that no other process is deleting it, then try again',
  });
}

function decodeEnvKey(envVar: string, text: string): Buffer {
  // Hex is tried first: a hex string is also valid base64, but never the other way round at 32 bytes.
  const key = /^(?:[0-9a-fA-F]{2})+$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
      ? Buffer.from(text, 'base64')
      : null;
  if (key === null) {
    throw new CarelakeError({
      code: 'secrets.env-key-invalid',
      kind: 'config',
      message: `The environment variable ${envVar} is neither hex nor base64`,
      hint: 'set it to 32 or more random bytes, hex- or base64-encoded (e.g. `openssl rand -hex 32`)',
    });
  }
  if (key.length < PSEUDONYM_KEY_BYTES) {
    throw new CarelakeError({
      code: 'secrets.env-key-too-short',
      kind: 'config',
      message: `The environment variable ${envVar} holds a ${key.length}-byte key; at least ${PSEUDONYM_KEY_BYTES} bytes are needed`,
      hint: 'generate one with `openssl rand -hex 32`',
    });
  }
  return key;
}

/** The key in an existing file, or null when there is no file. Refuses unsafe modes and short keys. */
async function readKeyFile(keyFile: string): Promise<Buffer | null> {
  let info;
  try {
    info = await stat(keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileSystemError('read the pseudonymisation key file', keyFile, err);
  }
  if (!info.isFile()) {
    throw new CarelakeError({
      code: 'secrets.key-file-not-file',
      kind: 'config',
      message: `The pseudonymisation key file ${keyFile} is not a regular file`,
      location: { file: keyFile },
    });
  }
  // POSIX mode bits mean nothing on Windows, where access is governed by ACLs instead.
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new CarelakeError({
      code: 'secrets.key-file-permissions',
      kind: 'config',
      message: `The pseudonymisation key file ${keyFile} has mode ${mode}: other users can read or change it, so it is refused`,
      location: { file: keyFile },
      hint: `restrict it to its owner with \`chmod 600 ${keyFile}\`, and consider rotating the key if others may have read it`,
    });
  }
  let key: Buffer;
  try {
    key = await readFile(keyFile);
  } catch (err) {
    throw fileSystemError('read the pseudonymisation key file', keyFile, err);
  }
  if (key.length < PSEUDONYM_KEY_BYTES) {
    throw new CarelakeError({
      code: 'secrets.key-file-too-short',
      kind: 'config',
      message: `The pseudonymisation key file ${keyFile} holds ${key.length} bytes; at least ${PSEUDONYM_KEY_BYTES} are needed`,
      location: { file: keyFile },
      hint: 'the file holds raw key bytes; restore it from backup, or delete it to generate a new key (existing tokens will no longer match)',
    });
  }
  return key;
}

/**
 * Writes a fresh key to a private temporary file, then hard-links it into place: link() fails if the
 * key file appeared meanwhile, so two processes starting together never overwrite each other's key.
 * Returns null when another process won.
 */
async function createKeyFile(keyFile: string): Promise<Buffer | null> {
  const dir = dirname(keyFile);
  const key = randomBytes(PSEUDONYM_KEY_BYTES);
  const pending = `${keyFile}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // O_EXCL and mode 0600 at creation: the key is never readable by others, not even for a moment.
    const handle = await open(pending, 'wx', 0o600);
    try {
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlink(pending).catch(() => undefined);
    throw fileSystemError('create the pseudonymisation key file', keyFile, err);
  }
  try {
    await link(pending, keyFile);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw fileSystemError('create the pseudonymisation key file', keyFile, err);
  } finally {
    await unlink(pending).catch(() => undefined);
  }
}
