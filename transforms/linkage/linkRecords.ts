// Runs a linkage end to end on a DuckDB connection it is given: standardise → block → compare →
// estimate (u by random sampling, m by EM per blocking rule, λ from the deterministic pass refined
// over the blocked pairs) → score → cluster (cannot-links honoured, A40 merges forced) → stable
// person ids → clerical-review queue. Every set operation is one SQL statement over tables in the
// caller's schema; TypeScript only loops over agreement patterns and the rare conflicting clusters.
// The edge of the linkage core: it receives the database, the clock and the settings as arguments.

import type { DuckDb } from '../../core/duckdb.ts';
import { qualified, quoteIdent } from '../../core/sql.ts';
import { applicableRules, blockedPairsSql, defaultBlockingRules, rulePairsSql, rolesOf, ruleConditionSql, type BlockingRule } from './blocking.ts';
import { changedLabelsSql, clusterWithCannotLinks, conflictingComponentsSql, initialLabelsSql, LINK_PRIORITY, propagateLabelsSql, type CandidateLink } from './clustering.ts';
import type { Comparison } from './comparison.ts';
import { comparisonsFor } from './comparisonLibrary.ts';
import { expectationMaximisation, initialM, PROBABILITY_FLOOR, probabilityTwoRandomRecordsMatch, type PatternCount } from './expectationMaximisation.ts';
import { LINKAGE_MODEL_FORMAT, LINKAGE_MODEL_VERSION, parametersFor, type ComparisonParameters, type LinkageModel } from './linkageModel.ts';
import { keptPersonIdsSql, newPersonIdSql } from './personIds.ts';
import { isLinkageRole, mappedRoles, type RoleMapping } from './roles.ts';
import { explainPair, matchProbabilitySql, matchWeightSql, tfColumnName, type PairExplanation } from './scoring.ts';
import { standardiseSql, unreadableValuesSql } from './standardise.ts';

export interface LinkageSettings {
  /** Blocking rules as key names (see blocking.ts), null for the defaults; rules needing unmapped roles drop out. */
  blockingRules: readonly (readonly string[])[] | null;
  /** Pairs at or above this match probability are linked. */
  threshold: number;
  /** Pairs from here up to the threshold go to clerical review. */
  reviewLower: number;
  acceptTestNhsNumbers: boolean;
  /** A blocking rule producing more than this many pairs per record on its own is skipped (and reported). */
  maxPairsPerRecord: number;
  /** Random pairs drawn to estimate u. */
  uSamplePairs: number;
  seed: number;
  maxEmIterations: number;
}

export const DEFAULT_LINKAGE_SETTINGS: LinkageSettings = {
  blockingRules: null,
  threshold: 0.95,
  reviewLower: 0.5,
  acceptTestNhsNumbers: false,
  maxPairsPerRecord: 10,
  uSamplePairs: 1_000_000,
  seed: 42,
  maxEmIterations: 100,
};

export interface PreviousLinkage {
  /** `(record_id, person_id)` from the last run. */
  xref: string;
  /** `(person_id, created_at)` for every id ever issued. */
  registry: string;
  /** `(retired_person_id, person_id, retired_at)`: earlier retirements, carried into this run's table. */
  retired?: string;
}

export interface LinkRecordsOptions {
  from: string;
  idColumn: string;
  mapping: RoleMapping;
  settings: LinkageSettings;
  /** A saved model to score with; null trains one on this input. */
  model: LinkageModel | null;
  /** Where the saved model came from, for messages. */
  modelFile?: string;
  previous: PreviousLinkage | null;
  /** Schema and name prefix of the tables the run writes. */
  schema: string;
  prefix: string;
  now: Date;
  /** Milliseconds, for stage timings. */
  clock: () => number;
}

export interface StageTiming {
  stage: string;
  seconds: number;
}

export interface LinkageRunReport {
  model: LinkageModel;
  records: number;
  candidatePairs: number;
  pairsByRule: RuleYield[];
  deterministicPairs: number;
  linkedPairs: number;
  cannotLinkPairs: number;
  forcedLinks: number;
  /** A40 merges naming a record that is not in the input. */
  forcedLinksUnresolved: number;
  /** Links refused because the cluster would hold two verified NHS numbers. */
  refusedLinks: number;
  people: number;
  newPeople: number;
  retiredPeople: number;
  reviewPairs: number;
  unreadable: UnreadableValues[];
  stages: StageTiming[];
  /** The tables written, by role. */
  tables: LinkageTables;
}

