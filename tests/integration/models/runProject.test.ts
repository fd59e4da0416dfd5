// The model runner end to end: tiny dbt projects written to temp folders, run on a real in-memory
// DuckDB. Checks DAG order, error texts (which name the file), config and schema resolution, sources
// over real hive-partitioned Parquet, failure isolation and the artifacts written under target/.

import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { ModelProjectError } from '../../../transforms/models/problems.ts';
import { compileProject, runProject } from '../../../transforms/models/runProject.ts';
import { DEFAULT_PROJECT_YML, NOW, TARGET, relationType, runError, tinyProject, withRun, type Extra } from './tinyProject.ts';


interface OrderCase {
  description: string;
  files: Record<string, string>;
  order: string[];
  parents: Record<string, string[]>;
  query: string;
  rows: Record<string, unknown>[];
}

interface ErrorCase {
  description: string;
  files: Record<string, string>;
  expected: string[];
  extra?: Extra;
}

describe('runProject: refs, DAG order and results', () => {
  const cases: OrderCase[] = [
    {
      description: 'a chain runs parents first whatever the file order',
      files: {
        'models/c_final.sql': "select * from {{ ref('b_middle') }}",
        'models/b_middle.sql': "select id + 1 as id from {{ ref('a_first') }}",
        'models/a_first.sql': 'select 1 as id',
      },
      order: ['model.carelake.a_first', 'model.carelake.b_middle', 'model.carelake.c_final'],
      parents: { 'model.carelake.c_final': ['model.carelake.b_middle'], 'model.carelake.b_middle': ['model.carelake.a_first'], 'model.carelake.a_first': [] },
      query: 'select id from main.c_final',
      rows: [{ id: 2 }],
    },
    {
      description: 'a diamond joins two branches after both are built',
      files: {
        'models/staging/stg_base.sql': 'select 1 as id',
        'models/staging/stg_left.sql': "select id, 'l' as side from {{ ref('stg_base') }}",
        'models/staging/stg_right.sql': "select id, 'r' as side from {{ ref('stg_base') }}",
        'models/marts/fct_both.sql': "select l.id, l.side || r.side as sides from {{ ref('stg_left') }} l join {{ ref('stg_right') }} r using (id)",
      },
      order: ['model.carelake.stg_base', 'model.carelake.stg_left', 'model.carelake.stg_right', 'model.carelake.fct_both'],
      parents: { 'model.carelake.fct_both': ['model.carelake.stg_left', 'model.carelake.stg_right'] },
      query: 'select sides from main.fct_both',
      rows: [{ sides: 'lr' }],
    },
  ];

  it.each(cases)('$description', async ({ files, order, parents, query, rows }) => {
    await withRun(files, {}, async ({ manifest, results }, db) => {
      expect(results.results.map((r) => r.unique_id)).toEqual(order);
      expect(results.results.every((r) => r.status === 'success')).toBe(true);
      for (const [id, expected] of Object.entries(parents)) expect(manifest.parent_map[id]).toEqual(expected);
      expect(await db.all(query)).toEqual(rows);
    });
  });
});

