import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { scoreClusters, truthClusterFromPattern, type ClusterAssignment } from '../../../transforms/linkage/evaluation.ts';

/** `{ A: ['1', '2'], B: ['3'] }` → one assignment per record. */
function clusters(groups: Record<string, readonly string[]>): ClusterAssignment[] {
  return Object.entries(groups).flatMap(([clusterId, ids]) => ids.map((recordId) => ({ recordId, clusterId })));
}

describe('scoreClusters', () => {
  // Expected values worked by hand from the definitions, not from the implementation's formulas.
  const cases = [
    {
      description: 'perfect clustering, with different cluster labels on each side',
      predicted: clusters({ x: ['1', '2', '3'], y: ['4', '5'], z: ['6'] }),
      truth: clusters({ A: ['1', '2', '3'], B: ['4', '5'], C: ['6'] }),
      expected: { records: 6, truePairs: 4, predictedPairs: 4, truePositivePairs: 4, pairwise: [1, 1, 1], bcubed: [1, 1, 1] },
    },
    {
      // Nothing predicted linked: precision 1 by convention, recall 0. B-cubed recall = mean 1/|true|
      // = (1/3 · 3 + 1/2 · 2 + 1) / 6 = 1/2.
      description: 'all singletons against real clusters',
      predicted: clusters({ a: ['1'], b: ['2'], c: ['3'], d: ['4'], e: ['5'], f: ['6'] }),
      truth: clusters({ A: ['1', '2', '3'], B: ['4', '5'], C: ['6'] }),
      expected: { records: 6, truePairs: 4, predictedPairs: 0, truePositivePairs: 0, pairwise: [1, 0, 0], bcubed: [1, 1 / 2, 2 / 3] },
    },
    {
      description: 'all singletons on both sides: nothing to find, nothing wrong',
      predicted: clusters({ a: ['1'], b: ['2'], c: ['3'] }),
      truth: clusters({ A: ['1'], B: ['2'], C: ['3'] }),
      expected: { records: 3, truePairs: 0, predictedPairs: 0, truePositivePairs: 0, pairwise: [1, 1, 1], bcubed: [1, 1, 1] },
    },
    {
      // C(6,2) = 15 predicted pairs, 4 true. B-cubed precision = mean |true|/6 = (3·3 + 2·2 + 1) / 36 = 14/36.
      description: 'everything in one cluster',
      predicted: clusters({ all: ['1', '2', '3', '4', '5', '6'] }),
      truth: clusters({ A: ['1', '2', '3'], B: ['4', '5'], C: ['6'] }),
      expected: { records: 6, truePairs: 4, predictedPairs: 15, truePositivePairs: 4, pairwise: [4 / 15, 1, 8 / 19], bcubed: [14 / 36, 1, 28 / 50] },
    },
    {
      // One person split in two: 2 of 6 true pairs found, none wrong. B-cubed recall: each record finds 2 of 4.
      description: 'a split',
      predicted: clusters({ x: ['1', '2'], y: ['3', '4'] }),
      truth: clusters({ A: ['1', '2', '3', '4'] }),
      expected: { records: 4, truePairs: 6, predictedPairs: 2, truePositivePairs: 2, pairwise: [1, 1 / 3, 1 / 2], bcubed: [1, 1 / 2, 2 / 3] },
    },
    {
      description: 'a merge',
      predicted: clusters({ x: ['1', '2', '3', '4'] }),
      truth: clusters({ A: ['1', '2'], B: ['3', '4'] }),
      expected: { records: 4, truePairs: 2, predictedPairs: 6, truePositivePairs: 2, pairwise: [1 / 3, 1, 1 / 2], bcubed: [1 / 2, 1, 2 / 3] },
    },
    {
      // Truth A={1,2,3} B={4,5} C={6}; predicted x={1,2} y={3,4,5,6}.
      // Pairs: true 3+1 = 4, predicted 1+6 = 7, TP {1,2} and {4,5} = 2 → P 2/7, R 1/2, F1 (2/7)/(11/14) = 4/11.
      // B-cubed precision per record: 1, 1, 1/4, 2/4, 2/4, 1/4 → 3.5/6 = 7/12.
      // B-cubed recall per record: 2/3, 2/3, 1/3, 1, 1, 1 → (14/3)/6 = 7/9. F1 = 2·(7/12)(7/9) / (7/12 + 7/9) = 2/3.
      description: 'a hand-computed mixed example',
      predicted: clusters({ x: ['1', '2'], y: ['3', '4', '5', '6'] }),
      truth: clusters({ A: ['1', '2', '3'], B: ['4', '5'], C: ['6'] }),
      expected: { records: 6, truePairs: 4, predictedPairs: 7, truePositivePairs: 2, pairwise: [2 / 7, 1 / 2, 4 / 11], bcubed: [7 / 12, 7 / 9, 2 / 3] },
    },
    {
      // No pair right, some predicted, some true: both pairwise measures 0, so F1 is 0, not NaN.
      description: 'every predicted pair wrong',
      predicted: clusters({ x: ['1', '3'], y: ['2', '4'] }),
      truth: clusters({ A: ['1', '2'], B: ['3', '4'] }),
      expected: { records: 4, truePairs: 2, predictedPairs: 2, truePositivePairs: 0, pairwise: [0, 0, 0], bcubed: [1 / 2, 1 / 2, 1 / 2] },
    },
    {
      description: 'no records at all',
      predicted: [],
      truth: [],
      expected: { records: 0, truePairs: 0, predictedPairs: 0, truePositivePairs: 0, pairwise: [1, 1, 1], bcubed: [1, 1, 1] },
    },
  ];

  it.each(cases)('$description', ({ predicted, truth, expected }) => {
    const scores = scoreClusters(predicted, truth);
    expect({ records: scores.records, truePairs: scores.truePairs, predictedPairs: scores.predictedPairs, truePositivePairs: scores.truePositivePairs }).toEqual({
      records: expected.records,
      truePairs: expected.truePairs,
      predictedPairs: expected.predictedPairs,
      truePositivePairs: expected.truePositivePairs,
    });
    const [pp, pr, pf] = expected.pairwise;
    const [bp, br, bf] = expected.bcubed;
    expect(scores.pairwise.precision).toBeCloseTo(pp!, 12);
    expect(scores.pairwise.recall).toBeCloseTo(pr!, 12);
    expect(scores.pairwise.f1).toBeCloseTo(pf!, 12);
    expect(scores.bcubed.precision).toBeCloseTo(bp!, 12);
    expect(scores.bcubed.recall).toBeCloseTo(br!, 12);
    expect(scores.bcubed.f1).toBeCloseTo(bf!, 12);
  });

  it('does not depend on record order, and reads any iterable once', () => {
    const predicted = clusters({ x: ['1', '2'], y: ['3', '4', '5', '6'] });
    const truth = clusters({ A: ['1', '2', '3'], B: ['4', '5'], C: ['6'] });
    function* once(items: readonly ClusterAssignment[]) {
      yield* items;
    }
    expect(scoreClusters(once([...predicted].reverse()), once([truth[3]!, ...truth.slice(0, 3), ...truth.slice(4)]))).toEqual(scoreClusters(predicted, truth));
  });

  it('counts pairs from cluster sizes, so large clusters cost no more than small ones', () => {
    // 200,000 records in one predicted cluster: enumerating its pairs would be 2·10¹⁰ comparisons.
    const n = 200_000;
    const predicted = Array.from({ length: n }, (_, i) => ({ recordId: String(i), clusterId: 'one' }));
    const truth = Array.from({ length: n }, (_, i) => ({ recordId: String(i), clusterId: String(i % 2) }));
    const scores = scoreClusters(predicted, truth);
    expect(scores.predictedPairs).toBe((n * (n - 1)) / 2);
    expect(scores.truePairs).toBe(2 * ((n / 2) * (n / 2 - 1)) / 2);
    expect(scores.truePositivePairs).toBe(scores.truePairs);
    expect(scores.bcubed.precision).toBeCloseTo(1 / 2, 12);
  });

  const invalid = [
    {
      description: 'records in the truth that have no predicted cluster',
      predicted: clusters({ x: ['1', '2'] }),
      truth: clusters({ A: ['1', '2', 'a', 'b', 'c'] }),
      message: '3 record(s) in the truth have no cluster in the predicted clusters: a, b, c',
    },
    {
      description: 'records predicted but not in the truth, listing only the first five',
      predicted: clusters({ x: ['1', '2', '3', '4', '5', '6', '7', '8'] }),
      truth: clusters({ A: ['1'] }),
      message: '7 record(s) in the predicted clusters are not in the truth: 2, 3, 4, 5, 6, …',
    },
    {
      description: 'records missing on both sides, reported together',
      predicted: clusters({ x: ['1', 'p'] }),
      truth: clusters({ A: ['1', 't'] }),
      message: '1 record(s) in the truth have no cluster in the predicted clusters: t; and 1 record(s) in the predicted clusters are not in the truth: p',
    },
    {
      description: 'a duplicate record id in the predicted clusters',
      predicted: [...clusters({ x: ['1', '2'] }), { recordId: '2', clusterId: 'y' }],
      truth: clusters({ A: ['1', '2'] }),
      message: "Record id '2' appears more than once in the predicted clusters",
    },
    {
      description: 'a duplicate record id in the truth',
      predicted: clusters({ x: ['1', '2'] }),
      truth: [...clusters({ A: ['1', '2'] }), { recordId: '1', clusterId: 'A' }],
      message: "Record id '1' appears more than once in the truth",
    },
    {
      description: 'a duplicate record id in the truth that is also missing from the predicted clusters',
      predicted: clusters({ x: ['1'] }),
      truth: clusters({ A: ['1', 'z', 'z'] }),
      message: "Record id 'z' appears more than once in the truth",
    },
  ];

  it.each(invalid)('rejects $description', ({ predicted, truth, message }) => {
    expect(() => scoreClusters(predicted, truth)).toThrow(message);
  });

  it('names the inputs as the caller asks', () => {
    const names = { predicted: 'the clusters file out.csv', truth: 'the truth file febrl3.csv' };
    expect(() => scoreClusters(clusters({ x: ['1'] }), clusters({ A: ['1', 'a', 'b', 'c'] }), names)).toThrow(
      '3 record(s) in the truth file febrl3.csv have no cluster in the clusters file out.csv: a, b, c',
    );
  });
});

