// The real Bulk Data export in ../shared/data/fhir-bulk (Synthea, from a reference server) lands
// completely through the fhir-bulk-files kind: every resource of every listed file, counts reconciled.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { withDuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../../../pipelines/runs/runSource.ts';
import { describeWithShared } from '../../sharedData.ts';

describeWithShared('the shared real Bulk Data export', (shared) => {
  it('lands every line of every output file, with the manifest counts reconciled', async () => {
    const folder = join(shared, 'data', 'fhir-bulk');
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as { output: { type: string; url: string; count: number }[] };
    const layout = new LakeLayout(join(mkdtempSync(join(tmpdir(), 'carelake-shared-bulk-')), 'lake'));
    const ledger = Ledger.open(layout.ledger);
    const logger = createLogger(null);
    try {
      const source = { name: 'synthea', kind: 'fhir-bulk-files' as const, path: folder };
      const summary = await runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
      expect(summary.run.status).toBe('succeeded');
      expect(summary.run.records_quarantined).toBe(0);
      expect(summary.files.flatMap((f) => f.reconciliation)).toEqual([]);
      for (const entry of manifest.output) {
        const lines = readFileSync(join(folder, entry.url.split('/').pop()!), 'utf8').split('\n').filter((l) => l.trim() !== '').length;
        expect(lines, entry.type).toBe(entry.count);
        const landed = await withDuckDb(':memory:', {}, (db) => db.scalar(`SELECT count(*)::INTEGER FROM read_parquet('${layout.rawGlob('synthea', entry.type)}')`));
        expect(landed, entry.type).toBe(entry.count);
      }
    } finally {
      ledger.close();
    }
  });
});