export interface RuleYield {
  rule: string;
  /** Pairs the rule added (beyond earlier rules). */
  pairs: number;
  /** Set when the rule was skipped: the pairs it would have produced on its own. */
  skippedPairs?: number;
}

/** Values a role's column held that standardisation could not use (the records still link on the rest). */
export interface UnreadableValues {
  role: string;
  records: number;
  firstRecordId: string;
}

export interface LinkageTables {
  records: string;
  pairs: string;
  xref: string;
  review: string;
  retired: string;
  registry: string;
}

export function linkageTables(schema: string, prefix: string): LinkageTables {
  const t = (name: string): string => qualified(schema, `${prefix}${name}`);
  return { records: t('records'), pairs: t('pairs'), xref: t('xref'), review: t('review'), retired: t('retired'), registry: t('registry') };
}

const EMPTY_PREVIOUS: PreviousLinkage = {
  xref: '(SELECT NULL::VARCHAR AS record_id, NULL::VARCHAR AS person_id WHERE false)',
  registry: '(SELECT NULL::VARCHAR AS person_id, NULL::TIMESTAMP AS created_at WHERE false)',
};

/** Label propagation with hooking settles a chain of n records in about log2 n rounds; this is far beyond any real cluster. */
const MAX_LABEL_ROUNDS = 200;

/** The match weight at which a pair reaches `probability`: log2(p / (1 - p)). */
function literalWeight(probability: number): string {
  return Math.log2(probability / (1 - probability)).toPrecision(17);
}

