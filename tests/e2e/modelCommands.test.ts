// The model commands through the real `carelake` binary, on a small dbt project of its own (set by
// models.projectDir in carelake.yml): build, run with a selector, test, seed, compile, docs, source
// freshness, and the SQL-on-FHIR view commands — each writing its artifact, printing what ran, and
// exiting non-zero exactly when something failed.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carelakeCli } from '../support/carelakeCli.ts';

const carelake = (cwd: string, ...args: string[]) => carelakeCli(cwd, args, 'ab'.repeat(32));

const PROJECT: Record<string, string> = {
  'dbt_project.yml': 'name: carelake\nconfig-version: 2\nprofile: carelake\ntest-paths: ["models/tests"]\nseeds:\n  carelake:\n    practices:\n      +column_types: {ods: varchar}\n',
  'seeds/practices.csv': 'ods,name\nA81001,The Surgery\nA81002,Health Centre\n',
  'models/sources.yml': `version: 2
sources:
  - name: feed
    meta:
      external_location: "read_csv('${'{{ var(\'feed_dir\') }}'}/{name}.csv', header = true)"
    loaded_at_field: loaded_at::timestamp
    freshness:
      error_after: {count: 1, period: day}
    tables:
      - name: visits
`,
  'models/visits.sql': "select v.*, p.name from {{ source('feed', 'visits') }} v left join {{ ref('practices') }} p using (ods)",
  'models/visits_per_practice.sql': "{{ config(materialized='table') }} select ods, count(*) as visits from {{ ref('visits') }} group by ods",
  'models/schema.yml': 'version: 2\nmodels:\n  - name: visits\n    columns:\n      - name: ods\n        data_tests:\n          - relationships: {to: ref(\'practices\'), field: ods}\n',
  'models/tests/assert_visits_named.sql': "select * from {{ ref('visits') }} where name is null",
};

describe('carelake model commands', () => {
  let dir: string;
  let project: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'carelake-models-cli-'));
    project = join(dir, 'proj');
    for (const [path, text] of Object.entries(PROJECT)) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    }
    mkdirSync(join(dir, 'feed'));
    const today = new Date().toISOString().slice(0, 19).replace('T', ' ');
    writeFileSync(join(dir, 'feed', 'visits.csv'), `id,ods,loaded_at\n1,A81001,${today}\n2,A81002,${today}\n3,A81001,${today}\n`);
    writeFileSync(join(dir, 'carelake.yml'), `lake: ./lake\nmodels:\n  projectDir: ./proj\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const vars = () => ['--vars', `{feed_dir: ${join(dir, 'feed')}}`];

  it('run builds only the selection; seed loads seeds; test runs the tests; all write run_results.json', async () => {
    const seed = await carelake(dir, 'seed', ...vars());
    expect(seed.stdout).toContain('Ran 1 node');
    const run = await carelake(dir, 'run', '-s', '+visits_per_practice', '--exclude', 'practices', ...vars());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Ran 2 nodes');
    const test = await carelake(dir, 'test', ...vars());
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/Ran 2 nodes .*: 2 pass/);
    const results = JSON.parse(readFileSync(join(project, 'target', 'run_results.json'), 'utf8')) as { args: { which: string } };
    expect(results.args.which).toBe('test');
    const fresh = await carelake(dir, 'source', 'freshness', ...vars());
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/pass\s+source\.carelake\.feed\.visits/);
    const sources = JSON.parse(readFileSync(join(project, 'target', 'sources.json'), 'utf8')) as { results: { status: string }[] };
    expect(sources.results.map((r) => r.status)).toEqual(['pass']);
  });

  it('a failing test exits 1 and names the test; build then skips nothing unrelated', async () => {
    writeFileSync(join(dir, 'feed', 'visits.csv'), `id,ods,loaded_at\n1,A81001,2020-01-01 00:00:00\n2,Z99999,2020-01-01 00:00:00\n`);
    const build = await carelake(dir, 'build', '--no-publish', ...vars());
    expect(build.code).toBe(1);
    expect(build.stdout).toMatch(/fail\s+test\.carelake\.assert_visits_named/);
    expect(build.stdout).toMatch(/skipped\s+model\.carelake\.visits_per_practice — Skipped because test/);
  });

  it('source freshness exits 1 once the newest load is past error_after; a missing var is named', async () => {
    const stale = await carelake(dir, 'source', 'freshness', ...vars());
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/error\s+source\.carelake\.feed\.visits \(\d+\.\dd old\)/);
    const noVars = await carelake(dir, 'source', 'freshness');
    expect(noVars.code).not.toBe(0);
    expect(noVars.stderr).toContain("var('feed_dir')");
  });

  it('compile writes compiled SQL and the manifest; docs writes the catalog and lineage', async () => {
    const compile = await carelake(dir, 'compile', ...vars());
    expect(compile.code).toBe(0);
    expect(readFileSync(join(project, 'target', 'compiled', 'carelake', 'models', 'visits.sql'), 'utf8')).toContain('"main"."practices"');
    const docs = await carelake(dir, 'docs', ...vars());
    expect(docs.code).toBe(0);
    const catalog = JSON.parse(readFileSync(join(project, 'target', 'catalog.json'), 'utf8')) as { nodes: Record<string, { columns: Record<string, { type: string }> }> };
    expect(catalog.nodes['model.carelake.visits_per_practice']?.columns.visits?.type).toBe('BIGINT');
    const lineage = JSON.parse(readFileSync(join(project, 'target', 'lineage.json'), 'utf8')) as { edges: { from: string; to: string }[] };
    expect(lineage.edges).toContainEqual({ from: 'seed.carelake.practices', to: 'model.carelake.visits' });
  });

  it('view sql prints the compiled SQL; view run prints columns and rows; an invalid view exits non-zero', async () => {
    const view = join(dir, 'patient.json');
    writeFileSync(view, JSON.stringify({ resourceType: 'ViewDefinition', resource: 'Patient', select: [{ column: [{ name: 'id', path: 'getResourceKey()' }, { name: 'active', path: 'active' }] }] }));
    const resources = join(dir, 'patients.ndjson');
    writeFileSync(resources, `${JSON.stringify({ resourceType: 'Patient', id: 'p1', active: true })}\n${JSON.stringify({ resourceType: 'Patient', id: 'p2' })}\n`);
    const sql = await carelake(dir, 'view', 'sql', '--view', view);
    expect(sql.code).toBe(0);
    expect(sql.stdout.toLowerCase()).toContain('select');
    const run = await carelake(dir, 'view', 'run', '--view', view, '--resources', resources);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { columns: string[]; rows: Record<string, unknown>[] };
    expect(out.columns).toEqual(['id', 'active']);
    expect(out.rows).toEqual(expect.arrayContaining([{ id: 'p1', active: true }, { id: 'p2', active: null }]));
    writeFileSync(view, JSON.stringify({ resourceType: 'ViewDefinition', resource: 'Patient', where: [{ path: 'name.family' }], select: [{ column: [{ name: 'id', path: 'id' }] }] }));
    const bad = await carelake(dir, 'view', 'run', '--view', view, '--resources', resources);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/where/);
  });
});
