// Node selection: `--select` / `--exclude` arguments → the set of node ids a command acts on, with
// dbt-core's semantics so the same arguments pick the same nodes under dbt. An argument splits on
// spaces into a union of tokens; a comma inside a token is an intersection; each part is
// `[@][n+]method:value[+n]` (method optional: a value with '/' is a path, one ending .sql/.py/.csv a
// file name, anything else an fqn — node name, folder path `staging.fhir` or package name, with
// fnmatch wildcards). Graph operators walk the DAG, which includes sources and tests. Each part's
// nodes then pull in, "eagerly", every test with at least one parent among them (dbt's default
// indirect selection); that holds for `--exclude` too, so excluding a model drops its tests.
// Sources are graph members (so `+model` pulls in their tests) but only stay in the result when a
// `source:` criterion named them: commands run models, seeds and tests; freshness reads the sources.
// A token that matches nothing, an unknown method or a malformed value is a problem, returned for
// the caller to report; it never throws. Pure: no I/O.

import { CarelakeError } from '../../core/errors.ts';

export type SelectableResourceType = 'model' | 'seed' | 'test' | 'source';

export interface SelectableNode {
  /** 'model.carelake.stg_patient', 'test.carelake.not_null_x_y.abc123', 'source.carelake.fhir.Patient'. */
  uniqueId: string;
  resourceType: SelectableResourceType;
  /** The node's name; for a source, the table name (selected as `source:fhir.Patient`). */
  name: string;
  /** ['carelake', 'staging', 'fhir', 'stg_patient']: package, folders under the model path, name. */
  fqn: readonly string[];
  /** Project-relative, '/' separators: 'models/staging/fhir/stg_patient.sql'. */
  originalFilePath: string;
  /** The property file that documents the node, if any ('models/staging/_models.yml'); `path:` matches it too. */
  patchPath?: string | null;
  tags: readonly string[];
  /** Direct parents' uniqueIds (models, seeds, sources). Ids not among the nodes are ignored. */
  parents: readonly string[];
  /** For sources: the source's name ('fhir'); taken from the uniqueId when absent. */
  sourceName?: string;
  /** The resolved `materialized` config, for `config.materialized:…`. */
  materialized?: string;
  /** Other resolved config, for `config.<key>[.<key>…]:value`. `materialized` above takes precedence. */
  config?: Readonly<Record<string, unknown>>;
  /** For tests: a generic (YAML `data_tests:`) or singular (SQL file) test. */
  testType?: 'generic' | 'singular';
  /** For generic tests: the test's name ('not_null', 'relationships'), for `test_name:`. */
  testName?: string;
}

export interface SelectOptions {
  /** One entry per CLI argument; absent or empty selects every node except sources. */
  select?: readonly string[];
  exclude?: readonly string[];
}

export interface SelectionResult {
  selected: Set<string>;
  /** Warnings for the caller: criteria matching nothing, unknown methods, malformed values. */
  problems: CarelakeError[];
}

// ---- parsing ---------------------------------------------------------------------------------------

/** dbt's RAW_SELECTOR_PATTERN: `[@][n+][method[.args]:]value[+n]`. */
const RAW_SELECTOR = /^(?<childrensParents>@)?(?<parents>(?<parentsDepth>\d*)\+)?(?:(?<method>[\w.]+):)?(?<value>.*?)(?<children>\+(?<childrenDepth>\d*))?$/;

interface Criterion {
  raw: string;
  method: MethodName;
  args: string[];
  value: string;
  childrensParents: boolean;
  parents: boolean;
  parentsDepth: number | null;
  children: boolean;
  childrenDepth: number | null;
}

type Flag = '--select' | '--exclude';

