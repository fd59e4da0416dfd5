// Read-only access to a role's current serving release. Each use re-reads the pointer and opens the
// new file when it has changed; a release being replaced is closed only once the queries already
// running on it have finished, so a publish never cuts a reader off mid-query.
//
// The connection is locked down at open (DuckDB 1.5.6 accepts both at open, tested):
// `enable_external_access=false` blocks read_csv/read_parquet, COPY and ATTACH of other files, and
// `lock_configuration=true` then stops a query from turning it back on. Extension autoloading is
// already off in DuckDb.open.

import { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { readServingPointer, resolveRelease, type ServingRelease } from './servingPointer.ts';

// Insertion order is the order the settings are meant to apply: access is closed before the lock.
export const SERVING_CONNECTION_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  // No spill folder: DuckDB adds `<file>.tmp/` to allowed_directories, which would let a query read and
  // write files there once it exists. A serving query that needs more memory fails instead.
  temp_directory: '',
  enable_external_access: 'false',
  lock_configuration: 'true',
});

interface OpenRelease {
  release: ServingRelease;
  db: DuckDb;
  leases: number;
  retired: boolean;
}

export class ServingReader {
  private active: OpenRelease | null = null;
  private opening: { file: string; releaseId: string; promise: Promise<OpenRelease> } | null = null;
  private readonly retired = new Set<OpenRelease>();
  private closed = false;

  /** Does no I/O: the first `use()` reads the pointer, so a server can start before anything is published. */
  constructor(
    readonly layout: LakeLayout,
    readonly role: string,
  ) {}

  /** The role's current release according to the pointer, or null when none is published. */
  async currentRelease(): Promise<ServingRelease | null> {
    return resolveRelease(this.layout, this.role, await readServingPointer(this.layout));
  }

  /**
   * Runs `work` on a new connection to the current release. The release stays open for the whole of
   * `work` even if a newer release is published meanwhile. Throws `serving.not-published` when the
   * role has no release.
   */
  async use<T>(work: (db: DuckDb, release: ServingRelease) => Promise<T>): Promise<T> {
    const handle = await this.acquire();
    try {
      // A connection of its own per use: DuckDB runs one statement at a time per connection, so
      // concurrent requests would queue behind each other, and interrupting one would stop another.
      const connection = await handle.db.connect();
      try {
        return await work(connection, handle.release);
      } finally {
        connection.close();
      }
    } finally {
      handle.leases -= 1;
      this.closeIfIdle(handle);
    }
  }

  /** Closes idle connections now and the busy ones as their queries finish. */
  close(): void {
    this.closed = true;
    if (this.active) this.retire(this.active);
    this.active = null;
  }

  private async acquire(): Promise<OpenRelease> {
    if (this.closed) throw closedError(this.role);
    const release = await this.currentRelease();
    if (!release) {
      throw new CarelakeError({
        code: 'serving.not-published',
        kind: 'runtime',
        message: `No serving release has been published for role '${this.role}'`,
        location: { file: this.layout.servingPointer },
        hint: 'run a build that publishes the serving layer',
      });
    }
    if (this.active && sameRelease(this.active.release, release)) {
      this.active.leases += 1;
      return this.active;
    }
    const handle = await this.openRelease(release);
    if (this.closed) {
      this.retire(handle);
      throw closedError(this.role);
    }
    if (this.active !== handle) {
      if (this.active) this.retire(this.active);
      this.active = handle;
    }
    handle.leases += 1;
    return handle;
  }

  /** Opens a release once even when several requests notice the new pointer together. */
  private openRelease(release: ServingRelease): Promise<OpenRelease> {
    if (this.opening && this.opening.file === release.file && this.opening.releaseId === release.releaseId) return this.opening.promise;
    const promise = DuckDb.open(release.file, { readOnly: true, settings: { ...SERVING_CONNECTION_SETTINGS } }).then(
      (db): OpenRelease => ({ release, db, leases: 0, retired: false }),
    );
    const opening = { file: release.file, releaseId: release.releaseId, promise };
    this.opening = opening;
    const clear = (): void => {
      if (this.opening === opening) this.opening = null;
    };
    promise.then(clear, clear);
    return promise;
  }

  private retire(handle: OpenRelease): void {
    handle.retired = true;
    this.retired.add(handle);
    this.closeIfIdle(handle);
  }

  private closeIfIdle(handle: OpenRelease): void {
    if (!handle.retired || handle.leases > 0 || !this.retired.has(handle)) return;
    this.retired.delete(handle);
    handle.db.close();
  }
}

function sameRelease(a: ServingRelease, b: ServingRelease): boolean {
  return a.file === b.file && a.releaseId === b.releaseId;
}

function closedError(role: string): CarelakeError {
  return new CarelakeError({
    code: 'serving.reader-closed',
    kind: 'internal',
    message: `The serving reader for role '${role}' has been closed`,
  });
}
