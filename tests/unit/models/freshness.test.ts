// Source freshness with dbt-core's semantics: the YAML rule, table-over-source merging, the query (run
// in a real DuckDB), the pass / warn / error verdict at and around each threshold, and sources.json.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DuckDb } from '../../../core/duckdb.ts';
import {
  DBT_SOURCES_SCHEMA,
  freshnessRuleSchema,
  freshnessSql,
  freshnessStatus,
  mergeFreshness,
  pythonIsoFormat,
  sourcesJson,
  type FreshnessRule,
} from '../../../transforms/models/freshness.ts';

const HOUR = 3600 * 1000;
const SNAPSHOT = new Date('2024-07-01T12:00:00.000Z');
const ago = (ms: number) => new Date(SNAPSHOT.getTime() - ms);

describe('freshnessRuleSchema (dbt YAML shape)', () => {
  const valid = [
    {
      description: 'both thresholds and a filter',
      yaml: 'warn_after: {count: 12, period: hour}\nerror_after: {count: 1, period: day}\nfilter: "kind = \'a\'"',
      expected: { warn_after: { count: 12, period: 'hour' }, error_after: { count: 1, period: 'day' }, filter: "kind = 'a'" },
    },
    { description: 'only warn_after', yaml: 'warn_after: {count: 30, period: minute}', expected: { warn_after: { count: 30, period: 'minute' } } },
    { description: 'null to switch freshness off', yaml: 'null', expected: null },
    { description: 'a threshold set to null', yaml: 'warn_after: null\nerror_after: {count: 2, period: day}', expected: { warn_after: null, error_after: { count: 2, period: 'day' } } },
    { description: 'an empty mapping', yaml: '{}', expected: {} },
  ];
  it.each(valid)('accepts $description', ({ yaml, expected }) => {
    expect(freshnessRuleSchema.parse(parseYaml(yaml))).toEqual(expected);
  });

  const invalid = [
    { description: 'an unknown period', yaml: 'warn_after: {count: 1, period: week}', message: 'expected one of minute, hour, day' },
    { description: 'a fractional count', yaml: 'warn_after: {count: 1.5, period: hour}', message: 'whole number' },
    { description: 'a negative count', yaml: 'warn_after: {count: -1, period: hour}', message: '0 or more' },
    { description: 'a count without a period', yaml: 'warn_after: {count: 1}', message: 'expected one of minute, hour, day' },
    { description: 'a misspelt key', yaml: 'warn_afterr: {count: 1, period: hour}', message: 'warn_afterr' },
    { description: 'a string instead of a mapping', yaml: '"12 hours"', message: 'expected a mapping' },
  ];
  it.each(invalid)('rejects $description', ({ yaml, message }) => {
    const result = freshnessRuleSchema.safeParse(parseYaml(yaml));
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });
});

describe('mergeFreshness (dbt merge_freshness: table over source)', () => {
  const source: FreshnessRule = { warn_after: { count: 12, period: 'hour' }, error_after: { count: 24, period: 'hour' }, filter: 'a > 1' };
  const cases: { description: string; source: FreshnessRule | null | undefined; table: FreshnessRule | null | undefined; expected: FreshnessRule | null }[] = [
    { description: 'a table that says nothing inherits the source rule', source, table: undefined, expected: source },
    { description: 'an empty table rule inherits the source rule', source, table: {}, expected: source },
    { description: 'a table null switches freshness off', source, table: null, expected: null },
    {
      description: 'a table threshold replaces the source one; the other is inherited',
      source,
      table: { warn_after: { count: 6, period: 'hour' } },
      expected: { warn_after: { count: 6, period: 'hour' }, error_after: { count: 24, period: 'hour' }, filter: 'a > 1' },
    },
    {
      description: 'a table threshold set to null drops it',
      source,
      table: { warn_after: null },
      expected: { warn_after: null, error_after: { count: 24, period: 'hour' }, filter: 'a > 1' },
    },
    { description: 'the table filter wins', source, table: { filter: 'b = 2' }, expected: { ...source, filter: 'b = 2' } },
    { description: 'a null table filter does not clear the source one, as in dbt', source, table: { filter: null }, expected: source },
    { description: 'dropping both thresholds leaves nothing to check', source, table: { warn_after: null, error_after: null }, expected: null },
    {
      description: 'with no source rule the table rule stands alone',
      source: undefined,
      table: { error_after: { count: 1, period: 'day' } },
      expected: { warn_after: null, error_after: { count: 1, period: 'day' }, filter: null },
    },
    {
      description: 'a source null does not stop a table rule',
      source: null,
      table: { warn_after: { count: 1, period: 'day' } },
      expected: { warn_after: { count: 1, period: 'day' }, error_after: null, filter: null },
    },
    { description: 'neither level has a rule', source: undefined, table: undefined, expected: null },
    { description: 'a source null and a silent table', source: null, table: undefined, expected: null },
  ];
  it.each(cases)('$description', ({ source: s, table, expected }) => {
    expect(mergeFreshness(s, table)).toEqual(expected);
  });

  it('does not mutate its inputs', () => {
    const table: FreshnessRule = { warn_after: null };
    const before = structuredClone({ source, table });
    mergeFreshness(source, table);
    expect({ source, table }).toEqual(before);
  });
});

