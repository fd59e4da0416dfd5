// One kick-off's job: its state machine (in-progress → complete | failed, and deleted on DELETE), the
// files it serves and the complete-status manifest, paged when the client allowed partial manifests.
// The job's shape (polls before completion, failure, files) is fixed from the behaviour at kick-off, so
// a later `setBehaviour` cannot change a job already running; request-level switches (429s, transient
// errors, gzip, expiry, redirects, auth) are read live by the server.

import { randomBytes } from 'node:crypto';
import type { ExportRequest } from './kickoffRequest.ts';
import type { FilePlan, JobShape } from './exportSelection.ts';
import { formatInstant } from './fhirInstant.ts';

export type JobStatus = 'in-progress' | 'complete' | 'failed' | 'deleted';

/** What tests may read about a job through `FhirBulkTestServer.jobs`. */
export interface JobView {
  readonly status: JobStatus;
  /** The kick-off URL. */
  readonly request: string;
  readonly params: Record<string, string>;
  /** Status polls received (manifest page fetches excluded). */
  readonly polls: number;
}

export interface JobFile extends FilePlan {
  name: string;
}

export interface ManifestEntry {
  type: string;
  url: string;
  count: number;
}

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: ManifestEntry[];
  error: ManifestEntry[];
  deleted?: ManifestEntry[];
  link?: { relation: 'next'; url: string }[];
}

export interface JobTiming {
  pollsBeforeComplete: number;
  failExport: boolean;
  pageSize: number | null;
}

export class ExportJob implements JobView {
  status: JobStatus = 'in-progress';
  polls = 0;
  /** 202 answers given so far. */
  progressAnswers = 0;
  completedAt: number | null = null;
  /** The secret in second-origin URLs: storage serves whoever holds the URL, as signed URLs do. */
  readonly storageKey = randomBytes(16).toString('hex');
  readonly files: ReadonlyMap<string, JobFile>;

  constructor(
    readonly id: string,
    readonly exportRequest: ExportRequest,
    readonly transactionMs: number,
    readonly timing: JobTiming,
    readonly shape: JobShape,
    plans: readonly FilePlan[],
  ) {
    // Names are numbers, as many servers' are, and say nothing of the type: clients must not parse them.
    this.files = new Map(plans.map((plan, index) => [`${index + 1}.ndjson`, { ...plan, name: `${index + 1}.ndjson` }]));
  }

  get request(): string {
    return this.exportRequest.kickoffUrl;
  }

  get params(): Record<string, string> {
    return this.exportRequest.params;
  }

  /** Manifest pages: one, or `pageSize` outputs each when the client sent allowPartialManifests=true. */
  pageCount(): number {
    const outputs = [...this.files.values()].filter((f) => f.kind === 'output').length;
    const size = this.pageSizeInUse();
    return size === null ? 1 : Math.max(1, Math.ceil(outputs / size));
  }

  private pageSizeInUse(): number | null {
    const size = this.timing.pageSize;
    return size !== null && size > 0 && this.exportRequest.allowPartialManifests ? size : null;
  }

  /** Page `page` (1-based) of the manifest; error[] and deleted[] travel on the first page only. */
  manifest(page: number, urls: { file: (name: string) => string; page: (n: number) => string }, requiresAccessToken: boolean): Manifest {
    const entry = (f: JobFile): ManifestEntry => ({ type: f.type, url: urls.file(f.name), count: f.lines.length });
    const all = [...this.files.values()];
    let outputs = all.filter((f) => f.kind === 'output');
    const size = this.pageSizeInUse();
    if (size !== null) outputs = outputs.slice((page - 1) * size, page * size);
    const manifest: Manifest = {
      transactionTime: formatInstant(this.transactionMs),
      request: this.request,
      requiresAccessToken,
      output: outputs.map(entry),
      error: page === 1 ? all.filter((f) => f.kind === 'error').map(entry) : [],
    };
    if (this.shape.deletedWithSince && this.exportRequest.sinceMs !== null) {
      manifest.deleted = page === 1 ? all.filter((f) => f.kind === 'deleted').map(entry) : [];
    }
    if (page < this.pageCount()) manifest.link = [{ relation: 'next', url: urls.page(page + 1) }];
    return manifest;
  }
}
