// An SFTP server for tests: the real Debian OpenSSH `sshd` in the foreground on 127.0.0.1 with an
// ephemeral port, a throwaway ed25519 host key, one authorised client key and `internal-sftp` forced on
// every session, all configured from a fresh temp dir. Talking to real OpenSSH over loopback catches what a
// mock would not (its SFTP v3 quirks, host-key algorithms, dropped sessions on restart). Only when sshd is
// absent (or would refuse the current user, see `lockedForSshd`) does it fall back — with a warning — to a
// compact `ssh2` SFTP server over the same root. CARELAKE_SFTP_TEST_SERVER=ssh2 forces the fallback.
//
// sshd forks one process per connection and that child calls setsid(), so it leaves the listener's
// process group: `stop()` freezes the whole process tree (SIGSTOP, so nothing forks behind its back),
// then SIGKILLs the listener's group and every descendant, and waits until they are gone. Keys, config and
// a generated root stay until this process exits (so they can be inspected after `stop()`); a detached
// reaper then removes them and kills any sshd left running.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, rename, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ssh2 from 'ssh2';
import type { Attributes, Connection, SFTPWrapper } from 'ssh2';
import { ed25519KeyPair } from './sshKeys.ts';

export interface SftpTestServer {
  readonly kind: 'openssh' | 'ssh2';
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly username: string;      // os.userInfo().username
  readonly root: string;          // the served directory (created if absent); internal-sftp -d root
  readonly clientKeyPath: string; // OpenSSH ed25519 private key, 0600, authorised on the server
  readonly clientPublicKey: string;
  readonly hostKeySha256: string; // "SHA256:..." of the server's host key
  stop(): Promise<void>;          // kills sshd and every session process; idempotent
  restart(): Promise<void>;       // stop, then start again on the same port with the same keys
}

const HOST = '127.0.0.1';
/** Set to `ssh2` to use the fallback server even where sshd is installed. */
const KIND_ENV = 'CARELAKE_SFTP_TEST_SERVER';
const START_TIMEOUT_MS = 10_000;
const RESTART_BIND_MS = 5_000;
const FRESH_PORT_ATTEMPTS = 5;
const STDERR_LIMIT = 16 * 1024;
const BIND_FAILURE = /Address already in use|Cannot bind any address/;

interface Files {
  dir: string;
  root: string;
  username: string;
  hostKey: string;
  hostKeySha256: string;
  clientKeyPath: string;
  clientPublicKey: string;
}

/** `SHA256:…` exactly as OpenSSH prints it: unpadded base64 of sha256 over the public key blob. */
function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A fingerprint of a freshly generated, different host key — for "wrong host key" tests. */
export function randomHostKeySha256(): string {
  return fingerprintOf(ed25519KeyPair().public);
}

// ---- Process bookkeeping ------------------------------------------------------------------------

/** pid → [ppid, state] from /proc, or from `ps` where there is no /proc. */
function processTable(): Map<number, [number, string]> {
  const table = new Map<number, [number, string]>();
  if (existsSync('/proc/self/stat')) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const text = readFileSync(`/proc/${name}/stat`, 'utf8');
        const [state = '', ppid = ''] = text.slice(text.lastIndexOf(')') + 2).split(' ');
        table.set(Number(name), [Number(ppid), state]);
      } catch {
        // The process exited while we looked.
      }
    }
    return table;
  }
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,stat='], { encoding: 'utf8' });
  for (const line of ps.stdout.split('\n')) {
    const [pid, ppid, state = ''] = line.trim().split(/\s+/);
    if (pid && ppid) table.set(Number(pid), [Number(ppid), state.slice(0, 1)]);
  }
  return table;
}

function descendantsOf(pid: number, table: Map<number, [number, string]>): number[] {
  const found: number[] = [];
  const queue = [pid];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const [child, [ppid]] of table) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Freezes `pid`'s group and every descendant (stopped processes cannot fork), then SIGKILLs them all.
 * Returns the descendants it killed, which are not our children, so we cannot wait for them directly.
 */
