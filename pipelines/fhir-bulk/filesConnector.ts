// The `fhir-bulk-files` source kind: a local folder holding a Bulk Data manifest.json and the NDJSON
// files it lists (output of another client, or `carelake generate`). Each listed file lands into the
// raw dataset of its declared resource type; the manifest's `count` is reconciled against lines read.

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import type { ConnectorFactory } from '../connectors/connector.ts';
import type { Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import { describeLocalFile } from '../landing/localFiles.ts';
import { inWindow } from '../runs/runWindow.ts';
import { parseBulkManifest, type BulkOutputEntry } from './manifest.ts';
import { landNdjsonResources } from './ndjsonLanding.ts';

export const fhirBulkFilesConnector: ConnectorFactory<'fhir-bulk-files'> = (source, ctx) => {
  const manifestPath = join(source.path, 'manifest.json');
  const entries = new Map<string, BulkOutputEntry>();

  return {
    // A manifest's files are independent of each other: two land at once, one per core.
    landConcurrency: 2,

    async listFiles(): Promise<SourceFile[]> {
      let text: string;
      try {
        text = await readFile(manifestPath, 'utf8');
      } catch (err) {
        throw fileSystemError(`read the manifest of source '${source.name}' at`, manifestPath, err);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new CarelakeError({ code: 'fhir-bulk.manifest', kind: 'parse', message: `${manifestPath} is not valid JSON: ${(err as Error).message}`, location: { file: manifestPath } });
      }
      const manifest = parseBulkManifest(json, manifestPath);
      const files: SourceFile[] = [];
      // A backfill takes the export only if it was made inside the window.
      if (ctx.window && !inWindow(new Date(manifest.transactionTime), ctx.window)) return files;
      for (const entry of manifest.output) {
        const path = resolveOutputUrl(source.path, entry.url, manifestPath);
        const file = await describeLocalFile(path);
        entries.set(file.location, entry);
        files.push(file);
      }
      return files;
    },

    async land(file, landing): Promise<Reconciliation[]> {
      const entry = entries.get(file.location);
      if (!entry) throw new Error(`land() called for a file listFiles() did not offer: ${file.location}`);
      const { lines, fallbackReason } = await landNdjsonResources(landing, file, entry.type);
      if (fallbackReason) ctx.logger.warn({ file: file.location, reason: fallbackReason }, 'NDJSON landed line by line in JavaScript');
      return entry.count !== undefined && entry.count !== lines ? [{ what: `manifest count of ${entry.type} in ${entry.url}`, declared: entry.count, actual: lines }] : [];
    },
  };
};

/** Output URLs are file names relative to the manifest here; absolute http(s) URLs belong to the `fhir-bulk` kind. */
function resolveOutputUrl(folder: string, url: string, manifestPath: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith('file:')) {
    const name = url.split('/').pop() ?? '';
    // A manifest copied from a server: its files sit beside it under their last path segment.
    if (name) return resolve(folder, decodeURIComponent(name));
    throw new CarelakeError({ code: 'fhir-bulk.url', kind: 'parse', message: `${manifestPath}: output url '${url}' names no file`, location: { file: manifestPath, field: 'output.url' } });
  }
  return resolve(folder, url.startsWith('file:') ? new URL(url).pathname : url);
}