describe('freshnessStatus (dbt FreshnessThreshold.status)', () => {
  const rule: FreshnessRule = { warn_after: { count: 12, period: 'hour' }, error_after: { count: 1, period: 'day' } };
  const cases = [
    { description: 'fresh data passes', age: 1 * HOUR, rule, status: 'pass' },
    { description: 'exactly at warn_after still passes (strictly greater)', age: 12 * HOUR, rule, status: 'pass' },
    { description: 'a millisecond past warn_after warns', age: 12 * HOUR + 1, rule, status: 'warn' },
    { description: 'exactly at error_after warns', age: 24 * HOUR, rule, status: 'warn' },
    { description: 'past error_after errors', age: 24 * HOUR + 1000, rule, status: 'error' },
    { description: 'only error_after: below it passes', age: 20 * HOUR, rule: { error_after: { count: 1, period: 'day' } }, status: 'pass' },
    { description: 'only warn_after: far past it only warns', age: 100 * 24 * HOUR, rule: { warn_after: { count: 1, period: 'minute' } }, status: 'warn' },
    { description: 'minutes are 60 seconds', age: 61 * 1000, rule: { error_after: { count: 1, period: 'minute' } }, status: 'error' },
    { description: 'a future load time is fresh', age: -HOUR, rule, status: 'pass' },
    { description: 'a zero count flags any age', age: 1, rule: { warn_after: { count: 0, period: 'hour' } }, status: 'warn' },
  ] as const;
  it.each(cases)('$description', ({ age, rule: r, status }) => {
    expect(freshnessStatus(ago(age), SNAPSHOT, r)).toEqual({ status, ageSeconds: age / 1000 });
  });

  const empty = [
    { description: 'an empty table errors when error_after is set', rule, status: 'error' },
    { description: 'an empty table warns when only warn_after is set', rule: { warn_after: { count: 1, period: 'day' } }, status: 'warn' },
    { description: 'an empty table passes a rule with no thresholds', rule: {}, status: 'pass' },
  ] as const;
  it.each(empty)('$description', ({ rule: r, status }) => {
    expect(freshnessStatus(null, SNAPSHOT, r)).toEqual({ status, ageSeconds: null });
  });
});

describe('freshnessSql (run in DuckDB)', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
    await db.run(`create schema raw`);
    await db.run(`create table raw.events (kind varchar, loaded_at timestamp)`);
    await db.run(`insert into raw.events values ('a', '2024-07-01 09:00:00'), ('a', '2024-07-01 10:30:00'), ('b', '2024-07-01 11:45:00')`);
    await db.run(`create table raw.empty_events (kind varchar, loaded_at timestamp)`);
  });
  afterAll(() => db.close());

  const cases = [
    { description: 'reads the newest load time', relation: '"raw"."events"', field: 'loaded_at', filter: null, expected: '2024-07-01 11:45:00' },
    { description: 'applies the filter', relation: '"raw"."events"', field: 'loaded_at', filter: "kind = 'a'", expected: '2024-07-01 10:30:00' },
    { description: 'a filter with OR stays one condition', relation: '"raw"."events"', field: 'loaded_at', filter: "kind = 'a' or kind = 'z'", expected: '2024-07-01 10:30:00' },
    { description: 'a blank filter is no filter', relation: '"raw"."events"', field: 'loaded_at', filter: '  ', expected: '2024-07-01 11:45:00' },
    { description: 'loaded_at_field may be an expression', relation: '"raw"."events"', field: "loaded_at + interval '1 hour'", filter: null, expected: '2024-07-01 12:45:00' },
    { description: 'an empty table gives a null max', relation: '"raw"."empty_events"', field: 'loaded_at', filter: null, expected: null },
    { description: 'a filter that keeps nothing gives a null max', relation: '"raw"."events"', field: 'loaded_at', filter: "kind = 'z'", expected: null },
  ];
  it.each(cases)('$description', async ({ relation, field, filter, expected }) => {
    const rows = await db.all(`select strftime(max_loaded_at, '%Y-%m-%d %H:%M:%S') as max_loaded_at, snapshotted_at is not null as has_clock from (${freshnessSql(relation, field, filter)})`);
    expect(rows).toEqual([{ max_loaded_at: expected, has_clock: true }]);
  });

  it('names the columns as dbt does', async () => {
    const { columns } = await db.table(freshnessSql('"raw"."events"', 'loaded_at', null));
    expect(columns).toEqual(['max_loaded_at', 'snapshotted_at']);
  });

  it('refuses a blank loaded_at_field', () => {
    expect(() => freshnessSql('"raw"."events"', ' ', null)).toThrow(/Cannot check the freshness of "raw"."events": it has no loaded_at_field/);
  });
});

