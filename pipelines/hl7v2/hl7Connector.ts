// The `hl7v2` source kind: files matching a glob, each split into messages (batched or plain, any line
// endings, MLLP), each message parsed and landed as one `messages` row plus one `segments` row per
// segment, so models reach any field in SQL without re-parsing. A message that does not parse, and any
// text outside a message, is quarantined with its byte offset; the rest of the file goes on. Batch
// trailer counts (BTS-1, FTS-1) that disagree are recorded on the file; the file still lands.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { glob } from 'tinyglobby';
import { CarelakeError, fileSystemError, toCarelakeError } from '../../core/errors.ts';
import type { ConnectorFactory } from '../connectors/connector.ts';
import type { Reconciliation, SourceFile } from '../landing/fileLanding.ts';
import { describeLocalFile } from '../landing/localFiles.ts';
import type { RawDatasetSchema } from '../landing/rawDataset.ts';
import { Hl7BatchReconciler } from './batch.ts';
import { recodeHl7Text } from './charset.ts';
import { splitHl7Stream } from './fileSplitter.ts';
import { parseHl7Message } from './message.ts';

export const HL7_MESSAGES: RawDatasetSchema = {
  dataset: 'messages',
  columns: [
    { name: 'message_key', type: 'VARCHAR' },
    { name: 'control_id', type: 'VARCHAR' },
    { name: 'message_type', type: 'VARCHAR' },
    { name: 'trigger_event', type: 'VARCHAR' },
    { name: 'structure', type: 'VARCHAR' },
    { name: 'version', type: 'VARCHAR' },
    { name: 'sending_application', type: 'VARCHAR' },
    { name: 'sending_facility', type: 'VARCHAR' },
    { name: 'receiving_application', type: 'VARCHAR' },
    { name: 'receiving_facility', type: 'VARCHAR' },
    { name: 'message_timestamp', type: 'VARCHAR' },
    { name: 'charset', type: 'VARCHAR' },
    { name: 'file_control_id', type: 'VARCHAR' },
    { name: 'batch_control_id', type: 'VARCHAR' },
    { name: 'segment_count', type: 'INTEGER' },
  ],
};

export const HL7_SEGMENTS: RawDatasetSchema = {
  dataset: 'segments',
  columns: [
    { name: 'message_key', type: 'VARCHAR' },
    { name: 'segment_index', type: 'INTEGER' },
    { name: 'segment_id', type: 'VARCHAR' },
    // Field n (HL7 numbering) is at list index n + 1; values are as sent, escapes not yet decoded.
    { name: 'fields', type: 'VARCHAR[]' },
  ],
};

export const hl7v2Connector: ConnectorFactory<'hl7v2'> = (source) => ({
  async listFiles(): Promise<SourceFile[]> {
    const root = globRoot(source.path);
    try {
      const info = await stat(root);
      if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (err) {
      throw fileSystemError(`read the folder of source '${source.name}',`, root, err);
    }
    const paths = (await glob(source.path, { absolute: true, onlyFiles: true, dot: false, followSymbolicLinks: true })).sort();
    const files: SourceFile[] = [];
    for (const path of paths) files.push(await describeLocalFile(path));
    return files;
  },

  async land(file, landing): Promise<Reconciliation[]> {
    const reconciler = new Hl7BatchReconciler();
    const stream = createReadStream(file.location);
    for await (const unit of splitHl7Stream(stream)) {
      reconciler.add(unit);
      if (unit.kind === 'garbage') {
        await landing.reject({ record: `offset ${unit.offset}`, reason: unit.reason, original: Buffer.from(unit.text, 'latin1') });
        continue;
      }
      if (unit.kind !== 'message') continue;
      let parsed;
      try {
        parsed = parseHl7Message(unit.text);
      } catch (err) {
        const error = toCarelakeError(err);
        if (error.kind === 'internal') throw error;
        const field = error.location && 'field' in error.location ? error.location.field : undefined;
        await landing.reject({ record: `offset ${unit.offset}`, field, reason: error.message, original: Buffer.from(unit.text, 'latin1') });
        continue;
      }
      const h = parsed.header;
      const text = recodeHl7Text(unit.text, h.charset);
      const messageKey = createHash('sha256').update(text).digest('hex').slice(0, 32);
      await landing.append(HL7_MESSAGES, unit.offset, text, [
        messageKey,
        h.controlId,
        h.messageType,
        h.triggerEvent,
        h.structure,
        h.version,
        h.sendingApplication,
        h.sendingFacility,
        h.receivingApplication,
        h.receivingFacility,
        h.timestamp,
        h.charset,
        unit.batch?.fileControlId ?? null,
        unit.batch?.batchControlId ?? null,
        parsed.segments.length,
      ]);
      for (const [index, segment] of parsed.segments.entries()) {
        const fields = h.charset ? segment.fields.map((f) => recodeHl7Text(f, h.charset)) : segment.fields;
        await landing.appendDerived(HL7_SEGMENTS, unit.offset, segmentText(fields, parsed.delimiters.field), [messageKey, index + 1, segment.id, fields]);
      }
    }
    const report = reconciler.finish();
    return report.discrepancies.map((d) => ({ what: `${d.segment}-1 at offset ${d.offset} (${d.reason})`, declared: d.declared, actual: d.actual }));
  },
});

/** A segment's text from its fields; MSH's field 1 is the separator itself, so it is not joined twice. */
function segmentText(fields: readonly string[], separator: string): string {
  return fields[0] === 'MSH' ? `MSH${separator}${fields.slice(2).join(separator)}` : fields.join(separator);
}

/** The folder a glob starts in: everything before the first segment with a glob character. */
function globRoot(pattern: string): string {
  const parts = pattern.split('/');
  const first = parts.findIndex((p) => /[*?[\]{}!]/.test(p));
  if (first === -1) return dirname(pattern);
  const root = parts.slice(0, first).join('/');
  if (root === '') throw new CarelakeError({ code: 'hl7.glob', kind: 'config', message: `The path '${pattern}' must start with a folder` });
  return root;
}
