// Source freshness, as dbt's `source freshness` does it: the `freshness:` rule a source table ends up
// with (table level merged over source level, `null` switching it off), the query that reads
// `max(loaded_at_field)` and the database's clock, the pass / warn / error verdict for the age that
// query finds, and the shape of dbt's target/sources.json so tools that read dbt artifacts read
// ours. The rule and the thresholds follow dbt-core (FreshnessThreshold, Time.exceeded, merge_freshness);
// the current time comes from the query (`snapshotted_at`), never from this module. Pure: no I/O.

import { z } from 'zod';
import { CarelakeError } from '../../core/errors.ts';
import { ARTIFACT_GENERATOR } from './manifest.ts';

export const DBT_SOURCES_SCHEMA = 'https://schemas.getdbt.com/dbt/sources/v3.json';

export const FRESHNESS_PERIODS = ['minute', 'hour', 'day'] as const;
export type FreshnessPeriod = (typeof FRESHNESS_PERIODS)[number];

export interface FreshnessThreshold {
  count: number;
  period: FreshnessPeriod;
}

/** dbt's FreshnessThreshold. An absent threshold is inherited when merging; `null` switches it off. */
export interface FreshnessRule {
  warn_after?: FreshnessThreshold | null;
  error_after?: FreshnessThreshold | null;
  filter?: string | null;
}

export const PERIOD_SECONDS: Record<FreshnessPeriod, number> = { minute: 60, hour: 3600, day: 86400 };

/** One freshness threshold, `{count, period}`; shared by dbt sources and carelake.yml's landing sources. */
export const freshnessThresholdSchema = z.strictObject(
  {
    count: z.number({ error: 'expected a whole number of periods' }).int({ error: 'expected a whole number of periods' }).nonnegative({ error: 'expected a count of 0 or more' }),
    period: z.enum(FRESHNESS_PERIODS, { error: `expected one of ${FRESHNESS_PERIODS.join(', ')}` }),
  },
  { error: 'expected {count: <number>, period: minute | hour | day}' },
);

/** `freshness:` as written in a property file: `{warn_after, error_after, filter}`, or `null` to switch it off. */
export const freshnessRuleSchema: z.ZodType<FreshnessRule | null> = z
  .strictObject(
    {
      warn_after: freshnessThresholdSchema.nullable().optional(),
      error_after: freshnessThresholdSchema.nullable().optional(),
      filter: z.string({ error: 'expected a SQL condition' }).nullable().optional(),
    },
    { error: 'expected a mapping with warn_after, error_after and filter, or null' },
  )
  .nullable();

/**
 * dbt's merge_freshness(source, table). `undefined` means "not written", `null` means written as
 * `freshness: null`. A table's `null` switches freshness off; otherwise each threshold the table
 * writes replaces the source's, one it leaves out is inherited, and one it sets to null is dropped;
 * the table's filter wins unless it has none. Returns null when no threshold is left to check.
 */
export function mergeFreshness(sourceLevel: FreshnessRule | null | undefined, tableLevel: FreshnessRule | null | undefined): FreshnessRule | null {
  if (tableLevel === null) return null;
  let merged: Required<FreshnessRule>;
  if (sourceLevel === null || sourceLevel === undefined) {
    merged = { warn_after: tableLevel?.warn_after ?? null, error_after: tableLevel?.error_after ?? null, filter: tableLevel?.filter ?? null };
  } else {
    merged = {
      warn_after: mergeThreshold(sourceLevel.warn_after, tableLevel?.warn_after),
      error_after: mergeThreshold(sourceLevel.error_after, tableLevel?.error_after),
      filter: tableLevel?.filter ?? sourceLevel.filter ?? null,
    };
  }
  return merged.warn_after || merged.error_after ? merged : null;
}

function mergeThreshold(base: FreshnessThreshold | null | undefined, update: FreshnessThreshold | null | undefined): FreshnessThreshold | null {
  if (update === null) return null;
  return update ?? base ?? null;
}

/**
 * dbt's collect_freshness: the newest load time and the database's own clock in one query (dbt-duckdb's
 * current_timestamp is `now()`). `relation` is already rendered (a quoted table or a read_parquet(…)
 * call); `loadedAtField` is a column name or a SQL expression, inserted as written, as dbt does; the
 * filter is the rule's `filter`, a SQL condition.
 */
export function freshnessSql(relation: string, loadedAtField: string, filter: string | null): string {
  if (loadedAtField.trim() === '') {
    throw new CarelakeError({
      code: 'models.freshness_needs_loaded_at_field',
      kind: 'config',
      message: `Cannot check the freshness of ${relation}: it has no loaded_at_field`,
      hint: 'set loaded_at_field on the source or table to the column holding the load time',
    });
  }
  const where = filter !== null && filter.trim() !== '' ? `\nwhere (${filter})` : '';
  return `select\n  max(${loadedAtField}) as max_loaded_at,\n  now() as snapshotted_at\nfrom ${relation}${where}`;
}

export type FreshnessStatus = 'pass' | 'warn' | 'error';

/**
 * dbt's FreshnessThreshold.status: error if older than error_after, else warn if older than
 * warn_after, else pass ("older than" is strictly greater). An empty table (no max) is infinitely old:
 * error when error_after is set, warn when only warn_after is, and its age is reported as null.
 */
