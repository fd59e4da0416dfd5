// Reports as Markdown: how a file splits into prose, SQL blocks and components, and every mistake the
// compiler finds before any data is read, named with its file and line.

import { describe, expect, it } from 'vitest';
import { compileReport, sqlParams } from '../../../warehouse/reports/markdown/reportCompile.ts';
import { parseReportSource } from '../../../warehouse/reports/markdown/reportSource.ts';

const compile = (text: string, id = 'r') => compileReport(parseReportSource(text, 'reports/r.md'), id);
const failure = (text: string, id = 'r') => {
  try {
    compile(text, id);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the report to be refused');
};

const GOOD = `---
title: Admissions
description: Per week.
---
Some *prose* with <b>tags</b> that stay text.

\`\`\`sql providers
SELECT DISTINCT provider FROM agg
\`\`\`

<Dropdown name="provider" data="providers" value="provider" title="Provider"/>

\`\`\`sql weekly counts=admissions measures=los
SELECT week, admissions, los FROM agg WHERE provider = $provider -- not $this
\`\`\`

<LineChart data="weekly" x="week" y="admissions,los" title="Weekly"/>
<DataTable data="weekly" title="Table" link="practice/{week}"/>
`;

describe('compileReport', () => {
  it('splits a report into prose (raw HTML escaped), queries with their roles and parameters, filters and components', () => {
    const report = compile(GOOD, 'admissions');
    expect(report).toMatchObject({ id: 'admissions', title: 'Admissions', description: 'Per week.', routeParams: [], listed: true });
    expect(report.queries.map((q) => [q.name, q.counts, q.measures, q.params])).toEqual([
      ['providers', [], [], []],
      ['weekly', ['admissions'], ['los'], ['provider']],
    ]);
    expect(report.filters.map((f) => f.name)).toEqual(['provider']);
    const prose = report.blocks[0]!;
    expect(prose.kind === 'prose' && prose.html).toContain('&lt;b&gt;tags&lt;/b&gt;');
    expect(report.blocks.filter((b) => b.kind === 'component').map((b) => b.kind === 'component' && b.component.type)).toEqual(['Dropdown', 'LineChart', 'DataTable']);
  });

  it('takes route parameters from [segments] and does not list templated pages', () => {
    const report = compile(`---\ntitle: Practice\npaths: SELECT 'A' AS code\n---\n\`\`\`sql p\nSELECT * FROM agg WHERE practice = $code\n\`\`\`\n`, 'practice/[code]');
    expect(report).toMatchObject({ routeParams: ['code'], listed: false, paths: "SELECT 'A' AS code" });
  });

  it('finds parameters outside literals and comments only', () => {
    expect(sqlParams("SELECT '$no', $yes, $yes /* $no */ FROM t WHERE x = $other -- $no")).toEqual(['yes', 'other']);
  });

  it.each([
    ['no title', `\`\`\`sql q\nSELECT 1\n\`\`\``, /r\.md:1: the front matter needs a title/],
    ['an unclosed block', `---\ntitle: t\n---\n\`\`\`sql q\nSELECT 1`, /r\.md:4: this ```sql block is never closed/],
    ['a block without a name', `---\ntitle: t\n---\n\`\`\`sql\nSELECT 1\n\`\`\``, /r\.md:4: a sql block needs a name/],
    ['a component before its data', `---\ntitle: t\n---\n<DataTable data="q" title="T"/>\n\`\`\`sql q\nSELECT 1\n\`\`\``, /r\.md:4: DataTable uses data="q", but no sql block of that name comes before it/],
    ['an unknown component', `---\ntitle: t\n---\n<PieChart data="q"/>`, /r\.md:4: there is no component <PieChart\/>/],
    ['a component without a required attribute', `---\ntitle: t\n---\n\`\`\`sql q\nSELECT 1\n\`\`\`\n<BarChart data="q" x="a" title="T"/>`, /r\.md:7: BarChart needs y="…"/],
    ['an unknown attribute', `---\ntitle: t\n---\n\`\`\`sql q\nSELECT 1\n\`\`\`\n<DataTable data="q" title="T" colour="red"/>`, /DataTable has no attribute 'colour'/],
    ['a malformed tag', `---\ntitle: t\n---\n<DataTable data='q'/>`, /r\.md:4: a component must be one self-closing tag/],
    ['an unbound parameter', `---\ntitle: t\n---\n\`\`\`sql q\nSELECT * FROM t WHERE a = $nowhere\n\`\`\``, /r\.md:4: query 'q' uses \$nowhere, which no route segment or filter provides/],
    ['a filter fed by its own choice', `---\ntitle: t\n---\n\`\`\`sql q\nSELECT a FROM t WHERE a = $f\n\`\`\`\n<Dropdown name="f" data="q" value="a" title="F"/>`, /cannot use that filter's own \$f/],
    ['a query defined twice', `---\ntitle: t\n---\n\`\`\`sql q\nSELECT 1\n\`\`\`\n\`\`\`sql q\nSELECT 2\n\`\`\``, /r\.md:7: a query named 'q' is defined twice/],
    ['a bad block setting', `---\ntitle: t\n---\n\`\`\`sql q count=a\nSELECT 1\n\`\`\``, /unknown block setting 'count'/],
  ])('refuses %s, naming the file and line', (_what, text, message) => {
    expect(failure(text)).toMatch(message);
  });

  it('reports every problem in a file at once', () => {
    const message = failure(`---\ndescription: none\n---\n<Nope/>\n\`\`\`sql q\nSELECT $x\n\`\`\``);
    expect(message).toMatch(/has 3 problems/);
  });
});
