// The pure pipeline (parse → pass 1 → graph → pass 2 → manifest) on in-memory project files: what
// the two Jinja passes capture and resolve, and the problems they report.

import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { ModelProjectError } from '../../../transforms/models/problems.ts';
import type { ProjectFiles } from '../../../transforms/models/projectFiles.ts';
import { parseProjectYaml, parsePropertyYaml } from '../../../transforms/models/projectYaml.ts';
import { compileProjectFiles, type CompiledProject } from '../../../transforms/models/runProject.ts';

const OPTIONS = { env: {}, target: { name: 'ci', schema: 'analytics' }, now: new Date('2025-01-01T00:00:00Z'), invocationId: 'test' };

function files(models: Record<string, string>, extra: { yml?: Record<string, string>; macros?: Record<string, string>; project?: string } = {}): ProjectFiles {
  const project = parseProjectYaml('dbt_project.yml', extra.project ?? 'name: carelake\n');
  if (!project.ok) throw new Error(JSON.stringify(project.problems));
  const propertyFiles = Object.entries(extra.yml ?? {}).map(([path, text]) => {
    const parsed = parsePropertyYaml(path, text);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.value;
  });
  return {
    projectDir: '/nowhere',
    project: project.value,
    models: Object.entries(models).map(([path, contents]) => ({ path, root: 'models', contents })),
    macros: Object.entries(extra.macros ?? {}).map(([path, contents]) => ({ path, root: 'macros', contents })),
    seeds: [],
    singularTests: [],
    propertyFiles,
    problems: [],
  };
}

function compile(input: ProjectFiles, options: Partial<typeof OPTIONS> & { vars?: Record<string, unknown>; select?: string[] } = {}): CompiledProject {
  return compileProjectFiles(input, { ...OPTIONS, ...options });
}

function problemsOf(input: ProjectFiles): string {
  try {
    compile(input);
  } catch (err) {
    if (err instanceof ModelProjectError) return err.problems.map((p) => p.render()).join('\n');
    throw err;
  }
  throw new Error('expected problems');
}

function sqlOf(project: CompiledProject, name: string): string | undefined {
  return project.compiled.find((c) => c.name === name)?.compiledSql;
}

interface RenderCase {
  description: string;
  models: Record<string, string>;
  name: string;
  expected: string;
}

interface ProblemCase {
  description: string;
  models: Record<string, string>;
  expected: string;
  absent?: string;
}

describe('pass 2 renders resolved relations', () => {
  const cases: RenderCase[] = [
    {
      description: 'ref() renders the parent relation in its schema',
      models: { 'models/a.sql': "{{ config(schema='staging') }}select 1 as id", 'models/b.sql': "select * from {{ ref('a') }}" },
      name: 'b',
      expected: 'select * from "analytics_staging"."a"',
    },
    {
      description: 'ref() with the project name as package resolves the same way',
      models: { 'models/a.sql': 'select 1 as id', 'models/b.sql': "select * from {{ ref('carelake', 'a') }}" },
      name: 'b',
      expected: 'select * from "analytics"."a"',
    },
    {
      description: 'an alias changes the identifier',
      models: { 'models/a.sql': "{{ config(alias='patients') }}select 1 as id", 'models/b.sql': "select * from {{ ref('a') }}" },
      name: 'b',
      expected: 'select * from "analytics"."patients"',
    },
    {
      description: 'this is the final relation in pass 2',
      models: { 'models/m.sql': "{{ config(schema='curated') }}{{ this }}" },
      name: 'm',
      expected: '"analytics_curated"."m"',
    },
    {
      description: 'execute is true and is_incremental() false when compiling',
      models: { 'models/m.sql': '{% if execute %}run{% endif %}{% if is_incremental() %}inc{% endif %}' },
      name: 'm',
      expected: 'run',
    },
    {
      description: 'a dependency declared in a comment satisfies a ref behind execute',
      models: {
        'models/a.sql': 'select 1 as id',
        'models/m.sql': "-- depends_on: {{ ref('a') }}\n{% if execute %}select * from {{ ref('a') }}{% endif %}",
      },
      name: 'm',
      expected: '-- depends_on: "analytics"."a"\nselect * from "analytics"."a"',
    },
  ];
  it.each(cases)('$description', ({ models, name, expected }) => {
    expect(sqlOf(compile(files(models)), name)).toBe(expected);
  });
});

