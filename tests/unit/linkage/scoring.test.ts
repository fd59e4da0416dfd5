// Scoring: explainPair's per-field weights, the SQL match weight evaluated in a real in-memory DuckDB
// (which must agree with explainPair), term-frequency adjustments, and the saved linkage model's
// validation and matching against the comparisons of a run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { quoteIdent } from '../../../core/sql.ts';
import type { Comparison } from '../../../transforms/linkage/comparison.ts';
import { comparisonsFor } from '../../../transforms/linkage/comparisonLibrary.ts';
import {
  LINKAGE_MODEL_FORMAT,
  LINKAGE_MODEL_VERSION,
  levelWeight,
  parseLinkageModel,
  parametersFor,
  priorWeight,
  probabilityFromWeight,
  type ComparisonParameters,
  type LinkageModel,
} from '../../../transforms/linkage/linkageModel.ts';
import { explainPair, matchProbabilitySql, matchWeightSql, tfColumnName } from '../../../transforms/linkage/scoring.ts';

/**
 * Parameters for a comparison's levels: m rises and u falls with the gamma, each summing to 1, so
 * the top level has the largest weight and "else" a negative one.
 */
function parametersOf(comparison: Comparison): ComparisonParameters {
  const levels = comparison.levels();
  const mRaw = levels.map((l) => (l.gamma + 1) ** 3);
  const uRaw = levels.map((l) => 1 / (l.gamma + 1) ** 3);
  const mSum = mRaw.reduce((a, b) => a + b, 0);
  const uSum = uRaw.reduce((a, b) => a + b, 0);
  return {
    name: comparison.name,
    levels: levels.map((l, i) => ({ gamma: l.gamma, label: l.label, m: mRaw[i]! / mSum, u: uRaw[i]! / uSum, tf_column: l.tfColumn })),
  };
}

const COMPARISONS = comparisonsFor(['given_name', 'family_name', 'birth_date', 'sex']);
const PARAMS = COMPARISONS.map(parametersOf);
const LAMBDA = 0.0004;

function modelOf(comparisons: readonly ComparisonParameters[], lambda = LAMBDA): LinkageModel {
  return {
    format: LINKAGE_MODEL_FORMAT,
    version: LINKAGE_MODEL_VERSION,
    trained_at: '2024-06-24T10:00:00.000Z',
    records: 1000,
    probability_two_random_records_match: lambda,
    comparisons: comparisons.map((c) => ({ ...c, levels: c.levels.map((l) => ({ ...l })) })),
    training: { u_sample_pairs: 100_000, deterministic_pairs: 12, sessions: [{ blocking_rule: 'birth_date', pairs: 5000, estimated: ['given_name'], iterations: 7, converged: true, lambda: 0.2 }] },
  };
}

function level(params: ComparisonParameters, gamma: number): ComparisonParameters['levels'][number] {
  return params.levels.find((l) => l.gamma === gamma)!;
}

const [GIVEN, FAMILY, BIRTH, SEX] = PARAMS as [ComparisonParameters, ComparisonParameters, ComparisonParameters, ComparisonParameters];

interface ScoreCase {
  description: string;
  gammas: Record<string, number>;
  tf: Record<string, number | null>;
}

const SCORE_CASES: ScoreCase[] = [
  { description: 'everything agrees exactly', gammas: { given_name: 6, family_name: 5, birth_date: 4, sex: 1 }, tf: {} },
  { description: 'everything disagrees', gammas: { given_name: 0, family_name: 0, birth_date: 0, sex: 0 }, tf: {} },
  { description: 'a mix of levels', gammas: { given_name: 4, family_name: 3, birth_date: 2, sex: 0 }, tf: {} },
  { description: 'missing values (-1) weigh nothing', gammas: { given_name: -1, family_name: 5, birth_date: -1, sex: 1 }, tf: {} },
  { description: 'a common given name', gammas: { given_name: 6, family_name: 5, birth_date: 4, sex: 1 }, tf: { given_name: 0.05, family_name: null } },
  { description: 'a rare family name', gammas: { given_name: 6, family_name: 5, birth_date: 4, sex: 1 }, tf: { given_name: null, family_name: 0.00001 } },
  { description: 'a term frequency at a level without one is ignored', gammas: { given_name: 4, family_name: 1, birth_date: 4, sex: 1 }, tf: { given_name: 0.05, family_name: 0.2 } },
  { description: 'a zero term frequency is ignored', gammas: { given_name: 6, family_name: 5, birth_date: 4, sex: 1 }, tf: { given_name: 0, family_name: 0 } },
];