describe('runProject: project errors are collected, name the file and stop the run', () => {
  const cases: ErrorCase[] = [
    {
      description: 'a cycle is reported as a --> b --> a',
      files: { 'models/a.sql': "select * from {{ ref('b') }}", 'models/b.sql': "select * from {{ ref('a') }}" },
      expected: ['Found a cycle: model.carelake.a --> model.carelake.b --> model.carelake.a'],
    },
    {
      description: 'an unknown ref names the model and its file',
      files: { 'models/marts/x.sql': "select 1 as id\n-- joins\nfrom {{ ref('y') }}" },
      expected: ["Model 'model.carelake.x' (models/marts/x.sql) depends on a model named 'y' which was not found.", 'models/marts/x.sql:3'],
    },
    {
      description: 'an unknown source names the model, the source and the file',
      files: { 'models/stg.sql': "select * from {{ source('esr', 'nope') }}" },
      expected: ["Model 'model.carelake.stg' (models/stg.sql) depends on a source named 'esr.nope' which was not found."],
    },
    {
      description: 'a Jinja syntax error names the file',
      files: { 'models/broken.sql': 'select {{ 1 + }} as x' },
      expected: ['Jinja syntax error in models/broken.sql'],
    },
    {
      description: 'an unclosed block names the file',
      files: { 'models/unclosed.sql': '{% if true %}select 1' },
      expected: ['Jinja syntax error in models/unclosed.sql'],
    },
    {
      description: 'a var with no value and no default names the file',
      files: { 'models/v.sql': "select {{ var('missing_var') }} as x" },
      expected: ["Model 'model.carelake.v' (models/v.sql) uses var('missing_var'), which is not set and has no default"],
    },
    {
      description: 'an env_var with no value and no default names the file',
      files: { 'models/e.sql': "select '{{ env_var('CARELAKE_NOT_SET') }}' as x" },
      expected: ["Model 'model.carelake.e' (models/e.sql) uses env_var('CARELAKE_NOT_SET'), which is not set and has no default"],
    },
    {
      description: 'an unsupported materialization names the model and lists the supported ones',
      files: { 'models/inc.sql': "{{ config(materialized='snapshot') }}select 1 as id" },
      expected: ["Model 'model.carelake.inc' (models/inc.sql) is materialized as 'snapshot'", 'supported: view, table'],
    },
    {
      description: 'a ref to a disabled model says it is disabled',
      files: {
        'models/off.sql': '{{ config(enabled=false) }}select 1 as id',
        'models/on.sql': "select * from {{ ref('off') }}",
      },
      expected: ["Model 'model.carelake.on' (models/on.sql) depends on a model named 'off' which is disabled."],
    },
    {
      description: 'two models with one name are both named',
      files: { 'models/a/dup.sql': 'select 1 as id', 'models/b/dup.sql': 'select 2 as id' },
      expected: ["Found two models with the name 'dup': models/a/dup.sql and models/b/dup.sql"],
    },
    {
      description: 'every problem is listed together in one error',
      files: {
        'models/one.sql': "select * from {{ ref('ghost') }}",
        'models/two.sql': "select * from {{ source('nowhere', 't') }}",
        'models/props.yml': 'version: 2\nmodels:\n  - description: no name here\n',
      },
      expected: [
        'Found 3 problems',
        "depends on a model named 'ghost'",
        "depends on a source named 'nowhere.t'",
        "models/props.yml: key 'models[0].name' is missing",
      ],
    },
    {
      description: 'a YAML syntax error in a property file names the file and line',
      files: { 'models/a.sql': 'select 1 as id', 'models/staging/_sources.yml': 'version: 2\nsources:\n  - name: [esr\n' },
      expected: ['models/staging/_sources.yml is not valid YAML', '(models/staging/_sources.yml:4:1)'],
    },
    {
      description: 'a wrongly typed key in dbt_project.yml names the file, key and line',
      files: { 'dbt_project.yml': `${DEFAULT_PROJECT_YML}models:\n  carelake:\n    +materialized: [view]\n`, 'models/a.sql': 'select 1 as id' },
      expected: ["dbt_project.yml: key 'models.carelake.+materialized' is invalid: expected a materialization name such as view or table, got a list", 'dbt_project.yml:7'],
    },
  ];

  it.each(cases)('$description', async ({ files, expected, extra }) => {
    const error = await runError(files, extra ?? {});
    expect(error).toBeInstanceOf(ModelProjectError);
    const text = error.render();
    for (const fragment of expected) expect(text).toContain(fragment);
  });

  it('writes nothing under target/ when the project is invalid', async () => {
    const project = await tinyProject({ 'models/a.sql': "select * from {{ ref('ghost') }}" });
    const db = await DuckDb.open(':memory:');
    try {
      await expect(runProject({ projectDir: project.dir, db, env: {}, target: TARGET, now: NOW })).rejects.toThrow(ModelProjectError);
      await expect(stat(join(project.dir, 'target'))).rejects.toThrow();
      expect(await db.scalar("SELECT count(*)::INTEGER FROM information_schema.tables WHERE table_schema <> 'information_schema'")).toBe(0);
    } finally {
      db.close();
      await project.cleanup();
    }
  });
});

