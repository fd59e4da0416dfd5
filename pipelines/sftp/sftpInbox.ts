// A remote folder as a source of files to land, for any file source kind. Guarantees:
// - A file still being written is not taken: it must have the same size and time in two listings
//   `stableSeconds` apart, or a `<name><doneMarker>` file must exist beside it.
// - A file is never landed partially: it is downloaded to a temporary name, its size checked against
//   the listing and the remote file checked unchanged afterwards (and its sha256 against a
//   `<name>.sha256` sidecar when the server provides one), and only then offered to the run.
// - A file already landed is not downloaded again (same location and size in the ledger); a file
//   with the same bytes under another name is skipped by the run's sha256 check.
// - Connection errors are retried with exponential backoff (p-retry) on a fresh connection;
//   downloads run `concurrency` at a time (p-queue), each on its own connection, and are offered in
//   the source's order as they finish.
// - `afterDownload` (leave, delete, move:<dir>) applies only once a file has a final outcome in the
//   ledger, so a crash never loses a file that was not landed.

import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import pRetry from 'p-retry';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import type { SftpSettings } from '../../core/config.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import type { Connector } from '../connectors/connector.ts';
import type { FileOutcome, SourceFile } from '../landing/fileLanding.ts';
import type { SourceState } from '../ledger/sourceState.ts';
import { inWindow, type RunWindow } from '../runs/runWindow.ts';
import { isRetryableSftpError, loadSftpCredentials, SftpSession, sftpServerLabel, type RemoteFile, type SftpCredentials } from './sftpSession.ts';

export interface SftpInboxOptions {
  source: string;
  settings: SftpSettings;
  layout: LakeLayout;
  logger: Logger;
  state: SourceState;
  /** The order files land in, by name (default: by name). */
  order?: (a: string, b: string) => number;
  /** A backfill: only files last modified inside this window. */
  window?: RunWindow;
  /** First backoff delay; tests shorten it. */
  retryMinMs?: number;
  env?: Readonly<Record<string, string | undefined>>;
}

const CHECKSUM_SUFFIX = '.sha256';

export class SftpInbox {
  private credentials: SftpCredentials | null = null;
  private readonly idle: SftpSession[] = [];
  private readonly remoteDir: string;
  private readonly matches: (name: string) => boolean;
  /** Remote names seen already landed at listing time: afterDownload applies to them too. */
  private readonly alreadyLanded: string[] = [];
  /** Location → remote name, for every file offered to the run. */
  private readonly offered = new Map<string, string>();
  private downloadDir: string | null = null;

  constructor(private readonly options: SftpInboxOptions) {
    this.remoteDir = options.settings.remoteDir.replace(/\/+$/, '') || '/';
    this.matches = picomatch(options.settings.pattern);
  }

  /** Where a remote file is recorded in the ledger and lineage: sftp://user@host:port/dir/name. */
  location(name: string): string {
    return `sftp://${sftpServerLabel(this.options.settings)}${posix.join(this.remoteDir, name)}`;
  }

  /** Files ready to land, downloaded and verified, in the source's order. */
  async *files(): AsyncGenerator<SourceFile> {
    const { settings, logger, source } = this.options;
    const log = logger.child({ source, sftp: sftpServerLabel(settings), remote_dir: this.remoteDir });
    const queue = new PQueue({ concurrency: settings.concurrency });
    let completed = false;
    try {
      const ready = await this.readyFiles(log);
      ready.sort((a, b) => (this.options.order ?? defaultOrder)(a.file.name, b.file.name));
      if (ready.length === 0) {
        completed = true;
        return;
      }
      this.downloadDir = join(this.options.layout.tmp, 'downloads', `${source}-${randomUUID()}`);
      await mkdir(this.downloadDir, { recursive: true });
      const downloads = ready.map((entry) => queue.add(() => this.fetch(entry.file, entry.checksum, log)));
      // Unobserved rejections of later downloads would crash the process if an earlier one fails first.
      for (const d of downloads) d.catch(() => undefined);
      for (const download of downloads) {
        const file = await download;
        if (file !== null) yield file;
      }
      completed = true;
    } finally {
      queue.clear();
      await queue.onIdle().catch(() => undefined);
      await this.closeSessions();
      // On success the last file is landed before the run asks for more; on failure nothing is kept.
      if (!completed) await this.removeDownloads();
    }
  }

