// The Jinja bridge: keyword arguments reach context functions as keywords, relations render as text
// yet expose attributes, macros can return values, and whitespace is kept as dbt keeps it.

import { describe, expect, it } from 'vitest';
import { JinjaRelation, MacroLibrary, parseTemplate, renderProgram, type JinjaCall } from '../../../transforms/models/jinja.ts';

function render(source: string, values: Record<string, unknown> = {}, functions: Record<string, (call: JinjaCall) => unknown> = {}, macros = MacroLibrary.empty): string {
  return renderProgram(parseTemplate('models/t.sql', source), { values, functions }, macros);
}

describe('context functions', () => {
  const cases = [
    {
      description: 'keyword arguments arrive as keywords',
      source: "{{ f('a', materialized='table', tags=['x']) }}",
      expected: { positional: ['a'], keyword: { materialized: 'table', tags: ['x'] } },
    },
    {
      description: 'a dict argument stays positional',
      source: "{{ f({'materialized': 'table'}) }}",
      expected: { positional: [{ materialized: 'table' }], keyword: {} },
    },
    {
      description: 'numbers, booleans and none come through as JS values',
      source: '{{ f(1, 2.5, true, none) }}',
      expected: { positional: [1, 2.5, true, null], keyword: {} },
    },
  ];
  it.each(cases)('$description', ({ source, expected }) => {
    const calls: JinjaCall[] = [];
    render(source, {}, { f: (call) => (calls.push(call), '') });
    expect(calls).toEqual([expected]);
  });
});

describe('rendering', () => {
  const relation = new JinjaRelation('"main_curated"."dim_patient"', { schema: 'main_curated', identifier: 'dim_patient' });
  const cases = [
    { description: 'a relation renders as its quoted name', source: 'select * from {{ this }}', expected: 'select * from "main_curated"."dim_patient"' },
    { description: 'a relation exposes its schema', source: "{{ this.schema }}.{{ this.identifier }}", expected: 'main_curated.dim_patient' },
    { description: 'if / for / set work', source: "{% set xs = ['a', 'b'] %}{% for x in xs %}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", expected: 'a,b' },
    { description: 'whitespace around blocks is kept (no trim_blocks)', source: 'a\n{% if true %}\nb\n{% endif %}\nc', expected: 'a\n\nb\n\nc' },
    { description: 'whitespace control markers trim', source: 'a\n{%- if true -%}\nb\n{%- endif %}', expected: 'ab' },
    { description: 'range works', source: '{% for i in range(3) %}{{ i }}{% endfor %}', expected: '012' },
    { description: 'backslashes in SQL text survive', source: "select regexp_matches(x, '\\d+')", expected: "select regexp_matches(x, '\\d+')" },
    { description: 'the clock is not available (strftime_now is not a global)', source: '{{ strftime_now is defined }}', expected: 'false' },
  ];
  it.each(cases)('$description', ({ source, expected }) => {
    expect(render(source, { this: relation })).toBe(expected);
  });
});

describe('macros', () => {
  const { library, problems } = MacroLibrary.parse([
    {
      path: 'macros/util.sql',
      contents: `{% macro pounds(col) %}({{ col }} / 100.0){% endmacro %}
{% macro bands() %}{{ return(['5', '6']) }}{% endmacro %}
{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}`,
    },
  ]);
  const cases = [
    { description: 'a macro renders', source: '{{ pounds("pay") }}', expected: '(pay / 100.0)' },
    { description: 'return() gives the macro a value', source: '{{ bands() | length }}:{{ bands()[1] }}', expected: '2:6' },
    { description: 'macros call each other through the context', source: '{{ twice(pounds(1)) }}', expected: '(1 / 100.0)(1 / 100.0)' },
  ];
  it.each(cases)('$description', ({ source, expected }) => {
    expect(problems).toEqual([]);
    expect(render(source, {}, {}, library)).toBe(expected);
  });

  it('lists macro names and reports a syntax error in a macro file by name', () => {
    expect(library.list().map((m) => m.name)).toEqual(['pounds', 'bands', 'twice']);
    const broken = MacroLibrary.parse([{ path: 'macros/broken.sql', contents: '{% macro x() %}{{ 1 + }}{% endmacro %}' }]);
    expect(broken.problems[0]?.message).toContain('Jinja syntax error in macros/broken.sql');
  });
});
