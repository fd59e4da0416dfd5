// Data tests as nodes of the graph, through the same phases as models: pass 1 captures what each test
// refers to (a singular test's refs and sources; a `relationships` test's `to:`), `resolveTests` ties
// each to the nodes it depends on and settles its config (`severity`, `where`, `enabled`, `tags`), and
// `compileTests` produces its failing-rows SQL — a generic test's from dataTests.ts, a singular test's
// by rendering its file. Problems name the property file and the key, or the test file. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';
import { GraphResolver, captureTemplate, modelError, type RenderContext } from './compile.ts';
import { genericTestName, genericTestSql, isGenericTest, testHash, GENERIC_TESTS, type GenericTestName } from './dataTests.ts';
import { renderString } from './jinja.ts';
import type { ModelGraph } from './manifest.ts';
import { isRecord } from './modelConfig.ts';
import type { UnparsedGenericTest, UnparsedSingularTest, UnparsedTest } from './parse.ts';
import { lineOfCall, unknownRefError, unknownSourceError } from './problems.ts';

export type TestSeverity = 'error' | 'warn';

export interface TestConfig {
  enabled: boolean;
  severity: TestSeverity;
  where: string | null;
  tags: string[];
  meta: Record<string, unknown>;
}

export interface ResolvedTest {
  uniqueId: string;
  kind: 'generic' | 'singular';
  name: string;
  /** The property file declaring a generic test, or the singular test's file. */
  path: string;
  fqn: string[];
  /** The node a generic test is declared on; null for singular tests. */
  attachedTo: string | null;
  column: string | null;
  /** Models, seeds and sources the test reads, sorted. */
  parents: string[];
  config: TestConfig;
  /** The generic test and its arguments (dbt's `test_metadata`); null for singular tests. */
  testMetadata: { name: GenericTestName; kwargs: Record<string, unknown> } | null;
  rawSql: string;
  /** For generic tests: the rendered `relationships` target, as a node id. */
  toNode: string | null;
}

export interface CompiledTest extends ResolvedTest {
  /** The failing-rows query. */
  compiledSql: string;
  compiledPath: string;
  /** Parent models and seeds (sources are not run). */
  dependsOn: string[];
}

/** What pass 1 found in a test. */
interface CapturedTest {
  test: UnparsedTest;
  refs: string[];
  sources: [string, string][];
  /** A singular test's `config(...)` calls, merged. */
  config: Record<string, unknown>;
}

export function resolveTests(tests: readonly UnparsedTest[], graph: ModelGraph, ctx: RenderContext): { tests: Record<string, ResolvedTest>; problems: CarelakeError[] } {
  const resolved: Record<string, ResolvedTest> = {};
  const problems: CarelakeError[] = [];
  const byName = new Map(Object.values(graph.models).map((m) => [m.model.name, m]));
  const disabledNames = new Set(graph.disabled.map((m) => m.name));

  for (const test of tests) {
    try {
      const captured = captureTest(test, ctx);
      const parents = new Set<string>();
      let readsDisabled = false;
      for (const name of captured.refs) {
        const node = byName.get(name);
        if (node) parents.add(node.uniqueId);
        else if (disabledNames.has(name)) readsDisabled = true;
        else throw unknownRefError(testRef(test), name, test.kind === 'singular' ? lineOfCall(test.rawSql, 'ref', [name]) : undefined);
      }
      // A test reading a disabled model is dropped, as dbt drops it.
      if (readsDisabled) continue;
      for (const [source, table] of captured.sources) {
        const id = `source.${ctx.projectName}.${source}.${table}`;
        if (!graph.sources[id]) throw unknownSourceError(testRef(test), source, table);
        parents.add(id);
      }
      const one = test.kind === 'generic' ? genericTest(test, graph, ctx, byName, disabledNames, parents) : singularTest(test, parents, captured.config);
      if (one === null || !one.config.enabled) continue;
      if (resolved[one.uniqueId]) throw duplicateTest(one, resolved[one.uniqueId] as ResolvedTest);
      for (const parent of one.parents) {
        if (graph.models[parent]?.materialized === 'ephemeral') throw testProblem(test, `reads the ephemeral model '${graph.models[parent]?.model.name}', which has no relation to test`);
      }
      resolved[one.uniqueId] = one;
    } catch (err) {
      problems.push(err instanceof CarelakeError ? err : testProblem(test, (err as Error).message));
    }
  }
  return { tests: resolved, problems };
}

