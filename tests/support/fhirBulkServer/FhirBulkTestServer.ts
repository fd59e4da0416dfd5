// A FHIR Bulk Data Access server for tests (IG 2.0.0 with STU3's `_until` and `allowPartialManifests`,
// SMART Backend Services auth), on loopback with ephemeral ports, built on `node:http` only. It serves
// given NDJSON data through the real protocol — kick-off, status polling, manifest, downloads, DELETE —
// and can misbehave the ways real servers do (429, Retry-After forms, transient and fatal errors, error
// and deleted files, paged manifests, gzip, expiry, redirects to storage), so the carelake client is tested
// against the spec rather than against one vendor's habits.
//
// Routes under `[base]` = http://127.0.0.1:PORT/fhir:
//   GET|POST $export, Patient/$export, Group/:id/$export     kick-off → 202 + Content-Location
//   GET bulkstatus/:job[?page=n]   DELETE bulkstatus/:job    status / manifest pages / cancel-release
//   GET bulkfiles/:job/:file                                 NDJSON download (or 307 to storage)
//   GET .well-known/smart-configuration, POST auth/token     only while `requireAuth` is set
// A second origin (another port) serves GET /storage/:job/:file?sig=… for `redirectDownloads`.
// Requests that fail in an unexpected way answer a generic 500 and make `close()` reject, so a bug in
// the server cannot pass for a behaviour under test.

import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBulkFolder } from './bulkFolder.ts';
import { ExportJob, type JobView } from './exportJob.ts';
import { selectExport } from './exportSelection.ts';
import { acceptsGzip, acceptsNdjson, FHIR_JSON, httpDate, readBody, retryAfterValue, sendJson, streamNdjson } from './httpIo.ts';
import { mediaTypes, parseKickoff, type ExportLevel } from './kickoffRequest.ts';
import { BulkProblem, OAuthProblem, operationOutcome, problemOutcome } from './operationOutcome.ts';
import { ResourceCatalogue } from './resourceCatalogue.ts';
import { SmartBackendAuth } from './smartBackendAuth.ts';
import { validateBehaviour, type BulkServerBehaviour, type BulkServerData } from './types.ts';

export type { BulkServerAuth, BulkServerBehaviour, BulkServerData, RetryAfterForm } from './types.ts';
export type { JobStatus, JobView, Manifest, ManifestEntry } from './exportJob.ts';

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | null;
  at: number;
}

const BASE_PATH = '/fhir';
const STORAGE_PATH = '/storage';
const DEFAULT_EXPIRY_MS = 60 * 60 * 1000;
/** Node's codes for a response whose client went away mid-stream. */
const CLIENT_GONE: ReadonlySet<string> = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

type Route = (req: IncomingMessage, res: ServerResponse, url: URL, params: string[]) => Promise<void>;