describe('explainPair', () => {
  it.each(SCORE_CASES)('$description: prior plus field weights, probability from the weight', ({ gammas, tf }) => {
    const explanation = explainPair(LAMBDA, PARAMS, gammas, tf);
    expect(explanation.prior_weight).toBeCloseTo(Math.log2(LAMBDA / (1 - LAMBDA)), 12);
    expect(explanation.fields.map((f) => f.comparison)).toEqual(['given_name', 'family_name', 'birth_date', 'sex']);
    expect(explanation.match_weight).toBeCloseTo(explanation.prior_weight + explanation.fields.reduce((sum, f) => sum + f.weight, 0), 12);
    expect(explanation.match_probability).toBeCloseTo(probabilityFromWeight(explanation.match_weight), 14);
    expect(explanation.match_probability).toBeCloseTo(1 / (1 + 2 ** -explanation.match_weight), 14);
    for (const field of explanation.fields) {
      const p = PARAMS.find((c) => c.name === field.comparison)!;
      if (field.gamma === -1) {
        expect(field).toEqual({ comparison: field.comparison, gamma: -1, level: 'missing', weight: 0, m: null, u: null });
        continue;
      }
      const l = level(p, field.gamma);
      expect(field.level).toBe(l.label);
      expect([field.m, field.u]).toEqual([l.m, l.u]);
      const frequency = l.tf_column === null ? null : (tf[l.tf_column] ?? null);
      const adjustment = frequency !== null && frequency > 0 ? Math.log2(l.u / frequency) : 0;
      expect(field.weight).toBeCloseTo(Math.log2(l.m / l.u) + adjustment, 12);
    }
  });

  it('without term frequencies, the probability is Bayes’ rule over λ, m and u', () => {
    const gammas = { given_name: 4, family_name: 5, birth_date: 3, sex: -1 };
    const chosen = [level(GIVEN, 4), level(FAMILY, 5), level(BIRTH, 3)];
    const pm = LAMBDA * chosen.reduce((p, l) => p * l.m, 1);
    const pu = (1 - LAMBDA) * chosen.reduce((p, l) => p * l.u, 1);
    expect(explainPair(LAMBDA, PARAMS, gammas, {}).match_probability).toBeCloseTo(pm / (pm + pu), 12);
  });

  it('a comparison absent from the gammas counts as missing', () => {
    const explanation = explainPair(LAMBDA, PARAMS, { given_name: 6 }, {});
    expect(explanation.fields.slice(1).map((f) => [f.level, f.weight])).toEqual([
      ['missing', 0],
      ['missing', 0],
      ['missing', 0],
    ]);
    expect(explanation.match_weight).toBeCloseTo(priorWeight(LAMBDA) + levelWeight(level(GIVEN, 6)), 12);
  });

  it('a term-frequency adjustment lowers the weight of a common name and raises a rare one', () => {
    const gammas = { given_name: 6, family_name: -1, birth_date: -1, sex: -1 };
    const u = level(GIVEN, 6).u;
    const plain = explainPair(LAMBDA, PARAMS, gammas, {}).match_weight;
    const common = explainPair(LAMBDA, PARAMS, gammas, { given_name: u * 8 }).match_weight; // john: 8× the average agreement rate
    const rare = explainPair(LAMBDA, PARAMS, gammas, { given_name: u / 4 }).match_weight; // ebenezer
    expect(common).toBeCloseTo(plain - 3, 12);
    expect(rare).toBeCloseTo(plain + 2, 12);
    expect(common).toBeLessThan(plain);
  });
});