function num(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** The pair table's `<col>_l`/`<col>_r` columns and the flags every pair carries. */
function pairColumnsSql(comparisons: readonly Comparison[], rules: readonly BlockingRule[]): string {
  const columns = new Set(comparisons.flatMap((c) => c.columnsRead()));
  const tf = new Set(comparisons.flatMap((c) => c.levels().flatMap((l) => (l.tfColumn === null ? [] : [l.tfColumn]))));
  return [
    ...[...columns].flatMap((c) => [`l.${quoteIdent(c)} AS ${quoteIdent(`${c}_l`)}`, `r.${quoteIdent(c)} AS ${quoteIdent(`${c}_r`)}`]),
    ...[...tf].map((c) => `l.${quoteIdent(tfColumnName(c))} AS ${quoteIdent(`${tfColumnName(c)}_l`)}`),
    ...rules.map((rule, i) => `coalesce(${ruleConditionSql(rule)}, false) AS in_rule_${i}`),
    'coalesce(l.nhs_number_verified AND r.nhs_number_verified AND l.nhs_number = r.nhs_number AND l.birth_date = r.birth_date, false) AS deterministic',
    'coalesce(l.nhs_number_verified AND r.nhs_number_verified AND l.nhs_number <> r.nhs_number, false) AS cannot_link',
  ].join(',\n       ');
}

function gammaSelectSql(comparisons: readonly Comparison[], tfColumns: readonly string[], rules: readonly BlockingRule[]): string {
  return [
    'rid_l', 'rid_r', 'match_key',
    ...comparisons.map((c) => c.gammaSql()),
    ...tfColumns.map((c) => quoteIdent(`${tfColumnName(c)}_l`)),
    ...rules.map((_, i) => `in_rule_${i}`),
    'deterministic', 'cannot_link',
  ].join(', ');
}

function tfColumnsOf(comparisons: readonly Comparison[]): string[] {
  return [...new Set(comparisons.flatMap((c) => c.levels().flatMap((l) => (l.tfColumn === null ? [] : [l.tfColumn]))))];
}

export class LinkageRun {
  private readonly db: DuckDb;
  private readonly options: LinkRecordsOptions;
  readonly tables: LinkageTables;
  private readonly stages: StageTiming[] = [];
  private readonly comparisons: Comparison[];
  private rules: BlockingRule[];
  private readonly tfColumns: string[];

  constructor(db: DuckDb, options: LinkRecordsOptions) {
    this.db = db;
    this.options = options;
    this.tables = linkageTables(options.schema, options.prefix);
    const roles = mappedRoles(options.mapping);
    if (roles.length === 0) throw new Error('linkage needs at least one identity role mapped (given_name, family_name, birth_date, …)');
    this.comparisons = comparisonsFor(roles);
    this.rules = applicableRules(options.settings.blockingRules ?? defaultBlockingRules(roles), roles);
    if (this.rules.length === 0) throw new Error(`no blocking rule can run on the mapped roles (${roles.join(', ')}); map more roles or add a rule`);
    this.tfColumns = tfColumnsOf(this.comparisons);
  }

  private work(name: string): string {
    return qualified(this.options.schema, `${this.options.prefix}${name}`);
  }

  private async timed<T>(stage: string, task: () => Promise<T>): Promise<T> {
    const begin = this.options.clock();
    const result = await task();
    this.stages.push({ stage, seconds: (this.options.clock() - begin) / 1000 });
    return result;
  }

  private async sql(step: string, sql: string): Promise<void> {
    await this.db.run(sql, undefined, `linkage: ${step}`);
  }

  async run(): Promise<LinkageRunReport> {
    const { settings } = this.options;
    const t = this.tables;
    await this.sql('create the schema', `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.options.schema)}`);
    const records = await this.timed('standardise', () => this.standardise());
    const unreadable = await this.unreadableValues();
    const pairsByRule = await this.timed('block', () => this.block());
    const candidatePairs = pairsByRule.reduce((sum, r) => sum + r.pairs, 0);
    await this.timed('compare', () =>
      this.sql('compare the candidate pairs', `CREATE OR REPLACE TABLE ${this.work('gammas')} AS SELECT ${gammaSelectSql(this.comparisons, this.tfColumns, this.rules)} FROM (
SELECT p.rid_l, p.rid_r, p.match_key, ${pairColumnsSql(this.comparisons, this.rules)}
FROM ${this.work('candidates')} p JOIN ${t.records} l ON l.rid = p.rid_l JOIN ${t.records} r ON r.rid = p.rid_r)`),
    );
    const deterministicPairs = num(await this.db.scalar(`SELECT count(*) FROM ${this.work('gammas')} WHERE deterministic`));
    const model = this.options.model ?? (await this.train(records, candidatePairs, deterministicPairs));
    const params = this.options.model === null ? model.comparisons : parametersFor(model, this.comparisons, this.options.modelFile ?? 'the model');
    await this.timed('score', () => this.score(model.probability_two_random_records_match, params));
    const links = await this.timed('cluster', () => this.cluster());
    const ids = await this.timed('assign person ids', () => this.assignPersonIds());
    const reviewPairs = await this.timed('review queue', () => this.reviewQueue());
    await this.sql('drop work tables', `DROP TABLE IF EXISTS ${this.work('candidates')}; DROP TABLE IF EXISTS ${this.work('gammas')}`);
    return {
      model,
      records,
      candidatePairs,
      pairsByRule,
      deterministicPairs,
      ...links,
      ...ids,
      reviewPairs,
      unreadable,
      stages: this.stages,
      tables: t,
    };
  }

  private async standardise(): Promise<number> {
    const o = this.options;
    const tf = this.tfColumns.map(
      (c) => `CASE WHEN ${quoteIdent(c)} IS NOT NULL THEN CAST(count(*) OVER (PARTITION BY ${quoteIdent(c)}) AS DOUBLE) / count(${quoteIdent(c)}) OVER () END AS ${quoteIdent(tfColumnName(c))}`,
    );
    const std = standardiseSql({ from: o.from, idColumn: o.idColumn, mapping: o.mapping, acceptTestNhsNumbers: o.settings.acceptTestNhsNumbers });
    await this.sql('standardise the records', `CREATE OR REPLACE TABLE ${this.tables.records} AS SELECT *${tf.length > 0 ? `, ${tf.join(', ')}` : ''} FROM (${std}) ORDER BY rid`);
    const check = await this.db.all(
      `SELECT count(*) AS n, count(*) FILTER (WHERE record_id IS NULL) AS missing, count(DISTINCT record_id) AS distinct_ids FROM ${this.tables.records}`,
      undefined,
      'linkage: check record ids',
    );
    const { n, missing, distinct_ids } = check[0]!;
    if (num(missing) > 0) throw new Error(`${num(missing)} record(s) have no ${o.idColumn}; every record needs an id`);
    if (num(distinct_ids) !== num(n)) {
      const dup = await this.db.scalar(`SELECT record_id FROM ${this.tables.records} GROUP BY record_id HAVING count(*) > 1 ORDER BY record_id LIMIT 1`);
      throw new Error(`${o.idColumn} is not unique: ${String(dup)} appears more than once`);
    }
    return num(n);
  }

  private async unreadableValues(): Promise<UnreadableValues[]> {
    const o = this.options;
    const sql = unreadableValuesSql({ from: o.from, idColumn: o.idColumn, mapping: o.mapping, acceptTestNhsNumbers: o.settings.acceptTestNhsNumbers }, this.tables.records);
    if (sql === null) return [];
    const rows = await this.db.all(sql, undefined, 'linkage: count unreadable values');
    return rows
      .filter((r) => num(r.records) > 0)
      .map((r) => ({ role: String(r.role), records: num(r.records), firstRecordId: String(r.first_record_id) }))
      .sort((a, b) => a.role.localeCompare(b.role));
  }

  private async block(): Promise<RuleYield[]> {
    const budget = this.options.settings.maxPairsPerRecord * num(await this.db.scalar(`SELECT count(*) FROM ${this.tables.records}`));
    const skipped: RuleYield[] = [];
    const kept: BlockingRule[] = [];
    for (const rule of this.rules) {
      const pairs = num(await this.db.scalar(rulePairsSql(rule, this.tables.records), undefined, `linkage: size blocking rule ${rule.name}`));
      if (pairs > budget && this.rules.length > 1) skipped.push({ rule: rule.name, pairs: 0, skippedPairs: pairs });
      else kept.push(rule);
    }
    this.rules = kept.length > 0 ? kept : this.rules;
    await this.sql('block the records into candidate pairs', `CREATE OR REPLACE TABLE ${this.work('candidates')} AS ${blockedPairsSql(this.rules, this.tables.records)}`);
    const counts = await this.db.all(`SELECT match_key, count(*) AS n FROM ${this.work('candidates')} GROUP BY match_key`);
    const byKey = new Map(counts.map((r) => [num(r.match_key), num(r.n)]));
    return [...this.rules.map((rule, i) => ({ rule: rule.name, pairs: byKey.get(i) ?? 0 })), ...skipped];
  }

  private async patterns(where: string): Promise<PatternCount[]> {
    const gammas = this.comparisons.map((c) => quoteIdent(c.gammaColumn));
    const rows = await this.db.table(`SELECT ${gammas.join(', ')}, count(*) FROM ${this.work('gammas')} WHERE ${where} GROUP BY ALL`);
    return rows.rows.map((row) => ({ gammas: row.slice(0, gammas.length).map(num), count: num(row[gammas.length]) }));
  }

  /**
   * u per comparison level from random pairs (with replacement; true matches among them are corrected
   * for later). Each side hashes its own draw number: hash(i, s) and hash(i, s + 1) differ by a fixed
   * bit pattern in DuckDB, which would pair records by parity rather than at random.
   */
  private async sampleU(records: number): Promise<{ counts: number[][]; pairs: number }> {
    const { seed } = this.options.settings;
    // Drawn with replacement: a small input needs no more draws than a few per distinct pair.
    const uSamplePairs = Math.min(this.options.settings.uSamplePairs, Math.max(10_000, 5 * ((records * (records - 1)) / 2)));
    const temp = quoteIdent(`${this.options.prefix}u_sample`);
    await this.sql('draw random pairs for u', `CREATE OR REPLACE TEMP TABLE ${temp} AS
SELECT ${gammaSelectSql(this.comparisons, [], [])} FROM (
SELECT p.rid_l, p.rid_r, -1 AS match_key, ${pairColumnsSql(this.comparisons, [])}
FROM (SELECT CAST(1 + hash(2 * i, ${seed}) % ${records} AS BIGINT) AS rid_l, CAST(1 + hash(2 * i + 1, ${seed}) % ${records} AS BIGINT) AS rid_r
      FROM range(${uSamplePairs}) t(i)) p
JOIN ${this.tables.records} l ON l.rid = p.rid_l JOIN ${this.tables.records} r ON r.rid = p.rid_r
WHERE p.rid_l <> p.rid_r)`);
    const pairs = num(await this.db.scalar(`SELECT count(*) FROM ${temp}`));
    const counts: number[][] = [];
    for (const c of this.comparisons) {
      const top = c.levels()[0]!.gamma;
      const rows = await this.db.all(`SELECT ${quoteIdent(c.gammaColumn)} AS g, count(*) AS n FROM ${temp} WHERE ${quoteIdent(c.gammaColumn)} >= 0 GROUP BY 1`);
      const levels = Array.from({ length: top + 1 }, () => 0);
      for (const row of rows) levels[num(row.g)] = num(row.n);
      counts.push(levels);
    }
    await this.sql('drop the u sample', `DROP TABLE ${temp}`);
    return { counts, pairs };
  }

  private async train(records: number, candidatePairs: number, deterministicPairs: number): Promise<LinkageModel> {
    const sample = records > 1 ? await this.timed('estimate u (random pairs)', () => this.sampleU(records)) : { counts: this.comparisons.map((c) => c.levels().map(() => 0)), pairs: 0 };
    // Add-half smoothing: a level never met among random pairs is rare, not impossible.
    const uObserved = sample.counts.map((levels) => {
      const total = levels.reduce((a, b) => a + b, 0);
      return levels.map((n) => (n + 0.5) / (total + 0.5 * levels.length));
    });
    return this.timed('estimate m and λ (EM)', () => this.estimate(records, candidatePairs, deterministicPairs, sample, uObserved));
  }

  private async estimate(
    records: number,
    candidatePairs: number,
    deterministicPairs: number,
    sample: { pairs: number },
    uObserved: number[][],
  ): Promise<LinkageModel> {
    const totalPairs = (records * (records - 1)) / 2;
    let m = this.comparisons.map((c) => initialM(c.levels()[0]!.gamma));
    const estimates: number[][][] = this.comparisons.map(() => []);
    const sessions: LinkageModel['training']['sessions'] = [];
    for (const [i, rule] of this.rules.entries()) {
      const blocked = rolesOf(rule);
      const free = this.comparisons.map((c) => !c.roles.some((role) => blocked.has(role)));
      const pairs = await this.db.scalar(`SELECT count(*) FROM ${this.work('gammas')} WHERE in_rule_${i}`);
      if (num(pairs) === 0 || !free.some(Boolean)) continue;
      const patterns = await this.patterns(`in_rule_${i}`);
      const result = expectationMaximisation({ patterns, u: uObserved, m, free, lambda: 0.3, maxIterations: this.options.settings.maxEmIterations });
      result.m.forEach((levels, c) => {
        if (free[c]) estimates[c]!.push(levels);
      });
      m = m.map((levels, c) => (free[c] ? result.m[c]! : levels));
      sessions.push({
        blocking_rule: rule.name,
        pairs: num(pairs),
        estimated: this.comparisons.filter((_, c) => free[c]).map((c) => c.name),
        iterations: result.iterations,
        converged: result.converged,
        lambda: result.lambda,
      });
    }
    // m: the mean of each session's estimate for the comparisons it could estimate.
    const mFinal = m.map((levels, c) => {
      const runs = estimates[c]!;
      if (runs.length === 0) return levels;
      return levels.map((_, g) => Math.max(runs.reduce((sum, r) => sum + r[g]!, 0) / runs.length, PROBABILITY_FLOOR));
    });
    const allPatterns = await this.patterns('true');
    const seedLambda = deterministicPairs > 0 ? deterministicPairs / totalPairs : Math.max(candidatePairs, 1) / Math.max(totalPairs, 1) / 10;
    let lambda = probabilityTwoRandomRecordsMatch(allPatterns, mFinal, uObserved, Math.max(totalPairs, 1), seedLambda);
    // Random pairs include a few true matches (λ of them): take them out of u, then settle λ again.
    const uMin = 1 / (2 * Math.max(sample.pairs, 1));
    const u = uObserved.map((levels, c) => {
      const corrected = levels.map((value, g) => Math.max((value - lambda * mFinal[c]![g]!) / (1 - lambda), uMin));
      const sum = corrected.reduce((a, b) => a + b, 0);
      return corrected.map((v) => v / sum);
    });
    lambda = probabilityTwoRandomRecordsMatch(allPatterns, mFinal, u, Math.max(totalPairs, 1), lambda);
    return {
      format: LINKAGE_MODEL_FORMAT,
      version: LINKAGE_MODEL_VERSION,
      trained_at: this.options.now.toISOString(),
      records,
      probability_two_random_records_match: Math.min(Math.max(lambda, PROBABILITY_FLOOR), 0.5),
      comparisons: this.comparisons.map((c, ci) => ({
        name: c.name,
        levels: c.levels().map((level) => ({ gamma: level.gamma, label: level.label, m: mFinal[ci]![level.gamma]!, u: u[ci]![level.gamma]!, tf_column: level.tfColumn })),
      })),
      training: { u_sample_pairs: sample.pairs, deterministic_pairs: deterministicPairs, sessions },
    };
  }

  /**
   * Scores every candidate pair, keeping those worth keeping: linked, in the review band, deterministic
   * or cannot-link. The rest (millions, at scale) are rejected; explainRecordPair recomputes any of them.
   */
  private async score(lambda: number, params: readonly ComparisonParameters[]): Promise<void> {
    const weight = matchWeightSql(lambda, params);
    const ruleNames = this.rules.map((r, i) => `WHEN ${i} THEN '${r.name}'`).join(' ');
    const { reviewLower } = this.options.settings;
    await this.sql('score the pairs', `CREATE OR REPLACE TABLE ${this.tables.pairs} AS
SELECT l.record_id AS record_id_l, r.record_id AS record_id_r, s.*
FROM (
  SELECT rid_l, rid_r, CASE match_key ${ruleNames} END AS blocking_rule,
         ${this.comparisons.map((c) => quoteIdent(c.gammaColumn)).join(', ')},
         w AS match_weight,
         CASE WHEN deterministic THEN 1.0 ELSE ${matchProbabilitySql('w')} END AS match_probability,
         CASE WHEN cannot_link THEN 'cannot_link' WHEN deterministic THEN 'deterministic' ELSE 'probabilistic' END AS link_rule
  FROM (SELECT *, ${weight} AS w FROM ${this.work('gammas')})
  WHERE deterministic OR cannot_link OR w >= ${literalWeight(reviewLower)}
) s JOIN ${this.tables.records} l ON l.rid = s.rid_l JOIN ${this.tables.records} r ON r.rid = s.rid_r
ORDER BY s.rid_l, s.rid_r`);
  }

  private async cluster(): Promise<{ linkedPairs: number; cannotLinkPairs: number; forcedLinks: number; forcedLinksUnresolved: number; refusedLinks: number }> {
    const t = this.tables;
    const edges = this.work('edges');
    const { threshold } = this.options.settings;
    await this.sql('collect the links', `CREATE OR REPLACE TABLE ${edges} AS
WITH links AS (
  SELECT rid_l AS a, rid_r AS b, CASE link_rule WHEN 'deterministic' THEN ${LINK_PRIORITY.deterministic} ELSE ${LINK_PRIORITY.probabilistic} END AS priority, match_probability
  FROM ${t.pairs} WHERE link_rule = 'deterministic' OR (link_rule = 'probabilistic' AND match_probability >= ${threshold})
  UNION ALL
  SELECT least(r.rid, o.rid), greatest(r.rid, o.rid), ${LINK_PRIORITY.merge}, 1.0
  FROM ${t.records} r JOIN ${t.records} o ON o.record_id = r.linked_record_id WHERE r.rid <> o.rid
)
SELECT a AS rid_a, b AS rid_b, max(priority) AS priority, max(match_probability) AS match_probability FROM (
  SELECT a, b, priority, match_probability FROM links UNION ALL SELECT b, a, priority, match_probability FROM links
) GROUP BY ALL`);
    const counts = await this.db.all(`SELECT
  (SELECT count(*) FROM ${t.pairs} WHERE link_rule = 'cannot_link') AS cannot_link,
  (SELECT count(*) FROM ${edges} WHERE rid_a < rid_b) AS linked,
  (SELECT count(*) FROM ${edges} WHERE rid_a < rid_b AND priority = ${LINK_PRIORITY.merge}) AS forced,
  (SELECT count(*) FROM ${t.records} r WHERE r.linked_record_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.records} o WHERE o.record_id = r.linked_record_id)) AS unresolved`);
    const labels = this.work('labels');
    const next = this.work('labels_next');
    await this.sql('label the linked records', `CREATE OR REPLACE TABLE ${labels} AS ${initialLabelsSql(edges)}`);
    let settled = false;
    for (let round = 0; round < MAX_LABEL_ROUNDS && !settled; round++) {
      await this.sql('propagate component labels', `CREATE OR REPLACE TABLE ${next} AS ${propagateLabelsSql(labels, edges)}`);
      settled = num(await this.db.scalar(changedLabelsSql(labels, next))) === 0;
      await this.sql('swap label tables', `DROP TABLE ${labels}; ALTER TABLE ${next} RENAME TO ${quoteIdent(`${this.options.prefix}labels`)}`);
    }
    if (!settled) throw new Error(`linked records did not settle into people after ${MAX_LABEL_ROUNDS} rounds of label propagation`);
    const refused = await this.resolveConflicts(labels, edges);
    await this.sql('assign every record a cluster', `CREATE OR REPLACE TABLE ${this.work('clusters')} AS
SELECT r.rid, coalesce(l.label, r.rid) AS label FROM ${t.records} r LEFT JOIN ${labels} l USING (rid)`);
    await this.sql('drop the labels', `DROP TABLE ${labels}`);
    const c = counts[0]!;
    return { linkedPairs: num(c.linked), cannotLinkPairs: num(c.cannot_link), forcedLinks: num(c.forced), forcedLinksUnresolved: num(c.unresolved), refusedLinks: refused };
  }

  /** Re-clusters the components that hold two verified NHS numbers; returns how many links were refused. */
  private async resolveConflicts(labels: string, edges: string): Promise<number> {
    const t = this.tables;
    const conflicting = await this.db.all(conflictingComponentsSql(labels, t.records));
    if (conflicting.length === 0) return 0;
    const ids = conflicting.map((r) => num(r.label));
    const list = `[${ids.join(', ')}]`;
    const nodes = await this.db.all(`SELECT c.rid, c.label, CASE WHEN r.nhs_number_verified THEN r.nhs_number END AS verified
FROM ${labels} c JOIN ${t.records} r USING (rid) WHERE list_contains(${list}, c.label)`);
    const links = await this.db.all(`SELECT e.rid_a, e.rid_b, e.priority, e.match_probability, c.label FROM ${edges} e JOIN ${labels} c ON c.rid = e.rid_a
WHERE e.rid_a < e.rid_b AND list_contains(${list}, c.label)`);
    let refused = 0;
    const fixes: [number, number][] = [];
    for (const label of ids) {
      const members = nodes.filter((n) => num(n.label) === label);
      const verified = new Map(members.filter((n) => n.verified !== null).map((n) => [num(n.rid), String(n.verified)]));
      const candidate: CandidateLink[] = links
        .filter((l) => num(l.label) === label)
        .map((l) => ({ a: num(l.rid_a), b: num(l.rid_b), priority: num(l.priority), probability: num(l.match_probability) }));
      const result = clusterWithCannotLinks(members.map((n) => num(n.rid)), candidate, verified);
      refused += result.refused.length;
      for (const [rid, root] of result.labels) fixes.push([rid, root]);
    }
    for (let i = 0; i < fixes.length; i += 1000) {
      const values = fixes.slice(i, i + 1000).map(([rid, root]) => `(${rid}, ${root})`).join(', ');
      await this.sql('apply the cannot-link clusters', `UPDATE ${labels} SET label = f.root FROM (VALUES ${values}) f(rid, root) WHERE ${labels}.rid = f.rid`);
    }
    // Links that now cross clusters are no longer links.
    await this.sql('drop refused links', `DELETE FROM ${edges} e USING ${labels} a, ${labels} b WHERE a.rid = e.rid_a AND b.rid = e.rid_b AND a.label <> b.label`);
    return refused;
  }

  private async assignPersonIds(): Promise<{ people: number; newPeople: number; retiredPeople: number }> {
    const t = this.tables;
    const previous = this.options.previous ?? EMPTY_PREVIOUS;
    const clusters = this.work('clusters');
    const now = `TIMESTAMP '${this.options.now.toISOString().replace('T', ' ').replace('Z', '')}'`;
    const assigned = this.work('assigned');
    await this.sql('keep earlier person ids', `CREATE OR REPLACE TABLE ${assigned} AS
WITH kept AS (${keptPersonIdsSql(clusters, t.records, previous.xref, previous.registry)}),
firsts AS (SELECT c.label, min(r.record_id) AS first_record FROM ${clusters} c JOIN ${t.records} r USING (rid) GROUP BY c.label)
SELECT f.label, f.first_record, k.person_id, coalesce(k.earlier_ids, []) AS earlier_ids, k.person_id IS NULL AS is_new, 0 AS salt
FROM firsts f LEFT JOIN kept k USING (label)`);
    await this.sql('derive new person ids', `UPDATE ${assigned} SET person_id = ${newPersonIdSql('first_record', 0)} WHERE is_new`);
    // A derived id can meet an id issued before (a person split off) or another new one: salt until unique.
    for (let salt = 1; salt < 100; salt++) {
      const clash = `is_new AND (person_id IN (SELECT person_id FROM ${previous.registry}) OR person_id IN (SELECT person_id FROM ${previous.xref})
        OR person_id IN (SELECT person_id FROM ${assigned} GROUP BY person_id HAVING count(*) > 1))`;
      const clashes = num(await this.db.scalar(`SELECT count(*) FROM ${assigned} WHERE ${clash}`));
      if (clashes === 0) break;
      await this.sql('salt clashing person ids', `UPDATE ${assigned} SET person_id = ${newPersonIdSql('first_record', salt)}, salt = ${salt} WHERE ${clash}`);
    }
    await this.sql('write the cross-reference', `CREATE OR REPLACE TABLE ${t.xref} AS
WITH best AS (
  SELECT e.rid_a AS rid, max(e.match_probability) AS match_probability, max(e.priority) AS priority
  FROM ${this.work('edges')} e GROUP BY e.rid_a
)
SELECT r.record_id, r.source, a.person_id, b.match_probability,
       CASE b.priority WHEN ${LINK_PRIORITY.merge} THEN 'merge' WHEN ${LINK_PRIORITY.deterministic} THEN 'deterministic' WHEN ${LINK_PRIORITY.probabilistic} THEN 'probabilistic' ELSE 'unlinked' END AS rule
FROM ${t.records} r JOIN ${clusters} c USING (rid) JOIN ${assigned} a USING (label) LEFT JOIN best b USING (rid)
ORDER BY r.record_id`);
    const earlierRetired = previous.retired === undefined ? '' : `SELECT retired_person_id, person_id, retired_at FROM ${previous.retired} UNION ALL `;
    await this.sql('record retired person ids', `CREATE OR REPLACE TABLE ${this.work('retired_next')} AS
${earlierRetired}SELECT retired_person_id, person_id, ${now} AS retired_at FROM (SELECT unnest(earlier_ids) AS retired_person_id, person_id FROM ${assigned})
WHERE retired_person_id <> person_id;
CREATE OR REPLACE TABLE ${t.retired} AS SELECT * FROM ${this.work('retired_next')} ORDER BY retired_at, retired_person_id;
DROP TABLE ${this.work('retired_next')}`);
    await this.sql('update the person id registry', `CREATE OR REPLACE TABLE ${this.work('registry_next')} AS
SELECT person_id, created_at FROM ${previous.registry}
UNION ALL SELECT person_id, ${now} FROM ${assigned} WHERE is_new;
CREATE OR REPLACE TABLE ${t.registry} AS SELECT * FROM ${this.work('registry_next')} ORDER BY created_at, person_id;
DROP TABLE ${this.work('registry_next')}`);
    const counts = await this.db.all(`SELECT count(*) AS people, count(*) FILTER (WHERE is_new) AS new_people, (SELECT count(*) FROM ${t.retired} WHERE retired_at = ${now}) AS retired FROM ${assigned}`);
    await this.sql('drop work tables', `DROP TABLE ${assigned}; DROP TABLE ${clusters}; DROP TABLE ${this.work('edges')}`);
    const c = counts[0]!;
    return { people: num(c.people), newPeople: num(c.new_people), retiredPeople: num(c.retired) };
  }

  private async reviewQueue(): Promise<number> {
    const t = this.tables;
    const { reviewLower, threshold } = this.options.settings;
    await this.sql('queue pairs for clerical review', `CREATE OR REPLACE TABLE ${t.review} AS
SELECT p.record_id_l, p.record_id_r, p.match_weight, p.match_probability, p.blocking_rule, xl.person_id = xr.person_id AS same_person
FROM ${t.pairs} p JOIN ${t.xref} xl ON xl.record_id = p.record_id_l JOIN ${t.xref} xr ON xr.record_id = p.record_id_r
WHERE p.link_rule = 'probabilistic' AND p.match_probability >= ${reviewLower} AND p.match_probability < ${threshold}
ORDER BY p.match_probability DESC, p.record_id_l, p.record_id_r`);
    return num(await this.db.scalar(`SELECT count(*) FROM ${t.review}`));
  }
}

/** Links the records of `options.from`; see LinkageRun. */
export async function linkRecords(db: DuckDb, options: LinkRecordsOptions): Promise<LinkageRunReport> {
  return new LinkageRun(db, options).run();
}

/**
 * The per-field explanation of any two standardised records, linked or not: their gammas are computed
 * here on the spot, so a pair that blocking never produced can be explained too.
 */
export async function explainRecordPair(
  db: DuckDb,
  records: string,
  model: LinkageModel,
  recordIdA: string,
  recordIdB: string,
): Promise<PairExplanation> {
  // Each comparison is named after its role, so the model's comparisons name the roles it was trained on.
  const comparisons = comparisonsFor(model.comparisons.map((c) => c.name).filter(isLinkageRole));
  const tfColumns = tfColumnsOf(comparisons);
  const rows = await db.all(
    `SELECT ${gammaSelectSql(comparisons, tfColumns, [])} FROM (
SELECT l.rid AS rid_l, r.rid AS rid_r, 0 AS match_key, ${pairColumnsSql(comparisons, [])}
FROM ${records} l, ${records} r WHERE l.record_id = ? AND r.record_id = ?)`,
    [recordIdA, recordIdB],
    'linkage: compare two records',
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`no record ${recordIdA} or ${recordIdB} in the linkage records`);
  const gammas = Object.fromEntries(comparisons.map((c) => [c.name, num(row[c.gammaColumn])]));
  const tfs = Object.fromEntries(tfColumns.map((c) => [c, row[`${tfColumnName(c)}_l`] === null ? null : num(row[`${tfColumnName(c)}_l`])]));
  return explainPair(model.probability_two_random_records_match, model.comparisons, gammas, tfs);
}