function captureTest(test: UnparsedTest, ctx: RenderContext): CapturedTest {
  if (test.kind === 'singular') {
    const captured = captureTemplate(test, ctx);
    return { test, refs: captured.refs.map((r) => r.name), sources: captured.sources, config: Object.assign({}, ...captured.configCalls) };
  }
  const to = test.declaration.args.to;
  if (test.declaration.test !== 'relationships' || to === undefined) return { test, refs: [], sources: [], config: {} };
  if (typeof to !== 'string') throw testProblem(test, "relationships 'to' must be ref('model') or source('source', 'table')");
  const refs: string[] = [];
  const sources: [string, string][] = [];
  renderString(test.path, `{{ ${to} }}`, {
    values: {},
    functions: {
      ref: ({ positional }) => {
        refs.push(String(positional[positional.length - 1]));
        return '';
      },
      source: ({ positional }) => {
        sources.push([String(positional[0]), String(positional[1])]);
        return '';
      },
    },
  });
  if (refs.length + sources.length !== 1) throw testProblem(test, `relationships 'to' must be one ref() or source(), got "${to}"`);
  return { test, refs, sources, config: {} };
}

function genericTest(
  test: UnparsedGenericTest,
  graph: ModelGraph,
  ctx: RenderContext,
  byName: ReadonlyMap<string, ModelGraph['models'][string]>,
  disabledNames: ReadonlySet<string>,
  toParents: Set<string>,
): ResolvedTest | null {
  const { declaration, attachedTo } = test;
  if (!isGenericTest(declaration.test)) {
    throw testProblem(test, `uses the generic test '${declaration.test}', which carelake does not provide (it supports ${GENERIC_TESTS.join(', ')}; write a singular test for anything else)`);
  }
  let attachedId: string;
  let attachedName: string;
  if (attachedTo.resourceType === 'source') {
    attachedId = `source.${ctx.projectName}.${attachedTo.sourceName ?? ''}.${attachedTo.name}`;
    attachedName = `source_${attachedTo.sourceName ?? ''}_${attachedTo.name}`;
    if (!graph.sources[attachedId]) return null; // a disabled source table
  } else {
    const node = byName.get(attachedTo.name);
    if (!node || node.model.resourceType !== attachedTo.resourceType) {
      if (disabledNames.has(attachedTo.name)) return null;
      throw testProblem(test, `is declared on ${attachedTo.resourceType} '${attachedTo.name}', which was not found (check the name under ${attachedTo.resourceType}s: in ${test.path})`);
    }
    attachedId = node.uniqueId;
    attachedName = attachedTo.name;
  }
  const kwargs: Record<string, unknown> = { ...declaration.args };
  if (test.column === null && typeof kwargs.column_name !== 'string') throw testProblem(test, `needs a column: declare it under columns:, or give column_name`);
  const column = test.column ?? String(kwargs.column_name);
  if (declaration.test === 'accepted_values' && !Array.isArray(kwargs.values)) throw testProblem(test, 'accepted_values needs values: [a list]');
  if (declaration.test === 'relationships' && (typeof kwargs.field !== 'string' || kwargs.to === undefined)) {
    throw testProblem(test, "relationships needs to: ref('model') and field: <column in that model>");
  }
  const config = testConfig(test, declaration.config);
  const name = declaration.name ?? genericTestName(declaration.test, attachedName, column, kwargs);
  const parents = [...new Set([attachedId, ...toParents])].sort();
  return {
    uniqueId: `test.${ctx.projectName}.${name}.${testHash(`${test.path}|${declaration.key}|${name}`)}`,
    kind: 'generic',
    name,
    path: test.path,
    fqn: [ctx.projectName, ...test.path.split('/').slice(1, -1), name],
    attachedTo: attachedId,
    column,
    parents,
    config,
    testMetadata: { name: declaration.test, kwargs: { column_name: column, ...kwargs } },
    rawSql: `{{ test_${declaration.test}(**_dbt_generic_test_kwargs) }}`,
    toNode: [...toParents][0] ?? null,
  };
}