  /** Applies afterDownload to every file of this run that now has a final outcome, then removes the downloads. */
  async finish(run: { files: FileOutcome[]; skipped: SourceFile[] }): Promise<void> {
    const { settings, logger, source } = this.options;
    try {
      if (settings.afterDownload === 'leave') return;
      const names = [
        ...this.alreadyLanded,
        ...[...run.files, ...run.skipped].map((f) => this.offered.get(f.location)).filter((n): n is string => n !== undefined),
      ];
      if (names.length === 0) return;
      await this.retrying('tidy', logger, async (session) => {
        const target = settings.afterDownload.startsWith('move:') ? posix.resolve(this.remoteDir, settings.afterDownload.slice('move:'.length)) : null;
        if (target !== null) await session.ensureDir(target);
        for (const name of names) {
          const companions = [name, ...(settings.doneMarker ? [name + settings.doneMarker] : []), name + CHECKSUM_SUFFIX];
          for (const [i, file] of companions.entries()) {
            const from = posix.join(this.remoteDir, file);
            // Companions are optional: only the data file must exist.
            if (i > 0 && (await session.stat(from)) === null) continue;
            if (target === null) await session.remove(from);
            else await session.rename(from, posix.join(target, file));
          }
        }
      });
      logger.info({ source, files: names.length, action: settings.afterDownload }, 'remote files tidied after landing');
    } catch (err) {
      // The files landed; tidying is retried next run (they are recognised as landed by name and size).
      logger.warn({ source, err: err instanceof CarelakeError ? err.toJSON() : String(err) }, `afterDownload (${settings.afterDownload}) failed; will try again next run`);
    } finally {
      await this.closeSessions();
      await this.removeDownloads();
    }
  }

  private async readyFiles(log: Logger): Promise<{ file: RemoteFile; checksum: boolean }[]> {
    const { settings, state } = this.options;
    const first = await this.retrying('list', log, (s) => s.list(this.remoteDir));
    const names = new Set(first.map((f) => f.name));
    const candidates: RemoteFile[] = [];
    for (const file of first) {
      if (!this.matches(file.name)) continue;
      if (this.options.window && !inWindow(file.modifiedMs, this.options.window)) continue;
      if (state.hasFinalFile(this.location(file.name), file.size)) this.alreadyLanded.push(file.name);
      else candidates.push(file);
    }
    log.info({ listed: first.length, candidates: candidates.length, already_landed: this.alreadyLanded.length }, 'sftp listing');
    let ready: RemoteFile[];
    if (settings.doneMarker !== undefined) {
      const marker = settings.doneMarker;
      ready = candidates.filter((f) => names.has(f.name + marker));
      if (ready.length < candidates.length) log.info({ waiting: candidates.length - ready.length, marker }, 'files without a done marker left for a later run');
    } else if (settings.stableSeconds > 0 && candidates.length > 0) {
      await sleep(settings.stableSeconds * 1000);
      const second = new Map((await this.retrying('list', log, (s) => s.list(this.remoteDir))).map((f) => [f.name, f]));
      ready = candidates.filter((f) => {
        const again = second.get(f.name);
        return again !== undefined && again.size === f.size && again.modifiedMs === f.modifiedMs;
      });
      const changing = candidates.filter((f) => !ready.includes(f)).map((f) => f.name);
      if (changing.length > 0) log.info({ files: changing, stable_seconds: settings.stableSeconds }, 'files still changing left for a later run');
    } else {
      ready = candidates;
    }
    return ready.map((file) => ({ file, checksum: names.has(file.name + CHECKSUM_SUFFIX) }));
  }

