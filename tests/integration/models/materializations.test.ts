// Each materialization on a real in-memory DuckDB: incremental runs (append, delete+insert on a
// unique_key, --full-refresh, on_schema_change: fail), ephemeral models inlined as CTEs, external
// models written to Parquet (plain and Hive-partitioned) and read back through their view, and seeds
// with column_types and a delimiter.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { runProject } from '../../../transforms/models/runProject.ts';
import { DEFAULT_PROJECT_YML, NOW, TARGET, relationType, tinyProject, withRun } from './tinyProject.ts';

/** Runs the project twice on one database, changing the var `batch` between runs. */
async function twoRuns(
  files: Record<string, string>,
  second: { batch: number; fullRefresh?: boolean },
  check: (db: DuckDb, outcomes: Awaited<ReturnType<typeof runProject>>[]) => Promise<void>,
): Promise<void> {
  const project = await tinyProject(files);
  const db = await DuckDb.open(':memory:');
  try {
    const base = { projectDir: project.dir, db, env: {}, target: TARGET, now: NOW };
    const first = await runProject({ ...base, vars: { batch: 1 } });
    const again = await runProject({ ...base, vars: { batch: second.batch }, fullRefresh: second.fullRefresh ?? false });
    await check(db, [first, again]);
  } finally {
    db.close();
    await project.cleanup();
  }
}

// Batch 1 has ids 1-2; batch 2 has ids 2-3 with id 2 changed.
const BATCHES = `select * from (values (1, 1, 'a'), (1, 2, 'b'), (2, 2, 'B'), (2, 3, 'c')) as t(batch, id, v)`;