function parseCriterion(raw: string, flag: Flag): Criterion | CarelakeError {
  const match = RAW_SELECTOR.exec(raw);
  const groups = match?.groups;
  if (!groups) return invalidSelector(flag, raw, 'it is not of the form [@][n+]method:value[+n]');
  const value = groups.value ?? '';
  let method: MethodName;
  let args: string[] = [];
  if (groups.method === undefined) method = defaultMethod(value);
  else {
    const [name = '', ...rest] = groups.method.split('.');
    if (!isMethodName(name)) return unknownMethodError(flag, raw, name);
    method = name;
    args = rest;
  }
  const criterion: Criterion = {
    raw,
    method,
    args,
    value,
    childrensParents: groups.childrensParents !== undefined,
    parents: groups.parents !== undefined,
    parentsDepth: depth(groups.parentsDepth),
    children: groups.children !== undefined,
    childrenDepth: depth(groups.childrenDepth),
  };
  if (criterion.childrensParents && criterion.children) return invalidSelector(flag, raw, "the '@' prefix and a '+' suffix cannot be combined");
  const invalid = methods[method].validate?.(value, args);
  return invalid ? invalidSelector(flag, raw, invalid) : criterion;
}

function depth(raw: string | undefined): number | null {
  return raw === undefined || raw === '' ? null : Number.parseInt(raw, 10);
}

/** dbt: a value with a path separator is a path, one naming a model/seed file is a file, else an fqn. */
function defaultMethod(value: string): MethodName {
  if (value.includes('/') || value.includes('\\')) return 'path';
  if (/\.(sql|py|csv)$/i.test(value)) return 'file';
  return 'fqn';
}

// ---- methods ---------------------------------------------------------------------------------------

/** Which nodes a method searches, as in dbt: parsed nodes (models, seeds, tests), sources, or both. */
type Scope = 'nodes' | 'sources' | 'all';

interface SelectorMethod {
  scope: Scope;
  /** A reason the value can never be valid, as dbt raises for these. */
  validate?: (value: string, args: readonly string[]) => string | null;
  matches: (node: SelectableNode, value: string, args: readonly string[]) => boolean;
}

const SUPPORTED_METHODS = ['fqn', 'tag', 'source', 'path', 'file', 'package', 'config', 'resource_type', 'test_type', 'test_name'] as const;
type MethodName = (typeof SUPPORTED_METHODS)[number];

/** Methods dbt knows that carelake has nothing to select by (no state, exposures, groups, versions…). */
const DBT_ONLY_METHODS = ['group', 'access', 'state', 'exposure', 'metric', 'result', 'source_status', 'version', 'semantic_model', 'saved_query', 'unit_test', 'wildcard'];

/** dbt's NodeType values; the valid `resource_type:` arguments. */
const DBT_RESOURCE_TYPES = ['model', 'analysis', 'test', 'snapshot', 'operation', 'seed', 'rpc', 'sql_operation', 'doc', 'source', 'macro', 'exposure', 'metric', 'group', 'saved_query', 'semantic_model', 'unit_test', 'fixture', 'function'];

const TEST_TYPES: Record<string, readonly ('generic' | 'singular')[]> = {
  generic: ['generic'],
  singular: ['singular'],
  data: ['generic', 'singular'],
  unit: [],
};

const methods: Record<MethodName, SelectorMethod> = {
  fqn: {
    scope: 'nodes',
    // dbt tries the full fqn and then the fqn without its package, so names match across packages.
    matches: (node, value) => isSelectedNode(node.fqn, value) || isSelectedNode(node.fqn.slice(1), value),
  },
  tag: { scope: 'all', matches: (node, value) => node.tags.some((tag) => fnmatch(tag, value)) },
  source: {
    scope: 'sources',
    validate: (value) => (value.split('.').length > 3 ? 'a source is named source_name, source_name.table_name or package.source_name.table_name' : null),
    matches: (node, value) => {
      const parts = value.split('.');
      const [pkg, source, table] = parts.length === 3 ? parts : ['*', parts[0] ?? '', parts[1] ?? '*'];
      return fnmatch(packageOf(node), pkg ?? '') && fnmatch(sourceNameOf(node), source ?? '') && fnmatch(node.name, table ?? '');
    },
  },
  path: { scope: 'all', matches: (node, value) => pathMatches(node.originalFilePath, value) || (!!node.patchPath && pathIs(node.patchPath, value)) },
  file: { scope: 'all', matches: (node, value) => fnmatch(node.originalFilePath.split('/').pop() ?? '', value) },
  package: { scope: 'all', matches: (node, value) => fnmatch(packageOf(node), value) },
  config: { scope: 'all', matches: (node, value, args) => configMatches(node, value, args) },
  resource_type: {
    scope: 'nodes',
    validate: (value) => (DBT_RESOURCE_TYPES.includes(value) ? null : `'${value}' is not a resource type; expected one of ${DBT_RESOURCE_TYPES.join(', ')}`),
    matches: (node, value) => node.resourceType === value,
  },
  test_type: {
    scope: 'nodes',
    validate: (value) => (value in TEST_TYPES ? null : `'${value}' is not a test type; expected generic, singular, data or unit`),
    matches: (node, value) => node.resourceType === 'test' && node.testType !== undefined && (TEST_TYPES[value] ?? []).includes(node.testType),
  },
  test_name: { scope: 'nodes', matches: (node, value) => node.resourceType === 'test' && node.testName !== undefined && fnmatch(node.testName, value) },
};