describe('runProject: var and env_var', () => {
  const cases = [
    { description: 'var falls back to its default', sql: "select {{ var('limit', 5) }} as v", extra: {}, expected: 5 },
    { description: 'var reads dbt_project.yml vars', sql: "select {{ var('project_var', 0) }} as v", extra: {}, expected: 7 },
    { description: 'var scoped under the project name wins over a global one', sql: "select {{ var('scoped', 0) }} as v", extra: {}, expected: 2 },
    { description: 'invocation vars win over project vars', sql: "select {{ var('project_var') }} as v", extra: { vars: { project_var: 11 } }, expected: 11 },
    { description: 'env_var falls back to its default', sql: "select '{{ env_var('CARELAKE_TEST_UNSET', 'fallback') }}' as v", extra: {}, expected: 'fallback' },
    {
      description: 'env_var reads the env object passed in',
      sql: "select '{{ env_var('CARELAKE_TEST_SET', 'fallback') }}' as v",
      extra: { env: { CARELAKE_TEST_SET: 'from-env' } },
      expected: 'from-env',
    },
    { description: 'target.name and target.schema render', sql: "select '{{ target.name }}/{{ target.schema }}' as v", extra: {}, expected: 'dev/main' },
  ];
  const projectYml = `${DEFAULT_PROJECT_YML}vars:\n  project_var: 7\n  scoped: 1\n  carelake:\n    scoped: 2\n`;

  it.each(cases)('$description', async ({ sql, extra, expected }) => {
    await withRun({ 'dbt_project.yml': projectYml, 'models/m.sql': sql }, extra, async (_outcome, db) => {
      expect(await db.scalar('select v from main.m')).toBe(expected);
    });
  });
});

describe('runProject: config and schemas', () => {
  const projectYml = `${DEFAULT_PROJECT_YML}models:
  carelake:
    +materialized: view
    marts:
      +schema: curated
      +materialized: table
      +tags: [marts]
`;
  const cases = [
    {
      description: 'folder +materialized: view applies when the model sets nothing',
      file: 'models/staging/stg_a.sql',
      sql: 'select 1 as id',
      schema: 'main',
      type: 'VIEW',
      tags: [],
    },
    {
      description: "config(materialized='table') in the file beats folder +materialized: view",
      file: 'models/staging/stg_b.sql',
      sql: "{{ config(materialized='table') }}select 1 as id",
      schema: 'main',
      type: 'BASE TABLE',
      tags: [],
    },
    {
      description: 'folder +schema: curated on target main builds in main_curated',
      file: 'models/marts/fct_c.sql',
      sql: 'select 1 as id',
      schema: 'main_curated',
      type: 'BASE TABLE',
      tags: ['marts'],
    },
    {
      description: 'config(schema=…) in the file gives main_<schema>, and tags accumulate',
      file: 'models/marts/fct_d.sql',
      sql: "{{ config(schema='serving', materialized='view', tags=['daily']) }}select 1 as id",
      schema: 'main_serving',
      type: 'VIEW',
      tags: ['marts', 'daily'],
    },
  ];

  it.each(cases)('$description', async ({ file, sql, schema, type, tags }) => {
    const name = file.split('/').pop()?.replace('.sql', '') ?? '';
    await withRun({ 'dbt_project.yml': projectYml, [file]: sql }, {}, async ({ manifest }, db) => {
      expect(await relationType(db, schema, name)).toBe(type);
      const node = manifest.nodes[`model.carelake.${name}`];
      expect(node?.schema).toBe(schema);
      expect(node?.relation_name).toBe(`"${schema}"."${name}"`);
      expect(node?.config.tags).toEqual(tags);
    });
  });

  it('a property file config sits between the folder and the file', async () => {
    const files = {
      'dbt_project.yml': projectYml,
      'models/marts/fct_e.sql': 'select 1 as id',
      'models/marts/_marts.yml': 'version: 2\nmodels:\n  - name: fct_e\n    description: Episodes\n    config:\n      materialized: view\n    columns:\n      - name: id\n        description: Episode id\n',
    };
    await withRun(files, {}, async ({ manifest }, db) => {
      expect(await relationType(db, 'main_curated', 'fct_e')).toBe('VIEW');
      const node = manifest.nodes['model.carelake.fct_e'];
      expect(node?.description).toBe('Episodes');
      expect(node?.columns.id?.description).toBe('Episode id');
      expect(node?.patch_path).toBe('carelake://models/marts/_marts.yml');
    });
  });

  it('rebuilding a view as a table (and back) replaces the relation', async () => {
    const project = await tinyProject({ 'models/m.sql': 'select 1 as id' });
    const db = await DuckDb.open(':memory:');
    try {
      const options = { projectDir: project.dir, db, env: {}, target: TARGET, now: NOW };
      await runProject(options);
      expect(await relationType(db, 'main', 'm')).toBe('VIEW');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(project.dir, 'models/m.sql'), "{{ config(materialized='table') }}select 2 as id");
      const second = await runProject(options);
      expect(second.results.results[0]?.status).toBe('success');
      expect(await relationType(db, 'main', 'm')).toBe('BASE TABLE');
      await writeFile(join(project.dir, 'models/m.sql'), 'select 3 as id');
      await runProject(options);
      expect(await relationType(db, 'main', 'm')).toBe('VIEW');
      expect(await db.scalar('select id from main.m')).toBe(3);
    } finally {
      db.close();
      await project.cleanup();
    }
  });
});

