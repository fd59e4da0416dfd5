import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../../core/config.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { recoverLandings } from '../../../pipelines/landing/fileLanding.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../../../pipelines/runs/runSource.ts';

const patient = (id: string) => JSON.stringify({ resourceType: 'Patient', id, meta: { lastUpdated: '2026-01-01T00:00:00Z' } });
const observation = (id: string) => JSON.stringify({ resourceType: 'Observation', id, status: 'final' });

describe('fhir-bulk-files landing', () => {
  let root: string;
  let layout: LakeLayout;
  let ledger: Ledger;
  let source: Extract<SourceConfig, { kind: 'fhir-bulk-files' }>;
  const logger = createLogger(null);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'carelake-landing-'));
    const folder = join(root, 'export');
    mkdirSync(folder);
    writeFileSync(join(folder, 'Patient.ndjson'), [patient('p1'), '{not json', patient('p2'), observation('o9'), '', patient('p3')].join('\n') + '\n');
    writeFileSync(join(folder, 'Observation.ndjson'), [observation('o1'), observation('o2')].join('\r\n') + '\r\n');
    writeFileSync(
      join(folder, 'manifest.json'),
      JSON.stringify({
        transactionTime: '2026-01-01T00:00:00Z',
        request: 'x',
        requiresAccessToken: false,
        output: [
          { type: 'Patient', url: 'Patient.ndjson', count: 5 },
          { type: 'Observation', url: 'http://server.example/files/Observation.ndjson', count: 3 },
        ],
        error: [],
      }),
    );
    layout = new LakeLayout(join(root, 'lake'));
    ledger = Ledger.open(layout.ledger);
    source = { name: 'gp', kind: 'fhir-bulk-files', path: folder };
  });
  afterEach(() => ledger.close());

  const run = async () => runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });

  it('lands every valid line, quarantines the rest with line and reason, and reconciles counts', async () => {
    const summary = await run();
    const r = summary.run;
    expect(r.status).toBe('partial');
    expect(r.records_in).toBe(7);
    expect(r.records_landed).toBe(5);
    expect(r.records_quarantined).toBe(2);
    expect(r.records_in).toBe(r.records_landed + r.records_quarantined);

    const reasons = ledger.quarantine({ runId: r.run_id }).map((q) => [q.record, q.field, q.reason.split(':')[0]]);
    expect(reasons).toEqual([
      ['line 2', null, 'not valid JSON'],
      ['line 4', 'resourceType', "expected resourceType 'Patient', got 'Observation'"],
    ]);
    // The rejects file keeps the original bytes.
    const rejects = readFileSync(join(layout.quarantineRunDir('gp', r.run_id), 'Patient.ndjson.rejects.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { original: string });
    expect(rejects.map((x) => x.original)).toEqual(['{not json', observation('o9')]);

    // Manifest said 3 observations, the file had 2: recorded, not hidden.
    const obs = summary.files.find((f) => f.location.endsWith('Observation.ndjson'))!;
    expect(obs.reconciliation).toEqual([{ what: 'manifest count of Observation in http://server.example/files/Observation.ndjson', declared: 3, actual: 2 }]);

    const rows = await withDuckDb(':memory:', {}, (db) =>
      db.all(`SELECT id, resource_type, _record::INTEGER AS _record, _source, _run_id, load_date, resource FROM read_parquet('${layout.rawGlob('gp', 'Patient')}', hive_partitioning = true) ORDER BY _record`),
    );
    expect(rows.map((x) => [x.id, x._record, x._source, x._run_id])).toEqual([
      ['p1', 1, 'gp', r.run_id],
      ['p2', 3, 'gp', r.run_id],
      ['p3', 6, 'gp', r.run_id],
    ]);
    expect(rows[0]!.resource).toBe(patient('p1'));
    expect(String(rows[0]!.load_date)).toBe(r.started_at.slice(0, 10));
  });

  it('lands nothing the second time: the same bytes are never landed twice', async () => {
    await run();
    const second = (await run()).run;
    expect(second.records_in).toBe(0);
    expect(second.files_skipped).toBe(2);
    expect(second.status).toBe('succeeded');
    const count = await withDuckDb(':memory:', {}, (db) => db.scalar(`SELECT count(*)::INTEGER FROM read_parquet('${layout.rawGlob('gp', 'Patient')}')`));
    expect(count).toBe(3);
  });

  it('recovers a landing a crash interrupted after the ledger intent', async () => {
    const first = await run();
    // Simulate the crash: put the file back to `landing` and move one part out of raw/.
    const part = first.files.find((f) => f.location.endsWith('Patient.ndjson'))!.parts[0]!;
    const db = new Database(layout.ledger);
    db.prepare(`UPDATE files SET status = 'landing' WHERE location LIKE '%Patient.ndjson'`).run();
    db.close();
    renameSync(part.path, `${part.path}.lost`);
    const result = await recoverLandings(ledger, 'gp', new Date().toISOString());
    expect(result).toEqual({ completed: 0, undone: 1 });
    // The file lands again on the next run, exactly once.
    const again = (await run()).run;
    expect(again.files_landed).toBe(1);
    expect(again.records_landed).toBe(3);
    const parquet = readdirSync(join(layout.rawDatasetDir('gp', 'Patient')), { recursive: true }).filter((f) => String(f).endsWith('.parquet'));
    expect(parquet).toHaveLength(1);
  });

  it('fails before writing anything when the manifest lists a file that is not there', async () => {
    writeFileSync(join(source.path, 'manifest.json'), JSON.stringify({ transactionTime: 't', request: 'x', requiresAccessToken: false, output: [{ type: 'Patient', url: 'Missing.ndjson' }] }));
    ledger.close();
    const fresh = new LakeLayout(join(root, 'lake2'));
    await expect(listSourceFiles(source, { layout: fresh, logger, ledger: () => Ledger.open(fresh.ledger) })).rejects.toThrow(/Cannot read source file .*Missing\.ndjson: it does not exist/);
    expect(existsSync(fresh.root)).toBe(false);
    ledger = Ledger.open(layout.ledger);
  });
});