function isMethodName(name: string): name is MethodName {
  return (SUPPORTED_METHODS as readonly string[]).includes(name);
}

function inScope(node: SelectableNode, scope: Scope): boolean {
  return scope === 'all' || (scope === 'sources') === (node.resourceType === 'source');
}

function packageOf(node: SelectableNode): string {
  return node.uniqueId.split('.')[1] ?? '';
}

function sourceNameOf(node: SelectableNode): string {
  return node.sourceName ?? node.uniqueId.split('.')[2] ?? '';
}

/**
 * dbt's `is_selected_node` (unversioned): the fqn's last part equals the selector, or the selector's
 * dot-separated parts are a prefix of the fqn; from the first part with a wildcard, the rest of the
 * fqn is fnmatched against the rest of the selector. So `staging.fhir` selects a folder, `carelake`
 * the package, `*.stg_*` any stg_ node, and `stg_*` only stg_ nodes at the top of the model folder.
 */
export function isSelectedNode(fqn: readonly string[], selector: string): boolean {
  if (fqn.length > 0 && fqn[fqn.length - 1] === selector) return true;
  const flat = fqn.flatMap((segment) => segment.split('.'));
  const parts = selector.split('.');
  if (flat.length < parts.length) return false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (/[*?[\]]/.test(part)) return fnmatch(flat.slice(i).join('.'), parts.slice(i).join('.'));
    if (flat[i] !== part) return false;
  }
  return true;
}

/**
 * Python's `fnmatch.fnmatchcase`: `*` any run (including '.' and '/'), `?` one character, `[abc]`,
 * `[a-z]`, `[!abc]`; an unclosed '[' is literal. Case-sensitive, as dbt is on POSIX.
 */
export function fnmatch(name: string, pattern: string): boolean {
  return fnmatchRegExp(pattern).test(name);
}

function fnmatchRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) out += '\\[';
      else {
        let body = pattern.slice(i + 1, j);
        const negate = body.startsWith('!');
        if (negate) body = body.slice(1);
        const escaped = body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]').replace(/^\^/, '\\^');
        out += `[${negate ? '^' : ''}${escaped}]`;
        i = j;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** dbt globs the selector from the project root and selects a node whose file, or a folder above it, matched. */
function pathMatches(filePath: string, selector: string): boolean {
  const file = normalisePath(filePath);
  const candidates = [file];
  for (let at = file.lastIndexOf('/'); at > 0; at = file.lastIndexOf('/', at - 1)) candidates.push(file.slice(0, at));
  const pattern = normalisePath(selector);
  if (pattern === '') return true;
  return candidates.some((candidate) => globPath(candidate.split('/'), pattern.split('/')));
}

function pathIs(filePath: string, selector: string): boolean {
  return globPath(normalisePath(filePath).split('/'), normalisePath(selector).split('/'));
}

function normalisePath(path: string): string {
  const parts = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.');
  return parts.join('/');
}