interface RouteEntry {
  pattern: RegExp;
  methods: Partial<Record<string, Route>>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function shutdown(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** One header's value; repeated headers (several `Prefer` lines) joined as one list. */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function sameSecret(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class FhirBulkTestServer {
  readonly log: RequestLogEntry[] = [];
  private readonly jobMap = new Map<string, ExportJob>();
  private readonly internalErrors: unknown[] = [];
  private behaviour: BulkServerBehaviour = {};
  private auth: SmartBackendAuth | null = null;
  private kickoffsSeen = 0;
  private statusPollsSeen = 0;
  private authorizationAtStorage = false;
  private readonly routes: RouteEntry[];

  private constructor(
    private readonly primary: Server,
    private readonly storage: Server,
    private readonly catalogue: ResourceCatalogue,
    readonly baseUrl: string,
    private readonly storageOrigin: string,
  ) {
    this.routes = [
      { pattern: /^\/\$export$/, methods: { GET: this.kickoffHandler('system'), POST: this.kickoffHandler('system') } },
      { pattern: /^\/Patient\/\$export$/, methods: { GET: this.kickoffHandler('patient'), POST: this.kickoffHandler('patient') } },
      { pattern: /^\/Group\/([A-Za-z0-9\-.]{1,64})\/\$export$/, methods: { GET: this.kickoffHandler('group'), POST: this.kickoffHandler('group') } },
      { pattern: /^\/bulkstatus\/([0-9a-f-]{36})$/, methods: { GET: this.statusHandler, DELETE: this.deleteHandler } },
      { pattern: /^\/bulkfiles\/([0-9a-f-]{36})\/([0-9]+\.ndjson)$/, methods: { GET: this.downloadHandler } },
      { pattern: /^\/\.well-known\/smart-configuration$/, methods: { GET: this.smartConfigurationHandler } },
      { pattern: /^\/auth\/token$/, methods: { POST: this.tokenHandler } },
    ];
  }

  /** Starts both origins on 127.0.0.1 with ephemeral ports. */
  static async start(data: BulkServerData, behaviour: BulkServerBehaviour = {}): Promise<FhirBulkTestServer> {
    validateBehaviour(behaviour);
    const catalogue = ResourceCatalogue.build(data);
    const primary = createServer();
    const storage = createServer();
    try {
      const [port, storagePort] = await Promise.all([listen(primary), listen(storage)]);
      const server = new FhirBulkTestServer(primary, storage, catalogue, `http://127.0.0.1:${port}${BASE_PATH}`, `http://127.0.0.1:${storagePort}`);
      server.setBehaviour(behaviour);
      primary.on('request', (req: IncomingMessage, res: ServerResponse) => void server.handle(req, res, false));
      storage.on('request', (req: IncomingMessage, res: ServerResponse) => void server.handle(req, res, true));
      return server;
    } catch (err) {
      await Promise.allSettled([shutdown(primary), shutdown(storage)]);
      throw err;
    }
  }

  /** Reads a folder with manifest.json and its NDJSON files (urls resolved by last path segment). */
  static fromFolder(folder: string): Promise<BulkServerData> {
    return readBulkFolder(folder);
  }

  /** Replaces the behaviour; kick-off 429 and transient-error counters restart, running jobs keep their shape. */
  setBehaviour(behaviour: BulkServerBehaviour): void {
    validateBehaviour(behaviour);
    if (behaviour.requireAuth === undefined) this.auth = null;
    else if (this.auth === null || this.auth.config !== behaviour.requireAuth) this.auth = new SmartBackendAuth(behaviour.requireAuth, () => Date.now());
    this.behaviour = { ...behaviour };
    this.kickoffsSeen = 0;
    this.statusPollsSeen = 0;
  }

  get jobs(): ReadonlyMap<string, JobView> {
    return this.jobMap;
  }

  /** True once the second (storage) origin has received any request carrying an Authorization header. */
  get secondOriginAuthorizationSeen(): boolean {
    return this.authorizationAtStorage;
  }

  async close(): Promise<void> {
    await Promise.all([shutdown(this.primary), shutdown(this.storage)]);
    if (this.internalErrors.length > 0) {
      throw new AggregateError(this.internalErrors, `The FHIR Bulk test server failed ${this.internalErrors.length} request(s) unexpectedly.`);
    }
  }

  // ——— request handling ———

  private get tokenEndpoint(): string {
    return `${this.baseUrl}/auth/token`;
  }

  private statusUrl(jobId: string): string {
    return `${this.baseUrl}/bulkstatus/${jobId}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, atStorage: boolean): Promise<void> {
    const origin = atStorage ? this.storageOrigin : new URL(this.baseUrl).origin;
    const url = new URL(req.url ?? '/', origin);
    const authorization = req.headers.authorization ?? null;
    this.log.push({ method: req.method ?? '', path: decodedPath(url.pathname), query: Object.fromEntries(url.searchParams), authorization, at: Date.now() });
    try {
      if (atStorage) await this.storageHandler(req, res, url);
      else await this.route(req, res, url);
    } catch (err) {
      this.answerError(res, err);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = decodedPath(url.pathname);
    if (!path.startsWith(`${BASE_PATH}/`)) throw new BulkProblem('not-found', `Nothing is served at ${path}; the FHIR base is ${this.baseUrl}.`);
    const rest = path.slice(BASE_PATH.length);
    for (const { pattern, methods } of this.routes) {
      const match = pattern.exec(rest);
      if (match === null) continue;
      const handler = methods[req.method ?? ''];
      if (handler === undefined) {
        throw new BulkProblem('method-not-allowed', `${req.method ?? '?'} is not allowed here.`, { Allow: Object.keys(methods).join(', ') });
      }
      await handler(req, res, url, match.slice(1));
      return;
    }
    throw new BulkProblem('not-found', `Nothing is served at ${path}.`);
  }

  private answerError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      // Mid-stream: the only honest signal left is a broken connection.
      if (!(err instanceof BulkProblem)) this.internalErrors.push(err);
      res.destroy();
      return;
    }
    if (err instanceof BulkProblem) {
      const { status, body } = problemOutcome(err);
      sendJson(res, status, body, FHIR_JSON, err.headers);
    } else if (err instanceof OAuthProblem) {
      sendJson(res, 400, { error: err.error, error_description: err.description }, 'application/json', { 'Cache-Control': 'no-store' });
    } else {
      this.internalErrors.push(err);
      const requestId = randomUUID();
      sendJson(res, 500, operationOutcome('error', 'exception', `An internal error occurred. Quote request id ${requestId} when reporting it.`), FHIR_JSON);
    }
  }

  private requireBearer(req: IncomingMessage): void {
    this.auth?.checkBearer(req.headers.authorization);
  }

  private retryAfterHeader(onThrottle: boolean): Record<string, string> {
    const form = this.behaviour.retryAfter ?? 'seconds';
    const value = retryAfterValue(onThrottle && form === 'none' ? 'seconds' : form, this.behaviour.retryAfterSeconds ?? 0, Date.now());
    return value === null ? {} : { 'Retry-After': value };
  }

  private kickoffHandler(level: ExportLevel): Route {
    return async (req, res, url, [groupId]) => {
      this.requireBearer(req);
      const method = req.method === 'POST' ? 'POST' : 'GET';
      const body = method === 'POST' ? await readBody(req) : null;
      const request = parseKickoff(
        {
          method,
          level,
          groupId: groupId ?? null,
          url,
          accept: req.headers.accept,
          prefer: headerText(req.headers.prefer),
          contentType: req.headers['content-type'],
          body,
        },
        this.catalogue,
      );
      if (this.kickoffsSeen++ < (this.behaviour.kickoff429 ?? 0)) {
        throw new BulkProblem('throttled', 'Too many export requests; retry later.', this.retryAfterHeader(true));
      }
      const now = Date.now();
      // The server's clock never precedes the newest resource, so `_since=<transactionTime>` next time
      // returns only what changed after this export, even for data stamped in the future.
      const transactionMs = Math.max(now, this.catalogue.newestLastUpdatedMs ?? now);
      const b = this.behaviour;
      const shape = {
        errorFiles: b.errorFiles ?? false,
        deletedWithSince: b.deletedWithSince ?? false,
        splitFilesAt: b.splitFilesAt ?? null,
        corruptLines: [...(b.corruptLines ?? [])],
      };
      const timing = { pollsBeforeComplete: b.pollsBeforeComplete ?? 1, failExport: b.failExport ?? false, pageSize: b.pageSize ?? null };
      const job = new ExportJob(randomUUID(), request, transactionMs, timing, shape, selectExport(this.catalogue, request, shape, transactionMs));
      this.jobMap.set(job.id, job);
      sendJson(res, 202, operationOutcome('information', 'informational', 'Export accepted; poll the Content-Location URL.'), FHIR_JSON, {
        'Content-Location': this.statusUrl(job.id),
      });
    };
  }

  private liveJob(jobId: string | undefined): ExportJob {
    const job = jobId === undefined ? undefined : this.jobMap.get(jobId);
    if (job === undefined || job.status === 'deleted') throw new BulkProblem('not-found', 'No such export job (it may have been deleted).');
    return job;
  }

  private readonly statusHandler: Route = async (req, res, url, [jobId]) => {
    this.requireBearer(req);
    const job = this.liveJob(jobId);
    const pageParam = url.searchParams.get('page');
    if (pageParam !== null) {
      const page = Number(pageParam);
      if (job.status !== 'complete' || !Number.isInteger(page) || page < 1 || page > job.pageCount()) {
        throw new BulkProblem('not-found', `Manifest page ${pageParam} does not exist.`);
      }
      this.sendManifest(res, job, page);
      return;
    }

    job.polls++;
    if (this.statusPollsSeen++ < (this.behaviour.transientStatusErrors ?? 0)) {
      throw new BulkProblem('transient', 'A temporary problem stopped the status check; retry.', this.retryAfterHeader(true));
    }
    if (job.status === 'in-progress') {
      if (job.progressAnswers < job.timing.pollsBeforeComplete) {
        job.progressAnswers++;
        const percent = Math.round((100 * job.progressAnswers) / (job.timing.pollsBeforeComplete + 1));
        res.writeHead(202, { 'X-Progress': `in progress (${percent}%)`, ...this.retryAfterHeader(false) });
        res.end();
        return;
      }
      job.status = job.timing.failExport ? 'failed' : 'complete';
      job.completedAt = Date.now();
    }
    if (job.status === 'failed') throw new BulkProblem('export-failed', 'The export failed while generating files (simulated by the failExport behaviour).');
    this.sendManifest(res, job, 1);
  };

  private sendManifest(res: ServerResponse, job: ExportJob, page: number): void {
    const manifest = job.manifest(
      page,
      { file: (name) => `${this.baseUrl}/bulkfiles/${job.id}/${name}`, page: (n) => `${this.statusUrl(job.id)}?page=${n}` },
      this.auth !== null,
    );
    sendJson(res, 200, manifest, 'application/json', { Expires: httpDate(this.expiresAt(job)) });
  }

  private expiresAt(job: ExportJob): number {
    return (job.completedAt ?? Date.now()) + (this.behaviour.expireFilesAfterMs ?? DEFAULT_EXPIRY_MS);
  }

  private readonly deleteHandler: Route = async (req, res, _url, [jobId]) => {
    this.requireBearer(req);
    const job = this.liveJob(jobId);
    job.status = 'deleted';
    sendJson(res, 202, operationOutcome('information', 'informational', 'Export job deleted; its files are gone.'), FHIR_JSON);
  };

  /** The file a download names, once its job is complete and the file has not expired. */
  private downloadable(jobId: string | undefined, name: string | undefined): { job: ExportJob; lines: readonly string[] } {
    const job = this.liveJob(jobId);
    const file = name === undefined ? undefined : job.files.get(name);
    if (job.status !== 'complete' || file === undefined) throw new BulkProblem('not-found', 'No such file in this export.');
    if (Date.now() > this.expiresAt(job)) throw new BulkProblem('gone', 'This file has expired; start a new export.');
    return { job, lines: file.lines };
  }

  private async sendFile(req: IncomingMessage, res: ServerResponse, lines: readonly string[]): Promise<void> {
    if (!acceptsNdjson(req.headers.accept)) throw new BulkProblem('not-acceptable', 'Files are served as application/fhir+ndjson only.');
    try {
      await streamNdjson(res, lines, (this.behaviour.gzip ?? false) && acceptsGzip(req.headers['accept-encoding']));
    } catch (err) {
      // A client that stops reading (cancelled body, aborted download) is not a server failure.
      if (CLIENT_GONE.has((err as NodeJS.ErrnoException).code ?? '')) return;
      throw err;
    }
  }

  private readonly downloadHandler: Route = async (req, res, _url, [jobId, name]) => {
    this.requireBearer(req);
    const { job, lines } = this.downloadable(jobId, name);
    if (this.behaviour.redirectDownloads === true) {
      res.writeHead(307, { Location: `${this.storageOrigin}${STORAGE_PATH}/${job.id}/${name ?? ''}?sig=${job.storageKey}` });
      res.end();
      return;
    }
    await this.sendFile(req, res, lines);
  };

  /** The second origin: like object storage behind a signed URL, it needs the URL's secret, not a token. */
  private async storageHandler(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.headers.authorization !== undefined) this.authorizationAtStorage = true;
    const match = /^\/storage\/([0-9a-f-]{36})\/([0-9]+\.ndjson)$/.exec(decodedPath(url.pathname));
    if (match === null) throw new BulkProblem('not-found', 'No such object.');
    if (req.method !== 'GET') throw new BulkProblem('method-not-allowed', `${req.method ?? '?'} is not allowed here.`, { Allow: 'GET' });
    const job = this.jobMap.get(match[1] ?? '');
    if (job === undefined || !sameSecret(url.searchParams.get('sig'), job.storageKey)) throw new BulkProblem('not-found', 'No such object.');
    const { lines } = this.downloadable(match[1], match[2]);
    await this.sendFile(req, res, lines);
  }

  private readonly smartConfigurationHandler: Route = async (_req, res) => {
    if (this.auth === null) throw new BulkProblem('not-found', 'This server does not require authorization (no requireAuth behaviour).');
    sendJson(res, 200, this.auth.smartConfiguration(this.tokenEndpoint), 'application/json');
  };

  private readonly tokenHandler: Route = async (req, res) => {
    const auth = this.auth;
    if (auth === null) throw new BulkProblem('not-found', 'This server does not require authorization (no requireAuth behaviour).');
    if (!mediaTypes(req.headers['content-type']).includes('application/x-www-form-urlencoded')) {
      throw new OAuthProblem('invalid_request', 'The token request must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const token = await auth.issueToken(form, this.tokenEndpoint);
    sendJson(res, 200, token, 'application/json', { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  };
}
