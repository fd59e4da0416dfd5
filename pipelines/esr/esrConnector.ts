// The `esr` source kind (local folder mode): ESR Generic Outbound files matching a pattern, landed in
// file-sequence order into one raw dataset per record family (person, assignment, position, …).
// A record with the wrong field count is quarantined with its line; a file whose TRL count does not
// match its lines is quarantined whole and nothing of it lands, as the GO spec requires.

import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import type { ConnectorFactory } from '../connectors/connector.ts';
import type { Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import { describeLocalFile } from '../landing/localFiles.ts';
import type { RawDatasetSchema } from '../landing/rawDataset.ts';
import { parseEsrGoFileName } from './fileName.ts';
import { readEsrGoFile } from './goFile.ts';
import { esrGoV1Layout, parseEsrLayout, type EsrLayout } from './layout.ts';

export const esrConnector: ConnectorFactory<'esr'> = (source) => {
  let datasets: Map<string, RawDatasetSchema> | null = null;
  let layout: EsrLayout | null = null;

  return {
    async listFiles(): Promise<SourceFile[]> {
      layout = await loadLayout(source.layout, source.name);
      datasets = esrDatasets(layout);
      let names: string[];
      try {
        if (!(await stat(source.path)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        names = await readdir(source.path);
      } catch (err) {
        throw fileSystemError(`read the folder of source '${source.name}',`, source.path, err);
      }
      const matches = picomatch(source.pattern);
      const ordered = names.filter((n) => matches(n)).sort(bySequence);
      const files: SourceFile[] = [];
      for (const name of ordered) files.push(await describeLocalFile(join(source.path, name)));
      return files;
    },

    async land(file, landing): Promise<Reconciliation[]> {
      if (!layout || !datasets) throw new Error('land() called before listFiles()');
      const name = file.location.split('/').pop() ?? file.location;
      try {
        parseEsrGoFileName(name);
      } catch (err) {
        landing.rejectWholeFile((err as Error).message, 0, 'file name');
        return [];
      }
      let records = 0;
      let trailer: Reconciliation | null = null;
      for await (const event of readEsrGoFile(createReadStream(file.location), name, layout)) {
        if (event.type === 'record') {
          records++;
          const schema = datasets.get(event.dataset)!;
          const values = schema.columns.map((c) => (c.name === 'record_type' ? event.recordType : c.name === 'action' ? event.action : (event.values[c.name] ?? null)));
          await landing.append(schema, event.line, event.raw, values);
        } else if (event.type === 'reject') {
          records++;
          await landing.reject({ record: event.line === null ? '(end of file)' : `line ${event.line}`, field: event.field, reason: `${event.code}: ${event.message}`, original: event.raw });
        } else if (event.type === 'trailer' && !event.ok) {
          trailer = { what: `TRL record count in ${name}`, declared: event.declared, actual: event.actual };
        }
      }
      if (trailer) {
        const reason = trailer.declared === null ? `${name} has no TRL trailer, so its completeness cannot be checked` : `TRL declares ${trailer.declared} lines but the file has ${trailer.actual}`;
        landing.rejectWholeFile(reason, records, 'TRL');
        return [trailer];
      }
      return [];
    },
  };
};

/** One dataset per record family: record type, action, then the upsert layout's columns. */
export function esrDatasets(layout: EsrLayout): Map<string, RawDatasetSchema> {
  const byDataset = new Map<string, string[]>();
  for (const record of Object.values(layout.recordTypes)) {
    const columns = byDataset.get(record.dataset) ?? [];
    for (const c of record.columns) if (!columns.includes(c)) columns.push(c);
    byDataset.set(record.dataset, columns);
  }
  return new Map(
    [...byDataset].map(([dataset, columns]) => [
      dataset,
      { dataset, columns: [{ name: 'record_type', type: 'VARCHAR' }, { name: 'action', type: 'VARCHAR' }, ...columns.map((name) => ({ name, type: 'VARCHAR' as const }))] },
    ]),
  );
}

/** A bundled layout by name (`esr-go-v1`), or a Trust's own layout file by path. */
async function loadLayout(nameOrPath: string, source: string): Promise<EsrLayout> {
  if (nameOrPath === 'esr-go-v1') return esrGoV1Layout();
  const path = isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fileSystemError(`read the ESR layout of source '${source}' at`, path, err);
  }
  try {
    return parseEsrLayout(JSON.parse(text) as unknown, path);
  } catch (err) {
    if (err instanceof CarelakeError) throw err;
    throw new CarelakeError({ code: 'esr.bad-layout', kind: 'config', message: `${path} is not valid JSON: ${(err as Error).message}`, location: { file: path } });
  }
}

/** Files of one VPD land in sequence order; names that do not parse go last (and are quarantined). */
function bySequence(a: string, b: string): number {
  const key = (n: string) => {
    try {
      const f = parseEsrGoFileName(n);
      return `0|${f.vpd}|${String(f.sequence).padStart(12, '0')}`;
    } catch {
      return `1|${n}`;
    }
  };
  return key(a).localeCompare(key(b));
}
