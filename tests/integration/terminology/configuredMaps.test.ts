// The maps carelake.yml names are registered before a build, kept in step with the config (a map
// taken out of it is removed), and maps loaded by hand are left alone.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MAP_NAME, parseConfig } from '../../../core/config.ts';
import { DuckDb } from '../../../core/duckdb.ts';
import { ensureTerminologySchema, registerMap } from '../../../transforms/terminology/mapRegistry.ts';
import { withCheckDigit } from '../../../transforms/terminology/sctid.ts';
import { registerConfiguredMaps } from '../../../warehouse/build/terminologyMaps.ts';
import { writeCsvMap } from '../../support/terminologyFiles.ts';

const NOW = new Date('2026-11-21T09:00:00Z');
const LAB = 'https://lab.example.nhs.uk/CodeSystem/tests';
// A made-up concept id (extension partition), valid by check digit.
const OTHER_CONCEPT = withCheckDigit('99000100000010');

describe('registerConfiguredMaps', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-configured-maps-'));
    writeCsvMap(dir, 'lab.csv', [{ system: LAB, code: 'NA', target: '1000661000000107' }]);
    writeCsvMap(dir, 'gp.csv', [{ system: 'icd10', code: 'I10', target: '38341003' }]);
    writeCsvMap(dir, 'adhoc.csv', [{ system: LAB, code: 'K', target: '1000651000000109' }]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const configWith = (yaml: string) => parseConfig(yaml, { file: join(dir, 'carelake.yml'), baseDir: dir });

  it('registers in config order, is a no-op the second time, and removes what the config no longer lists', async () => {
    const db = await DuckDb.open(':memory:');
    try {
      const both = configWith('terminology:\n  demoMap: true\n  maps:\n    - { name: lab, version: "1", path: ./lab.csv }\n    - { name: gp, version: "1", path: ./gp.csv }');
      const first = await registerConfiguredMaps(db, both, NOW);
      expect(first.registered.map((m) => [m.name, m.status])).toEqual([
        ['lab', 'loaded'],
        ['gp', 'loaded'],
        [DEMO_MAP_NAME, 'loaded'],
      ]);
      expect(await db.all(`SELECT map_name, precedence, origin FROM terminology.maps ORDER BY precedence`)).toEqual([
        { map_name: 'lab', precedence: 0, origin: 'config' },
        { map_name: 'gp', precedence: 1, origin: 'config' },
        { map_name: DEMO_MAP_NAME, precedence: 2, origin: 'config' },
      ]);
      // The demo map is versioned by its content.
      expect(String(await db.scalar(`SELECT map_version FROM terminology.maps WHERE map_name = '${DEMO_MAP_NAME}'`))).toMatch(/^bundled-[0-9a-f]{12}$/);
      // gp's I10 is preferred over the demo map's: it comes first in the config.
      expect(await db.all(`SELECT map_name FROM terminology.code_lookup WHERE source_key = 'I10' AND is_preferred`)).toEqual([{ map_name: 'gp' }]);

      expect((await registerConfiguredMaps(db, both, NOW)).registered.every((m) => m.status === 'unchanged')).toBe(true);

      await registerMap(db, { file: join(dir, 'adhoc.csv'), name: 'adhoc', version: '1', origin: 'cli', now: NOW });
      const labOnly = configWith('terminology:\n  maps:\n    - { name: lab, version: "1", path: ./lab.csv }');
      const sync = await registerConfiguredMaps(db, labOnly, NOW);
      expect(sync.removed).toEqual([DEMO_MAP_NAME, 'gp']);
      expect(await db.all(`SELECT DISTINCT map_name FROM terminology.map_entries ORDER BY map_name`)).toEqual([{ map_name: 'adhoc' }, { map_name: 'lab' }]);
    } finally {
      db.close();
    }
  });

  it('follows a reordering of the config without new versions: the first listed map wins', async () => {
    const db = await DuckDb.open(':memory:');
    try {
      writeCsvMap(dir, 'other.csv', [{ system: 'icd10', code: 'I10', target: OTHER_CONCEPT }]);
      const gpFirst = configWith('terminology:\n  maps:\n    - { name: gp, version: "1", path: ./gp.csv }\n    - { name: other, version: "1", path: ./other.csv }');
      await registerConfiguredMaps(db, gpFirst, NOW);
      expect(await db.all(`SELECT map_name FROM terminology.code_lookup WHERE source_key = 'I10' AND is_preferred`)).toEqual([{ map_name: 'gp' }]);
      const otherFirst = configWith('terminology:\n  maps:\n    - { name: other, version: "1", path: ./other.csv }\n    - { name: gp, version: "1", path: ./gp.csv }');
      const sync = await registerConfiguredMaps(db, otherFirst, NOW);
      expect(sync.registered.map((m) => m.status)).toEqual(['unchanged', 'unchanged']);
      expect(await db.all(`SELECT map_name, snomed_code FROM terminology.code_lookup WHERE source_key = 'I10' AND is_preferred`)).toEqual([{ map_name: 'other', snomed_code: OTHER_CONCEPT }]);
    } finally {
      db.close();
    }
  });

  it('fails on a configured file that is missing, naming it', async () => {
    const db = await DuckDb.open(':memory:');
    try {
      const config = configWith('terminology:\n  maps: [{ name: uk, version: "1", path: ./trud/missing.txt }]');
      await expect(registerConfiguredMaps(db, config, NOW)).rejects.toThrow(join(dir, 'trud', 'missing.txt'));
    } finally {
      db.close();
    }
  });
});

describe('ensureTerminologySchema', () => {
  it('rebuilds a code_lookup built by other SQL (another carelake version), keeping the maps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carelake-stale-lookup-'));
    const db = await DuckDb.open(':memory:');
    try {
      const file = writeCsvMap(dir, 'lab.csv', [{ system: LAB, code: 'NA', target: '1000661000000107' }]);
      await registerMap(db, { file, name: 'lab', version: '1', origin: 'cli', now: NOW });
      await db.run(`CREATE OR REPLACE TABLE terminology.code_lookup AS SELECT 'old shape' AS x`);
      await ensureTerminologySchema(db);
      expect(await db.all(`SELECT map_rule, snomed_code FROM terminology.code_lookup`)).toEqual([{ map_rule: 'local', snomed_code: '1000661000000107' }]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