  /** Downloads one file with retries; null when it changed while downloading (left for a later run). */
  private async fetch(file: RemoteFile, checksum: boolean, log: Logger): Promise<SourceFile | null> {
    const remote = posix.join(this.remoteDir, file.name);
    const dir = this.downloadDir!;
    const partial = join(dir, `${file.name}.part`);
    const local = join(dir, file.name);
    const started = Date.now();
    const result = await this.retrying(`download ${file.name}`, log, async (session) => {
      const download = await session.download(remote, partial);
      const after = await session.stat(remote);
      if (download.bytes !== file.size || after === null || after.size !== file.size || after.modifiedMs !== file.modifiedMs) return null;
      if (checksum) {
        const expected = (await session.readText(remote + CHECKSUM_SUFFIX)).trim().split(/\s+/)[0]?.toLowerCase();
        if (expected !== download.sha256) {
          throw new CarelakeError({
            code: 'sftp.checksum',
            kind: 'runtime',
            message: `${this.location(file.name)}: its sha256 is ${download.sha256} but ${file.name}${CHECKSUM_SUFFIX} says ${expected ?? '(nothing)'}; not landed`,
            hint: 'ask the sender to re-send the file; it was corrupted in transfer or at source',
          });
        }
      }
      return download;
    });
    if (result === null) {
      await rm(partial, { force: true });
      log.warn({ file: file.name }, 'remote file changed while it was downloaded; left for a later run');
      return null;
    }
    await rename(partial, local);
    const location = this.location(file.name);
    this.offered.set(location, file.name);
    log.info({ file: file.name, bytes: result.bytes, seconds: (Date.now() - started) / 1000 }, 'sftp download verified');
    return { location, bytes: result.bytes, sha256: result.sha256, localPath: local };
  }

  /** Runs `work` on an idle connection (or a new one); a connection that failed is closed, not reused. */
  private async withSession<T>(work: (session: SftpSession) => Promise<T>): Promise<T> {
    let session = this.idle.pop();
    while (session !== undefined && !session.alive) session = this.idle.pop();
    session ??= await this.connect();
    try {
      const result = await work(session);
      this.idle.push(session);
      return result;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** `withSession` under p-retry: a connection error closes that connection and tries again on a new one, with backoff. */
  private retrying<T>(what: string, log: Logger, work: (session: SftpSession) => Promise<T>): Promise<T> {
    return pRetry(() => this.withSession(work), {
      retries: this.options.settings.retries,
      minTimeout: this.options.retryMinMs ?? 1000,
      factor: 2,
      shouldRetry: ({ error }) => isRetryableSftpError(error),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft > 0 && isRetryableSftpError(error)) log.warn({ attempt: attemptNumber, retries_left: retriesLeft, error: error.message }, `sftp ${what} failed; retrying`);
      },
    });
  }

  private async connect(): Promise<SftpSession> {
    this.credentials ??= await loadSftpCredentials(this.options.settings, this.options.env);
    return SftpSession.open(this.options.settings, this.credentials);
  }

  private async closeSessions(): Promise<void> {
    const sessions = this.idle.splice(0);
    await Promise.all(sessions.map((s) => s.close()));
  }

  private async removeDownloads(): Promise<void> {
    if (this.downloadDir !== null) await rm(this.downloadDir, { recursive: true, force: true });
    this.downloadDir = null;
  }
}

/**
 * A file source kind's connector reading from `inbox`: listing happens inside the run (so a refused
 * host key or a dropped server is recorded on it), files are offered as their downloads complete,
 * and afterDownload runs once the run has recorded their outcomes.
 */
export function sftpConnector(inbox: SftpInbox, land: Connector['land']): Connector {
  return {
    remote: true,
    async listFiles() {
      const files: SourceFile[] = [];
      for await (const file of inbox.files()) files.push(file);
      return files;
    },
    streamFiles: () => inbox.files(),
    land,
    finish: (run) => inbox.finish(run),
  };
}

function defaultOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
