// Match weights and probabilities as SQL over the gamma table, and the per-field explanation of one
// pair. A pair's weight is the prior log-odds plus each comparison's log2(m/u) at its level; an exact
// name match is adjusted for how common the name is (log2(u / tf)), so two John Smiths count for less
// than two Ebenezer Quarshies. Pure: builds SQL and numbers only.

import { quoteIdent } from '../../core/sql.ts';
import { NULL_GAMMA } from './comparison.ts';
import { levelWeight, priorWeight, probabilityFromWeight, type ComparisonParameters } from './linkageModel.ts';

function literal(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(17) : '0';
}

/** `tf_<column>_l`: the share of records holding the left record's value. */
export function tfColumnName(column: string): string {
  return `tf_${column}`;
}

function comparisonWeightSql(params: ComparisonParameters): string {
  const gamma = quoteIdent(`gamma_${params.name}`);
  const whens = params.levels.map((level) => `WHEN ${level.gamma} THEN ${literal(levelWeight(level))}`).join(' ');
  const base = `CASE ${gamma} ${whens} ELSE 0 END`;
  const tf = params.levels
    .filter((level) => level.tf_column !== null)
    .map((level) => {
      const frequency = quoteIdent(`${tfColumnName(level.tf_column!)}_l`);
      return ` + CASE WHEN ${gamma} = ${level.gamma} AND ${frequency} > 0 THEN log2(${literal(level.u)} / ${frequency}) ELSE 0 END`;
    })
    .join('');
  return `${base}${tf}`;
}

/** `match_weight` and `match_probability` columns for a relation holding the gamma (and tf) columns. */
export function matchWeightSql(lambda: number, params: readonly ComparisonParameters[]): string {
  const weight = [literal(priorWeight(lambda)), ...params.map(comparisonWeightSql)].join('\n  + ');
  return `(${weight})`;
}

export function matchProbabilitySql(weightExpr: string): string {
  return `(1 / (1 + pow(2, -(${weightExpr}))))`;
}

export interface FieldExplanation {
  comparison: string;
  gamma: number;
  level: string;
  /** log2 Bayes factor, including any term-frequency adjustment. */
  weight: number;
  m: number | null;
  u: number | null;
}

export interface PairExplanation {
  prior_weight: number;
  fields: FieldExplanation[];
  match_weight: number;
  match_probability: number;
}

/** Why a pair scored as it did: each field's level and weight, from its gammas and term frequencies. */
export function explainPair(
  lambda: number,
  params: readonly ComparisonParameters[],
  gammas: Readonly<Record<string, number>>,
  termFrequencies: Readonly<Record<string, number | null>>,
): PairExplanation {
  const prior = priorWeight(lambda);
  const fields = params.map((p): FieldExplanation => {
    const gamma = gammas[p.name] ?? NULL_GAMMA;
    const level = p.levels.find((l) => l.gamma === gamma);
    if (level === undefined) return { comparison: p.name, gamma, level: 'missing', weight: 0, m: null, u: null };
    let weight = levelWeight(level);
    const tf = level.tf_column === null ? null : (termFrequencies[level.tf_column] ?? null);
    if (tf !== null && tf > 0) weight += Math.log2(level.u / tf);
    return { comparison: p.name, gamma, level: level.label, weight, m: level.m, u: level.u };
  });
  const total = prior + fields.reduce((sum, f) => sum + f.weight, 0);
  return { prior_weight: prior, fields, match_weight: total, match_probability: probabilityFromWeight(total) };
}
