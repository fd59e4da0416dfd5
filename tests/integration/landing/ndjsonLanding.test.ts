// The two NDJSON landing paths agree: DuckDB's one-pass path and the line-by-line JavaScript path
// land the same rows with the same lineage and quarantine the same lines with the same reasons.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb, withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { FileLanding, type LandingContext } from '../../../pipelines/landing/fileLanding.ts';
import { describeLocalFile } from '../../../pipelines/landing/localFiles.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { FILTER_COLUMN, landNdjsonResources } from '../../../pipelines/fhir-bulk/ndjsonLanding.ts';
import { typeFilterPredicates } from '../../../pipelines/fhir-bulk/typeFilter.ts';

const patient = (id: string, extra = '') => `{"resourceType":"Patient","id":"${id}","meta":{"lastUpdated":"2026-01-0${id.length}T00:00:00Z"}${extra}}`;
const body = [
  patient('p1'),
  '',
  '{not json',
  '[1, 2]',
  '{"resourceType":"Observation","id":"o1"}',
  '{"resourceType":"Patient"}',
  '   ',
  patient('p22', ',"name":[{"family":"O\'Neil, \\"Jr\\""}]'),
  '{"resourceType":"Patient","id":""}',
  patient('p333'),
];

describe('landNdjsonResources', () => {
  let dir: string;
  let ledger: Ledger;
  let db: DuckDb;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-ndjson-'));
    ledger = Ledger.open(join(dir, 'lake', 'ops.sqlite'));
    db = await DuckDb.open(':memory:', { settings: { memory_limit: '1GB', preserve_insertion_order: 'false', threads: '2' } });
  });
  afterEach(() => {
    db.close();
    ledger.close();
  });

  async function land(text: string, runId: string, keep?: string) {
    const path = join(dir, `${runId}.ndjson`);
    writeFileSync(path, text);
    const layout = new LakeLayout(join(dir, 'lake'));
    let part = 0;
    let table = 0;
    ledger.startRun({ run_id: runId, source: 'gp', kind: 'fhir-bulk-files', trigger: 'manual', started_at: '2026-01-01T00:00:00.000Z' });
    const ctx: LandingContext = { layout, ledger, buffer: db, source: 'gp', runId, loadDate: '2026-01-01', ingestedAt: '2026-01-01T00:00:00.000Z', nextPart: () => ++part, nextTable: () => `t${runId}_${++table}` };
    const file = await describeLocalFile(path);
    const landing = new FileLanding(ctx, file);
    const result = await landNdjsonResources(landing, file, 'Patient', keep);
    const outcome = await landing.commit();
    const rows = await withDuckDb(':memory:', {}, (d) =>
      d.all(`SELECT id, resource_type, last_updated, resource, _record::INTEGER AS _record, _file = '${path}' AS file_ok FROM read_parquet('${layout.rawGlob('gp', 'Patient')}') WHERE _run_id = '${runId}' ORDER BY _record`),
    );
    const rejects = ledger.quarantine({ runId }).map((q) => [q.record, q.field, q.reason]);
    return { result, outcome, rows, rejects };
  }

  it('takes the DuckDB path for a normal file and agrees with the JavaScript path line for line', async () => {
    const fast = await land(body.join('\n') + '\n', 'fast');
    // A \x1e (DuckDB's column separator here) at the end of a line would be dropped silently by DuckDB,
    // landing a truncated line; such a file takes the JavaScript path, which rejects that line.
    const slow = await land([...body.slice(0, -1), '{"resourceType":"Patient","id":"p333"}\x1e'].join('\n') + '\n', 'slow');
    expect(fast.result).toEqual({ lines: 8, path: 'duckdb' });
    expect(slow.result).toEqual({ lines: 8, path: 'javascript', fallbackReason: 'the file contains the byte 0x1e' });
    expect(fast.rows.map((r) => [r.id, r._record, r.file_ok])).toEqual([
      ['p1', 1, true],
      ['p22', 8, true],
      ['p333', 10, true],
    ]);
    expect(fast.rows[1]!.resource).toBe(body[7]);
    expect(fast.rows[0]!.last_updated).toBe('2026-01-02T00:00:00Z');
    expect(slow.rows.slice(0, 2)).toEqual(fast.rows.slice(0, 2));
    expect(slow.rows).toHaveLength(2);
    expect(slow.rejects[5]).toEqual(['line 10', null, expect.stringMatching(/^not valid JSON/)]);
    expect(fast.rejects).toEqual([
      ['line 3', null, expect.stringMatching(/^not valid JSON/)],
      ['line 4', null, 'not a JSON object'],
      ['line 5', 'resourceType', "expected resourceType 'Patient', got 'Observation'"],
      ['line 6', 'id', 'a resource in a Bulk Data file must have an id'],
      ['line 9', 'id', 'a resource in a Bulk Data file must have an id'],
    ]);
    expect(slow.rejects.slice(0, 5)).toEqual(fast.rejects);
    expect(fast.outcome.recordsIn).toBe(8);
    expect([fast.outcome.recordsLanded, fast.outcome.recordsQuarantined]).toEqual([3, 5]);
  });

  it('numbers every line exactly on a large file, whatever order DuckDB writes rows in', async () => {
    // Each resource's id names its own line; blank lines are sprinkled in to shift the numbering.
    const lines: string[] = [];
    for (let n = 1; lines.length < 300_000; n++) lines.push(n % 997 === 0 ? '' : `{"resourceType":"Patient","id":"L${n}","meta":{"lastUpdated":"2026-01-01T00:00:00Z"}}`);
    const { result, rows } = await land(lines.join('\n') + '\n', 'big');
    expect(result.path).toBe('duckdb');
    expect(rows.length).toBe(lines.filter((l) => l !== '').length);
    const wrong = rows.filter((r) => r.id !== `L${String(r._record)}`);
    expect(wrong).toEqual([]);
  });

  it('filters the same resources on both paths, counting them as filtered, not landed', async () => {
    const keep = typeFilterPredicates(['Patient?_id=p22,p333'], FILTER_COLUMN).get('Patient')!;
    const fast = await land(body.join('\n') + '\n', 'kfast', keep);
    const slow = await land([...body, '\x1e'].join('\n') + '\n', 'kslow', keep);
    expect([fast.result.path, slow.result.path]).toEqual(['duckdb', 'javascript']);
    for (const r of [fast, slow]) {
      expect(r.rows.map((row) => row.id)).toEqual(['p22', 'p333']);
      expect([r.outcome.recordsLanded, r.outcome.recordsQuarantined, r.outcome.recordsFiltered]).toEqual([2, r === fast ? 5 : 6, 1]);
      expect(r.outcome.recordsIn).toBe(r.outcome.recordsLanded + r.outcome.recordsQuarantined + r.outcome.recordsFiltered);
    }
  });
});
