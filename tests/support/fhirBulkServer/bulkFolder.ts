// Reads a folder holding a complete-status Bulk Data manifest (`manifest.json`) and its NDJSON files into
// `BulkServerData`: the shared real export (../shared/data/fhir-bulk and its deleted/ variant) and the
// `<out>/fhir` folder `carelake generate` writes. Each manifest `url` is resolved by its last path
// segment inside the folder, since the host in a saved manifest is the exporting server's. deleted[]
// Bundles become `deleted` entries. Counts, when given, must match the lines, so broken fixtures fail here.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { CarelakeError, fileSystemError } from '../../../core/errors.ts';
import type { BulkServerData } from './types.ts';

const entrySchema = z.object({ type: z.string().min(1), url: z.string().min(1), count: z.number().int().min(0).optional() }).loose();
const manifestSchema = z.object({ output: z.array(entrySchema), deleted: z.array(entrySchema).optional() }).loose();
const deletedBundleSchema = z.object({
  resourceType: z.literal('Bundle'),
  entry: z.array(z.object({ request: z.object({ method: z.string(), url: z.string() }).loose() }).loose()),
}).loose();

function fixtureError(code: string, message: string, file: string, line?: number): CarelakeError {
  return new CarelakeError({ code: `test.fhir_bulk_folder.${code}`, kind: 'config', message, location: line === undefined ? { file } : { file, line } });
}

function fileOf(folder: string, url: string, manifestPath: string): string {
  const name = decodeURIComponent(new URL(url, 'file:///manifest/').pathname.split('/').pop() ?? '');
  if (name === '' || name === '.' || name === '..') throw fixtureError('bad_url', `Manifest url '${url}' names no file.`, manifestPath);
  return join(folder, name);
}

async function readLines(path: string): Promise<string[]> {
  const lines: string[] = [];
  try {
    const reader = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of reader) if (line.trim() !== '') lines.push(line);
  } catch (err) {
    throw fileSystemError('read', path, err);
  }
  return lines;
}

export async function readBulkFolder(folder: string): Promise<BulkServerData> {
  const manifestPath = join(folder, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw fixtureError('bad_manifest', `${manifestPath} is not JSON.`, manifestPath);
    throw fileSystemError('read', manifestPath, err);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw fixtureError('bad_manifest', `${manifestPath} is not a Bulk Data manifest (${parsed.error.issues[0]?.message ?? 'invalid'}).`, manifestPath);

  const resources = new Map<string, string[]>();
  for (const entry of parsed.data.output) {
    const path = fileOf(folder, entry.url, manifestPath);
    const lines = await readLines(path);
    if (entry.count !== undefined && entry.count !== lines.length) {
      throw fixtureError('count_mismatch', `${path} has ${lines.length} lines but the manifest says ${entry.count}.`, path);
    }
    resources.set(entry.type, [...(resources.get(entry.type) ?? []), ...lines]);
  }

  const deleted: { type: string; id: string }[] = [];
  for (const entry of parsed.data.deleted ?? []) {
    const path = fileOf(folder, entry.url, manifestPath);
    for (const [index, line] of (await readLines(path)).entries()) {
      let bundle: unknown;
      try {
        bundle = JSON.parse(line);
      } catch {
        throw fixtureError('bad_deleted', `Line ${index + 1} of ${path} is not JSON.`, path, index + 1);
      }
      const checked = deletedBundleSchema.safeParse(bundle);
      if (!checked.success) throw fixtureError('bad_deleted', `Line ${index + 1} of ${path} is not a transaction Bundle of deletions.`, path, index + 1);
      for (const { request } of checked.data.entry) {
        const [type, id, ...rest] = request.url.split('/');
        if (request.method !== 'DELETE' || type === undefined || id === undefined || rest.length > 0) {
          throw fixtureError('bad_deleted', `Line ${index + 1} of ${path} has an entry that is not DELETE <Type>/<id>.`, path, index + 1);
        }
        deleted.push({ type, id });
      }
    }
  }
  return deleted.length > 0 ? { resources, deleted } : { resources };
}