describe('truthClusterFromPattern', () => {
  const cases = [
    { description: 'a FEBRL original', pattern: String.raw`rec-(\d+)`, id: 'rec-123-org', cluster: '123' },
    { description: 'a FEBRL duplicate joins its original', pattern: String.raw`rec-(\d+)`, id: 'rec-123-dup-4', cluster: '123' },
    { description: 'the number is not a prefix of a longer one', pattern: String.raw`rec-(\d+)`, id: 'rec-1234-org', cluster: '1234' },
    { description: 'an id the pattern does not match', pattern: String.raw`rec-(\d+)`, id: 'person-7', cluster: null },
    { description: 'no capture group: the whole match', pattern: String.raw`^[a-z]+-\d+`, id: 'rec-55-dup-0', cluster: 'rec-55' },
    { description: 'only the first capture group counts', pattern: String.raw`(\w+)-(\d+)`, id: 'rec-9-org', cluster: 'rec' },
    { description: 'a group that takes no part in the match', pattern: String.raw`(x)|rec`, id: 'rec-1', cluster: null },
    { description: 'an empty capture', pattern: String.raw`rec-(\d*)`, id: 'rec--org', cluster: null },
  ];
  it.each(cases)('$description', ({ pattern, id, cluster }) => {
    expect(truthClusterFromPattern(pattern)(id)).toBe(cluster);
  });

  it('gives the same answer however often it is called', () => {
    const clusterOf = truthClusterFromPattern(String.raw`rec-(\d+)`);
    expect(['rec-1-org', 'rec-1-dup-0', 'rec-2-org'].map(clusterOf)).toEqual(['1', '1', '2']);
    expect(clusterOf('rec-1-org')).toBe('1');
  });

  const invalid = [
    { description: 'an unclosed group', pattern: String.raw`rec-(\d+`, message: /pattern 'rec-\(\\d\+' is not a valid regular expression/ },
    { description: 'a nothing-to-repeat quantifier', pattern: '*rec', message: /is not a valid regular expression/ },
    { description: 'an empty pattern', pattern: '', message: /pattern is empty/ },
  ];
  it.each(invalid)('rejects $description', ({ pattern, message }) => {
    let error: unknown;
    try {
      truthClusterFromPattern(pattern);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CarelakeError);
    expect((error as CarelakeError).kind).toBe('config');
    expect((error as CarelakeError).message).toMatch(message);
  });
});