describe('incremental models', () => {
  const model = (config: string) => ({
    'models/events.sql': `{{ config(materialized='incremental'${config}) }}
select id, v from (${BATCHES}) s
where batch = {{ var('batch') }}
{% if is_incremental() %} and id >= (select min(id) from {{ this }}) {% endif %}`,
  });

  it('without a unique_key appends the new rows to the existing table', async () => {
    await twoRuns(model(''), { batch: 2 }, async (db, [first, again]) => {
      expect(first?.results.results[0]?.adapter_response.rows_affected).toBe(2);
      expect(again?.results.results[0]?.adapter_response.rows_affected).toBe(2);
      expect(await db.all('select id, v from main.events order by id, v')).toEqual([
        { id: 1, v: 'a' },
        { id: 2, v: 'B' },
        { id: 2, v: 'b' },
        { id: 3, v: 'c' },
      ]);
    });
  });

  it('with a unique_key deletes the replaced rows, then inserts (delete+insert)', async () => {
    await twoRuns(model(", unique_key='id'"), { batch: 2 }, async (db) => {
      expect(await db.all('select id, v from main.events order by id')).toEqual([
        { id: 1, v: 'a' },
        { id: 2, v: 'B' },
        { id: 3, v: 'c' },
      ]);
    });
  });

  it('a list unique_key matches on every column', async () => {
    await twoRuns(model(", unique_key=['id', 'v']"), { batch: 2 }, async (db) => {
      // (2, 'b') and (2, 'B') differ on v, so both stay.
      expect(await db.scalar('select count(*)::INTEGER from main.events')).toBe(4);
    });
  });

  it('--full-refresh rebuilds the table from the model alone', async () => {
    await twoRuns(model(", unique_key='id'"), { batch: 2, fullRefresh: true }, async (db) => {
      expect(await db.all('select id, v from main.events order by id')).toEqual([
        { id: 2, v: 'B' },
        { id: 3, v: 'c' },
      ]);
    });
  });

  it('is_incremental() is false on the first run and true on the next', async () => {
    const files = {
      'models/flag.sql': "{{ config(materialized='incremental') }} select {{ 'true' if is_incremental() else 'false' }} as incremental, {{ var('batch') }} as batch",
    };
    await twoRuns(files, { batch: 2 }, async (db) => {
      expect(await db.all('select incremental, batch from main.flag order by batch')).toEqual([
        { incremental: false, batch: 1 },
        { incremental: true, batch: 2 },
      ]);
    });
  });

  it('on_schema_change: fail stops a run whose columns changed and keeps the table', async () => {
    const files = {
      'models/wide.sql': `{{ config(materialized='incremental', on_schema_change='fail') }}
select 1 as id {% if var('batch') == 2 %}, 'new' as extra {% endif %}`,
    };
    await twoRuns(files, { batch: 2 }, async (db, [, again]) => {
      const result = again?.results.results[0];
      expect(result?.status).toBe('error');
      expect(result?.message).toContain('on_schema_change is fail');
      expect(await db.scalar('select count(*)::INTEGER from main.wide')).toBe(1);
    });
  });

  it('by default (ignore) a new column is left out and the target keeps its columns', async () => {
    const files = {
      'models/wide.sql': `{{ config(materialized='incremental') }}
select {{ var('batch') }} as id {% if var('batch') == 2 %}, 'new' as extra {% endif %}`,
    };
    await twoRuns(files, { batch: 2 }, async (db) => {
      expect(await db.all('select * from main.wide order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    });
  });

  it('an unsupported strategy is reported with the model name', async () => {
    await withRun({ 'models/m.sql': "{{ config(materialized='incremental', incremental_strategy='merge') }} select 1 as id" }, {}, async ({ results }) => {
      expect(results.results[0]?.status).toBe('error');
      expect(results.results[0]?.message).toContain("incremental_strategy 'merge' is not supported");
      expect(results.results[0]?.message).toContain('models/m.sql');
    });
  });
});

describe('ephemeral models', () => {
  it('are inlined as CTEs into consumers, nested and next to the consumer\'s own CTEs, and never built', async () => {
    const files = {
      'models/base.sql': "{{ config(materialized='ephemeral') }} select 1 as id union all select 2",
      'models/doubled.sql': "{{ config(materialized='ephemeral') }} select id * 2 as id from {{ ref('base') }}",
      'models/final.sql': "-- a leading comment\nwith extra as (select 10 as id)\nselect id from {{ ref('doubled') }} union all select id from extra union all select id from {{ ref('base') }}",
    };
    await withRun(files, {}, async ({ results, manifest }, db) => {
      expect(results.results.map((r) => r.unique_id)).toEqual(['model.carelake.final']);
      expect(await db.all('select id from main.final order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 2 }, { id: 4 }, { id: 10 }]);
      expect(await relationType(db, 'main', 'base')).toBeNull();
      expect(manifest.nodes['model.carelake.final']?.compiled_code).toContain('__dbt__cte__doubled as (');
    });
  });

  it('a failing parent of an ephemeral model skips the model that inlines it', async () => {
    const files = {
      'models/broken.sql': 'select * from no_such_table',
      'models/eph.sql': "{{ config(materialized='ephemeral') }} select * from {{ ref('broken') }}",
      'models/consumer.sql': "select * from {{ ref('eph') }}",
    };
    await withRun(files, {}, async ({ results }) => {
      const consumer = results.results.find((r) => r.unique_id === 'model.carelake.consumer');
      expect(consumer?.status).toBe('skipped');
      expect(consumer?.message).toContain('model.carelake.broken failed');
    });
  });
});

describe('external models', () => {
  it('write Parquet under external_root and are read back through a view', async () => {
    const files = { 'models/export.sql': "{{ config(materialized='external') }} select 1 as id, 'x' as v union all select 2, 'y'" };
    await withRun(files, {}, async ({ results }, db, dir) => {
      expect(results.results[0]?.adapter_response.rows_affected).toBe(2);
      expect(await relationType(db, 'main', 'export')).toBe('VIEW');
      expect(await db.scalar("select count(*)::INTEGER from read_parquet(?)", [join(dir, 'target', 'external', 'export.parquet')])).toBe(2);
      expect(await db.all('select id, v from main.export order by id')).toEqual([
        { id: 1, v: 'x' },
        { id: 2, v: 'y' },
      ]);
    });
  });

  it('partition_by writes a Hive-partitioned folder, replaced on the next run', async () => {
    const files = {
      'models/by_region.sql': "{{ config(materialized='external', options={'partition_by': 'region'}) }} select * from (values (1, 'north'), (2, 'south'), (3, 'north')) t(id, region)",
    };
    const project = await tinyProject(files);
    const db = await DuckDb.open(':memory:');
    try {
      const run = () => runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW });
      await run();
      await run();
      const folder = join(project.dir, 'target', 'external', 'by_region');
      expect((await readdir(folder)).sort()).toEqual(['region=north', 'region=south']);
      expect(await db.all('select region, count(*)::INTEGER as n from main.by_region group by region order by region')).toEqual([
        { region: 'north', n: 2 },
        { region: 'south', n: 1 },
      ]);
    } finally {
      db.close();
      await project.cleanup();
    }
  });

  it('an unknown format is reported with the model', async () => {
    await withRun({ 'models/x.sql': "{{ config(materialized='external', format='xlsx') }} select 1 as id" }, {}, async ({ results }) => {
      expect(results.results[0]?.message).toContain('format must be one of parquet, csv, json');
    });
  });
});

describe('seeds', () => {
  const files = {
    'dbt_project.yml': `${DEFAULT_PROJECT_YML}seeds:\n  carelake:\n    +schema: seeds\n    codes:\n      +column_types: {code: varchar}\n      +delimiter: "|"\n`,
    'seeds/codes.csv': 'code|display\n0123|Leading zero\n45|Plain\n',
    'models/coded.sql': "select code, display from {{ ref('codes') }}",
  };

  it('load CSV with column_types and a delimiter into the seed schema, and models can ref them', async () => {
    await withRun(files, { command: 'build' }, async ({ results, manifest }, db) => {
      expect(results.results.map((r) => [r.unique_id, r.status])).toEqual([
        ['seed.carelake.codes', 'success'],
        ['model.carelake.coded', 'success'],
      ]);
      expect(manifest.nodes['seed.carelake.codes']?.resource_type).toBe('seed');
      expect(await db.all('select code from main_seeds.codes order by code')).toEqual([{ code: '0123' }, { code: '45' }]);
      expect(await db.scalar('select count(*)::INTEGER from main.coded')).toBe(2);
    });
  });

  it('`seed` loads seeds only and `run` leaves them alone', async () => {
    await withRun(files, { command: 'seed' }, async ({ results }) => {
      expect(results.results.map((r) => r.unique_id)).toEqual(['seed.carelake.codes']);
    });
    await withRun(files, { command: 'run' }, async ({ results }) => {
      expect(results.results.map((r) => r.unique_id)).toEqual(['model.carelake.coded']);
    });
  });
});
