// The small HTTP plumbing the test server shares between its origins: bounded body reading, JSON and
// OperationOutcome answers, Retry-After in its three wire forms, content negotiation for downloads, and
// NDJSON streamed line by line (gzip when negotiated) with backpressure honoured by `pipeline`.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { mediaTypes } from './kickoffRequest.ts';
import { BulkProblem } from './operationOutcome.ts';
import type { RetryAfterForm } from './types.ts';

export const FHIR_JSON = 'application/fhir+json';
export const FHIR_NDJSON = 'application/fhir+ndjson';
const MAX_BODY_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BulkProblem('payload-too-large', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
    parts.push(buffer);
  }
  return Buffer.concat(parts);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, contentType: string, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** A Retry-After value `seconds` from `now` in the given form, or null for 'none'. */
export function retryAfterValue(form: RetryAfterForm, seconds: number, now: number): string | null {
  const forms: Record<RetryAfterForm, () => string | null> = {
    seconds: () => String(seconds),
    'http-date': () => httpDate(now + seconds * 1000),
    // Not HTTP: some servers send an absolute Unix time. Here so clients prove they cap their waits.
    epoch: () => String(Math.ceil((now + seconds * 1000) / 1000)),
    none: () => null,
  };
  return forms[form]();
}

/** True when Accept-Encoding allows gzip (a `q=0` refuses it). */
export function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Downloads take an absent Accept, NDJSON, or a wildcard; anything else is 406. */
export function acceptsNdjson(header: string | undefined): boolean {
  const types = mediaTypes(header);
  return types.length === 0 || types.some((t) => t === FHIR_NDJSON || t === 'application/ndjson' || t === 'application/*' || t === '*/*');
}

function* chunked(lines: readonly string[]): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= CHUNK_BYTES) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

export async function streamNdjson(res: ServerResponse, lines: readonly string[], gzip: boolean): Promise<void> {
  res.writeHead(200, { 'Content-Type': FHIR_NDJSON, Vary: 'Accept-Encoding', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  const source = Readable.from(chunked(lines));
  if (gzip) await pipeline(source, createGzip(), res);
  else await pipeline(source, res);
}
