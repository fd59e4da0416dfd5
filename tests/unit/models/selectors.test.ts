// Node selection with dbt-core's semantics: methods, graph operators, set operators, eager indirect
// selection of tests, exclusion, and the problems reported for criteria that cannot match.

import { describe, expect, it } from 'vitest';
import { fnmatch, isSelectedNode, selectNodes, type SelectableNode } from '../../../transforms/models/selectors.ts';

type Extra = Partial<Omit<SelectableNode, 'uniqueId' | 'resourceType' | 'name' | 'fqn' | 'originalFilePath'>>;

function model(name: string, folders: string[], parents: string[], extra: Extra = {}): SelectableNode {
  return {
    uniqueId: `model.carelake.${name}`,
    resourceType: 'model',
    name,
    fqn: ['carelake', ...folders, name],
    originalFilePath: ['models', ...folders, `${name}.sql`].join('/'),
    tags: [],
    parents,
    materialized: 'view',
    ...extra,
  };
}

function source(sourceName: string, table: string): SelectableNode {
  return {
    uniqueId: `source.carelake.${sourceName}.${table}`,
    resourceType: 'source',
    name: table,
    sourceName,
    fqn: ['carelake', sourceName, table],
    originalFilePath: 'models/sources.yml',
    tags: [],
    parents: [],
  };
}

function test(id: string, folders: string[], parents: string[], extra: Extra = {}): SelectableNode {
  const name = id.split('.')[2] as string;
  return {
    uniqueId: `test.carelake.${id.split('.').slice(2).join('.')}`,
    resourceType: 'test',
    name,
    fqn: ['carelake', ...folders, name],
    originalFilePath: extra.testType === 'singular' ? `models/tests/${name}.sql` : ['models', ...folders, '_models.yml'].join('/'),
    tags: [],
    parents,
    ...extra,
  };
}

const ID = {
  patientSrc: 'source.carelake.fhir.Patient',
  encounterSrc: 'source.carelake.fhir.Encounter',
  assignmentSrc: 'source.carelake.esr.assignments',
  icd10: 'seed.carelake.icd10_map',
  stgPatient: 'model.carelake.stg_patient',
  stgEncounter: 'model.carelake.stg_encounter',
  stgAssignment: 'model.carelake.stg_assignment',
  stgTop: 'model.carelake.stg_top',
  intAdmissions: 'model.carelake.int_admissions',
  fctAdmissions: 'model.carelake.fct_admissions',
  dimPatient: 'model.carelake.dim_patient',
  notNull: 'test.carelake.not_null_stg_patient_id.a1b2c3',
  relationships: 'test.carelake.relationships_fct_admissions_patient_id__dim_patient.d4e5f6',
  sourceNotNull: 'test.carelake.source_not_null_fhir_Patient_id.0a9b8c',
  singular: 'test.carelake.assert_no_future_admissions',
} as const;

const NODES: SelectableNode[] = [
  source('fhir', 'Patient'),
  source('fhir', 'Encounter'),
  source('esr', 'assignments'),
  {
    uniqueId: ID.icd10,
    resourceType: 'seed',
    name: 'icd10_map',
    fqn: ['carelake', 'icd10_map'],
    originalFilePath: 'seeds/icd10_map.csv',
    tags: [],
    parents: [],
    materialized: 'seed',
  },
  model('stg_patient', ['staging', 'fhir'], [ID.patientSrc], { tags: ['nightly'], patchPath: 'models/staging/fhir/_models.yml' }),
  model('stg_encounter', ['staging', 'fhir'], [ID.encounterSrc], { tags: ['nightly', 'fhir'] }),
  model('stg_assignment', ['staging', 'esr'], [ID.assignmentSrc], { config: { schema: 'staging', enabled: true, tags: ['hr'] } }),
  model('stg_top', [], []),
  model('int_admissions', ['intermediate'], [ID.stgPatient, ID.stgEncounter, ID.icd10], { materialized: 'ephemeral' }),
  model('fct_admissions', ['marts'], [ID.intAdmissions], { tags: ['nightly'], materialized: 'incremental' }),
  model('dim_patient', ['marts'], [ID.stgPatient], { materialized: 'table' }),
  test(ID.notNull, ['staging', 'fhir'], [ID.stgPatient], { testType: 'generic', testName: 'not_null', config: { severity: 'error' } }),
  test(ID.relationships, ['marts'], [ID.fctAdmissions, ID.dimPatient], { testType: 'generic', testName: 'relationships', config: { severity: 'warn' } }),
  test(ID.sourceNotNull, ['fhir'], [ID.patientSrc], { testType: 'generic', testName: 'not_null' }),
  test(ID.singular, ['tests'], [ID.fctAdmissions], { testType: 'singular' }),
];

