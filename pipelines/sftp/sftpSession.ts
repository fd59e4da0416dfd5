// One SFTP connection (ssh2-sftp-client over ssh2): pinned host key, key authentication, keepalives so
// a dead server is noticed, and the few operations a file source needs. Errors become CarelakeErrors
// that say whether trying again can help (`isRetryableSftpError`): a dropped or refused connection can,
// a wrong host key, a refused key or a missing file cannot. Nothing here logs, and no message carries
// key material.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import SftpClient from 'ssh2-sftp-client';
import type { SftpSettings } from '../../core/config.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { assertPrivateFile } from '../../core/privateFile.ts';
import { pinnedHostKey } from './hostKey.ts';

export interface SftpCredentials {
  privateKey: Buffer;
  passphrase: string | undefined;
}

/** Reads the private key (refused unless only its owner can read it) and the passphrase from the environment. */
export async function loadSftpCredentials(settings: SftpSettings, env: Readonly<Record<string, string | undefined>> = process.env): Promise<SftpCredentials> {
  await assertPrivateFile(settings.privateKeyFile, 'SFTP private key', 'sftp.key');
  let privateKey: Buffer;
  try {
    privateKey = await readFile(settings.privateKeyFile);
  } catch (err) {
    throw fileSystemError('read the SFTP private key file', settings.privateKeyFile, err);
  }
  const passphrase = env[settings.passphraseEnv];
  return { privateKey, passphrase: passphrase === undefined || passphrase === '' ? undefined : passphrase };
}

export interface RemoteFile {
  name: string;
  size: number;
  /** Modification time in ms; SFTP carries whole seconds. */
  modifiedMs: number;
}

export interface Download {
  bytes: number;
  sha256: string;
}

/** A dropped, refused or timed-out connection may succeed later; a wrong host key, refused key or bad path will not. */
export function isRetryableSftpError(err: unknown): boolean {
  return err instanceof CarelakeError && err.code === 'sftp.connection';
}

export class SftpSession {
  /** Set when the server closed the connection; such a session is not reused. */
  private dropped = false;

  private constructor(
    private readonly client: SftpClient,
    readonly label: string,
  ) {}

  get alive(): boolean {
    return !this.dropped;
  }

  /** `label` names the server in messages: user@host:port. */
  static async open(settings: SftpSettings, credentials: SftpCredentials): Promise<SftpSession> {
    const label = sftpServerLabel(settings);
    let session: SftpSession | null = null;
    const drop = () => {
      if (session) session.dropped = true;
    };
    // The library's default global listeners print to the console; a drop is handled by the next call failing.
    const client = new SftpClient(label, { error: drop, end: drop, close: drop });
    const hostKey = pinnedHostKey(settings.hostKeySha256);
    try {
      await client.connect({
        host: settings.host,
        port: settings.port,
        username: settings.username,
        privateKey: credentials.privateKey,
        ...(credentials.passphrase !== undefined ? { passphrase: credentials.passphrase } : {}),
        hostVerifier: (key: Buffer) => hostKey.verify(key),
        readyTimeout: settings.timeoutSeconds * 1000,
        keepaliveInterval: Math.max(1000, Math.floor((settings.timeoutSeconds * 1000) / 3)),
        keepaliveCountMax: 3,
        // ssh2-sftp-client retries connecting on its own; our p-retry does that, with our logging.
        retries: 0,
      });
    } catch (err) {
      await client.end().catch(() => undefined);
      if (hostKey.presented !== null && hostKey.presented !== settings.hostKeySha256) {
        throw new CarelakeError({
          code: 'sftp.host-key',
          kind: 'config',
          message: `The SFTP server ${label} presented host key ${hostKey.presented}, not the pinned ${settings.hostKeySha256}; refusing to connect`,
          hint: 'if the server\'s key really changed, confirm the new fingerprint with its operators out of band, then update sftp.hostKeySha256',
        });
      }
      throw translate(err, label, 'connect');
    }
    session = new SftpSession(client, label);
    return session;
  }

  /** Regular files in `dir` (directories, links and specials are not offered). */
  async list(dir: string): Promise<RemoteFile[]> {
    try {
      const entries = await this.client.list(dir);
      return entries.filter((e) => e.type === '-').map((e) => ({ name: e.name, size: e.size, modifiedMs: e.modifyTime }));
    } catch (err) {
      throw translate(err, this.label, `list ${dir}`);
    }
  }

  async stat(path: string): Promise<RemoteFile | null> {
    try {
      const info = await this.client.stat(path);
      return { name: path.split('/').pop() ?? path, size: info.size, modifiedMs: info.modifyTime };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw translate(err, this.label, `stat ${path}`);
    }
  }

  /** Streams `remote` into `local`, hashing as it goes. */
  async download(remote: string, local: string): Promise<Download> {
    const hash = createHash('sha256');
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(this.client.createReadStream(remote, {}), tap, createWriteStream(local));
    } catch (err) {
      throw translate(err, this.label, `download ${remote}`);
    }
    return { bytes, sha256: hash.digest('hex') };
  }

  /** Small text files (a checksum sidecar). */
  async readText(remote: string): Promise<string> {
    try {
      const data = await this.client.get(remote);
      return Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    } catch (err) {
      throw translate(err, this.label, `read ${remote}`);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await this.client.rename(from, to);
    } catch (err) {
      throw translate(err, this.label, `rename ${from} to ${to}`);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await this.client.delete(path, true);
    } catch (err) {
      throw translate(err, this.label, `delete ${path}`);
    }
  }

  async ensureDir(path: string): Promise<void> {
    try {
      if ((await this.client.exists(path)) !== 'd') await this.client.mkdir(path, true);
    } catch (err) {
      throw translate(err, this.label, `create folder ${path}`);
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

export function sftpServerLabel(settings: Pick<SftpSettings, 'username' | 'host' | 'port'>): string {
  return `${settings.username}@${settings.host}:${settings.port}`;
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ENOENT' || code === 2;
}

function translate(err: unknown, label: string, action: string): CarelakeError {
  if (err instanceof CarelakeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  const level = (err as { level?: unknown }).level;
  if (level === 'client-authentication' || /authentication methods failed/i.test(message)) {
    return new CarelakeError({
      code: 'sftp.auth',
      kind: 'config',
      message: `The SFTP server ${label} refused the private key`,
      hint: 'check sftp.username, sftp.privateKeyFile and that its public key is authorised on the server',
      cause: err,
    });
  }
  if (isNotFound(err) || code === 'EACCES' || code === 3 || code === 'ERR_BAD_PATH') {
    return new CarelakeError({ code: 'sftp.path', kind: 'runtime', message: `SFTP ${label}: cannot ${action}: ${message}`, cause: err });
  }
  // Anything else (refused, reset, timed out, a channel closed under us) is the connection's doing.
  return new CarelakeError({ code: 'sftp.connection', kind: 'runtime', message: `SFTP ${label}: cannot ${action}: ${message}`, cause: err });
}
