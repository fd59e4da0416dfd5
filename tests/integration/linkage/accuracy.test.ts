// The linkage accuracy regression: pairwise F1 against known truth must stay above a floor, on the
// project's labelled synthetic records and, when the shared data folder is there, on FEBRL3 and
// Splink's fake_1000. Floors sit a little under the figures measured when they were set (generated
// 1.000, FEBRL3 0.986, fake_1000 0.905), so a real regression fails and run-to-run noise does not.
// Timings are bench/'s business, not this file's.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkCommand } from '../../../cli/commands/link.ts';
import { linkEvalCommand } from '../../../cli/commands/linkEval.ts';
import { withDuckDb } from '../../../core/duckdb.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { writeLinkageRecordsCsv } from '../../../synthetic/linkageRecords.ts';
import { scoreClusters, type ClusterAssignment } from '../../../transforms/linkage/evaluation.ts';
import { DEFAULT_LINKAGE_SETTINGS, linkRecords } from '../../../transforms/linkage/linkRecords.ts';
import { describeWithShared } from '../../sharedData.ts';
import { silentConsole } from './linkageFixtures.ts';

const GENERATED_PEOPLE = 3_000;
const GENERATED_SEED = 20_250_115;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-link-accuracy-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** `(record_id, cluster)` rows of a query as assignments. */
function assignments(rows: readonly Record<string, unknown>[]): ClusterAssignment[] {
  return rows.map((r) => ({ recordId: String(r.record_id), clusterId: String(r.cluster) }));
}

describe('linkage accuracy on generated records', () => {
  it(`links ${GENERATED_PEOPLE} synthetic people's records with pairwise F1 ≥ 0.99`, async () => {
    const csv = join(dir, 'generated.csv');
    await writeLinkageRecordsCsv(csv, { people: GENERATED_PEOPLE, seed: GENERATED_SEED });
    await withDuckDb(':memory:', {}, async (db) => {
      await db.run(`CREATE TABLE generated AS SELECT * FROM read_csv(${quoteLiteral(csv)}, header = true, all_varchar = true)`);
      const roles = ['given_name', 'family_name', 'birth_date', 'sex', 'postcode', 'address', 'nhs_number', 'nhs_number_verification_status', 'source', 'recorded_at'] as const;
      const report = await linkRecords(db, {
        from: 'generated',
        idColumn: 'record_id',
        mapping: Object.fromEntries(roles.map((role) => [role, [role]])),
        // Synthetic NHS numbers are in the 999 test range.
        settings: { ...DEFAULT_LINKAGE_SETTINGS, acceptTestNhsNumbers: true },
        model: null,
        previous: null,
        schema: 'main',
        prefix: 'gen_',
        now: new Date('2025-01-15T00:00:00Z'),
        clock: () => performance.now(),
      });
      const predicted = assignments(await db.all(`SELECT record_id, person_id AS cluster FROM ${report.tables.xref}`));
      const truth = assignments(await db.all(`SELECT record_id, person_id AS cluster FROM generated`));
      const scores = scoreClusters(predicted, truth);
      expect(scores.records).toBe(report.records);
      expect(scores.pairwise.f1).toBeGreaterThanOrEqual(0.99);
    });
  });
});

describeWithShared('linkage accuracy on public benchmark sets', (shared) => {
  const data = (name: string): string => join(shared, 'data', 'linkage', name);

  it('FEBRL3: pairwise F1 ≥ 0.97', async () => {
    const out = join(dir, 'febrl3-clusters.csv');
    await linkCommand(
      {
        input: data('febrl3.csv'),
        id: 'rec_id',
        columns: 'given_name=given_name,family_name=surname,birth_date=date_of_birth,postcode=postcode,address=street_number+address_1+address_2+suburb',
        out,
      },
      silentConsole,
    );
    const scores = await linkEvalCommand({ clusters: out, truth: data('febrl3.csv'), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }, silentConsole);
    expect(scores.records).toBe(5000);
    expect(scores.pairwise.f1).toBeGreaterThanOrEqual(0.97);
  });

  it('fake_1000: pairwise F1 ≥ 0.85, and at least 0.15 above exact matching on name and birth date', async () => {
    const input = data('fake_1000.csv');
    const out = join(dir, 'fake_1000-clusters.csv');
    await linkCommand(
      { input, id: 'unique_id', columns: 'given_name=first_name,family_name=surname,birth_date=dob,address=city,email=email', out },
      silentConsole,
    );
    const scores = await linkEvalCommand({ clusters: out, truth: input, truthId: 'unique_id', truthCluster: 'cluster' }, silentConsole);

    // The baseline: records are one person when first name, surname and birth date are all present
    // and equal (ignoring case); any other record stands alone.
    const baseline = await withDuckDb(':memory:', {}, async (db) => {
      await db.run(`CREATE TABLE fake AS SELECT * FROM read_csv(${quoteLiteral(input)}, header = true, all_varchar = true)`);
      const key = (column: string) => `nullif(lower(trim(${column})), '')`;
      const predicted = assignments(
        await db.all(`SELECT unique_id AS record_id,
  CASE WHEN ${key('first_name')} IS NOT NULL AND ${key('surname')} IS NOT NULL AND ${key('dob')} IS NOT NULL
       THEN 'key:' || ${key('first_name')} || '|' || ${key('surname')} || '|' || ${key('dob')}
       ELSE 'alone:' || unique_id END AS cluster
FROM fake`),
      );
      const truth = assignments(await db.all(`SELECT unique_id AS record_id, "cluster" AS cluster FROM fake`));
      return scoreClusters(predicted, truth);
    });

    expect(scores.records).toBe(1000);
    expect(scores.pairwise.f1).toBeGreaterThanOrEqual(0.85);
    expect(scores.pairwise.f1 - baseline.pairwise.f1, `baseline pairwise F1 ${baseline.pairwise.f1.toFixed(4)}`).toBeGreaterThanOrEqual(0.15);
  });
});
