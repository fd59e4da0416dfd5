// The serving connection is read-only and locked down: no file access, no way to unlock it.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { publishServingRelease } from '../../../warehouse/publish/servingBuild.ts';
import { ServingReader } from '../../../warehouse/serving/servingReader.ts';
import { commissionerTables, makeLake, type TestLake } from './fixtures.ts';

let lake: TestLake;
let reader: ServingReader;

beforeEach(async () => {
  lake = await makeLake();
  reader = new ServingReader(lake.layout, 'commissioner');
});
afterEach(async () => {
  reader.close();
  await lake.cleanup();
});

async function publish(releaseId: string): Promise<void> {
  await publishServingRelease({
    warehouse: lake.warehouse,
    layout: lake.layout,
    role: 'commissioner',
    releaseId,
    tables: commissionerTables,
    pseudonymiser: lake.pseudonymiser,
  });
}

describe('ServingReader', () => {
  it('says clearly when nothing is published', async () => {
    await expect(reader.use(async () => 1)).rejects.toMatchObject({ code: 'serving.not-published' });
    expect(await reader.currentRelease()).toBeNull();
  });

  it('opens the current release with external access off and the configuration locked', async () => {
    await publish('c1');
    const csv = join(lake.dir, 'outside.csv');
    await writeFile(csv, 'a,b\n1,2\n');
    await reader.use(async (db, release) => {
      expect(release.releaseId).toBe('c1');
      expect(await db.table(`SELECT current_setting('enable_external_access'), current_setting('lock_configuration')`)).toMatchObject({
        rows: [[false, true]],
      });
      const refused = [
        { description: 'read_csv of a file', sql: `SELECT * FROM read_csv(${quoteLiteral(csv)})`, error: /file system operations are disabled|Permission/i },
        { description: 're-enabling external access', sql: 'SET enable_external_access = true', error: /locked/i },
        { description: 'attaching another file', sql: `ATTACH ${quoteLiteral(join(lake.dir, 'other.duckdb'))} AS other`, error: /Permission|disabled/i },
        { description: 'copying out', sql: `COPY srv_example_counts TO ${quoteLiteral(join(lake.dir, 'out.csv'))}`, error: /Permission|disabled/i },
        { description: 'writing', sql: 'CREATE TABLE x (a INTEGER)', error: /read-only/i },
      ];
      for (const { description, sql, error } of refused) {
        const outcome = await db.run(sql).then(
          () => 'allowed',
          (err: unknown) => (err instanceof CarelakeError ? err.message : String(err)),
        );
        expect({ description, refused: error.test(outcome) }).toEqual({ description, refused: true });
      }
      expect(Number(await db.scalar('SELECT count(*) FROM srv_example_counts'))).toBeGreaterThan(0);
    });
  });

  it('opens the new file when the pointer changes', async () => {
    await publish('c1');
    expect(await reader.use(async (_db, release) => release.releaseId)).toBe('c1');
    await publish('c2');
    expect(await reader.use(async (db) => db.scalar('SELECT release_id FROM _release'))).toBe('c2');
  });

  it('gives each concurrent use its own connection to the one open release, closed when the use ends', async () => {
    await publish('c1');
    let inside = 0;
    let most = 0;
    const seen = await Promise.all(
      [1, 2, 3].map(() =>
        reader.use(async (db, release) => {
          inside += 1;
          most = Math.max(most, inside);
          // All three are in use at once.
          await new Promise((resolve) => setTimeout(resolve, 50));
          const rows = Number(await db.scalar('SELECT count(*) FROM srv_example_counts'));
          inside -= 1;
          return { db, release: release.releaseId, rows };
        }),
      ),
    );
    expect(most).toBe(3);
    expect(new Set(seen.map((s) => s.db)).size).toBe(3);
    expect(new Set(seen.map((s) => `${s.release}:${s.rows}`)).size).toBe(1);
    await expect(seen[0]!.db.scalar('SELECT 1')).rejects.toThrow();
  });
});
