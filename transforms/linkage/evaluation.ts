// How good is a record linkage? A predicted clustering (record → person) is scored against a known
// truth with two standard measures:
//   - pairwise: a pair of records is "linked" when both sit in one cluster; precision and recall over
//     those pairs (Christen, Data Matching, 2012, ch. 7);
//   - B-cubed: per record, precision = |pred ∩ true| / |pred| and recall = |pred ∩ true| / |true| for
//     the clusters holding it, averaged over records (Bagga & Baldwin 1998; Amigó et al. 2009). F1 is
//     the harmonic mean of the averaged precision and recall.
// Both come from one contingency table, n_ij = records in predicted cluster i and true cluster j, with
// row sums a_i and column sums b_j: TP pairs = Σ C(n_ij,2), predicted pairs = Σ C(a_i,2), true pairs =
// Σ C(b_j,2); B-cubed precision = Σ n_ij²/a_i / N and recall = Σ n_ij²/b_j / N. Pairs are never
// enumerated, so a million records take one pass each side, not 10¹² comparisons.
// Pure: no I/O. Counts are `number`s: exact up to 2^53, far above C(2^24, 2), and a JS Map holds at
// most 2^24 entries, which is the real ceiling here (about 16.7 million records).

import { CarelakeError } from '../../core/errors.ts';

export interface ClusterAssignment {
  recordId: string;
  clusterId: string;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
}

export interface LinkageScores {
  records: number;
  truePairs: number;
  predictedPairs: number;
  truePositivePairs: number;
  pairwise: PrecisionRecall;
  bcubed: PrecisionRecall;
}

/** How the two inputs are named in error messages, e.g. `the truth file data/febrl3.csv`. */
export interface LinkageInputNames {
  predicted: string;
  truth: string;
}

const DEFAULT_NAMES: LinkageInputNames = { predicted: 'the predicted clusters', truth: 'the truth' };

/** How many ids a mismatch error lists before it stops. */
const IDS_SHOWN = 5;

/** Marks a predicted record already met in the truth, so a second sighting is a duplicate. */
const SEEN_IN_TRUTH = -1;

/**
 * Scores `predicted` against `truth`. Both must cover the same records, each record once; otherwise
 * this throws, naming the duplicate id or how many records are on one side only (and the first few).
 * Conventions: precision is 1 when nothing is predicted linked, recall is 1 when nothing is truly
 * linked, and F1 is 0 when both are 0. With no records at all every measure is 1 (nothing was wrong).
 */
export function scoreClusters(
  predicted: Iterable<ClusterAssignment>,
  truth: Iterable<ClusterAssignment>,
  names: LinkageInputNames = DEFAULT_NAMES,
): LinkageScores {
  // Pass 1: each predicted record → the index of its cluster; a_i per cluster.
  const clusterOf = new Map<string, number>();
  const predictedIndex = new Map<string, number>();
  const predictedSizes: number[] = [];
  for (const { recordId, clusterId } of predicted) {
    if (clusterOf.has(recordId)) throw duplicateRecordError(recordId, names.predicted);
    const i = intern(predictedIndex, predictedSizes, clusterId);
    clusterOf.set(recordId, i);
  }
  const records = clusterOf.size;

  // Pass 2: each true record → its cell (i, j), keyed i·N + j. True clusters are interned only for
  // records that matched, so j < N and the key stays below N² ≤ 2^48.
  const trueIndex = new Map<string, number>();
  const trueSizes: number[] = [];
  const cells = new Map<number, number>();
  const onlyInTruth: string[] = [];
  let onlyInTruthCount = 0;
  for (const { recordId, clusterId } of truth) {
    const i = clusterOf.get(recordId);
    if (i === SEEN_IN_TRUTH) throw duplicateRecordError(recordId, names.truth);
    clusterOf.set(recordId, SEEN_IN_TRUTH);
    if (i === undefined) {
      onlyInTruthCount += 1;
      if (onlyInTruth.length < IDS_SHOWN) onlyInTruth.push(recordId);
      continue;
    }
    const j = intern(trueIndex, trueSizes, clusterId);
    const key = i * records + j;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }

  const onlyInPredicted: string[] = [];
  let onlyInPredictedCount = 0;
  for (const [recordId, i] of clusterOf) {
    if (i === SEEN_IN_TRUTH) continue;
    onlyInPredictedCount += 1;
    if (onlyInPredicted.length < IDS_SHOWN) onlyInPredicted.push(recordId);
  }
  if (onlyInTruthCount > 0 || onlyInPredictedCount > 0) {
    throw recordMismatchError(names, { count: onlyInTruthCount, ids: onlyInTruth }, { count: onlyInPredictedCount, ids: onlyInPredicted });
  }

  let truePositivePairs = 0;
  let bcubedPrecisionSum = 0;
  let bcubedRecallSum = 0;
  for (const [key, n] of cells) {
    const i = Math.floor(key / records);
    const j = key - i * records;
    truePositivePairs += pairs(n);
    bcubedPrecisionSum += (n * n) / predictedSizes[i]!;
    bcubedRecallSum += (n * n) / trueSizes[j]!;
  }
  const predictedPairs = sumPairs(predictedSizes);
  const truePairs = sumPairs(trueSizes);

  const pairwisePrecision = predictedPairs === 0 ? 1 : truePositivePairs / predictedPairs;
  const pairwiseRecall = truePairs === 0 ? 1 : truePositivePairs / truePairs;
  const bcubedPrecision = records === 0 ? 1 : bcubedPrecisionSum / records;
  const bcubedRecall = records === 0 ? 1 : bcubedRecallSum / records;
  return {
    records,
    truePairs,
    predictedPairs,
    truePositivePairs,
    pairwise: { precision: pairwisePrecision, recall: pairwiseRecall, f1: f1(pairwisePrecision, pairwiseRecall) },
    bcubed: { precision: bcubedPrecision, recall: bcubedRecall, f1: f1(bcubedPrecision, bcubedRecall) },
  };
}

