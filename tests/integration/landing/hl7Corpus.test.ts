// The whole shared corpus of real HL7 v2 samples through one real run: every message unit either
// lands or is quarantined with a specific reason, counts reconcile per file, the landed text is the
// file's bytes (segment separators normalised to CR), segments rebuild their message exactly, batch
// trailers that disagree are recorded, and a second run lands nothing.

import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SourceConfig } from '../../../core/config.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { decodeHl7Message, hl7CharsetEncoding } from '../../../pipelines/hl7v2/charset.ts';
import { splitHl7Bytes } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { scanHl7Message } from '../../../pipelines/hl7v2/message.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource, type RunSummary } from '../../../pipelines/runs/runSource.ts';
import { describeWithShared } from '../../sharedData.ts';

const logger = createLogger(null);

/** Messages we quarantine, by file, with the reason each must give (see tests/unit/hl7v2/corpus.test.ts). */
const EXPECTED_QUARANTINE: Record<string, RegExp[]> = {
  'hapi-hl7v2/example_oml_o21.hl7': [/MSH-10 \(message control id\) is empty/, /MSH-10 \(message control id\) is empty/],
  'hapi-hl7v2/messages_txt_04_BAR-P01.hl7': [/MSH-2 \(encoding characters\)/],
  'python-hl7/nonstandard_separators.hl7': [/MSH-9 \(message type\) is empty/],
  // python-hl7's deliberately bad batches: segments with no MSH before them, in a batch or file.
  'python-hl7/sample_bad_batch.hl7': [/^text after the BHS segment at byte 0 and before the next MSH segment$/],
  'python-hl7/sample_bad_batch1.hl7': [/^text after the BHS segment at byte 183 and before the next MSH segment$/],
  'python-hl7/sample_bad_file.hl7': [/^text after the BHS segment at byte 67 and before the next MSH segment$/],
  'python-hl7/sample_bad_file1.hl7': [/^text after the BHS segment at byte 250 and before the next MSH segment$/],
  'python-hl7/sample_bad_file2.hl7': [/^text after the FHS segment at byte 250 and before the next MSH segment$/],
  'python-hl7/sample_bad_file3.hl7': [/^text after the FHS segment at byte 0 and before the next MSH segment$/],
  // Copied out of a PDF, so lines are wrapped mid-segment: the first line is `MSH|^` and the rest of
  // the file, having no second MSH, belongs to that one message, quarantined whole.
  'virtually-healthcare-itk/DHCW-Example-Pathology-Report-HL7v2ORU.hl7': [/MSH-2 \(encoding characters\) has 1 character;/],
  'virtually-healthcare-itk/DHCW-Example-PathologyReport-withAttachementsAndRanges-HL7v2ORU.hl7': [/MSH-2 \(encoding characters\) has 1 character;/],
};