export function freshnessStatus(maxLoadedAt: Date | null, snapshottedAt: Date, rule: FreshnessRule): { status: FreshnessStatus; ageSeconds: number | null } {
  const ageSeconds = maxLoadedAt === null ? null : (snapshottedAt.getTime() - maxLoadedAt.getTime()) / 1000;
  const exceeded = (threshold: FreshnessThreshold | null | undefined): boolean =>
    !!threshold && (ageSeconds === null || ageSeconds > threshold.count * PERIOD_SECONDS[threshold.period]);
  const status: FreshnessStatus = exceeded(rule.error_after) ? 'error' : exceeded(rule.warn_after) ? 'warn' : 'pass';
  return { status, ageSeconds };
}

// ---- sources.json ---------------------------------------------------------------------------------

/** One source table whose freshness query ran. */
export interface FreshnessCheck {
  uniqueId: string;
  rule: FreshnessRule;
  /** null when the table (after the filter) has no rows. */
  maxLoadedAt: Date | null;
  /** The database's clock, from the same query. */
  snapshottedAt: Date;
  startedAt: Date;
  completedAt: Date;
  threadId?: string;
  adapterResponse?: Record<string, unknown>;
}

/** One source table whose freshness query failed. The message must carry no row values. */
export interface FreshnessFailure {
  uniqueId: string;
  error: string;
}

export interface SourcesJsonMeta {
  generatedAt: Date;
  invocationId: string;
  /** Seconds for the whole command. */
  elapsedTime: number;
}

export interface FreshnessCriteria {
  warn_after: { count: number | null; period: FreshnessPeriod | null };
  error_after: { count: number | null; period: FreshnessPeriod | null };
  filter: string | null;
}

export interface SourceFreshnessOutput {
  unique_id: string;
  max_loaded_at: string;
  snapshotted_at: string;
  max_loaded_at_time_ago_in_s: number;
  status: FreshnessStatus;
  criteria: FreshnessCriteria;
  adapter_response: Record<string, unknown>;
  timing: { name: 'execute'; started_at: string; completed_at: string }[];
  thread_id: string;
  /** Seconds. */
  execution_time: number;
}

export interface SourceFreshnessRuntimeError {
  unique_id: string;
  error: string;
  status: 'runtime error';
}

/** The shape of dbt's target/sources.json (schema v3). */
export interface SourcesJson {
  metadata: {
    dbt_schema_version: typeof DBT_SOURCES_SCHEMA;
    dbt_version: string;
    generated_at: string;
    invocation_id: string;
    env: Record<string, string>;
  };
  results: (SourceFreshnessOutput | SourceFreshnessRuntimeError)[];
  /** Seconds. */
  elapsed_time: number;
}

/** dbt stands in 0001-01-01 UTC for the max of an empty table, so its age is "very large", not missing. */
const EMPTY_TABLE_LOADED_AT = (() => {
  const date = new Date(0);
  date.setUTCFullYear(1, 0, 1);
  return date;
})();

export function sourcesJson(results: readonly (FreshnessCheck | FreshnessFailure)[], meta: SourcesJsonMeta): SourcesJson {
  const sorted = [...results].sort((a, b) => (a.uniqueId < b.uniqueId ? -1 : a.uniqueId > b.uniqueId ? 1 : 0));
  return {
    metadata: {
      dbt_schema_version: DBT_SOURCES_SCHEMA,
      dbt_version: ARTIFACT_GENERATOR,
      generated_at: meta.generatedAt.toISOString(),
      invocation_id: meta.invocationId,
      env: {},
    },
    results: sorted.map((result) => ('error' in result ? { unique_id: result.uniqueId, error: result.error, status: 'runtime error' } : outputOf(result))),
    elapsed_time: meta.elapsedTime,
  };
}

function outputOf(check: FreshnessCheck): SourceFreshnessOutput {
  const maxLoadedAt = check.maxLoadedAt ?? EMPTY_TABLE_LOADED_AT;
  const { status } = freshnessStatus(check.maxLoadedAt, check.snapshottedAt, check.rule);
  return {
    unique_id: check.uniqueId,
    max_loaded_at: pythonIsoFormat(maxLoadedAt),
    snapshotted_at: pythonIsoFormat(check.snapshottedAt),
    max_loaded_at_time_ago_in_s: (check.snapshottedAt.getTime() - maxLoadedAt.getTime()) / 1000,
    status,
    criteria: criteriaOf(check.rule),
    adapter_response: check.adapterResponse ?? {},
    timing: [{ name: 'execute', started_at: check.startedAt.toISOString(), completed_at: check.completedAt.toISOString() }],
    thread_id: check.threadId ?? 'Thread-1',
    execution_time: (check.completedAt.getTime() - check.startedAt.getTime()) / 1000,
  };
}

/** As dbt serialises a rule: a threshold it lacks is `{count: null, period: null}`. */
function criteriaOf(rule: FreshnessRule): FreshnessCriteria {
  const time = (t: FreshnessThreshold | null | undefined) => ({ count: t?.count ?? null, period: t?.period ?? null });
  return { warn_after: time(rule.warn_after), error_after: time(rule.error_after), filter: rule.filter ?? null };
}

/** Python's `datetime.isoformat()` for a UTC time, as dbt writes max_loaded_at: `2024-07-01T03:21:22.570000+00:00`. */
export function pythonIsoFormat(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : `.${pad(ms * 1000, 6)}`;
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}+00:00`
  );
}