describe('matchWeightSql', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
  });
  afterAll(() => db?.close());

  /** One gamma row: `gamma_<name>` TINYINT columns and `tf_<column>_l` DOUBLE columns, bound as parameters. */
  async function scoreInSql(gammas: Record<string, number>, tf: Record<string, number | null>): Promise<{ weight: number; probability: number }> {
    const columns = [
      ...PARAMS.map((p) => ({ name: `gamma_${p.name}`, type: 'TINYINT', value: String(gammas[p.name] ?? -1) })),
      ...['given_name', 'family_name'].map((c) => ({ name: `${tfColumnName(c)}_l`, type: 'DOUBLE', value: tf[c] == null ? null : String(tf[c]) })),
    ];
    const row = columns.map((c, i) => `CAST($${i + 1} AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
    const weight = matchWeightSql(LAMBDA, PARAMS);
    const rows = await db.all(`SELECT ${weight} AS w, ${matchProbabilitySql(weight)} AS p FROM (SELECT ${row})`, columns.map((c) => c.value));
    return { weight: Number(rows[0]!['w']), probability: Number(rows[0]!['p']) };
  }

  it.each(SCORE_CASES)('$description: equals explainPair', async ({ gammas, tf }) => {
    const expected = explainPair(LAMBDA, PARAMS, gammas, tf);
    const got = await scoreInSql(gammas, tf);
    expect(got.weight).toBeCloseTo(expected.match_weight, 9);
    expect(got.probability).toBeCloseTo(expected.match_probability, 9);
  });

  it('a common name scores lower than a rare one in SQL too', async () => {
    const gammas = { given_name: 6, family_name: 5, birth_date: 4, sex: 1 };
    const common = await scoreInSql(gammas, { given_name: 0.05 });
    const rare = await scoreInSql(gammas, { given_name: 0.0001 });
    expect(common.weight).toBeLessThan(rare.weight);
  });

  it('a gamma the model does not know weighs nothing', async () => {
    const known = await scoreInSql({ given_name: -1, family_name: -1, birth_date: -1, sex: -1 }, {});
    expect(known.weight).toBeCloseTo(priorWeight(LAMBDA), 9);
  });
});

describe('linkageModel weights', () => {
  const cases = [
    { description: 'levelWeight: log2(m/u)', actual: () => levelWeight({ gamma: 1, label: 'x', m: 0.9, u: 0.1, tf_column: null }), expected: Math.log2(9) },
    { description: 'priorWeight of 1/2 is 0', actual: () => priorWeight(0.5), expected: 0 },
    { description: 'priorWeight of 1/1025 is -10', actual: () => priorWeight(1 / 1025), expected: -10 },
    { description: 'probabilityFromWeight(0) is 1/2', actual: () => probabilityFromWeight(0), expected: 0.5 },
    { description: 'probabilityFromWeight(10) is 1024/1025', actual: () => probabilityFromWeight(10), expected: 1024 / 1025 },
    { description: 'probabilityFromWeight undoes priorWeight', actual: () => probabilityFromWeight(priorWeight(0.0123)), expected: 0.0123 },
  ];
  it.each(cases)('$description', ({ actual, expected }) => {
    expect(actual()).toBeCloseTo(expected, 12);
  });
});

describe('parseLinkageModel', () => {
  it('accepts a valid model (as JSON text would give it)', () => {
    const model = modelOf(PARAMS);
    expect(parseLinkageModel(JSON.parse(JSON.stringify(model)), 'model.json')).toEqual(model);
  });

  const broken = (change: (model: Record<string, unknown>) => void): unknown => {
    const model = JSON.parse(JSON.stringify(modelOf(PARAMS))) as Record<string, unknown>;
    change(model);
    return model;
  };
  type Json = Record<string, unknown>;
  const comparisons = (model: Json): Json[] => model['comparisons'] as Json[];
  const levels = (model: Json, c: number): Json[] => comparisons(model)[c]!['levels'] as Json[];

  const cases: { description: string; json: unknown; path: string }[] = [
    { description: 'not an object', json: null, path: '(top level)' },
    { description: 'another format', json: broken((m) => (m['format'] = 'splink')), path: 'format' },
    { description: 'a later version', json: broken((m) => (m['version'] = 2)), path: 'version' },
    { description: 'λ of 1', json: broken((m) => (m['probability_two_random_records_match'] = 1)), path: 'probability_two_random_records_match' },
    { description: 'no comparisons', json: broken((m) => (m['comparisons'] = [])), path: 'comparisons' },
    { description: 'an m above 1', json: broken((m) => (levels(m, 1)[2]!['m'] = 1.5)), path: 'comparisons.1.levels.2.m' },
    { description: 'a u of 0', json: broken((m) => (levels(m, 0)[0]!['u'] = 0)), path: 'comparisons.0.levels.0.u' },
    { description: 'a negative gamma', json: broken((m) => (levels(m, 2)[1]!['gamma'] = -1)), path: 'comparisons.2.levels.1.gamma' },
    { description: 'a comparison with one level', json: broken((m) => (comparisons(m)[3]!['levels'] = [levels(m, 3)[0]])), path: 'comparisons.3.levels' },
    { description: 'a session without its blocking rule', json: broken((m) => delete ((m['training'] as Json)['sessions'] as Json[])[0]!['blocking_rule']), path: 'training.sessions.0.blocking_rule' },
  ];
  it.each(cases)('rejects $description, naming the path', ({ json, path }) => {
    expect(() => parseLinkageModel(json, 'models/linkage.json')).toThrow(`models/linkage.json is not a carelake linkage model: ${path}: `);
  });
});

describe('parametersFor', () => {
  it('returns the saved parameters in the order of the run’s comparisons, ignoring extras', () => {
    const model = modelOf([SEX, BIRTH, FAMILY, GIVEN]);
    const run = comparisonsFor(['given_name', 'family_name', 'birth_date']);
    expect(parametersFor(model, run, 'model.json').map((p) => p.name)).toEqual(['given_name', 'family_name', 'birth_date']);
  });

  const cases: { description: string; saved: ComparisonParameters[]; run: Comparison[]; message: string | RegExp }[] = [
    {
      description: 'a comparison the model lacks',
      saved: [GIVEN, FAMILY],
      run: comparisonsFor(['given_name', 'family_name', 'sex']),
      message: 'model.json has no parameters for sex; train a model with that role mapped',
    },
    {
      description: 'levels that differ (trained without family_name, run with it)',
      saved: [parametersOf(comparisonsFor(['given_name'])[0]!)],
      run: comparisonsFor(['given_name', 'family_name']),
      message: /^model\.json was trained with other levels for given_name \(given_name exact; given_name nickname; .*; else\); retrain it$/,
    },
    {
      description: 'a relabelled level',
      saved: [{ ...SEX, levels: SEX.levels.map((l) => (l.gamma === 1 ? { ...l, label: 'sex same' } : l)) }],
      run: comparisonsFor(['sex']),
      message: 'model.json was trained with other levels for sex (sex same; else); retrain it',
    },
  ];
  it.each(cases)('rejects $description', ({ saved, run, message }) => {
    expect(() => parametersFor(modelOf(saved), run, 'model.json')).toThrow(message);
  });
});