function killTree(pid: number): number[] {
  signal(-pid, 'SIGSTOP');
  const frozen = new Set<number>();
  for (let round = 0; round < 50; round++) {
    const fresh = descendantsOf(pid, processTable()).filter((p) => !frozen.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      frozen.add(p);
    }
  }
  signal(-pid, 'SIGKILL');
  for (const p of frozen) signal(p, 'SIGKILL');
  return [...frozen];
}

/** Waits until the killed orphans are gone or zombies (whose sockets the kernel has already closed). */
async function waitGone(pids: number[], timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = processTable();
    if (pids.every((p) => (table.get(p)?.[1] ?? 'Z') === 'Z') || Date.now() > deadline) return;
    await sleep(10);
  }
}

/**
 * Vitest ends its workers with a signal, so 'exit' handlers never run there. Instead each server gets a
 * detached `sh` holding a pipe from us: when this process dies however it dies, the pipe hits EOF, and the
 * reaper kills the sshd group named in the pid file (if any) and removes the temp dirs. Sessions that
 * escaped the group end by themselves once their clients, which lived in this process, are gone.
 */
function spawnReaper(pidFile: string, dirs: string[]): void {
  const script = 'read _; [ -s "$1" ] && kill -9 -"$(cat "$1")" 2>/dev/null; shift; rm -rf -- "$@"';
  const reaper = spawn('/bin/sh', ['-c', script, 'sftp-test-reaper', pidFile, ...dirs], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  reaper.on('error', () => undefined);
  reaper.stdin?.on('error', () => undefined);
  reaper.unref();
  if (reaper.stdin instanceof Socket) reaper.stdin.unref();
}

// ---- Ports ----------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

/** Resolves once `port` accepts a TCP connection that sends an `SSH-2.0-` banner. */
async function waitForBanner(port: number, deadline: number, alive: () => boolean): Promise<void> {
  for (;;) {
    if (!alive()) throw new Error('the server exited');
    const banner = await new Promise<string>((done) => {
      const socket = connect(port, HOST);
      let text = '';
      const finish = (): void => {
        socket.destroy();
        done(text);
      };
      socket.setTimeout(1_000, finish);
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('\n')) finish();
      });
      socket.on('error', finish);
      socket.on('close', finish);
    });
    if (banner.startsWith('SSH-2.0-')) return;
    if (Date.now() > deadline) throw new Error(`no SSH banner on ${HOST}:${port} (got ${JSON.stringify(banner)})`);
    await sleep(20);
  }
}

// ---- OpenSSH ------------------------------------------------------------------------------------

function findSshd(): string | null {
  const candidates = ['/usr/sbin/sshd', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'sshd'))];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return resolve(candidate); // sshd re-execs itself, which needs an absolute path.
    } catch {
      // Try the next one.
    }
  }
  return null;
}

/**
 * With `UsePAM no`, sshd refuses any account whose shadow password starts with `!` ("locked"), even for
 * key auth. Non-root users cannot read /etc/shadow, so this mostly bites root in images that lock it, and
 * `nobody`, for which nss-systemd synthesises `!*`. `getent` asks the same NSS sources sshd does.
 */
function lockedForSshd(username: string): boolean {
  const entry = spawnSync('getent', ['shadow', username], { encoding: 'utf8' });
  return entry.status === 0 && (entry.stdout.split(':')[1] ?? '').startsWith('!');
}