const NON_SOURCES = NODES.filter((n) => n.resourceType !== 'source').map((n) => n.uniqueId);

interface Case {
  description: string;
  select?: string[];
  exclude?: string[];
  expected: string[];
}

function run(c: { select?: string[]; exclude?: string[] }, nodes = NODES) {
  const { selected, problems } = selectNodes(nodes, { select: c.select, exclude: c.exclude });
  return { selected: [...selected].sort(), problems };
}

describe('selectNodes: methods', () => {
  const cases: Case[] = [
    { description: 'no --select selects every node except sources', expected: NON_SOURCES },
    { description: 'an empty --select list is the same as none', select: [], expected: NON_SOURCES },
    { description: 'a bare name selects the node and, eagerly, its tests', select: ['stg_patient'], expected: [ID.stgPatient, ID.notNull] },
    { description: 'fqn: with a folder path', select: ['fqn:staging.esr.stg_assignment'], expected: [ID.stgAssignment] },
    { description: 'a bare folder path in fqn form selects the folder', select: ['staging.fhir'], expected: [ID.stgPatient, ID.stgEncounter, ID.notNull] },
    { description: 'a bare package name selects the whole package (sources stay out)', select: ['carelake'], expected: NON_SOURCES },
    { description: 'package: selects by package', select: ['package:care*'], expected: NON_SOURCES },
    {
      description: "'*.stg_*' matches stg_ nodes in any folder",
      select: ['*.stg_*'],
      expected: [ID.stgPatient, ID.stgEncounter, ID.stgAssignment, ID.stgTop, ID.notNull],
    },
    { description: "'stg_*' matches only stg_ nodes at the top of the model folder, as in dbt", select: ['stg_*'], expected: [ID.stgTop] },
    { description: 'tag: selects tagged nodes and their tests', select: ['tag:nightly'], expected: [ID.stgPatient, ID.stgEncounter, ID.fctAdmissions, ID.notNull, ID.relationships, ID.singular] },
    { description: 'tag: takes wildcards', select: ['tag:f*'], expected: [ID.stgEncounter] },
    { description: 'path: a folder', select: ['path:models/staging'], expected: [ID.stgPatient, ID.stgEncounter, ID.stgAssignment, ID.notNull] },
    { description: 'path: a folder with a trailing slash and ./', select: ['path:./models/staging/esr/'], expected: [ID.stgAssignment] },
    { description: 'path: an exact file', select: ['path:models/marts/dim_patient.sql'], expected: [ID.dimPatient, ID.relationships] },
    { description: 'path: a glob within a folder', select: ['path:models/staging/*/stg_p*.sql'], expected: [ID.stgPatient, ID.notNull] },
    { description: 'path: ** spans folders', select: ['path:models/**/stg_a*.sql'], expected: [ID.stgAssignment] },
    { description: 'path: a folder prefix must end at a folder boundary', select: ['path:models/stag'], expected: [] },
    { description: 'path: matches a property file that documents the node', select: ['path:models/staging/fhir/_models.yml'], expected: [ID.stgPatient, ID.notNull] },
    { description: 'a value with a slash is a path', select: ['models/staging/fhir/stg_patient.sql'], expected: [ID.stgPatient, ID.notNull] },
    { description: 'a value ending .sql is a file name', select: ['stg_patient.sql'], expected: [ID.stgPatient, ID.notNull] },
    { description: 'a value ending .csv is a file name (a seed)', select: ['icd10_map.csv'], expected: [ID.icd10] },
    { description: 'file: takes wildcards', select: ['file:dim_*.sql'], expected: [ID.dimPatient, ID.relationships] },
    { description: 'source: a whole source selects its tables and their tests', select: ['source:fhir'], expected: [ID.encounterSrc, ID.patientSrc, ID.sourceNotNull] },
    { description: 'source: one table', select: ['source:fhir.Patient'], expected: [ID.patientSrc, ID.sourceNotNull] },
    { description: 'source: package.source.table', select: ['source:carelake.esr.assignments'], expected: [ID.assignmentSrc] },
    { description: 'source: wildcards', select: ['source:*.Enc*'], expected: [ID.encounterSrc] },
    { description: 'resource_type:seed', select: ['resource_type:seed'], expected: [ID.icd10] },
    { description: 'resource_type:test', select: ['resource_type:test'], expected: [ID.notNull, ID.relationships, ID.singular, ID.sourceNotNull] },
    { description: 'resource_type:source matches nothing: dbt searches models, seeds and tests', select: ['resource_type:source'], expected: [] },
    { description: 'config.materialized', select: ['config.materialized:incremental'], expected: [ID.fctAdmissions, ID.relationships, ID.singular] },
    { description: 'config.<key> from the config map', select: ['config.schema:staging'], expected: [ID.stgAssignment] },
    { description: 'config: a list value holds the selector', select: ['config.tags:hr'], expected: [ID.stgAssignment] },
    { description: "config: 'true' matches a boolean", select: ['config.enabled:True'], expected: [ID.stgAssignment] },
    { description: 'config.severity compares case-insensitively', select: ['config.severity:WARN'], expected: [ID.relationships] },
    { description: 'test_type:singular', select: ['test_type:singular'], expected: [ID.singular] },
    { description: 'test_type:generic', select: ['test_type:generic'], expected: [ID.notNull, ID.relationships, ID.sourceNotNull] },
    { description: 'test_type:data is every data test', select: ['test_type:data'], expected: [ID.notNull, ID.relationships, ID.singular, ID.sourceNotNull] },
    { description: 'test_name: the generic test', select: ['test_name:not_null'], expected: [ID.notNull, ID.sourceNotNull] },
    { description: 'a test named directly selects only that test', select: ['not_null_stg_patient_id'], expected: [ID.notNull] },
  ];
  it.each(cases)('$description', ({ select, exclude, expected }) => {
    const { selected, problems } = run({ select, exclude });
    expect(selected).toEqual([...expected].sort());
    if (expected.length > 0) expect(problems).toEqual([]);
  });
});