describe('pythonIsoFormat', () => {
  const cases = [
    { description: 'milliseconds become six fraction digits', date: new Date('2024-07-01T03:21:22.570Z'), expected: '2024-07-01T03:21:22.570000+00:00' },
    { description: 'whole seconds have no fraction, as in Python', date: new Date('2024-07-01T03:21:22.000Z'), expected: '2024-07-01T03:21:22+00:00' },
  ];
  it.each(cases)('$description', ({ date, expected }) => {
    expect(pythonIsoFormat(date)).toBe(expected);
  });
});

describe('sourcesJson (dbt target/sources.json v3)', () => {
  const rule: FreshnessRule = { warn_after: { count: 12, period: 'hour' }, error_after: { count: 1, period: 'day' }, filter: null };
  const started = new Date('2024-07-01T12:00:00.000Z');
  const completed = new Date('2024-07-01T12:00:00.250Z');
  const artifact = sourcesJson(
    [
      { uniqueId: 'source.carelake.fhir.Patient', rule, maxLoadedAt: ago(13 * HOUR), snapshottedAt: SNAPSHOT, startedAt: started, completedAt: completed, adapterResponse: { _message: 'OK' } },
      { uniqueId: 'source.carelake.esr.assignments', error: 'Catalog Error: Table with name assignments does not exist' },
      { uniqueId: 'source.carelake.fhir.Encounter', rule: { warn_after: { count: 1, period: 'day' } }, maxLoadedAt: null, snapshottedAt: SNAPSHOT, startedAt: started, completedAt: completed },
    ],
    { generatedAt: new Date('2024-07-01T12:00:01.000Z'), invocationId: 'inv-1', elapsedTime: 0.75 },
  );

  it('writes dbt metadata and the elapsed time', () => {
    expect(artifact.metadata).toEqual({
      dbt_schema_version: DBT_SOURCES_SCHEMA,
      dbt_version: 'carelake',
      generated_at: '2024-07-01T12:00:01.000Z',
      invocation_id: 'inv-1',
      env: {},
    });
    expect(DBT_SOURCES_SCHEMA).toBe('https://schemas.getdbt.com/dbt/sources/v3.json');
    expect(artifact.elapsed_time).toBe(0.75);
  });

  it('lists results by unique_id', () => {
    expect(artifact.results.map((r) => r.unique_id)).toEqual(['source.carelake.esr.assignments', 'source.carelake.fhir.Encounter', 'source.carelake.fhir.Patient']);
  });

  it('writes a checked source in dbt shape, with the status worked out from the rule', () => {
    expect(artifact.results[2]).toEqual({
      unique_id: 'source.carelake.fhir.Patient',
      max_loaded_at: '2024-06-30T23:00:00+00:00',
      snapshotted_at: '2024-07-01T12:00:00+00:00',
      max_loaded_at_time_ago_in_s: 13 * 3600,
      status: 'warn',
      criteria: { warn_after: { count: 12, period: 'hour' }, error_after: { count: 1, period: 'day' }, filter: null },
      adapter_response: { _message: 'OK' },
      timing: [{ name: 'execute', started_at: '2024-07-01T12:00:00.000Z', completed_at: '2024-07-01T12:00:00.250Z' }],
      thread_id: 'Thread-1',
      execution_time: 0.25,
    });
  });

  it('writes a runtime error with only the keys dbt writes', () => {
    expect(artifact.results[0]).toEqual({ unique_id: 'source.carelake.esr.assignments', error: 'Catalog Error: Table with name assignments does not exist', status: 'runtime error' });
  });

  it('writes an empty table as dbt does: loaded at 0001-01-01, a very large age, and an unset threshold as nulls', () => {
    const result = artifact.results[1];
    expect(result).toMatchObject({
      max_loaded_at: '0001-01-01T00:00:00+00:00',
      status: 'warn',
      criteria: { warn_after: { count: 1, period: 'day' }, error_after: { count: null, period: null }, filter: null },
      adapter_response: {},
    });
    expect(result && 'max_loaded_at_time_ago_in_s' in result ? result.max_loaded_at_time_ago_in_s : 0).toBeGreaterThan(2023 * 365 * 86400);
  });

  it('round-trips through JSON unchanged', () => {
    expect(JSON.parse(JSON.stringify(artifact))).toEqual(artifact);
  });
});
