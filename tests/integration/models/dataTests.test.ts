// Data tests on a real in-memory DuckDB: the four generic tests with `severity` and `where`, tests on
// sources, singular tests, `build` skipping the children of a node whose test failed, clear errors for
// badly declared tests, node selection through dbt's selector syntax, and threads.

import { describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_YML, runError, withRun } from './tinyProject.ts';

const PATIENTS = `select * from (values (1, 'F', 'A'), (2, 'M', 'A'), (2, 'X', 'B'), (null, 'F', 'A')) t(patient_id, sex, practice)`;
const ENCOUNTERS = `select * from (values (10, 1), (11, 2), (12, 9)) t(encounter_id, patient_id)`;

const schema = (tests: string) => `version: 2
models:
  - name: patients
    columns:
      - name: patient_id
${tests}
`;

function statusOf(results: { unique_id: string; status: string; failures: number | null }[], prefix: string) {
  const found = results.filter((r) => r.unique_id.startsWith(`test.carelake.${prefix}`));
  expect(found, `one test named ${prefix}…`).toHaveLength(1);
  return { status: found[0]?.status, failures: found[0]?.failures };
}

describe('generic tests', () => {
  const files = (tests: string) => ({
    'models/patients.sql': PATIENTS,
    'models/encounters.sql': ENCOUNTERS,
    'models/schema.yml': schema(tests),
  });

  it('not_null and unique count their failing rows', async () => {
    await withRun(files('        data_tests: [not_null, unique]'), { command: 'build' }, async ({ results }) => {
      expect(statusOf(results.results, 'not_null_patients_patient_id')).toEqual({ status: 'fail', failures: 1 });
      expect(statusOf(results.results, 'unique_patients_patient_id')).toEqual({ status: 'fail', failures: 1 });
    });
  });

  it('severity: warn reports a warning instead of a failure; where narrows the rows tested', async () => {
    const tests = `        data_tests:
          - unique:
              config: {severity: warn}
          - not_null:
              config:
                where: "sex = 'M'"`;
    await withRun(files(tests), { command: 'build' }, async ({ results }) => {
      expect(statusOf(results.results, 'unique_patients_patient_id')).toEqual({ status: 'warn', failures: 1 });
      expect(statusOf(results.results, 'not_null_patients_patient_id')).toEqual({ status: 'pass', failures: 0 });
    });
  });

  it('accepted_values (under arguments:, dbt ≥ 1.10) and relationships (legacy top-level arguments)', async () => {
    const yml = `version: 2
models:
  - name: patients
    columns:
      - name: sex
        data_tests:
          - accepted_values:
              arguments:
                values: ['F', 'M']
  - name: encounters
    columns:
      - name: patient_id
        data_tests:
          - relationships:
              to: ref('patients')
              field: patient_id
`;
    await withRun({ 'models/patients.sql': PATIENTS, 'models/encounters.sql': ENCOUNTERS, 'models/schema.yml': yml }, { command: 'build' }, async ({ results, manifest }) => {
      expect(statusOf(results.results, 'accepted_values_patients_sex')).toEqual({ status: 'fail', failures: 1 });
      const relationships = statusOf(results.results, 'relationships_encounters_patient_id');
      expect(relationships).toEqual({ status: 'fail', failures: 1 });
      const node = Object.values(manifest.nodes).find((n) => n.name.startsWith('relationships_'));
      expect(node?.depends_on.nodes).toEqual(['model.carelake.encounters', 'model.carelake.patients']);
      expect(node?.test_metadata?.name).toBe('relationships');
      expect(node?.attached_node).toBe('model.carelake.encounters');
    });
  });

  it('tests on a source run against the source relation', async () => {
    const yml = `version: 2
sources:
  - name: raw
    schema: main
    tables:
      - name: people
        columns:
          - name: id
            data_tests: [not_null]
`;
    const filesWithSource = { 'models/people.sql': "{{ config(alias='people') }} select 1 as id union all select null", 'models/sources.yml': yml };
    await withRun(filesWithSource, { command: 'build' }, async ({ results }) => {
      expect(statusOf(results.results, 'not_null_source_raw_people_id')).toEqual({ status: 'fail', failures: 1 });
    });
  });
});