describe('runProject: sources', () => {
  it('reads a hive-partitioned Parquet source through meta.external_location', async () => {
    const project = await tinyProject({
      'models/staging/_sources.yml': `version: 2
sources:
  - name: esr
    meta:
      external_location: "read_parquet('{{ env_var('LAKE_ROOT') }}/raw/esr/{name}/*/*.parquet', hive_partitioning = true)"
    tables:
      - name: assignments
`,
      'models/staging/stg_esr_assignments.sql': "select id, grade, load_date from {{ source('esr', 'assignments') }}",
    });
    const lake = join(project.dir, 'lake');
    const db = await DuckDb.open(':memory:');
    try {
      for (const [day, first] of [
        ['2025-02-27', 0],
        ['2025-02-28', 10],
      ] as const) {
        const dir = join(lake, 'raw', 'esr', 'assignments', `load_date=${day}`);
        await mkdir(dir, { recursive: true });
        await db.run(`COPY (SELECT (range + ${first})::INTEGER AS id, 'Band ' || (range % 3 + 5) AS grade FROM range(4)) TO '${join(dir, 'run1-0.parquet')}' (FORMAT parquet)`);
      }
      const { results, manifest } = await runProject({ projectDir: project.dir, db, env: { LAKE_ROOT: lake }, target: TARGET, now: NOW });
      expect(results.results.map((r) => r.status)).toEqual(['success']);
      expect(await db.all('select load_date::VARCHAR as d, count(*)::INTEGER as n from main.stg_esr_assignments group by 1 order by 1')).toEqual([
        { d: '2025-02-27', n: 4 },
        { d: '2025-02-28', n: 4 },
      ]);
      const source = manifest.sources['source.carelake.esr.assignments'];
      expect(source?.relation_name).toBe(`read_parquet('${lake}/raw/esr/assignments/*/*.parquet', hive_partitioning = true)`);
      expect(manifest.child_map['source.carelake.esr.assignments']).toEqual(['model.carelake.stg_esr_assignments']);
    } finally {
      db.close();
      await project.cleanup();
    }
  });

  const relationCases = [
    {
      description: 'a plain path is single-quoted, with {identifier} filled in',
      yml: "meta:\n      external_location: '/lake/{schema}/{identifier}.parquet'\n    tables:\n      - name: people\n        identifier: people_v2",
      expected: "'/lake/esr/people_v2.parquet'",
    },
    {
      description: "table config.external_location wins over the source's meta",
      yml: "meta:\n      external_location: '/lake/{name}.parquet'\n    tables:\n      - name: people\n        config:\n          external_location: \"read_csv('/other/{name}.csv')\"",
      expected: "read_csv('/other/people.csv')",
    },
    {
      description: 'without an external location the source is "schema"."identifier"',
      yml: 'schema: landing\n    tables:\n      - name: people',
      expected: '"landing"."people"',
    },
    {
      description: 'the schema defaults to the source name',
      yml: 'tables:\n      - name: people',
      expected: '"esr"."people"',
    },
  ];

  it.each(relationCases)('$description', async ({ yml, expected }) => {
    const project = await tinyProject({
      'models/_sources.yml': `version: 2\nsources:\n  - name: esr\n    ${yml}\n`,
      'models/stg_people.sql': "select * from {{ source('esr', 'people') }}",
    });
    try {
      const { compiled } = await compileProject({ projectDir: project.dir, env: {}, target: TARGET, now: NOW });
      expect(compiled[0]?.compiledSql).toBe(`select * from ${expected}`);
    } finally {
      await project.cleanup();
    }
  });

  it('an external_location with an unknown placeholder names the source and file', async () => {
    const error = await runError({
      'models/_sources.yml': "version: 2\nsources:\n  - name: esr\n    meta:\n      external_location: '/lake/{nope}.parquet'\n    tables:\n      - name: people\n",
      'models/stg.sql': "select * from {{ source('esr', 'people') }}",
    });
    expect(error.render()).toContain("Source 'source.carelake.esr.people' (models/_sources.yml) has an external_location that cannot be resolved: '{nope}' names nothing");
  });

  it('an external_location needing an unset env_var names the source, file and line', async () => {
    const error = await runError({
      'models/_sources.yml': "version: 2\nsources:\n  - name: esr\n    tables:\n      - name: people\n        meta:\n          external_location: \"{{ env_var('CARELAKE_LAKE_UNSET') }}/p.parquet\"\n",
      'models/stg.sql': "select * from {{ source('esr', 'people') }}",
    });
    expect(error.render()).toContain("Source 'source.carelake.esr.people' (models/_sources.yml) uses env_var('CARELAKE_LAKE_UNSET'), which is not set and has no default (models/_sources.yml:5)");
  });
});