describe('selectNodes: graph operators', () => {
  const cases: Case[] = [
    {
      description: '+name adds every ancestor; the upstream source stays out but its tests come in',
      select: ['+stg_patient'],
      expected: [ID.stgPatient, ID.notNull, ID.sourceNotNull],
    },
    {
      description: 'name+ adds every descendant, tests included',
      select: ['stg_patient+'],
      expected: [ID.stgPatient, ID.intAdmissions, ID.fctAdmissions, ID.dimPatient, ID.notNull, ID.relationships, ID.singular],
    },
    {
      description: 'name+1 stops after one edge; a test with any selected parent still comes in',
      select: ['stg_patient+1'],
      expected: [ID.stgPatient, ID.intAdmissions, ID.dimPatient, ID.notNull, ID.relationships],
    },
    {
      description: '1+name adds the parents only',
      select: ['1+int_admissions'],
      expected: [ID.intAdmissions, ID.stgPatient, ID.stgEncounter, ID.icd10, ID.notNull],
    },
    {
      description: '2+name adds parents and grandparents',
      select: ['2+fct_admissions'],
      expected: [ID.fctAdmissions, ID.intAdmissions, ID.stgPatient, ID.stgEncounter, ID.icd10, ID.notNull, ID.relationships, ID.singular],
    },
    {
      description: 'n+name+n combines both depths',
      select: ['1+int_admissions+1'],
      expected: [ID.intAdmissions, ID.stgPatient, ID.stgEncounter, ID.icd10, ID.fctAdmissions, ID.notNull, ID.relationships, ID.singular],
    },
    {
      description: "@name adds descendants and all their ancestors (here the relationships test's other parent)",
      select: ['@stg_encounter'],
      expected: [ID.stgEncounter, ID.intAdmissions, ID.fctAdmissions, ID.relationships, ID.singular, ID.stgPatient, ID.icd10, ID.dimPatient, ID.notNull, ID.sourceNotNull],
    },
    {
      description: 'source:x+ keeps the named source and runs everything downstream',
      select: ['source:fhir.Patient+'],
      expected: [ID.patientSrc, ID.sourceNotNull, ID.stgPatient, ID.intAdmissions, ID.fctAdmissions, ID.dimPatient, ID.notNull, ID.relationships, ID.singular],
    },
    {
      description: '+test selects the test and its parents (and their tests)',
      select: ['+not_null_stg_patient_id'],
      expected: [ID.notNull, ID.stgPatient, ID.sourceNotNull],
    },
    {
      description: 'operators apply to every node a method matched',
      select: ['tag:nightly+1'],
      expected: [ID.stgPatient, ID.stgEncounter, ID.fctAdmissions, ID.intAdmissions, ID.dimPatient, ID.notNull, ID.relationships, ID.singular],
    },
  ];
  it.each(cases)('$description', ({ select, exclude, expected }) => {
    const { selected, problems } = run({ select, exclude });
    expect(selected).toEqual([...expected].sort());
    expect(problems).toEqual([]);
  });
});