describe('singular tests and build', () => {
  it('a singular test fails when its query returns rows', async () => {
    const files = {
      'dbt_project.yml': `${DEFAULT_PROJECT_YML}test-paths: ["models/tests"]\n`,
      'models/encounters.sql': ENCOUNTERS,
      'models/tests/assert_no_orphans.sql': "select * from {{ ref('encounters') }} where patient_id > 5",
    };
    await withRun(files, { command: 'build' }, async ({ results }) => {
      expect(statusOf(results.results, 'assert_no_orphans')).toEqual({ status: 'fail', failures: 1 });
    });
  });

  it('build skips the children of a node whose error-severity test failed, but not for a warning', async () => {
    const yml = `version: 2
models:
  - name: patients
    columns:
      - name: patient_id
        data_tests: [unique]
      - name: sex
        data_tests:
          - not_null:
              severity: warn
`;
    const files = {
      'models/patients.sql': PATIENTS,
      'models/patient_count.sql': "select count(*) as n from {{ ref('patients') }}",
      'models/other.sql': 'select 1 as x',
      'models/schema.yml': yml,
    };
    await withRun(files, { command: 'build' }, async ({ results }) => {
      const child = results.results.find((r) => r.unique_id === 'model.carelake.patient_count');
      expect(child?.status).toBe('skipped');
      expect(child?.message).toMatch(/Skipped because test test\.carelake\.unique_patients_patient_id\.\w+ failed/);
      expect(results.results.find((r) => r.unique_id === 'model.carelake.other')?.status).toBe('success');
    });
    // `run` does not execute tests, so nothing gates the child.
    await withRun(files, { command: 'run' }, async ({ results }) => {
      expect(results.results.find((r) => r.unique_id === 'model.carelake.patient_count')?.status).toBe('success');
    });
  });

  it('a test whose SQL fails is an error naming the test and its file', async () => {
    const files = {
      'dbt_project.yml': `${DEFAULT_PROJECT_YML}test-paths: ["models/tests"]\n`,
      'models/a.sql': 'select 1 as id',
      'models/tests/broken.sql': "select no_such_column from {{ ref('a') }}",
    };
    await withRun(files, { command: 'test' }, async ({ results }) => {
      expect(results.results[0]?.status).toBe('error');
      expect(results.results[0]?.message).toContain('models/tests/broken.sql');
    });
  });
});

describe('badly declared tests stop the project before anything runs', () => {
  const cases = [
    { what: 'an unknown generic test', tests: '        data_tests: [is_positive]', fragment: "uses the generic test 'is_positive', which carelake does not provide" },
    { what: 'accepted_values without values', tests: '        data_tests:\n          - accepted_values: {quote: true}', fragment: 'accepted_values needs values' },
    { what: 'relationships to an unknown model', tests: "        data_tests:\n          - relationships: {to: ref('nowhere'), field: id}", fragment: "depends on a model named 'nowhere' which was not found" },
    { what: 'a bad severity', tests: '        data_tests:\n          - unique: {config: {severity: fatal}}', fragment: 'severity must be error or warn' },
  ];
  it.each(cases)('$what', async ({ tests, fragment }) => {
    const error = await runError({ 'models/patients.sql': PATIENTS, 'models/schema.yml': schema(tests) });
    expect(error.render()).toContain(fragment);
    expect(error.render()).toContain('models/schema.yml');
  });

  it('a test on a model that does not exist names the model and the file', async () => {
    const yml = 'version: 2\nmodels:\n  - name: ghost\n    columns:\n      - name: id\n        data_tests: [unique]\n';
    const error = await runError({ 'models/a.sql': 'select 1 as id', 'models/schema.yml': yml });
    expect(error.render()).toContain("is declared on model 'ghost', which was not found");
  });
});

describe('selection and threads', () => {
  const files = {
    'dbt_project.yml': `${DEFAULT_PROJECT_YML}models:\n  carelake:\n    marts:\n      +tags: [nightly]\n`,
    'models/staging/stg_a.sql': 'select 1 as id',
    'models/staging/stg_b.sql': 'select 2 as id',
    'models/marts/mart_ab.sql': "select * from {{ ref('stg_a') }} union all select * from {{ ref('stg_b') }}",
    'models/marts/mart_a2.sql': "select * from {{ ref('mart_ab') }}",
    'models/schema.yml': 'version: 2\nmodels:\n  - name: stg_a\n    columns:\n      - name: id\n        data_tests: [unique]\n',
  };
  const ran = async (select: string[], exclude: string[] = [], command: 'run' | 'build' = 'run') => {
    let ids: string[] = [];
    await withRun(files, { select, exclude, command }, async ({ results }) => {
      ids = results.results.map((r) => r.unique_id.replace(/^(\w+)\.carelake\./, '$1:').replace(/\.\w+$/, '')).sort();
    });
    return ids;
  };

  it('name, +name, name+, tag:, path: and --exclude pick the nodes dbt would', async () => {
    expect(await ran(['stg_a'])).toEqual(['model:stg_a']);
    expect(await ran(['+mart_ab'])).toEqual(['model:mart_ab', 'model:stg_a', 'model:stg_b']);
    expect(await ran(['stg_a+'])).toEqual(['model:mart_a2', 'model:mart_ab', 'model:stg_a']);
    expect(await ran(['tag:nightly'])).toEqual(['model:mart_a2', 'model:mart_ab']);
    expect(await ran(['path:models/staging'])).toEqual(['model:stg_a', 'model:stg_b']);
    expect(await ran(['+mart_a2'], ['stg_b'])).toEqual(['model:mart_a2', 'model:mart_ab', 'model:stg_a']);
    // Tests follow their models (dbt's eager indirect selection).
    expect(await ran(['stg_a'], [], 'build')).toEqual(['model:stg_a', 'test:unique_stg_a_id']);
  });

  it('threads run independent models on separate connections, parents still first', async () => {
    await withRun(files, { threads: 2 }, async ({ results }, db) => {
      expect(new Set(results.results.map((r) => r.thread_id))).toEqual(new Set(['Thread-1', 'Thread-2']));
      const finished = (id: string) => results.results.findIndex((r) => r.unique_id === `model.carelake.${id}`);
      expect(finished('mart_ab')).toBeGreaterThan(Math.max(finished('stg_a'), finished('stg_b')));
      expect(await db.scalar('select count(*)::INTEGER from main.mart_a2')).toBe(2);
    });
  });
});