/** sshd_config takes double-quoted arguments; `%` would be a token in AuthorizedKeysFile. */
function configArg(path: string): string {
  if (/["%\n\r]/.test(path)) throw new Error(`sftp test server: unsupported character in path ${JSON.stringify(path)}`);
  return `"${path}"`;
}

/** sshd splits an internal-sftp ForceCommand on bare spaces (no quoting), and `-d` expands `%` tokens. */
function forceCommandArg(path: string): string {
  if (/[\s"%]/.test(path)) throw new Error(`sftp test server: the root cannot contain whitespace, quotes or %: ${JSON.stringify(path)}`);
  return path;
}

function sshdVersion(sshd: string): [number, number] {
  const out = spawnSync(sshd, ['-V'], { encoding: 'utf8' });
  const match = /OpenSSH_(\d+)\.(\d+)/.exec(`${out.stderr}${out.stdout}`);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

function pidFileOf(files: Files): string {
  return join(files.dir, 'sshd.pid');
}

function sshdConfig(files: Files, sshd: string): string {
  const [major, minor] = sshdVersion(sshd);
  return [
    `ListenAddress ${HOST}`,
    `HostKey ${configArg(files.hostKey)}`,
    `PidFile ${configArg(pidFileOf(files))}`,
    `AuthorizedKeysFile ${configArg(join(files.dir, 'authorized_keys'))}`,
    `AllowUsers ${files.username}`,
    'AuthenticationMethods publickey',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'LogLevel INFO',
    'UseDNS no',
    'PrintMotd no',
    'PermitTTY no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'Subsystem sftp internal-sftp',
    `ForceCommand internal-sftp -d ${forceCommandArg(files.root)}`,
    // 9.8+ penalises sources whose sessions crash or never authenticate — i.e. our probes and kills.
    ...(major > 9 || (major === 9 && minor >= 8) ? ['PerSourcePenalties no'] : []),
    '',
  ].join('\n');
}

class SshdExited extends Error {
  constructor(readonly stderr: string, code: number | null, sig: NodeJS.Signals | null) {
    super(`sshd exited (${sig ?? `code ${code}`}) before it was ready:\n${stderr.trim()}`);
  }
}

class OpenSshServer implements SftpTestServer {
  readonly kind = 'openssh';
  readonly host = HOST;
  readonly username: string;
  readonly root: string;
  readonly clientKeyPath: string;
  readonly clientPublicKey: string;
  readonly hostKeySha256: string;
  private readonly pidFile: string;
  #child: ChildProcess | null = null;
  #stopping: Promise<void> | null = null;
  #port = 0;

  constructor(files: Files, private readonly sshd: string, private readonly configPath: string) {
    this.pidFile = pidFileOf(files);
    this.username = files.username;
    this.root = files.root;
    this.clientKeyPath = files.clientKeyPath;
    this.clientPublicKey = files.clientPublicKey;
    this.hostKeySha256 = files.hostKeySha256;
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        await this.#launch(port);
        return;
      } catch (err) {
        if (!(err instanceof SshdExited && BIND_FAILURE.test(err.stderr)) || attempt >= FRESH_PORT_ATTEMPTS) throw err;
      }
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#halt().finally(() => (this.#stopping = null));
    return this.#stopping;
  }

  async #halt(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child?.pid) return;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once('exit', done));
    child.ref(); // launch unref'd it; keep the event loop alive until the exit arrives.
    const orphans = killTree(child.pid);
    await exited;
    await waitGone(orphans);
  }

  async restart(): Promise<void> {
    await this.stop();
    const deadline = Date.now() + RESTART_BIND_MS;
    for (;;) {
      try {
        await this.#launch(this.#port);
        return;
      } catch (err) {
        if (!(err instanceof SshdExited && BIND_FAILURE.test(err.stderr)) || Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  }

  async #launch(port: number): Promise<void> {
    const child = spawn(this.sshd, ['-D', '-e', '-f', this.configPath, '-p', String(port)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let listening = false;
    let gone = false;
    const listeningLine = `Server listening on ${HOST} port ${port}.`;
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) => {
        gone = true;
        reject(err);
      });
      child.once('exit', (code, sig) => {
        gone = true;
        rmSync(this.pidFile, { force: true }); // so the reaper cannot hit a recycled process group
        // 'exit' can beat the last of stderr (which holds the reason); give the pipe a moment to drain.
        const drained = child.stderr && !child.stderr.readableEnded ? once(child.stderr, 'end') : Promise.resolve();
        void Promise.race([drained, sleep(200)])
          .catch(() => undefined)
          .then(() => reject(new SshdExited(stderr, code, sig)));
      });
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
      listening ||= stderr.includes(listeningLine);
    });
    const ready = (async () => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      // The log line proves *this* sshd bound the port; the banner proves it accepts and forks sessions.
      while (!listening && !gone) {
        if (Date.now() > deadline) throw new Error(`sshd did not report listening on port ${port}:\n${stderr.trim()}`);
        await sleep(10);
      }
      await waitForBanner(port, deadline, () => !gone);
    })();
    // Whichever loses the race must not surface as an unhandled rejection.
    exited.catch(() => undefined);
    ready.catch(() => undefined);
    try {
      await Promise.race([ready, exited]);
    } catch (err) {
      if (!gone && child.pid !== undefined) {
        killTree(child.pid);
        await exited.catch(() => undefined);
      }
      throw err;
    }
    // A forgotten server must not keep the test process alive; the reaper kills it.
    child.unref();
    if (child.stderr instanceof Socket) child.stderr.unref();
    this.#child = child;
    this.#port = port;
  }
}

// ---- ssh2 fallback ------------------------------------------------------------------------------

type OpenHandle = { file: FileHandle } | { entries: string[] | null; path: string };

function errorStatus(err: unknown): number {
  const { STATUS_CODE } = ssh2.utils.sftp;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return STATUS_CODE.NO_SUCH_FILE;
  if (code === 'EACCES' || code === 'EPERM') return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

function attrsOf(s: { mode: number; uid: number; gid: number; size: number; atimeMs: number; mtimeMs: number }): Attributes {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

/** An `ls -l`-like line; clients (ssh2-sftp-client's `list`) read the type and rights from it. */
function longname(name: string, a: Attributes): string {
  const type = (a.mode & 0o170000) === 0o040000 ? 'd' : (a.mode & 0o170000) === 0o120000 ? 'l' : '-';
  const rights = [...'rwxrwxrwx'].map((c, i) => (a.mode & (0o400 >> i) ? c : '-')).join('');
  return `${type}${rights} 1 ${a.uid} ${a.gid} ${a.size} ${new Date(a.mtime * 1000).toISOString()} ${name}`;
}

/** internal-sftp semantics without chroot: relative paths start at `root`, absolute ones are real paths. */
function serveSftp(sftp: SFTPWrapper, root: string): void {
  const { STATUS_CODE, OPEN_MODE, flagsToString } = ssh2.utils.sftp;
  const handles = new Map<number, OpenHandle>();
  let nextHandle = 0;
  const at = (p: string): string => resolve(root, p);
  const lookup = (handle: Buffer): OpenHandle | undefined => (handle.length === 4 ? handles.get(handle.readUInt32BE(0)) : undefined);
  const newHandle = (id: number, entry: OpenHandle): void => {
    const key = nextHandle++;
    handles.set(key, entry);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(key);
    sftp.handle(id, buf);
  };
  const reply = (id: number, work: () => Promise<void>): void => {
    work().catch((err: unknown) => sftp.status(id, errorStatus(err), err instanceof Error ? err.message : String(err)));
  };
  const fileOf = (id: number, handle: Buffer): FileHandle | null => {
    const entry = lookup(handle);
    if (entry && 'file' in entry) return entry.file;
    sftp.status(id, STATUS_CODE.FAILURE, 'bad handle');
    return null;
  };

  sftp.on('OPEN', (id, filename, flags, attrs) =>
    reply(id, async () => {
      const mode = flags & OPEN_MODE.CREAT && attrs.mode ? attrs.mode & 0o7777 : 0o644;
      newHandle(id, { file: await open(at(filename), flagsToString(flags) ?? 'r', mode) });
    }),
  );
  sftp.on('READ', (id, handle, offset, len) =>
    reply(id, async () => {
      const file = fileOf(id, handle);
      if (!file) return;
      const buf = Buffer.alloc(len);
      const { bytesRead } = await file.read(buf, 0, len, offset);
      if (bytesRead === 0) sftp.status(id, STATUS_CODE.EOF);
      else sftp.data(id, buf.subarray(0, bytesRead));
    }),
  );
  sftp.on('WRITE', (id, handle, offset, data) =>
    reply(id, async () => {
      const file = fileOf(id, handle);
      if (!file) return;
      await file.write(data, 0, data.length, offset);
      sftp.status(id, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSTAT', (id, handle) =>
    reply(id, async () => {
      const file = fileOf(id, handle);
      if (file) sftp.attrs(id, attrsOf(await file.stat()));
    }),
  );
  sftp.on('CLOSE', (id, handle) =>
    reply(id, async () => {
      const entry = lookup(handle);
      if (!entry) return sftp.status(id, STATUS_CODE.FAILURE, 'bad handle');
      handles.delete(handle.readUInt32BE(0));
      if ('file' in entry) await entry.file.close();
      sftp.status(id, STATUS_CODE.OK);
    }),
  );
  sftp.on('STAT', (id, path) => reply(id, async () => sftp.attrs(id, attrsOf(await stat(at(path))))));
  sftp.on('LSTAT', (id, path) => reply(id, async () => sftp.attrs(id, attrsOf(await lstat(at(path))))));
  sftp.on('OPENDIR', (id, path) =>
    reply(id, async () => {
      const dir = at(path);
      newHandle(id, { path: dir, entries: ['.', '..', ...(await readdir(dir))] });
    }),
  );
  sftp.on('READDIR', (id, handle) =>
    reply(id, async () => {
      const entry = lookup(handle);
      if (!entry || 'file' in entry) return sftp.status(id, STATUS_CODE.FAILURE, 'bad handle');
      if (!entry.entries) return sftp.status(id, STATUS_CODE.EOF);
      const names = entry.entries;
      entry.entries = null;
      const listed = await Promise.all(
        names.map(async (filename) => {
          const attrs = attrsOf(await lstat(join(entry.path, filename)));
          return { filename, longname: longname(filename, attrs), attrs };
        }),
      );
      sftp.name(id, listed);
    }),
  );
  sftp.on('REALPATH', (id, path) =>
    reply(id, async () => {
      const full = at(path);
      sftp.name(id, [{ filename: full, longname: full, attrs: attrsOf(await stat(full)) }]);
    }),
  );
  const done = (id: number, work: Promise<unknown>): void =>
    reply(id, async () => {
      await work;
      sftp.status(id, STATUS_CODE.OK);
    });
  sftp.on('RENAME', (id, from, to) => done(id, rename(at(from), at(to))));
  sftp.on('REMOVE', (id, path) => done(id, unlink(at(path))));
  sftp.on('MKDIR', (id, path, attrs) => done(id, mkdir(at(path), attrs.mode ? attrs.mode & 0o7777 : 0o755)));
  sftp.on('RMDIR', (id, path) => done(id, rmdir(at(path))));
  sftp.on('SETSTAT', (id, path, attrs) => done(id, attrs.mode ? chmod(at(path), attrs.mode & 0o7777) : Promise.resolve()));
  sftp.on('FSETSTAT', (id) => sftp.status(id, STATUS_CODE.OK));
  sftp.on('close', () => {
    for (const entry of handles.values()) if ('file' in entry) void entry.file.close().catch(() => undefined);
    handles.clear();
  });
}

class Ssh2Server implements SftpTestServer {
  readonly kind = 'ssh2';
  readonly host = HOST;
  readonly username: string;
  readonly root: string;
  readonly clientKeyPath: string;
  readonly clientPublicKey: string;
  readonly hostKeySha256: string;
  #server: InstanceType<typeof ssh2.Server> | null = null;
  #connections = new Set<Connection>();
  #port = 0;

  constructor(private readonly files: Files) {
    this.username = files.username;
    this.root = files.root;
    this.clientKeyPath = files.clientKeyPath;
    this.clientPublicKey = files.clientPublicKey;
    this.hostKeySha256 = files.hostKeySha256;
  }

  get port(): number {
    return this.#port;
  }

  async start(port = 0): Promise<void> {
    const allowed = ssh2.utils.parseKey(this.clientPublicKey);
    if (allowed instanceof Error) throw allowed;
    const server = new ssh2.Server({ hostKeys: [readFileSync(this.files.hostKey)] }, (conn) => {
      this.#connections.add(conn);
      conn.on('close', () => this.#connections.delete(conn));
      conn.on('error', () => undefined);
      conn.on('authentication', (ctx) => {
        const known =
          ctx.method === 'publickey' &&
          ctx.username === this.username &&
          ctx.key.algo === allowed.type &&
          ctx.key.data.equals(allowed.getPublicSSH());
        if (known && (!ctx.signature || (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true))) ctx.accept();
        else ctx.reject(['publickey']);
      });
      conn.on('ready', () => {
        conn.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), this.root));
        });
      });
    });
    await new Promise<void>((done, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => {
        server.off('error', reject);
        done();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    const closed = new Promise<void>((done) => server.close(() => done()));
    for (const conn of this.#connections) conn.end();
    this.#connections.clear();
    await closed;
  }

  async restart(): Promise<void> {
    await this.stop();
    const deadline = Date.now() + RESTART_BIND_MS;
    for (;;) {
      try {
        return await this.start(this.#port);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  }
}

// ---- Entry point --------------------------------------------------------------------------------

async function writeFiles(root: string): Promise<Files> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-sftpd-'));
  await mkdir(root, { recursive: true });
  const username = userInfo().username;
  const host = ed25519KeyPair('carelake-sftp-test-host');
  const client = ed25519KeyPair(`${username}@carelake-sftp-test`);
  const files: Files = {
    dir,
    root,
    username,
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    hostKeySha256: fingerprintOf(host.public),
    clientKeyPath: join(dir, 'client_ed25519'),
    clientPublicKey: client.public.trim(),
  };
  // sshd refuses a host key that others can read; the client key is 0600 as ssh expects.
  await writeFile(files.hostKey, host.private, { mode: 0o600 });
  await writeFile(`${files.hostKey}.pub`, `${host.public.trim()}\n`, { mode: 0o644 });
  await writeFile(files.clientKeyPath, client.private, { mode: 0o600 });
  await writeFile(`${files.clientKeyPath}.pub`, `${files.clientPublicKey}\n`, { mode: 0o644 });
  await writeFile(join(dir, 'authorized_keys'), `${files.clientPublicKey}\n`, { mode: 0o600 });
  return files;
}

export async function startSftpServer(options?: { root?: string }): Promise<SftpTestServer> {
  let root: string;
  if (options?.root) {
    root = resolve(options.root);
  } else {
    root = await mkdtemp(join(tmpdir(), 'carelake-sftp-root-'));
  }
  const files = await writeFiles(root);
  spawnReaper(pidFileOf(files), options?.root ? [files.dir] : [files.dir, root]);
  const sshd = process.env[KIND_ENV] === 'ssh2' ? null : findSshd();
  const unusable = !sshd
    ? 'no OpenSSH sshd found'
    : lockedForSshd(files.username)
      ? `sshd (UsePAM no) refuses ${files.username}: its shadow password is locked ('!')`
      : null;
  if (!sshd || unusable) {
    if (process.env[KIND_ENV] !== 'ssh2') console.warn(`sftp test server: ${unusable}; falling back to an ssh2-based SFTP server`);
    const server = new Ssh2Server(files);
    await server.start();
    return server;
  }
  // As root, sshd wants its privilege-separation directory (Debian: /run/sshd; tmpfs, so often missing).
  if (process.getuid?.() === 0 && existsSync('/run') && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const configPath = join(files.dir, 'sshd_config');
  await writeFile(configPath, sshdConfig(files, sshd), { mode: 0o600 });
  const server = new OpenSshServer(files, sshd, configPath);
  await server.start();
  return server;
}
