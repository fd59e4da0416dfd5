// The `esr` source kind: ESR Generic Outbound files from a local folder or an SFTP inbox, landed in
// file-sequence order into one raw dataset per record family (person, assignment, position, …) plus
// `header` (one row per file). Records are read and checked by csv-parse in JavaScript (goFile.ts),
// staged per record type and typed by DuckDB while the file is still being read (recordSpool.ts).
//
// What is refused, and how:
// - A record with the wrong field count or a bad date/number is quarantined with its line and field.
// - A file whose TRL count does not match its lines, whose HDR names another VPD than its file name,
//   or whose sequence number was already applied by another file (a repeat), is quarantined whole:
//   nothing of it lands. The same bytes again are skipped by the run before they get here.
// - A sequence gap (files missing in between) is recorded as a reconciliation on the file, which
//   still lands: the models apply files in sequence order, so a late file still lands in its place.

import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import type { Connector, ConnectorFactory } from '../connectors/connector.ts';
import type { FileLanding, Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import { describeLocalFile, modifiedWithin } from '../landing/localFiles.ts';
import type { RawDatasetSchema } from '../landing/rawDataset.ts';
import { SerialTasks } from '../landing/serialTasks.ts';
import type { RunWindow } from '../runs/runWindow.ts';
import { SftpInbox, sftpConnector } from '../sftp/sftpInbox.ts';
import { ESR_HEADER, esrDatasets, headerRowSql, recordRowsSql } from './esrDatasets.ts';
import { parseEsrGoFileName, type EsrGoFileName } from './fileName.ts';
import { checkEsrSequence } from './fileSequence.ts';
import { readEsrGoFile, type EsrHeaderEvent } from './goFile.ts';
import { esrGoV1Layout, parseEsrLayout, type EsrLayout } from './layout.ts';
import { EsrRecordSpool } from './recordSpool.ts';

/** Records per staged part: DuckDB types one part while the next is read. */
export const ESR_PART_RECORDS = 200_000;

export function makeEsrConnector(partRecords = ESR_PART_RECORDS): ConnectorFactory<'esr'> {
  return (source, ctx) => {
    let loaded: { layout: EsrLayout; datasets: Map<string, RawDatasetSchema> } | null = null;
    const prepare = async () => {
      if (loaded === null) {
        const layout = await loadLayout(source.layout, source.name);
        loaded = { layout, datasets: esrDatasets(layout) };
      }
      return loaded;
    };
    const land: Connector['land'] = async (file, landing) => {
      const { layout, datasets } = await prepare();
      const name = file.location.split('/').pop() ?? file.location;
      let fileName: EsrGoFileName;
      try {
        fileName = parseEsrGoFileName(name);
      } catch (err) {
        landing.rejectWholeFile((err as Error).message, 0, 'file name');
        return [];
      }
      const sequence = checkEsrSequence(fileName, ctx.state.landedLocations());
      const refused =
        sequence.status === 'repeat'
          ? `${name} repeats file sequence ${sequence.sequence} of VPD ${fileName.vpd}, already applied from ${sequence.appliedAs}; a sequence is never applied twice`
          : null;
      const reconciliation: Reconciliation[] = [];
      if (sequence.status === 'gap') {
        reconciliation.push({ what: `GO file sequence of VPD ${fileName.vpd} (${name})`, declared: sequence.expected, actual: sequence.sequence });
        ctx.logger.warn({ source: source.name, file: name, expected: sequence.expected, sequence: sequence.sequence }, 'ESR file sequence gap: files are missing; ask ESR to re-send them');
      } else if (sequence.status === 'late') {
        ctx.logger.info({ source: source.name, file: name, sequence: sequence.sequence }, 'ESR file fills an earlier sequence gap');
      }

      const staged = await stageRecords(file, fileName, name, layout, datasets, landing, refused === null, partRecords);
      if (refused !== null) {
        landing.rejectWholeFile(refused, staged.records, 'file sequence');
        return reconciliation;
      }
      if (staged.problem !== null) {
        landing.rejectWholeFile(staged.problem.reason, staged.records, staged.problem.field);
        return [...reconciliation, ...staged.reconciliation];
      }
      if (staged.header !== null && staged.lines !== null) {
        await landing.landRows(ESR_HEADER, headerRowSql(fileName, staged.header.fields, staged.header.line, staged.header.raw, staged.lines), { derived: true });
      }
      return reconciliation;
    };

    if (source.sftp) {
      return sftpConnector(new SftpInbox({ source: source.name, settings: source.sftp, layout: ctx.layout, logger: ctx.logger, state: ctx.state, order: bySequence, window: ctx.window }), land);
    }
    return {
      async listFiles(): Promise<SourceFile[]> {
        // The layout is read first, so a bad Trust layout fails the run before anything lands.
        await prepare();
        return listLocalFiles(source.path!, source.pattern, source.name, ctx.window);
      },
      land,
    };
  };
}

export const esrConnector: ConnectorFactory<'esr'> = makeEsrConnector();

interface StagedFile {
  records: number;
  header: EsrHeaderEvent | null;
  /** Lines up to and including TRL, when the trailer reconciled. */
  lines: number | null;
  /** Why the whole file must be quarantined, if it must. */
  problem: { reason: string; field: string } | null;
  reconciliation: Reconciliation[];
}

/**
 * Reads the file, quarantining bad records and (when `stage`) staging good ones per record type; parts
 * are typed and written by DuckDB in the background. With `stage` false records are only counted.
 */
async function stageRecords(
  file: SourceFile,
  fileName: EsrGoFileName,
  name: string,
  layout: EsrLayout,
  datasets: Map<string, RawDatasetSchema>,
  landing: FileLanding,
  stage: boolean,
  partRecords: number,
): Promise<StagedFile> {
  const tasks = new SerialTasks();
  const spools = new Map<string, EsrRecordSpool>();
  const dir = stage ? await landing.scratchDir() : null;
  const result: StagedFile = { records: 0, header: null, lines: null, problem: null, reconciliation: [] };

  const landSpool = (recordType: string, spool: EsrRecordSpool) => {
    spools.delete(recordType);
    const record = layout.recordTypes[recordType]!;
    const schema = datasets.get(record.dataset)!;
    tasks.add(
      async () => {
        await spool.close();
        await landing.landRows(schema, recordRowsSql(schema, record, spool.readSql()));
        await rm(spool.path, { force: true });
      },
      () => spool.close(),
    );
  };

  try {
    for await (const event of readEsrGoFile(createReadStream(file.localPath ?? file.location), name, layout)) {
      if (event.type === 'record') {
        result.records++;
        if (!stage) continue;
        if (!EsrRecordSpool.canStage(event.raw)) {
          await landing.reject({ record: `line ${event.line}`, reason: `esr.control-characters: ${name} line ${event.line}: the ${event.recordType} record holds both CR and VT control characters`, original: event.raw });
          continue;
        }
        let spool = spools.get(event.recordType);
        if (spool === undefined) {
          spool = await EsrRecordSpool.create(join(dir!, `${event.recordType}-${tasks.started}.txt`), layout.recordTypes[event.recordType]!);
          spools.set(event.recordType, spool);
        }
        await spool.add(event.line, event.raw);
        if (spool.records >= partRecords) landSpool(event.recordType, spool);
      } else if (event.type === 'reject') {
        result.records++;
        if (stage) await landing.reject({ record: event.line === null ? '(end of file)' : `line ${event.line}`, field: event.field, reason: `${event.code}: ${event.message}`, original: event.raw });
      } else if (event.type === 'header') {
        result.header = event;
        if (event.fields.vpd !== fileName.vpd) {
          result.problem ??= { reason: `${name}: HDR names VPD ${event.fields.vpd} but the file name says ${fileName.vpd}`, field: 'HDR vpd' };
        }
      } else if (event.type === 'trailer') {
        if (event.ok) result.lines = event.actual;
        else {
          const reason = event.declared === null ? `${name} has no valid TRL trailer, so its completeness cannot be checked` : `TRL declares ${event.declared} lines but the file has ${event.actual}`;
          result.problem ??= { reason, field: 'TRL' };
          result.reconciliation.push({ what: `TRL record count in ${name}`, declared: event.declared, actual: event.actual });
        }
      }
    }
    if (stage && result.problem === null) {
      for (const [recordType, spool] of [...spools]) landSpool(recordType, spool);
      await tasks.finish();
    }
  } finally {
    await tasks.settle();
    for (const spool of spools.values()) await spool.close();
    if (dir !== null) await rm(dir, { recursive: true, force: true });
  }
  return result;
}

async function listLocalFiles(path: string, pattern: string, source: string, window: RunWindow | undefined): Promise<SourceFile[]> {
  let names: string[];
  try {
    if (!(await stat(path)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    names = await readdir(path);
  } catch (err) {
    throw fileSystemError(`read the folder of source '${source}',`, path, err);
  }
  const matches = picomatch(pattern);
  const files: SourceFile[] = [];
  const paths = await modifiedWithin(names.filter((n) => matches(n)).sort(bySequence).map((name) => join(path, name)), window);
  for (const file of paths) files.push(await describeLocalFile(file));
  return files;
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