describe('problems found by the two passes', () => {
  const cases: ProblemCase[] = [
    {
      description: 'a ref only made when executing cannot be inferred',
      models: { 'models/a.sql': 'select 1 as id', 'models/m.sql': "{% if execute %}select * from {{ ref('a') }}{% endif %}" },
      expected: "Model 'model.carelake.m' (models/m.sql) calls ref('a') only when executing",
    },
    {
      description: 'a ref into another package is not found',
      models: { 'models/m.sql': "select * from {{ ref('other_pkg', 'a') }}" },
      expected: "depends on a model named 'other_pkg.a' which was not found.",
    },
    {
      description: 'config() with a positional string is refused',
      models: { 'models/m.sql': "{{ config('table') }}select 1" },
      expected: "Model 'model.carelake.m' (models/m.sql): config() takes keyword arguments",
    },
    {
      description: 'ref() with a version is refused',
      models: { 'models/m.sql': "select * from {{ ref('a', v=2) }}" },
      expected: 'ref() with a model version is not supported',
    },
    {
      description: 'two models building one relation are both named',
      models: { 'models/a.sql': "{{ config(alias='x') }}select 1", 'models/x.sql': 'select 2' },
      expected: "Models 'model.carelake.a' (models/a.sql) and 'model.carelake.x' (models/x.sql) would both build \"analytics\".\"x\"",
    },
    {
      description: 'a ref to a model that failed to render is not also reported as missing',
      models: { 'models/a.sql': '{{ oops( }}', 'models/b.sql': "select * from {{ ref('a') }}" },
      expected: 'Jinja syntax error in models/a.sql',
      absent: "named 'a' which was not found",
    },
  ];
  it.each(cases)('$description', ({ models, expected, absent }) => {
    const text = problemsOf(files(models));
    expect(text).toContain(expected);
    if (absent) expect(text).not.toContain(absent);
  });

  it('properties for one model in two files are reported', () => {
    const yml = { 'models/a.yml': 'models:\n  - name: m\n', 'models/b.yml': 'models:\n  - name: m\n' };
    expect(problemsOf(files({ 'models/m.sql': 'select 1' }, { yml }))).toContain("Model 'm' has properties in two places: models/a.yml and models/b.yml");
  });
});

describe('the manifest', () => {
  it('lists disabled models under disabled, not nodes', () => {
    const project = compile(files({ 'models/on.sql': 'select 1', 'models/off.sql': '{{ config(enabled=false) }}select 1' }));
    expect(Object.keys(project.manifest.nodes)).toEqual(['model.carelake.on']);
    expect(project.manifest.disabled['model.carelake.off']?.[0]?.config.enabled).toBe(false);
  });

  it('records refs, sources, macros and the source relation', () => {
    const yml = { 'models/src.yml': "sources:\n  - name: pas\n    config:\n      external_location: '/lake/{name}.parquet'\n    tables:\n      - name: episodes\n" };
    const macros = { 'macros/m.sql': '{% macro one() %}1{% endmacro %}' };
    const project = compile(files({ 'models/stg.sql': "select {{ one() }} as x, * from {{ source('pas', 'episodes') }}" }, { yml, macros }));
    const node = project.manifest.nodes['model.carelake.stg'];
    expect(node?.sources).toEqual([['pas', 'episodes']]);
    expect(node?.depends_on.nodes).toEqual(['source.carelake.pas.episodes']);
    expect(node?.compiled_code).toBe("select 1 as x, * from '/lake/episodes.parquet'");
    expect(project.manifest.sources['source.carelake.pas.episodes']).toMatchObject({ relation_name: "'/lake/episodes.parquet'", schema: 'pas', source_name: 'pas' });
    expect(Object.keys(project.manifest.macros)).toEqual(['macro.carelake.one']);
  });

  it('serialises to plain JSON with the same content', () => {
    const project = compile(files({ 'models/a.sql': 'select 1' }));
    expect(JSON.parse(JSON.stringify(project.manifest))).toEqual(project.manifest);
  });

  it('select picks models by name', () => {
    const project = compile(files({ 'models/a.sql': 'select 1', 'models/b.sql': 'select 2' }), { select: ['b'] });
    expect([...project.selected]).toEqual(['model.carelake.b']);
  });

  it('errors are CarelakeErrors with a file location', () => {
    try {
      compile(files({ 'models/x.sql': "select * from {{ ref('y') }}" }));
    } catch (err) {
      const problem = (err as ModelProjectError).problems[0];
      expect(problem).toBeInstanceOf(CarelakeError);
      expect(problem?.location).toEqual({ file: 'models/x.sql', line: 1 });
      return;
    }
    throw new Error('expected an error');
  });
});
