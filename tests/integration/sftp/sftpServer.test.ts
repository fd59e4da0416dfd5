// The SFTP test server itself, driven by ssh2-sftp-client as a real client would drive it: key
// auth, a host-key fingerprint check, listing, upload and download; then `restart()` (same port, existing
// sessions dropped, new ones served) and `stop()` (sessions dropped, connections refused). The OpenSSH
// cases run wherever sshd is installed; the ssh2 fallback is forced through its environment switch so it
// cannot rot unseen.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomHostKeySha256, startSftpServer, type SftpTestServer } from '../../support/sftpServer.ts';

const KIND_ENV = 'CARELAKE_SFTP_TEST_SERVER';

interface Session {
  client: SftpClient;
  /** The fingerprint the server presented. */
  presented: string;
  /** Resolves when the connection closes without `end()` having been called. */
  dropped: Promise<void>;
}

function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

async function start(kind: 'openssh' | 'ssh2'): Promise<SftpTestServer> {
  const before = process.env[KIND_ENV];
  if (kind === 'ssh2') process.env[KIND_ENV] = 'ssh2';
  try {
    return await startSftpServer();
  } finally {
    if (before === undefined) delete process.env[KIND_ENV];
    else process.env[KIND_ENV] = before;
  }
}

const open: SftpClient[] = [];

async function connectTo(server: SftpTestServer, expectedHostKey = server.hostKeySha256): Promise<Session> {
  let markDropped = (): void => undefined;
  const dropped = new Promise<void>((resolve) => (markDropped = resolve));
  const client = new SftpClient('sftp-server-test', { error: () => undefined, end: markDropped, close: markDropped });
  const session = { client, presented: '', dropped };
  open.push(client);
  await client.connect({
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: await readFile(server.clientKeyPath),
    readyTimeout: 5_000,
    hostVerifier: (key: Buffer): boolean => {
      session.presented = sha256Fingerprint(key);
      return session.presented === expectedHostKey;
    },
  });
  return session;
}

function text(downloaded: unknown): string {
  if (!Buffer.isBuffer(downloaded)) throw new Error('expected get() to resolve to a Buffer');
  return downloaded.toString('utf8');
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`expected ${what} within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((client) => client.end().catch(() => undefined)));
});

/** Mirrors the module's choice, so a broken sshd start cannot hide behind the fallback. */
function defaultKind(): 'openssh' | 'ssh2' {
  const installed = ['/usr/sbin', ...(process.env.PATH ?? '').split(delimiter)].some((dir) => dir && existsSync(join(dir, 'sshd')));
  const shadow = spawnSync('getent', ['shadow', userInfo().username], { encoding: 'utf8' });
  const locked = shadow.status === 0 && (shadow.stdout.split(':')[1] ?? '').startsWith('!');
  return installed && !locked ? 'openssh' : 'ssh2';
}

describe.each(['openssh', 'ssh2'] as const)('SFTP test server (%s)', (kind) => {
  let server: SftpTestServer;

  beforeAll(async () => {
    server = await start(kind);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('is the kind asked for, with a 0600 client key and an OpenSSH-style fingerprint', async () => {
    expect(server.kind).toBe(kind === 'openssh' ? defaultKind() : 'ssh2');
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.hostKeySha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(randomHostKeySha256()).not.toBe(server.hostKeySha256);
    expect(server.clientPublicKey).toMatch(/^ssh-ed25519 /);
    expect((await readFile(server.clientKeyPath, 'utf8')).startsWith('-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(true);
    expect((await stat(server.clientKeyPath)).mode & 0o777).toBe(0o600);
  });

  it('serves its root: list, upload, download, with the host key it advertises', async () => {
    await writeFile(join(server.root, 'seed.txt'), 'seeded\n');
    const { client, presented } = await connectTo(server);
    expect(presented).toBe(server.hostKeySha256);
    expect(await client.cwd()).toBe(await realpath(server.root));

    const names = (await client.list('.')).map((entry) => entry.name);
    expect(names).toContain('seed.txt');

    // Bigger than one SFTP read/write (32 KiB), so chunking and offsets are exercised too.
    const body = `payload ${kind} ${'x'.repeat(70_000)}\n`;
    await client.put(Buffer.from(body), 'upload.bin');
    // Strings, not Buffers: vitest's deep equality walks a Buffer byte by byte and takes ~0.4 s here.
    expect(await readFile(join(server.root, 'upload.bin'), 'utf8')).toBe(body);
    expect(text(await client.get('upload.bin'))).toBe(body);
    expect(text(await client.get(join(server.root, 'seed.txt')))).toBe('seeded\n');

    await client.mkdir('sub');
    await client.rename('upload.bin', 'sub/moved.bin');
    expect((await client.list('sub')).map((entry) => [entry.name, entry.type, entry.size])).toEqual([['moved.bin', '-', Buffer.byteLength(body)]]);
    expect(await client.exists('sub')).toBe('d');
    await client.delete('sub/moved.bin');
    expect(await client.list('sub')).toEqual([]);
  });

  it('is refused by a client expecting a different host key', async () => {
    await expect(connectTo(server, randomHostKeySha256())).rejects.toThrow(/verif/i);
  });

  it('restart() drops existing sessions and serves new ones on the same port', async () => {
    await writeFile(join(server.root, 'survives-restart.txt'), 'kept\n');
    const port = server.port;
    const before = await connectTo(server);
    await before.client.list('.');

    await server.restart();
    expect(server.port).toBe(port);
    await within(before.dropped, 3_000, 'the old session was dropped');
    await expect(before.client.list('.')).rejects.toThrow();

    const after = await connectTo(server);
    expect(after.presented).toBe(server.hostKeySha256);
    expect(text(await after.client.get('survives-restart.txt'))).toBe('kept\n');
  });

  it('stop() drops sessions, refuses connections, and is idempotent', async () => {
    const own = await start(kind);
    try {
      const session = await connectTo(own);
      await own.stop();
      await within(session.dropped, 3_000, 'the session was dropped');
      await own.stop();
      await expect(connectTo(own)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await own.stop();
    }
  });
});