describe('runProject: failures are isolated', () => {
  it('a failing model skips its descendants while its siblings still run', async () => {
    const files = {
      'models/base.sql': 'select 1 as id',
      'models/bad.sql': "select no_such_column from {{ ref('base') }}",
      'models/bad_child.sql': "select * from {{ ref('bad') }}",
      'models/bad_grandchild.sql': "select * from {{ ref('bad_child') }}",
      'models/good.sql': "select id from {{ ref('base') }}",
    };
    await withRun(files, {}, async ({ results }, db) => {
      const status = Object.fromEntries(results.results.map((r) => [r.unique_id.replace('model.carelake.', ''), r.status]));
      expect(status).toEqual({ base: 'success', bad: 'error', bad_child: 'skipped', bad_grandchild: 'skipped', good: 'success' });
      const bad = results.results.find((r) => r.unique_id === 'model.carelake.bad');
      expect(bad?.message).toContain('no_such_column');
      expect(bad?.message).toContain('called by model bad (models/bad.sql)');
      expect(bad?.message).toContain('target/compiled/carelake/models/bad.sql');
      const skipped = results.results.find((r) => r.unique_id === 'model.carelake.bad_grandchild');
      expect(skipped?.message).toContain('model.carelake.bad failed');
      expect(await db.scalar('select count(*)::INTEGER from main.good')).toBe(1);
      expect(await relationType(db, 'main', 'bad')).toBeNull();
    });
  });

  it('a failed rebuild rolls back and leaves the previous table in place', async () => {
    const project = await tinyProject({ 'models/t.sql': "{{ config(materialized='table') }}select 1 as id" });
    const db = await DuckDb.open(':memory:');
    try {
      const options = { projectDir: project.dir, db, env: {}, target: TARGET, now: NOW };
      await runProject(options);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(project.dir, 'models/t.sql'), "{{ config(materialized='table') }}select 1 / 0 as id, error('boom') as e");
      const second = await runProject(options);
      expect(second.results.results[0]?.status).toBe('error');
      expect(await db.scalar('select id from main.t')).toBe(1);
    } finally {
      db.close();
      await project.cleanup();
    }
  });

  it('select runs only the named models', async () => {
    const files = { 'models/a.sql': 'select 1 as id', 'models/b.sql': "select * from {{ ref('a') }}" };
    await withRun(files, { select: ['a'] }, async ({ results }, db) => {
      expect(results.results.map((r) => r.unique_id)).toEqual(['model.carelake.a']);
      expect(await relationType(db, 'main', 'b')).toBeNull();
    });
  });
});

