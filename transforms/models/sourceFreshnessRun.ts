// `source freshness`: for every selected source table with a `freshness` rule and a `loaded_at_field`,
// one query for its newest load time against the database's clock, judged by the rule (freshness.ts),
// written to target/sources.json in dbt's shape. A source whose query fails (for example a raw folder
// with no files yet) is a runtime error in the results, not an exception; a malformed rule stops the
// command with the file that holds it. The project is compiled first, so its problems are reported
// as for any other command.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DuckDb } from '../../core/duckdb.ts';
import { CarelakeError, toCarelakeError } from '../../core/errors.ts';
import { freshnessRuleSchema, freshnessSql, freshnessStatus, mergeFreshness, sourcesJson, type FreshnessCheck, type FreshnessFailure, type FreshnessRule, type SourcesJson } from './freshness.ts';
import { phaseClock, compileProject, writeJson, type CompileOptions } from './runProject.ts';

export interface FreshnessOutcome {
  sourcesJson: SourcesJson;
  /** One line per checked table, for the console: id, status and age. */
  checks: { uniqueId: string; status: 'pass' | 'warn' | 'error' | 'runtime error'; ageSeconds: number | null; message?: string }[];
}

export async function runSourceFreshness(options: CompileOptions & { db: DuckDb }): Promise<FreshnessOutcome> {
  const clock = phaseClock(options);
  const started = clock();
  const invocationId = options.invocationId ?? randomUUID();
  const project = await compileProject({ ...options, invocationId, clock });
  const wanted = options.select && options.select.length > 0 ? project.selected : null;
  const results: (FreshnessCheck | FreshnessFailure)[] = [];
  const checks: FreshnessOutcome['checks'] = [];

  for (const source of Object.values(project.graph.sources).sort((a, b) => (a.uniqueId < b.uniqueId ? -1 : 1))) {
    if (wanted && !wanted.has(source.uniqueId)) continue;
    const rule = mergeFreshness(parseRule(source.sourceFreshness, source.path, source.uniqueId), parseRule(source.tableFreshness, source.path, source.uniqueId));
    if (rule === null || source.loadedAtField === null) continue;
    const begin = new Date(clock());
    try {
      // Epoch milliseconds from DuckDB itself, so a loaded_at_field of any temporal type (DATE,
      // TIMESTAMP, TIMESTAMPTZ) is compared without parsing timestamp text here.
      const rows = await options.db.all(
        `select epoch_ms(max_loaded_at::timestamptz)::double as max_ms, epoch_ms(snapshotted_at)::double as now_ms from (${freshnessSql(source.relation, source.loadedAtField, rule.filter ?? null)})`,
        undefined,
        `check the freshness of ${source.uniqueId}`,
      );
      const maxLoadedAt = typeof rows[0]?.max_ms === 'number' ? new Date(rows[0].max_ms) : null;
      const snapshottedAt = typeof rows[0]?.now_ms === 'number' ? new Date(rows[0].now_ms) : new Date(clock());
      results.push({ uniqueId: source.uniqueId, rule, maxLoadedAt, snapshottedAt, startedAt: begin, completedAt: new Date(clock()) });
      checks.push({ uniqueId: source.uniqueId, ...freshnessStatus(maxLoadedAt, snapshottedAt, rule) });
    } catch (err) {
      const message = toCarelakeError(err).message;
      if (/No files found/i.test(message)) {
        // Nothing landed yet is the stalest a source can be, not a broken query.
        const now = new Date(clock());
        results.push({ uniqueId: source.uniqueId, rule, maxLoadedAt: null, snapshottedAt: now, startedAt: begin, completedAt: now });
        checks.push({ uniqueId: source.uniqueId, ...freshnessStatus(null, now, rule), message: `no files landed yet at ${source.location}` });
        continue;
      }
      results.push({ uniqueId: source.uniqueId, error: message });
      checks.push({ uniqueId: source.uniqueId, status: 'runtime error', ageSeconds: null, message: message.split('\n')[0] });
    }
  }
  const json = sourcesJson(results, { generatedAt: new Date(clock()), invocationId, elapsedTime: (clock() - started) / 1000 });
  await writeJson(join(options.projectDir, project.targetPath, 'sources.json'), json);
  return { sourcesJson: json, checks };
}

/** undefined (not written) stays undefined; anything else must be a valid rule or null. */
function parseRule(value: unknown, file: string, sourceId: string): FreshnessRule | null | undefined {
  if (value === undefined) return undefined;
  const parsed = freshnessRuleSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new CarelakeError({
    code: 'models.freshness_rule',
    kind: 'config',
    message: `${file}: the freshness of '${sourceId}' is invalid at '${['freshness', ...(issue?.path ?? []).map(String)].join('.')}': ${issue?.message ?? 'unexpected value'}`,
    location: { file, field: 'freshness' },
  });
}