describeWithShared('the shared HL7 v2 corpus, landed', (shared) => {
  const corpus = join(shared, 'data/hl7v2');
  const root = mkdtempSync(join(tmpdir(), 'carelake-hl7-corpus-'));
  const layout = new LakeLayout(join(root, 'lake'));
  const source: SourceConfig = { name: 'corpus', kind: 'hl7v2', path: `${corpus}/**/*.{hl7,txt}`, encoding: 'auto', timezone: 'Europe/London' };
  let ledger: Ledger;
  let first: RunSummary;

  const run = async () => runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
  const query = (sql: string) => withDuckDb(':memory:', {}, (db) => db.all(sql));
  const name = (location: string) => relative(corpus, location);

  beforeAll(async () => {
    ledger = Ledger.open(layout.ledger);
    first = await run();
  }, 120_000);
  afterAll(() => ledger.close());

  it('lands the corpus with every record accounted for, file by file', async () => {
    // Partial: some records are quarantined, as expected below.
    expect(first.run.status).toBe('partial');
    expect(first.files.length).toBeGreaterThan(200);
    for (const file of first.files) {
      // Independently: every message unit and every run of garbage in the file is one input record.
      const units = splitHl7Bytes(readFileSync(file.location)).filter((u) => u.kind === 'message' || u.kind === 'garbage');
      expect({ file: name(file.location), in: file.recordsIn }).toEqual({ file: name(file.location), in: units.length });
      expect(file.recordsIn).toBe(file.recordsLanded + file.recordsQuarantined + file.recordsFiltered);
    }
    const quarantined = new Map<string, string[]>();
    for (const q of ledger.quarantine({ runId: first.run.run_id })) quarantined.set(name(q.location), [...(quarantined.get(name(q.location)) ?? []), q.reason]);
    expect([...quarantined.keys()].sort()).toEqual(Object.keys(EXPECTED_QUARANTINE).sort());
    for (const [file, patterns] of Object.entries(EXPECTED_QUARANTINE)) {
      const reasons = quarantined.get(file)!;
      expect(reasons).toHaveLength(patterns.length);
      patterns.forEach((pattern, i) => expect(reasons[i]).toMatch(pattern));
    }
  });

  it('records batch trailers that disagree, and only those', () => {
    const discrepancies = first.files.filter((f) => f.reconciliation.length > 0).map((f) => [name(f.location), f.reconciliation.map((r) => [r.declared, r.actual])]);
    expect(discrepancies).toEqual([
      // BTS-1 says 25 messages; the batch holds 20.
      ['cdc-reportstream/test-0001-input-covid-19.hl7', [[25, 20]]],
      // python-hl7's bad batches: a BTS-1 of 1 over a batch whose only message lost its MSH; in
      // sample_bad_file1 also an FTS-1 of 1 over a file that holds two batches.
      ['python-hl7/sample_bad_batch.hl7', [[1, 0]]],
      ['python-hl7/sample_bad_batch1.hl7', [[1, 0]]],
      ['python-hl7/sample_bad_file.hl7', [[1, 0]]],
      ['python-hl7/sample_bad_file1.hl7', [[1, 0], [1, 2]]],
      ['python-hl7/sample_bad_file2.hl7', [[1, 0]]],
      ['python-hl7/sample_bad_file3.hl7', [[1, 0]]],
    ]);
  });

  it('stores each landed message as the bytes of the file, and its segments rebuild it exactly', async () => {
    const rows = await query(`SELECT _file, _record::BIGINT::VARCHAR AS offset, byte_length, message, segment_count, charset FROM read_parquet('${layout.rawGlob('corpus', 'messages')}')`);
    expect(rows.length).toBe(first.run.records_landed);
    for (const row of rows) {
      const bytes = readFileSync(String(row._file)).subarray(Number(row.offset), Number(row.offset) + Number(row.byte_length));
      const text = bytes.toString('latin1').replace(/\r\n|\n/g, '\r').split('\r').filter((line) => /\S/.test(line)).join('\r');
      const expected = decodeHl7Message(text, hl7CharsetEncoding(row.charset as string | null)).text;
      expect({ at: `${name(String(row._file))}@${row.offset}`, message: row.message }).toEqual({ at: `${name(String(row._file))}@${row.offset}`, message: expected });
      expect(row.segment_count).toBe(scanHl7Message(expected).segmentTexts.length);
    }
    const mismatched = await query(`
      WITH rebuilt AS (
        SELECT message_key,
          array_to_string(list(CASE WHEN segment_index = 1 THEN 'MSH' || fields[2] || replace(array_to_string(fields[3:], chr(28)), chr(28), fields[2])
                          ELSE replace(array_to_string(fields, chr(28)), chr(28), delimiters[1]) END ORDER BY segment_index), chr(13)) AS text,
          count(*) AS segments
        FROM read_parquet('${layout.rawGlob('corpus', 'segments')}') GROUP BY message_key)
      SELECT m._file, m._record::VARCHAR AS offset FROM read_parquet('${layout.rawGlob('corpus', 'messages')}') m
      LEFT JOIN rebuilt r USING (message_key)
      WHERE r.text IS DISTINCT FROM m.message OR r.segments <> m.segment_count`);
    expect(mismatched).toEqual([]);
  });

  it('keeps Z-segments and reads every delimiter set the corpus uses', async () => {
    const zSegments = await query(`SELECT DISTINCT segment_id FROM read_parquet('${layout.rawGlob('corpus', 'segments')}') WHERE segment_id LIKE 'Z%' ORDER BY 1`);
    expect(zSegments.map((z) => z.segment_id)).toEqual(expect.arrayContaining(['ZU1', 'ZU3', 'ZU4', 'ZU8']));
    const delimiters = await query(`SELECT DISTINCT delimiters FROM read_parquet('${layout.rawGlob('corpus', 'messages')}') ORDER BY 1`);
    expect(delimiters.map((d) => d.delimiters)).toContain('|^~\\&');
  });

  it('lands nothing the second time', async () => {
    const second = await run();
    expect(second.files).toEqual([]);
    expect(second.skipped.length).toBe(first.files.length + first.skipped.length);
  });
});