describe('runProject: macros', () => {
  const cases = [
    {
      description: 'a macro from macros/ renders inside a model',
      macros: "{% macro pence_to_pounds(col) %}({{ col }} / 100.0){% endmacro %}",
      sql: 'select {{ pence_to_pounds(250) }} as v',
      expected: 2.5,
    },
    {
      description: 'a macro can return a value with return()',
      macros: "{% macro grades() %}{{ return(['Band 5', 'Band 6']) }}{% endmacro %}",
      sql: "select {{ grades() | length }} as v",
      expected: 2,
    },
    {
      description: 'a macro may call ref() and var()',
      macros: "{% macro from_base() %}from {{ ref('base') }} where id < {{ var('max_id', 3) }}{% endmacro %}",
      sql: 'select count(*)::INTEGER as v {{ from_base() }}',
      expected: 3,
      extraFiles: { 'models/base.sql': 'select range as id from range(10)' },
    },
    {
      description: 'a generate_schema_name macro replaces the default naming, as in dbt',
      macros:
        "{% macro generate_schema_name(custom_schema_name, node) %}{% if custom_schema_name %}{{ custom_schema_name | trim }}{% else %}{{ target.schema }}{% endif %}{% endmacro %}",
      sql: "{{ config(schema='curated') }}select '{{ this.schema }}' as v",
      expected: 'curated',
      schema: 'curated',
    },
  ];

  it.each(cases)('$description', async ({ macros, sql, expected, extraFiles, schema }) => {
    await withRun({ 'macros/helpers.sql': macros, 'models/m.sql': sql, ...(extraFiles ?? {}) }, {}, async ({ results, manifest }, db) => {
      expect(results.results.every((r) => r.status === 'success')).toBe(true);
      expect(await db.scalar(`select v from "${schema ?? 'main'}".m`)).toBe(expected);
      expect(Object.keys(manifest.macros).length).toBeGreaterThan(0);
    });
  });
});

