// The `fhir-bulk` source kind: a Bulk Data export from a FHIR server, landed like any other file
// source. A run starts an export (or resumes the one in flight: its status URL is kept in the ledger
// from kick-off), waits for the manifest, downloads the files it has not landed yet with bounded
// parallelism into lake/tmp, and lands each: resources by type, `deleted[]` as tombstones in
// `_deleted`, `error[]` OperationOutcomes in `_errors`. Only when every file of the export has
// landed or been quarantined is the `_since` watermark (the manifest's transactionTime) committed and
// the job released on the server.

import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { CarelakeError } from '../../core/errors.ts';
import type { SourceConfig } from '../../core/config.ts';
import type { ConnectorFactory } from '../connectors/connector.ts';
import type { FileLanding, Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import { readLines } from '../landing/localFiles.ts';
import type { RawDatasetSchema } from '../landing/rawDataset.ts';
import { BulkDataClient } from './bulkClient.ts';
import { loadClientKey } from './clientKey.ts';
import { kickoffRequest, type KickoffRequest } from './kickoffRequest.ts';
import type { BulkManifest } from './manifest.ts';
import { FILTER_COLUMN, landNdjsonResources } from './ndjsonLanding.ts';
import { SmartBackendAuth } from './smartAuth.ts';
import { typeFilterPredicates } from './typeFilter.ts';

/** Ledger state keys of this kind. */
/** `backfillJob`: a backfill's export in flight, kept apart so it never resumes as (or replaces) the incremental one. */
export const BULK_STATE = { job: 'bulk.job', backfillJob: 'bulk.backfill-job', since: 'bulk.since' } as const;

export interface SavedBulkJob {
  statusUrl: string;
  since: string | null;
  startedAt: string;
  /** A backfill's `_until`; a saved backfill job resumes only for the same window. */
  until?: string | null;
}

type FhirBulkSource = Extract<SourceConfig, { kind: 'fhir-bulk' }>;

type FileRole = { role: 'output' | 'deleted' | 'error'; type: string; count?: number; url: string };

export const DELETED_DATASET: RawDatasetSchema = {
  dataset: '_deleted',
  columns: [
    { name: 'resource_type', type: 'VARCHAR' },
    { name: 'id', type: 'VARCHAR' },
    { name: 'bundle_id', type: 'VARCHAR' },
  ],
};

export const ERRORS_DATASET: RawDatasetSchema = {
  dataset: '_errors',
  columns: [
    { name: 'severity', type: 'VARCHAR' },
    { name: 'code', type: 'VARCHAR' },
    { name: 'diagnostics', type: 'VARCHAR' },
  ],
};

export interface BulkConnectorDeps {
  fetch?: typeof fetch;
  /** Wait bounds for polling and retries; tests shorten them. */
  waits?: { minMs: number; maxMs: number };
}

export function makeFhirBulkConnector(deps: BulkConnectorDeps = {}): ConnectorFactory<'fhir-bulk'> {
  return (source, ctx) => {
    const roles = new Map<string, FileRole>();
    // Checked before anything is sent: a filter carelake cannot re-apply is a configuration error.
    let keep: Map<string, string> | null = null;
    const filters = () => (keep ??= typeFilterPredicates(source.typeFilter, FILTER_COLUMN));
    let client: BulkDataClient | null = null;
    let current: { job: SavedBulkJob; manifest: BulkManifest; downloads: string } | null = null;
    const window = ctx.window;
    const jobKey = window ? BULK_STATE.backfillJob : BULK_STATE.job;

    const connect = () =>
      bulkClientFor(source, {
        ...deps,
        onProgress: (progress) => {
          ctx.logger.info({ progress }, 'export in progress');
          ctx.progress?.(`${source.name}: export in progress on the server — ${progress}`);
        },
      });

    /** The job in flight if the server still has it, else a new export from the watermark. */
    async function startOrResume(bulk: BulkDataClient): Promise<{ job: SavedBulkJob; manifest: BulkManifest }> {
      const saved = ctx.state.get(jobKey);
      const savedJob = saved ? (JSON.parse(saved) as SavedBulkJob) : null;
      if (savedJob && window && (savedJob.since !== window.from.toISOString() || (savedJob.until ?? null) !== window.to.toISOString())) {
        ctx.logger.warn({ status_url: savedJob.statusUrl }, 'an earlier backfill of another window was left unfinished; starting this window afresh');
        await bulk.deleteJob(savedJob.statusUrl).catch(() => undefined);
        ctx.state.delete(jobKey);
      } else if (savedJob) {
        const job = savedJob;
        try {
          ctx.logger.info({ status_url: job.statusUrl }, 'resuming export');
          return { job, manifest: await bulk.waitForManifest(job.statusUrl) };
        } catch (err) {
          if (!(err instanceof CarelakeError) || err.code !== 'fhir-bulk.job-gone') throw forgetFailedJob(err);
          ctx.logger.warn({ status_url: job.statusUrl }, 'the server no longer has the export in flight; starting a new one');
          ctx.state.delete(jobKey);
        }
      }
      // A backfill asks for its window; otherwise the watermark (or the configured since) and until.
      const since = window ? window.from.toISOString() : source.since === 'auto' ? (ctx.state.get(BULK_STATE.since) ?? null) : source.since === 'none' ? null : source.since;
      const until = window ? window.to.toISOString() : source.until;
      const request = exportRequestFor(source, since, until);
      const statusUrl = await bulk.kickOff(request);
      const job: SavedBulkJob = { statusUrl, since, startedAt: new Date().toISOString(), ...(window ? { until } : {}) };
      // Kept before the first poll, so a run killed from here on resumes this job.
      ctx.state.set(jobKey, JSON.stringify(job));
      try {
        return { job, manifest: await bulk.waitForManifest(statusUrl) };
      } catch (err) {
        throw forgetFailedJob(err);
      }
    }

    /** A job that failed or expired on the server cannot be resumed: the next run starts afresh. */
    function forgetFailedJob(err: unknown): unknown {
      if (err instanceof CarelakeError && ['fhir-bulk.export-failed', 'fhir-bulk.expired'].includes(err.code)) ctx.state.delete(jobKey);
      return err;
    }

    return {
      remote: true,
      // An export's files are independent: two land at once, one per core.
      landConcurrency: 2,

      async listFiles(): Promise<SourceFile[]> {
        const files: SourceFile[] = [];
        for await (const file of this.streamFiles!()) files.push(file);
        return files;
      },

      /** Downloads run `concurrency` at a time; each file is offered as soon as it is on disk. */
      async *streamFiles(): AsyncGenerator<SourceFile> {
        filters();
        client ??= await connect();
        const bulk = client;
        const { job, manifest } = await startOrResume(bulk);
        const downloads = join(ctx.layout.tmp, 'downloads', source.name, createHash('sha256').update(job.statusUrl).digest('hex').slice(0, 16));
        await mkdir(downloads, { recursive: true });
        current = { job, manifest, downloads };

        const wanted: FileRole[] = [
          ...manifest.output.map((o) => ({ role: 'output' as const, type: o.type, count: o.count, url: o.url })),
          ...(manifest.deleted ?? []).map((o) => ({ role: 'deleted' as const, type: o.type, count: o.count, url: o.url })),
          ...manifest.error.map((o) => ({ role: 'error' as const, type: o.type, count: o.count, url: o.url })),
        ];
        const pending = wanted.filter((f) => !ctx.state.hasLanded(f.url));
        ctx.logger.info({ files: wanted.length, to_download: pending.length, transaction_time: manifest.transactionTime }, 'manifest received');
        const queue = new PQueue({ concurrency: source.concurrency });
        const tasks = pending.map((f, i) =>
          queue.add(async (): Promise<SourceFile> => {
            const localPath = join(downloads, `${i}.ndjson`);
            try {
              const { bytes, sha256, hasRecordSeparator } = await bulk.download(f.url, localPath, manifest.requiresAccessToken);
              roles.set(f.url, f);
              return { location: f.url, bytes, sha256, localPath, hasRecordSeparator };
            } catch (err) {
              throw forgetFailedJob(err);
            }
          }),
        );
        try {
          yield* inCompletionOrder(tasks);
        } finally {
          queue.clear(); // a failed run starts no further downloads
        }
      },

      async land(file: SourceFile, landing: FileLanding): Promise<Reconciliation[]> {
        const role = roles.get(file.location);
        if (!role || !file.localPath) throw new Error(`land() called for a file listFiles() did not download: ${file.location}`);
        const lines =
          role.role === 'output'
            ? (await landNdjsonResources(landing, file, role.type, filters().get(role.type), source.elements.length > 0 ? `${role.type}_subsetted` : role.type)).lines
            : role.role === 'deleted'
              ? await landTombstones(landing, file.localPath)
              : await landOutcomes(landing, file.localPath);
        return role.count !== undefined && role.count !== lines ? [{ what: `manifest count of ${role.role} ${role.type} at ${role.url}`, declared: role.count, actual: lines }] : [];
      },

      async finish({ runId }): Promise<void> {
        if (!current || !client) return;
        // Every file of the export has landed or was quarantined: the watermark may move — unless this
        // was a backfill, which fills in the past and must not move the incremental load's _since.
        if (!window) ctx.state.set(BULK_STATE.since, current.manifest.transactionTime, runId);
        ctx.state.delete(jobKey);
        try {
          await client.deleteJob(current.job.statusUrl);
        } catch (err) {
          ctx.logger.warn({ status_url: current.job.statusUrl, error: (err as Error).message }, 'could not release the export job on the server');
        }
        await rm(current.downloads, { recursive: true, force: true });
      },
    };
  };
}

export const fhirBulkConnector = makeFhirBulkConnector();

/** The kick-off request a source sends for an export from `since` to `until` (also shown by `backfill --dry-run`). */
export function exportRequestFor(source: FhirBulkSource, since: string | null, until: string | null): KickoffRequest {
  return kickoffRequest({ baseUrl: source.baseUrl, level: source.level, groupId: source.groupId, method: source.method, types: source.types, typeFilter: source.typeFilter, since, allowPartialManifests: source.allowPartialManifests, patients: source.patients, lenient: source.typeFilter.length > 0, elements: source.elements, until, includeAssociatedData: source.includeAssociatedData });
}

/** The client for a fhir-bulk source: with SMART Backend Services when the source has `auth`. */
export async function bulkClientFor(source: FhirBulkSource, deps: BulkConnectorDeps & { onProgress?: (progress: string) => void } = {}): Promise<BulkDataClient> {
  let auth: SmartBackendAuth | null = null;
  if (source.auth) {
    const key = await loadClientKey(source.auth.privateKeyFile, { kid: source.auth.kid, algorithm: source.auth.algorithm, passphraseEnv: source.auth.passphraseEnv, env: process.env });
    auth = await SmartBackendAuth.create(source.baseUrl, source.auth, { key, fetch: deps.fetch });
  }
  return new BulkDataClient({ auth, fetch: deps.fetch, waits: deps.waits, onProgress: deps.onProgress });
}

/** Yields each task's value as it settles; a rejection is thrown when reached, and none goes unhandled. */
async function* inCompletionOrder<T>(tasks: Promise<T>[]): AsyncGenerator<T> {
  const settled = tasks.map((task, i) => task.then((value) => ({ i, ok: true as const, value }), (error: unknown) => ({ i, ok: false as const, error })));
  const pending = new Map(settled.map((p, i) => [i, p]));
  while (pending.size > 0) {
    const next = await Promise.race(pending.values());
    pending.delete(next.i);
    if (!next.ok) throw next.error;
    yield next.value;
  }
}

/** `deleted[]` files hold transaction Bundles whose DELETE entries name the removed resources. */
async function landTombstones(landing: FileLanding, path: string): Promise<number> {
  let lines = 0;
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === '') continue;
    lines++;
    let bundle: { resourceType?: unknown; id?: unknown; entry?: { request?: { method?: unknown; url?: unknown } }[] };
    try {
      bundle = JSON.parse(text) as typeof bundle;
    } catch (err) {
      await landing.reject({ record: `line ${line}`, reason: `not valid JSON: ${(err as Error).message}`, original: text });
      continue;
    }
    const deletes = (Array.isArray(bundle.entry) ? bundle.entry : []).filter((e) => e.request?.method === 'DELETE' && typeof e.request.url === 'string');
    if (bundle.resourceType !== 'Bundle' || deletes.length === 0) {
      await landing.reject({ record: `line ${line}`, field: bundle.resourceType !== 'Bundle' ? 'resourceType' : 'entry.request', reason: bundle.resourceType !== 'Bundle' ? 'expected a Bundle of deletions' : 'a deletion Bundle must hold DELETE entries', original: text });
      continue;
    }
    for (const [i, entry] of deletes.entries()) {
      const [type, id] = String(entry.request!.url).replace(/^.*?([A-Z][A-Za-z]+\/[^/?#]+)$/, '$1').split('/');
      const values = [type ?? null, id ?? null, typeof bundle.id === 'string' ? bundle.id : null];
      if (i === 0) await landing.append(DELETED_DATASET, line, text, values);
      else await landing.appendDerived(DELETED_DATASET, line, text, values);
    }
  }
  return lines;
}

/** `error[]` files hold OperationOutcomes for what the server could not export. */
async function landOutcomes(landing: FileLanding, path: string): Promise<number> {
  let lines = 0;
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === '') continue;
    lines++;
    let outcome: { resourceType?: unknown; issue?: { severity?: unknown; code?: unknown; diagnostics?: unknown }[] };
    try {
      outcome = JSON.parse(text) as typeof outcome;
    } catch (err) {
      await landing.reject({ record: `line ${line}`, reason: `not valid JSON: ${(err as Error).message}`, original: text });
      continue;
    }
    if (outcome.resourceType !== 'OperationOutcome') {
      await landing.reject({ record: `line ${line}`, field: 'resourceType', reason: 'expected an OperationOutcome', original: text });
      continue;
    }
    const issue = outcome.issue?.[0];
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    await landing.append(ERRORS_DATASET, line, text, [str(issue?.severity), str(issue?.code), str(issue?.diagnostics)]);
  }
  return lines;
}
