// dbt_project.yml and property files: defaults, the models: config tree, and errors that name the
// file, the key, the line and what was expected.

import { describe, expect, it } from 'vitest';
import { parseProjectYaml, parsePropertyYaml } from '../../../transforms/models/projectYaml.ts';

describe('parseProjectYaml', () => {
  it('applies dbt defaults', () => {
    const result = parseProjectYaml('dbt_project.yml', 'name: carelake\n');
    expect(result).toMatchObject({
      ok: true,
      value: { name: 'carelake', modelPaths: ['models'], macroPaths: ['macros'], targetPath: 'target', vars: {}, configVersion: 2 },
    });
  });

  it('reads the models: tree with + keys, bare config keys and nested folders', () => {
    const text = `name: carelake
models:
  +tags: everywhere
  carelake:
    +materialized: view
    marts:
      materialized: table
      +schema: curated
      finance:
        +enabled: false
`;
    const result = parseProjectYaml('dbt_project.yml', text);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const tree = result.value.models;
    expect(tree.config).toEqual({ tags: ['everywhere'] });
    expect(tree.children.carelake?.config).toEqual({ materialized: 'view' });
    expect(tree.children.carelake?.children.marts?.config).toEqual({ materialized: 'table', schema: 'curated' });
    expect(tree.children.carelake?.children.marts?.children.finance?.config).toEqual({ enabled: false });
  });

  const errors = [
    { description: 'a missing name', text: 'version: 1\n', expected: ["dbt_project.yml: key 'name' is missing: expected the project name"], line: 1 },
    { description: 'a name with a dash', text: 'name: care-lake\n', expected: ["key 'name' is invalid: expected a name of letters, digits and underscores"], line: 1 },
    { description: 'config-version 1', text: 'name: c\nconfig-version: 1\n', expected: ["key 'config-version' is invalid: expected 2, got 1"], line: 2 },
    { description: 'model-paths that is not a list', text: 'name: c\nmodel-paths: models\n', expected: ["key 'model-paths' is invalid: expected a list of folders"], line: 2 },
    { description: 'a model path outside the project', text: 'name: c\nmodel-paths: ["../elsewhere"]\n', expected: ["key 'model-paths[0]' is invalid: expected a path inside the project folder"], line: 2 },
    {
      description: 'a folder given a scalar',
      text: 'name: c\nmodels:\n  c:\n    staging: table\n',
      expected: ["key 'models.c.staging' is invalid: expected a mapping of config for folder 'staging'"],
      line: 4,
    },
    { description: '+enabled that is not a boolean', text: 'name: c\nmodels:\n  c:\n    +enabled: sometimes\n', expected: ["key 'models.c.+enabled' is invalid: expected true or false, got a string"], line: 4 },
    { description: 'a YAML syntax error', text: 'name: c\nmodels: [\n', expected: ['dbt_project.yml is not valid YAML'], line: 3 },
  ];

  it.each(errors)('reports $description with the file, key and line', ({ text, expected, line }) => {
    const result = parseProjectYaml('dbt_project.yml', text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.problems.map((p) => p.message).join('\n');
    for (const fragment of expected) expect(messages).toContain(fragment);
    expect(result.problems[0]?.location).toMatchObject({ file: 'dbt_project.yml', line });
  });
});

describe('parsePropertyYaml', () => {
  it('reads sources, tables, models and columns', () => {
    const text = `version: 2
sources:
  - name: esr
    schema: raw_esr
    meta:
      external_location: "/lake/{name}.parquet"
    tables:
      - name: assignments
        identifier: assignments_v2
        config:
          external_location: "read_parquet('x')"
models:
  - name: stg_patient
    description: One row per patient
    config:
      materialized: table
      tags: pii
    columns:
      - name: patient_key
        description: Surrogate key
`;
    const result = parsePropertyYaml('models/schema.yml', text);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const [source] = result.value.sources;
    expect(source).toMatchObject({ name: 'esr', schema: 'raw_esr', meta: { external_location: '/lake/{name}.parquet' }, file: 'models/schema.yml', line: 3 });
    expect(source?.tables[0]).toMatchObject({ name: 'assignments', identifier: 'assignments_v2', config: { external_location: "read_parquet('x')" } });
    expect(result.value.models[0]).toMatchObject({ name: 'stg_patient', config: { materialized: 'table', tags: ['pii'] }, line: 13 });
    expect(result.value.models[0]?.columns[0]).toEqual({ name: 'patient_key', description: 'Surrogate key', dataType: null, meta: {}, tests: [] });
  });

  it('accepts an empty file and keys dbt knows but carelake ignores', () => {
    expect(parsePropertyYaml('models/empty.yml', '').ok).toBe(true);
    expect(parsePropertyYaml('models/x.yml', 'version: 2\nexposures: []\nmodels:\n  - name: a\n    data_tests: [unique]\n').ok).toBe(true);
  });

  const errors = [
    {
      description: 'a table with no name',
      text: 'version: 2\nsources:\n  - name: esr\n    tables:\n      - identifier: x\n',
      key: 'sources[0].tables[0].name',
      message: "models/schema.yml: key 'sources[0].tables[0].name' is missing: expected the table name",
      line: 5,
    },
    {
      description: 'a numeric source name',
      text: 'version: 2\nsources:\n  - name: 12\n',
      key: 'sources[0].name',
      message: "models/schema.yml: key 'sources[0].name' is invalid: expected the source name, got 12",
      line: 3,
    },
    {
      description: 'an external_location that is a list',
      text: 'version: 2\nsources:\n  - name: esr\n    meta:\n      external_location: [a, b]\n    tables: []\n',
      key: 'sources[0].meta.external_location',
      message: 'expected a location string, e.g. a path or read_parquet(…), got a list',
      line: 5,
    },
    {
      description: 'models that is a mapping',
      text: 'version: 2\nmodels:\n  stg_patient: {}\n',
      key: 'models',
      message: "key 'models' is invalid: expected a list of models, got a mapping",
      line: 3,
    },
    {
      description: 'a model config with a bad materialized',
      text: 'version: 2\nmodels:\n  - name: a\n    config:\n      materialized: 1\n',
      key: 'models[0].config.materialized',
      message: 'expected a materialization name such as view or table, got 1',
      line: 5,
    },
    {
      description: 'a top-level list',
      text: '- name: a\n',
      key: undefined,
      message: 'models/schema.yml must hold a YAML mapping at the top level',
      line: 1,
    },
  ];

  it.each(errors)('reports $description with the file, key and line', ({ text, key, message, line }) => {
    const result = parsePropertyYaml('models/schema.yml', text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const [problem] = result.problems;
    expect(problem?.message).toContain(message);
    expect(problem?.location).toMatchObject({ file: 'models/schema.yml', line, ...(key ? { field: key } : {}) });
  });
});