/** pathlib-style glob on path segments: `**` spans any number of folders, other wildcards stay within one. */
function globPath(segments: readonly string[], pattern: readonly string[]): boolean {
  if (pattern.length === 0) return segments.length === 0;
  const [head, ...rest] = pattern as [string, ...string[]];
  if (head === '**') return globPath(segments, rest) || (segments.length > 0 && globPath(segments.slice(1), pattern));
  return segments.length > 0 && fnmatch(segments[0] as string, head) && globPath(segments.slice(1), rest);
}

/** dbt's config method: the value at the config path equals the selector, or a list holds it; true/false match booleans. */
function configMatches(node: SelectableNode, selector: string, path: readonly string[]): boolean {
  const found = configValue(node, path);
  if (!found.present) return false;
  const { value } = found;
  const caseInsensitive = path.length === 1 && path[0] === 'severity';
  const equals = (v: unknown): boolean =>
    (typeof v === 'string' && (caseInsensitive ? v.toUpperCase() === selector.toUpperCase() : v === selector)) ||
    (selector.toLowerCase() === 'true' && v === true) ||
    (selector.toLowerCase() === 'false' && v === false);
  return Array.isArray(value) ? value.some(equals) : equals(value);
}

function configValue(node: SelectableNode, path: readonly string[]): { present: true; value: unknown } | { present: false } {
  if (path.length === 1 && path[0] === 'materialized' && node.materialized !== undefined) return { present: true, value: node.materialized };
  let value: unknown = node.config ?? {};
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return { present: false };
    value = (value as Record<string, unknown>)[key];
  }
  return { present: true, value };
}

// ---- the graph -------------------------------------------------------------------------------------

class SelectionGraph {
  readonly byId: ReadonlyMap<string, SelectableNode>;
  private readonly parents = new Map<string, string[]>();
  private readonly children = new Map<string, string[]>();

  constructor(nodes: readonly SelectableNode[]) {
    this.byId = new Map(nodes.map((node) => [node.uniqueId, node]));
    for (const node of nodes) {
      this.parents.set(node.uniqueId, []);
      this.children.set(node.uniqueId, []);
    }
    for (const node of nodes) {
      for (const parent of new Set(node.parents)) {
        if (!this.byId.has(parent) || parent === node.uniqueId) continue;
        this.parents.get(node.uniqueId)?.push(parent);
        this.children.get(parent)?.push(node.uniqueId);
      }
    }
  }

  ancestors(start: ReadonlySet<string>, maxDepth: number | null): Set<string> {
    return this.walk(start, maxDepth, this.parents);
  }

  descendants(start: ReadonlySet<string>, maxDepth: number | null): Set<string> {
    return this.walk(start, maxDepth, this.children);
  }

  childrenOf(id: string): readonly string[] {
    return this.children.get(id) ?? [];
  }

  /** Breadth-first from each start node, up to maxDepth edges; the start nodes themselves are not included unless reached. */
  private walk(start: ReadonlySet<string>, maxDepth: number | null, edges: ReadonlyMap<string, string[]>): Set<string> {
    const found = new Set<string>();
    for (const origin of start) {
      const seen = new Set([origin]);
      let frontier = [origin];
      for (let d = 0; frontier.length > 0 && (maxDepth === null || d < maxDepth); d++) {
        const next: string[] = [];
        for (const id of frontier) {
          for (const neighbour of edges.get(id) ?? []) {
            if (seen.has(neighbour)) continue;
            seen.add(neighbour);
            found.add(neighbour);
            next.push(neighbour);
          }
        }
        frontier = next;
      }
    }
    return found;
  }
}

// ---- selection -------------------------------------------------------------------------------------

interface UnionResult {
  ids: Set<string>;
  /** Sources a `source:` criterion matched directly (not through a graph operator). */
  namedSources: Set<string>;
}

export function selectNodes(nodes: readonly SelectableNode[], options: SelectOptions): SelectionResult {
  const graph = new SelectionGraph(nodes);
  const problems: CarelakeError[] = [];

  const hasSelect = options.select !== undefined && options.select.some((arg) => arg.trim() !== '');
  const included: UnionResult = hasSelect
    ? selectUnion(graph, options.select ?? [], '--select', problems)
    : { ids: new Set(nodes.filter((n) => n.resourceType !== 'source').map((n) => n.uniqueId)), namedSources: new Set() };
  const excluded = options.exclude ? selectUnion(graph, options.exclude, '--exclude', problems).ids : new Set<string>();

  const selected = new Set<string>();
  for (const id of included.ids) {
    if (excluded.has(id)) continue;
    if (graph.byId.get(id)?.resourceType === 'source' && !included.namedSources.has(id)) continue;
    selected.add(id);
  }
  return { selected, problems };
}

