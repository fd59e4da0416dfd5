// The HTTP side of a Bulk Data export (FHIR Bulk Data IG 2.0): kick-off, status polling, paged
// manifests, streamed downloads and job deletion. It follows the spec, not one server's habits:
// Retry-After in any of its forms is honoured within bounds, transient OperationOutcomes are retried,
// gzip is accepted, redirects to another origin never carry the Authorization header, and an expired
// file (410) fails clearly. The clock, sleep and randomness are injectable so tests run fast.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import pRetry, { AbortError } from 'p-retry';
import { CarelakeError } from '../../core/errors.ts';
import type { KickoffRequest } from './kickoffRequest.ts';
import { NDJSON_FORMAT } from './kickoffRequest.ts';
import { parseBulkManifest, type BulkManifest } from './manifest.ts';
import { DEFAULT_WAIT_BOUNDS, waitMs, type WaitBounds } from './retryAfter.ts';
import { classifyFailure } from './serverOutcome.ts';
import { withAuthRetry, type SmartBackendAuth } from './smartAuth.ts';

export interface BulkClientOptions {
  auth: SmartBackendAuth | null;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  waits?: WaitBounds;
  /** Transient failures tolerated in a row while polling or kicking off before giving up. */
  maxTransientFailures?: number;
  /** Retries of one download after a network error or a 5xx. */
  downloadRetries?: number;
  onProgress?: (progress: string) => void;
}

export type JobStatus = { state: 'in-progress'; progress: string | null; retryAfter: string | null } | { state: 'complete'; manifest: BulkManifest } | { state: 'gone' };

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** Whether the file holds 0x1e (see SourceFile.hasRecordSeparator). */
  hasRecordSeparator: boolean;
}

const MAX_REDIRECTS = 5;