describe('selectNodes: set operators and exclusion', () => {
  const cases: Case[] = [
    { description: 'a space inside one argument is a union', select: ['stg_patient dim_patient'], expected: [ID.stgPatient, ID.dimPatient, ID.notNull, ID.relationships] },
    { description: 'separate arguments are a union', select: ['stg_patient', 'dim_patient'], expected: [ID.stgPatient, ID.dimPatient, ID.notNull, ID.relationships] },
    { description: 'repeated spaces are ignored', select: ['  stg_patient   dim_patient '], expected: [ID.stgPatient, ID.dimPatient, ID.notNull, ID.relationships] },
    { description: 'a comma is an intersection', select: ['tag:nightly,staging'], expected: [ID.stgPatient, ID.stgEncounter, ID.notNull] },
    { description: 'an intersection keeps a test that both sides pulled in eagerly, as dbt does', select: ['tag:nightly,marts.dim_patient'], expected: [ID.relationships] },
    { description: 'an intersection of graph selections', select: ['stg_patient+,+fct_admissions'], expected: [ID.stgPatient, ID.intAdmissions, ID.fctAdmissions, ID.notNull, ID.relationships, ID.singular] },
    {
      description: 'exclude removes a node and, eagerly, every test on it',
      select: ['stg_patient+'],
      exclude: ['fct_admissions'],
      expected: [ID.stgPatient, ID.intAdmissions, ID.dimPatient, ID.notNull],
    },
    {
      description: 'exclude without select starts from everything',
      exclude: ['tag:nightly'],
      expected: [ID.icd10, ID.stgAssignment, ID.stgTop, ID.intAdmissions, ID.dimPatient, ID.sourceNotNull],
    },
    { description: 'exclude with graph operators', select: ['staging'], exclude: ['stg_encounter+'], expected: [ID.stgPatient, ID.stgAssignment, ID.notNull] },
    { description: 'exclude applies after select, even to named sources', select: ['source:fhir'], exclude: ['source:fhir.Encounter'], expected: [ID.patientSrc, ID.sourceNotNull] },
    { description: 'exclude takes spaces and commas too', exclude: ['tag:nightly,marts resource_type:test icd10_map'], expected: [ID.stgPatient, ID.stgEncounter, ID.stgAssignment, ID.stgTop, ID.intAdmissions, ID.dimPatient] },
  ];
  it.each(cases)('$description', ({ select, exclude, expected }) => {
    const { selected, problems } = run({ select, exclude });
    expect(selected).toEqual([...expected].sort());
    expect(problems).toEqual([]);
  });
});

describe('selectNodes: problems', () => {
  const cases = [
    { description: 'a name that matches nothing', select: ['stg_nope'], code: 'models.selection_matches_nothing', message: "The --select criterion 'stg_nope' does not match any enabled nodes" },
    { description: 'an intersection that is empty names the whole token', select: ['tag:nightly,stg_assignment'], code: 'models.selection_matches_nothing', message: "'tag:nightly,stg_assignment'" },
    { description: 'an exclude that matches nothing', exclude: ['tag:nope'], code: 'models.selection_matches_nothing', message: "The --exclude criterion 'tag:nope'" },
    { description: 'names are case-sensitive', select: ['STG_PATIENT'], code: 'models.selection_matches_nothing', message: 'STG_PATIENT' },
    { description: 'an unknown method', select: ['foo:bar'], code: 'models.unknown_selector_method', message: "uses 'foo', which is not a selector method" },
    { description: 'a dbt method carelake lacks', select: ['state:modified+'], code: 'models.unknown_selector_method', message: "uses the 'state' method, which carelake does not support" },
    { description: "'@' with a '+' suffix", select: ['@stg_patient+'], code: 'models.invalid_selector', message: "'@' prefix and a '+' suffix cannot be combined" },
    { description: 'an unknown resource type', select: ['resource_type:widget'], code: 'models.invalid_selector', message: "'widget' is not a resource type" },
    { description: 'a source with too many parts', select: ['source:a.b.c.d'], code: 'models.invalid_selector', message: 'source_name.table_name' },
    { description: 'an unknown test type', select: ['test_type:schema'], code: 'models.invalid_selector', message: "'schema' is not a test type" },
  ];
  it.each(cases)('$description', ({ select, exclude, code, message }) => {
    const { problems } = run({ select, exclude });
    expect(problems.map((p) => p.code)).toEqual([code]);
    expect(problems[0]?.message).toContain(message);
    expect(problems[0]?.kind).toBe('config');
  });

  it('reports each bad token once and still selects the good ones', () => {
    const { selected, problems } = run({ select: ['stg_patient foo:bar nope'] });
    expect(selected).toEqual([ID.stgPatient, ID.notNull].sort());
    expect(problems.map((p) => p.code)).toEqual(['models.unknown_selector_method', 'models.selection_matches_nothing']);
  });

  it('a source matched only through a graph operator does not count as a match of its own', () => {
    const { selected, problems } = run({ select: ['+stg_top'] });
    expect(selected).toEqual([ID.stgTop]);
    expect(problems).toEqual([]);
  });
});