describe('runProject: artifacts', () => {
  it('writes manifest.json, run_results.json and compiled SQL in dbt shape', async () => {
    const files = {
      'models/staging/stg_a.sql': "{{ config(materialized='table') }}select 1 as id",
      'models/marts/fct_a.sql': "select * from {{ ref('stg_a') }}",
    };
    await withRun(files, { invocationId: 'inv-1' }, async ({ manifest, results }, _db, dir) => {
      const onDisk = JSON.parse(await readFile(join(dir, 'target', 'manifest.json'), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(onDisk)).toEqual(expect.arrayContaining(['schemaVersion', 'metadata', 'nodes', 'sources', 'macros', 'parent_map', 'child_map', 'disabled']));
      expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
      expect(manifest.schemaVersion).toBe(1);
      expect(manifest.metadata).toMatchObject({
        dbt_schema_version: 'https://schemas.getdbt.com/dbt/manifest/v12.json',
        generated_at: NOW.toISOString(),
        invocation_id: 'inv-1',
        project_name: 'carelake',
      });
      expect(manifest.nodes['model.carelake.fct_a']).toMatchObject({
        unique_id: 'model.carelake.fct_a',
        resource_type: 'model',
        path: 'marts/fct_a.sql',
        original_file_path: 'models/marts/fct_a.sql',
        fqn: ['carelake', 'marts', 'fct_a'],
        depends_on: { nodes: ['model.carelake.stg_a'] },
        refs: [{ name: 'stg_a', package: null, version: null }],
        compiled: true,
        compiled_code: 'select * from "main"."stg_a"',
        compiled_path: 'target/compiled/carelake/models/marts/fct_a.sql',
        config: { materialized: 'view' },
      });
      expect(manifest.child_map['model.carelake.stg_a']).toEqual(['model.carelake.fct_a']);

      const runResults = JSON.parse(await readFile(join(dir, 'target', 'run_results.json'), 'utf8')) as typeof results;
      expect(runResults.schemaVersion).toBe(1);
      expect(runResults.metadata).toMatchObject({ dbt_schema_version: 'https://schemas.getdbt.com/dbt/run-results/v6.json', invocation_id: 'inv-1' });
      expect(runResults.elapsed_time).toBeGreaterThanOrEqual(0);
      expect(runResults.args).toMatchObject({ which: 'run' });
      expect(runResults.phases.map((p) => p.name)).toEqual(['load', 'compile', 'write', 'execute']);
      const [first, second] = runResults.results;
      expect(first).toMatchObject({ unique_id: 'model.carelake.stg_a', status: 'success', message: 'OK', adapter_response: { rows_affected: 1 } });
      expect(second).toMatchObject({ unique_id: 'model.carelake.fct_a', status: 'success' });
      expect(second?.adapter_response.rows_affected).toBeUndefined();
      for (const r of runResults.results) {
        expect(r.execution_time).toBeGreaterThanOrEqual(0);
        expect(r.timing[0]?.name).toBe('execute');
      }

      expect(await readFile(join(dir, 'target/compiled/carelake/models/marts/fct_a.sql'), 'utf8')).toBe('select * from "main"."stg_a"');
    });
  });

  it('compileProject writes the manifest and compiled SQL without touching a database', async () => {
    const project = await tinyProject({ 'dbt_project.yml': `${DEFAULT_PROJECT_YML}target-path: build\n`, 'models/a.sql': 'select 1 as id' });
    try {
      const { manifest, compiled } = await compileProject({ projectDir: project.dir, env: {}, target: TARGET, now: NOW });
      expect(compiled.map((c) => c.compiledPath)).toEqual(['build/compiled/carelake/models/a.sql']);
      expect(manifest.nodes['model.carelake.a']?.compiled).toBe(true);
      await expect(stat(join(project.dir, 'build', 'manifest.json'))).resolves.toBeTruthy();
      await expect(stat(join(project.dir, 'build', 'run_results.json'))).rejects.toThrow();
    } finally {
      await project.cleanup();
    }
  });

  it('a test path inside the model path (models/tests) holds singular tests, not models', async () => {
    const files = {
      'dbt_project.yml': `${DEFAULT_PROJECT_YML}test-paths: ["models/tests"]\n`,
      'models/a.sql': 'select 1 as id',
      'models/tests/assert_something.sql': "select * from {{ ref('a') }} where id < 0",
    };
    await withRun(files, {}, async ({ manifest }) => {
      expect(Object.keys(manifest.nodes).sort()).toEqual(['model.carelake.a', 'test.carelake.assert_something']);
      expect(manifest.nodes['test.carelake.assert_something']?.depends_on.nodes).toEqual(['model.carelake.a']);
    });
  });

  it('a selection that matches nothing is a warning, and nothing runs', async () => {
    await withRun({ 'models/a.sql': 'select 1 as id' }, { select: ['nope'] }, async ({ results, warnings }) => {
      expect(results.results).toEqual([]);
      expect(warnings.map((w) => w.code)).toContain('models.selection_matches_nothing');
    });
  });
});