export class BulkDataClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly waits: WaitBounds;
  private readonly maxTransient: number;

  constructor(private readonly options: BulkClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.waits = options.waits ?? DEFAULT_WAIT_BOUNDS;
    this.maxTransient = options.maxTransientFailures ?? 10;
  }

  /** Starts an export; returns the absolute status URL from Content-Location. */
  async kickOff(request: KickoffRequest): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.attempt(`start the export at ${request.url}`, () =>
        this.send(request.url, { method: request.method, headers: request.headers, body: request.body }),
      );
      if (response.status === 202) {
        await response.body?.cancel();
        const location = response.headers.get('content-location');
        if (!location) throw bulkError('fhir-bulk.kickoff', `The server accepted the export at ${request.url} but sent no Content-Location status URL`, request.url);
        return new URL(location, request.url).toString();
      }
      const failure = classifyFailure(response.status, await response.text());
      if (failure.kind === 'transient' && attempt < this.maxTransient) {
        await this.sleep(waitMs(response.headers.get('retry-after'), attempt, this.now(), this.random, this.waits));
        continue;
      }
      throw bulkError('fhir-bulk.kickoff', `The server refused the export at ${request.url}: HTTP ${response.status} ${failure.detail}`, request.url);
    }
  }

  /** One look at the job. */
  async status(statusUrl: string): Promise<JobStatus | { state: 'retry'; status: number; detail: string; retryAfter: string | null }> {
    const response = await this.send(statusUrl, { method: 'GET', headers: { Accept: 'application/json' } });
    if (response.status === 202) {
      await response.body?.cancel();
      return { state: 'in-progress', progress: response.headers.get('x-progress'), retryAfter: response.headers.get('retry-after') };
    }
    if (response.status === 200) return { state: 'complete', manifest: await this.completeManifest(statusUrl, response) };
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return { state: 'gone' };
    }
    const failure = classifyFailure(response.status, await response.text());
    if (failure.kind === 'transient') return { state: 'retry', status: response.status, detail: failure.detail, retryAfter: response.headers.get('retry-after') };
    throw bulkError('fhir-bulk.export-failed', `The export failed on the server: HTTP ${response.status} ${failure.detail}`, statusUrl);
  }

  /** Polls until the manifest is ready. A job the server no longer knows raises `fhir-bulk.job-gone`. */
  async waitForManifest(statusUrl: string): Promise<BulkManifest> {
    let transient = 0;
    for (let attempt = 0; ; attempt++) {
      let status: Awaited<ReturnType<BulkDataClient['status']>>;
      try {
        status = await this.status(statusUrl);
      } catch (err) {
        if (!isNetworkError(err)) throw err;
        status = { state: 'retry', status: 0, detail: (err as Error).message, retryAfter: null };
      }
      if (status.state === 'complete') return status.manifest;
      if (status.state === 'gone') throw bulkError('fhir-bulk.job-gone', `The server no longer knows the export job at ${statusUrl}`, statusUrl);
      if (status.state === 'in-progress') {
        transient = 0;
        if (status.progress) this.options.onProgress?.(status.progress);
      } else if (++transient > this.maxTransient) {
        throw bulkError('fhir-bulk.export-failed', `Gave up polling ${statusUrl} after ${this.maxTransient} transient failures in a row (last: ${status.status} ${status.detail})`, statusUrl);
      }
      await this.sleep(waitMs(status.retryAfter, attempt, this.now(), this.random, this.waits));
    }
  }

  /** Streams one output file to `dest`, decompressing gzip, hashing as it goes. */
  async download(url: string, dest: string, withAuth: boolean): Promise<DownloadResult> {
    return pRetry(
      async () => {
        const response = await this.followRedirects(url, withAuth);
        if (response.status === 410 || response.status === 404) {
          await response.body?.cancel();
          throw new AbortError(bulkError('fhir-bulk.expired', `The export file ${url} has expired on the server (HTTP ${response.status})`, url, 'run again: a new export will be started'));
        }
        if (response.status !== 200 || !response.body) {
          const failure = classifyFailure(response.status, await response.text());
          const error = bulkError('fhir-bulk.download', `Downloading ${url} failed: HTTP ${response.status} ${failure.detail}`, url);
          if (failure.kind === 'fatal' && response.status < 500) throw new AbortError(error);
          throw error;
        }
        const hash = createHash('sha256');
        let bytes = 0;
        let hasRecordSeparator = false;
        const tap = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            bytes += chunk.length;
            hasRecordSeparator ||= chunk.includes(0x1e);
            callback(null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), tap, createWriteStream(dest));
        return { bytes, sha256: hash.digest('hex'), hasRecordSeparator };
      },
      {
        retries: this.options.downloadRetries ?? 4,
        minTimeout: this.waits.minMs,
        maxTimeout: this.waits.maxMs,
        randomize: true,
      },
    );
  }

  /** Releases the job on the server (202), after which its status URL answers 404. */
  async deleteJob(statusUrl: string): Promise<void> {
    const response = await this.send(statusUrl, { method: 'DELETE', headers: { Accept: 'application/fhir+json' } });
    await response.body?.cancel();
    if (response.status >= 300 && response.status !== 404) {
      throw bulkError('fhir-bulk.delete', `The server did not delete the export job at ${statusUrl}: HTTP ${response.status}`, statusUrl);
    }
  }

  /** The manifest, with every page of a paged manifest (`link` relation `next`) merged into one. */
  private async completeManifest(statusUrl: string, first: Response): Promise<BulkManifest> {
    let manifest = parseBulkManifest(await first.json(), statusUrl);
    const seen = new Set<string>([statusUrl]);
    let next = manifest.link?.find((l) => l.relation === 'next')?.url;
    while (next) {
      const url = new URL(next, statusUrl).toString();
      if (seen.has(url)) throw bulkError('fhir-bulk.manifest', `The manifest pages of ${statusUrl} loop back to ${url}`, statusUrl);
      seen.add(url);
      const response = await this.send(url, { method: 'GET', headers: { Accept: 'application/json' } });
      if (response.status !== 200) throw bulkError('fhir-bulk.manifest', `Fetching manifest page ${url} failed: HTTP ${response.status}`, url);
      const page = parseBulkManifest(await response.json(), url);
      manifest = { ...manifest, output: [...manifest.output, ...page.output], error: [...manifest.error, ...page.error], deleted: [...(manifest.deleted ?? []), ...(page.deleted ?? [])] };
      next = page.link?.find((l) => l.relation === 'next')?.url;
    }
    return manifest;
  }

  /** Downloads follow redirects by hand so Authorization never reaches another origin. */
  private async followRedirects(url: string, withAuth: boolean): Promise<Response> {
    const origin = new URL(url).origin;
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      const response = await this.send(current, { method: 'GET', headers: { Accept: NDJSON_FORMAT, 'Accept-Encoding': 'gzip' }, redirect: 'manual' }, withAuth && sameOrigin);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        current = new URL(location, current).toString();
        continue;
      }
      return response;
    }
    throw bulkError('fhir-bulk.download', `Downloading ${url} was redirected more than ${MAX_REDIRECTS} times`, url);
  }

  private async send(url: string, init: { method: string; headers: Record<string, string>; body?: string; redirect?: 'follow' | 'manual' }, withAuth = true): Promise<Response> {
    return withAuthRetry(withAuth ? this.options.auth : null, (authorization) =>
      this.fetch(url, { method: init.method, headers: authorization ? { ...init.headers, Authorization: authorization } : init.headers, body: init.body, redirect: init.redirect ?? 'follow' }),
    );
  }

  /** Network errors on the way to the server count as transient; anything else is thrown. */
  private async attempt(what: string, send: () => Promise<Response>): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (!isNetworkError(err) || attempt >= this.maxTransient) {
          throw new CarelakeError({ code: 'fhir-bulk.network', kind: 'runtime', message: `Could not ${what}: ${(err as Error).message}`, cause: err });
        }
        await this.sleep(waitMs(null, attempt, this.now(), this.random, this.waits));
      }
    }
  }
}

function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && /fetch failed|network|ECONN|socket/i.test(`${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`);
}

export function bulkError(code: string, message: string, url: string, hint?: string): CarelakeError {
  return new CarelakeError({ code, kind: 'runtime', message, location: { file: url }, hint });
}