describe('selectNodes: graph edge cases', () => {
  it('ignores parents that are not among the nodes (disabled or unknown)', () => {
    const nodes = [model('a', [], ['model.carelake.disabled']), model('b', [], ['model.carelake.a'])];
    expect(run({ select: ['+b'] }, nodes).selected).toEqual(['model.carelake.a', 'model.carelake.b']);
  });

  it('terminates on a cycle', () => {
    const nodes = [model('a', [], ['model.carelake.b']), model('b', [], ['model.carelake.a']), model('c', [], [])];
    expect(run({ select: ['a+'] }, nodes).selected).toEqual(['model.carelake.a', 'model.carelake.b']);
    expect(run({ select: ['@a'] }, nodes).selected).toEqual(['model.carelake.a', 'model.carelake.b']);
  });

  it('does not mutate its inputs', () => {
    const nodes = structuredClone(NODES);
    run({ select: ['@stg_encounter'], exclude: ['tag:fhir'] }, nodes);
    expect(nodes).toEqual(NODES);
  });
});

describe('isSelectedNode (dbt is_selected_node)', () => {
  const fqn = ['carelake', 'staging', 'fhir', 'stg_patient'];
  const cases = [
    { description: 'the leaf name', selector: 'stg_patient', expected: true },
    { description: 'the package', selector: 'carelake', expected: true },
    { description: 'a folder prefix', selector: 'carelake.staging', expected: true },
    { description: 'a full path', selector: 'carelake.staging.fhir.stg_patient', expected: true },
    { description: 'a wrong folder', selector: 'carelake.marts', expected: false },
    { description: 'a folder that is not at the start', selector: 'fhir', expected: false },
    { description: 'a wildcard matches the rest of the fqn', selector: 'carelake.staging.*', expected: true },
    { description: 'a wildcard part is matched across dots', selector: 'carelake.*_patient', expected: true },
    { description: 'a leading wildcard', selector: '*.stg_*', expected: true },
    { description: 'a selector longer than the fqn', selector: 'carelake.staging.fhir.stg_patient.x', expected: false },
    { description: '? matches one character', selector: 'carelake.stagin?.*', expected: true },
    { description: 'from the first wildcard, the rest of the fqn must match in full', selector: 'carelake.stagin?', expected: false },
  ];
  it.each(cases)('$description', ({ selector, expected }) => {
    expect(isSelectedNode(fqn, selector)).toBe(expected);
  });

  it('treats dots in a model name as separators', () => {
    expect(isSelectedNode(['carelake', 'v1.stg_patient'], 'carelake.v1')).toBe(true);
  });

  it('an empty fqn matches nothing', () => {
    expect(isSelectedNode([], 'x')).toBe(false);
  });
});

describe('fnmatch (Python fnmatchcase)', () => {
  const cases = [
    { description: '* matches any run, dots and slashes included', name: 'a.b/c', pattern: 'a*c', expected: true },
    { description: '? matches one character', name: 'ab', pattern: 'a?', expected: true },
    { description: '? does not match none', name: 'a', pattern: 'a?', expected: false },
    { description: 'a character class', name: 'stg_b', pattern: 'stg_[abc]', expected: true },
    { description: 'a range', name: 'v7', pattern: 'v[0-9]', expected: true },
    { description: 'a negated class', name: 'va', pattern: 'v[!0-9]', expected: true },
    { description: 'an unclosed bracket is literal', name: 'a[b', pattern: 'a[b', expected: true },
    { description: 'regex characters are literal', name: 'a.b', pattern: 'a.b', expected: true },
    { description: 'a literal dot does not match any character', name: 'axb', pattern: 'a.b', expected: false },
    { description: 'matching is case-sensitive', name: 'Patient', pattern: 'patient', expected: false },
    { description: 'the whole name must match', name: 'stg_patient_x', pattern: 'stg_patient', expected: false },
  ];
  it.each(cases)('$description', ({ name, pattern, expected }) => {
    expect(fnmatch(name, pattern)).toBe(expected);
  });
});