function singularTest(test: UnparsedSingularTest, parents: Set<string>, config: Record<string, unknown>): ResolvedTest {
  return {
    uniqueId: test.uniqueId,
    kind: 'singular',
    name: test.name,
    path: test.path,
    fqn: test.fqn,
    attachedTo: null,
    column: null,
    parents: [...parents].sort(),
    config: testConfig(test, config),
    testMetadata: null,
    rawSql: test.rawSql,
    toNode: null,
  };
}

function testConfig(test: UnparsedTest, raw: Record<string, unknown>): TestConfig {
  const severity = raw.severity ?? 'error';
  if (typeof severity !== 'string' || !['error', 'warn'].includes(severity.toLowerCase())) throw testProblem(test, `severity must be error or warn, got ${JSON.stringify(severity)}`);
  const where = raw.where ?? null;
  if (where !== null && typeof where !== 'string') throw testProblem(test, 'where must be a SQL condition, e.g. "status = \'active\'"');
  const tags = raw.tags === undefined ? [] : typeof raw.tags === 'string' ? [raw.tags] : Array.isArray(raw.tags) ? raw.tags.map(String) : null;
  if (tags === null) throw testProblem(test, 'tags must be a tag or a list of tags');
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') throw testProblem(test, 'enabled must be true or false');
  return { enabled: raw.enabled !== false, severity: severity.toLowerCase() as TestSeverity, where, tags, meta: isRecord(raw.meta) ? raw.meta : {} };
}

export function compileTests(tests: Record<string, ResolvedTest>, resolver: GraphResolver, ctx: RenderContext, targetPath: string): { compiled: CompiledTest[]; problems: CarelakeError[] } {
  const compiled: CompiledTest[] = [];
  const problems: CarelakeError[] = [];
  const { graph } = resolver;
  const relationOf = (id: string): string => graph.models[id]?.relation ?? graph.sources[id]?.relation ?? '';
  for (const id of Object.keys(tests).sort()) {
    const test = tests[id] as ResolvedTest;
    try {
      let sql: string;
      if (test.testMetadata && test.attachedTo) {
        const kwargs = test.testMetadata.kwargs;
        sql = genericTestSql({
          test: test.testMetadata.name,
          relation: relationOf(test.attachedTo),
          column: test.column ?? '',
          values: Array.isArray(kwargs.values) ? kwargs.values : undefined,
          quote: typeof kwargs.quote === 'boolean' ? kwargs.quote : undefined,
          to: test.toNode === null ? undefined : relationOf(test.toNode),
          field: typeof kwargs.field === 'string' ? kwargs.field : undefined,
          where: test.config.where,
        });
      } else {
        sql = resolver.render(test, test.parents, {}, false);
      }
      const file = test.kind === 'singular' ? test.path : `${test.path.replace(/\.ya?ml$/, '')}/${test.name}.sql`;
      compiled.push({
        ...test,
        compiledSql: sql,
        compiledPath: `${targetPath}/compiled/${ctx.projectName}/${file}`,
        dependsOn: test.parents.filter((p) => p in graph.models),
      });
    } catch (err) {
      problems.push(modelError(test, err));
    }
  }
  return { compiled, problems };
}

function testRef(test: UnparsedTest): { uniqueId: string; path: string } {
  return { uniqueId: test.kind === 'singular' ? test.uniqueId : `test on ${test.attachedTo.name}`, path: test.path };
}

function testProblem(test: UnparsedTest, reason: string): CarelakeError {
  if (test.kind === 'singular') {
    return new CarelakeError({ code: 'models.invalid_test', kind: 'compile', message: `Test '${test.uniqueId}' (${test.path}) ${reason}`, location: { file: test.path } });
  }
  const on = test.column === null ? test.attachedTo.name : `${test.attachedTo.name}.${test.column}`;
  return new CarelakeError({
    code: 'models.invalid_test',
    kind: 'config',
    message: `Test '${test.declaration.test}' on ${on} (${test.path}, ${test.declaration.key}) ${reason}`,
    location: { file: test.path, line: test.declaration.line ?? undefined, field: test.declaration.key },
  });
}

function duplicateTest(one: ResolvedTest, other: ResolvedTest): CarelakeError {
  return new CarelakeError({
    code: 'models.duplicate_test',
    kind: 'config',
    message: `Two tests have the id '${one.uniqueId}': in ${other.path} and ${one.path}`,
    location: { file: one.path },
    hint: 'give one of them a name:',
  });
}