/** dbt's parse_union: arguments split on spaces; each token is an intersection of comma-separated criteria. */
function selectUnion(graph: SelectionGraph, args: readonly string[], flag: Flag, problems: CarelakeError[]): UnionResult {
  const ids = new Set<string>();
  const namedSources = new Set<string>();
  for (const token of args.flatMap((arg) => arg.split(' ')).filter((t) => t !== '')) {
    let intersection: Set<string> | null = null;
    let valid = true;
    for (const part of token.split(',')) {
      const criterion = parseCriterion(part, flag);
      if (criterion instanceof CarelakeError) {
        problems.push(criterion);
        valid = false;
        intersection = new Set();
        continue;
      }
      const { collected, expanded } = selectCriterion(graph, criterion);
      if (criterion.method === 'source') for (const id of collected) namedSources.add(id);
      intersection = intersection === null ? expanded : new Set([...intersection].filter((id) => expanded.has(id)));
    }
    const matched = intersection ?? new Set<string>();
    if (valid && matched.size === 0) problems.push(matchesNothingError(flag, token));
    for (const id of matched) ids.add(id);
  }
  return { ids, namedSources };
}

/** One criterion: the method's matches, then its graph operators, then eager indirect selection of tests. */
function selectCriterion(graph: SelectionGraph, criterion: Criterion): { collected: Set<string>; expanded: Set<string> } {
  const method = methods[criterion.method];
  const collected = new Set<string>();
  for (const node of graph.byId.values()) {
    if (inScope(node, method.scope) && method.matches(node, criterion.value, criterion.args)) collected.add(node.uniqueId);
  }

  const selected = new Set(collected);
  if (criterion.childrensParents) {
    const withChildren = new Set([...collected, ...graph.descendants(collected, null)]);
    for (const id of [...withChildren, ...graph.ancestors(withChildren, null)]) selected.add(id);
  }
  if (criterion.parents) for (const id of graph.ancestors(collected, criterion.parentsDepth)) selected.add(id);
  if (criterion.children) for (const id of graph.descendants(collected, criterion.childrenDepth)) selected.add(id);

  // Eager indirect selection: a test whose parent is selected is selected too.
  const expanded = new Set(selected);
  for (const id of selected) {
    for (const child of graph.childrenOf(id)) if (graph.byId.get(child)?.resourceType === 'test') expanded.add(child);
  }
  return { collected, expanded };
}

// ---- problems --------------------------------------------------------------------------------------

function matchesNothingError(flag: Flag, token: string): CarelakeError {
  return new CarelakeError({
    code: 'models.selection_matches_nothing',
    kind: 'config',
    message: `The ${flag} criterion '${token}' does not match any enabled nodes`,
    hint: 'check the spelling; names, tags and paths are case-sensitive, and sources are selected as source:<source>[.<table>]',
  });
}

function unknownMethodError(flag: Flag, raw: string, name: string): CarelakeError {
  const dbtOnly = DBT_ONLY_METHODS.includes(name);
  return new CarelakeError({
    code: 'models.unknown_selector_method',
    kind: 'config',
    message: dbtOnly
      ? `The ${flag} criterion '${raw}' uses the '${name}' method, which carelake does not support`
      : `The ${flag} criterion '${raw}' uses '${name}', which is not a selector method`,
    hint: `use one of ${SUPPORTED_METHODS.join(', ')}`,
  });
}

function invalidSelector(flag: Flag, raw: string, why: string): CarelakeError {
  return new CarelakeError({
    code: 'models.invalid_selector',
    kind: 'config',
    message: `The ${flag} criterion '${raw}' is not valid: ${why}`,
  });
}