/**
 * A truth cluster read out of a record id, for data sets whose ids encode the entity, like FEBRL's
 * `rec-123-org` and `rec-123-dup-4` (pattern `rec-(\d+)`). The cluster is the first capture group, or
 * the whole match when the pattern has no group. The returned function gives null when the pattern
 * does not match the id, or captures nothing. Throws a config error for an invalid regular expression.
 */
export function truthClusterFromPattern(pattern: string): (id: string) => string | null {
  if (pattern === '') {
    throw new CarelakeError({
      code: 'linkage.invalid-pattern',
      kind: 'config',
      message: 'The truth cluster pattern is empty',
      hint: String.raw`give a regular expression with one capture group, e.g. 'rec-(\d+)'`,
    });
  }
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (err) {
    throw new CarelakeError({
      code: 'linkage.invalid-pattern',
      kind: 'config',
      message: `The truth cluster pattern '${pattern}' is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`,
      hint: String.raw`give a JavaScript regular expression with one capture group, e.g. 'rec-(\d+)'`,
      cause: err,
    });
  }
  // No `g` or `y` flag, so exec keeps no state between ids.
  return (id) => {
    const match = regex.exec(id);
    if (match === null) return null;
    const cluster = match.length > 1 ? match[1] : match[0];
    return cluster === undefined || cluster === '' ? null : cluster;
  };
}

function intern(index: Map<string, number>, sizes: number[], clusterId: string): number {
  let i = index.get(clusterId);
  if (i === undefined) {
    i = sizes.length;
    index.set(clusterId, i);
    sizes.push(0);
  }
  sizes[i] = sizes[i]! + 1;
  return i;
}

/** C(n, 2). */
function pairs(n: number): number {
  return (n * (n - 1)) / 2;
}

function sumPairs(sizes: readonly number[]): number {
  let total = 0;
  for (const n of sizes) total += pairs(n);
  return total;
}

function f1(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

function duplicateRecordError(recordId: string, where: string): CarelakeError {
  return new CarelakeError({
    code: 'linkage.duplicate-record',
    kind: 'parse',
    message: `Record id '${recordId}' appears more than once in ${where}`,
    hint: 'each record needs exactly one cluster; remove or rename the repeated row',
  });
}

interface OneSided {
  count: number;
  ids: readonly string[];
}

function recordMismatchError(names: LinkageInputNames, onlyInTruth: OneSided, onlyInPredicted: OneSided): CarelakeError {
  const list = (side: OneSided) => `${side.ids.join(', ')}${side.count > side.ids.length ? ', …' : ''}`;
  const parts: string[] = [];
  if (onlyInTruth.count > 0) {
    parts.push(`${onlyInTruth.count} record(s) in ${names.truth} have no cluster in ${names.predicted}: ${list(onlyInTruth)}`);
  }
  if (onlyInPredicted.count > 0) {
    parts.push(`${onlyInPredicted.count} record(s) in ${names.predicted} are not in ${names.truth}: ${list(onlyInPredicted)}`);
  }
  return new CarelakeError({
    code: 'linkage.record-mismatch',
    kind: 'config',
    message: parts.join('; and '),
    hint: 'both sides must cover the same records; check that the record id columns hold the same ids',
  });
}
