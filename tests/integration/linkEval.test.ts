// `carelake link eval` against real CSV files in a temp folder, and once against the shared FEBRL3 set.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkEvalCommand, type LinkEvalOptions } from '../../cli/commands/linkEval.ts';
import type { Console } from '../../cli/console.ts';
import { CarelakeError } from '../../core/errors.ts';
import { describeWithShared } from '../sharedData.ts';

/** A Console that keeps what it was told. */
function recordingConsole(): Console & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (line) => lines.push(line), warn: (line) => lines.push(`warning: ${line}`), progress: () => {}, done: () => {} };
}

/** The rendered error a person would see, or a failure when the command succeeds. */
async function failure(opts: LinkEvalOptions): Promise<CarelakeError> {
  try {
    await linkEvalCommand(opts, recordingConsole());
  } catch (err) {
    expect(err).toBeInstanceOf(CarelakeError);
    return err as CarelakeError;
  }
  throw new Error('expected linkEvalCommand to fail');
}

let dir: string;
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-link-eval-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// The hand-computed example of the unit tests, written FEBRL-style (a space after each comma):
// truth A={1,2,3} B={4,5} C={6}; predicted x={1,2} y={3,4,5,6}.
const TRUTH_FEBRL = [
  'rec_id, given_name, surname',
  'rec-1-org, ann, smith',
  'rec-1-dup-0, anne, smith',
  'rec-1-dup-1, ann, smyth',
  'rec-2-org, bob, jones',
  'rec-2-dup-0, rob, jones',
  'rec-3-org, cat, brown',
  '',
].join('\n');
const CLUSTERS = [
  'record_id,person_id',
  'rec-1-org,x',
  'rec-1-dup-0,x',
  'rec-1-dup-1,y',
  'rec-2-org,y',
  'rec-2-dup-0,y',
  'rec-3-org,y',
  '',
].join('\n');

describe('linkEvalCommand', () => {
  const hand = { records: 6, truePairs: 4, predictedPairs: 7, truePositivePairs: 2, pairwise: [2 / 7, 1 / 2, 4 / 11], bcubed: [7 / 12, 7 / 9, 2 / 3] };

  const cases = [
    {
      description: 'a truth cluster read from the record id with a pattern',
      truth: () => file('truth-pattern.csv', TRUTH_FEBRL),
      clusters: () => file('clusters.csv', CLUSTERS),
      options: { truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` },
    },
    {
      description: 'a truth cluster column, with quoted values and spaces around them',
      truth: () => file('truth-column.csv', 'id , entity\n"rec-1-org", A\n rec-1-dup-0 ,A\nrec-1-dup-1,A\nrec-2-org,B\nrec-2-dup-0,B\nrec-3-org,"C"\n'),
      clusters: () => file('clusters.csv', CLUSTERS),
      options: { truthId: 'id', truthCluster: 'entity' },
    },
    {
      description: 'clusters file columns named on the command line, with a byte order mark and CRLF',
      truth: () => file('truth-pattern.csv', TRUTH_FEBRL),
      clusters: () =>
        file('clusters-named.csv', '\uFEFFcluster,unique_id\r\nx,rec-1-org\r\nx,rec-1-dup-0\r\ny,rec-1-dup-1\r\ny,rec-2-org\r\ny,rec-2-dup-0\r\ny,rec-3-org\r\n'),
      options: { truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)`, clustersId: 'unique_id', clustersCluster: 'cluster' },
    },
  ];

  it.each(cases)('$description', async ({ truth, clusters, options }) => {
    const out = recordingConsole();
    const scores = await linkEvalCommand({ clusters: clusters(), truth: truth(), ...options }, out);
    expect({ records: scores.records, truePairs: scores.truePairs, predictedPairs: scores.predictedPairs, truePositivePairs: scores.truePositivePairs }).toEqual({
      records: hand.records,
      truePairs: hand.truePairs,
      predictedPairs: hand.predictedPairs,
      truePositivePairs: hand.truePositivePairs,
    });
    expect([scores.pairwise.precision, scores.pairwise.recall, scores.pairwise.f1].map((x) => x.toFixed(12))).toEqual(hand.pairwise.map((x) => x.toFixed(12)));
    expect([scores.bcubed.precision, scores.bcubed.recall, scores.bcubed.f1].map((x) => x.toFixed(12))).toEqual(hand.bcubed.map((x) => x.toFixed(12)));
  });

  it('prints the counts and the measures to four decimals, in aligned columns', async () => {
    const out = recordingConsole();
    await linkEvalCommand({ clusters: file('clusters.csv', CLUSTERS), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }, out);
    const text = out.lines.join('\n');
    expect(text).toContain('records  true pairs  predicted pairs  true positive pairs');
    expect(text).toMatch(/^6\s+4\s+7\s+2$/m);
    expect(text).toMatch(/^measure\s+precision\s+recall\s+F1$/m);
    expect(text).toMatch(/^pairwise\s+0\.2857\s+0\.5000\s+0\.3636$/m);
    expect(text).toMatch(/^B-cubed\s+0\.5833\s+0\.7778\s+0\.6667$/m);
    const lines = text.split('\n');
    const column = (prefix: string, value: string) => lines.find((line) => line.startsWith(prefix))!.indexOf(value);
    expect(column('measure', 'precision')).toBe(column('pairwise', '0.2857'));
    expect(column('measure', 'precision')).toBe(column('B-cubed', '0.5833'));
  });

  const errors = [
    {
      description: 'a missing truth id column names the file and its columns',
      opts: () => ({ clusters: file('clusters.csv', CLUSTERS), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'record_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.missing-column',
      rendered: [/The truth file has no column 'record_id' \(--truth-id\); its columns are rec_id, given_name, surname/, /truth-pattern\.csv:1/],
    },
    {
      description: 'missing clusters file columns are all named',
      opts: () => ({ clusters: file('clusters-bad.csv', 'id,cluster\nrec-1-org,x\n'), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.missing-column',
      rendered: [/The clusters file has no columns 'record_id' \(--clusters-id\) and 'person_id' \(--clusters-cluster\); its columns are id, cluster/, /clusters-bad\.csv:1/],
    },
    {
      description: 'a header-only file is still checked for its columns',
      opts: () => ({ clusters: file('clusters-empty.csv', 'record_id,cluster\n'), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.missing-column',
      rendered: [/no column 'person_id'/],
    },
    {
      description: 'a truth id the pattern does not match names the file, line and value',
      opts: () => ({
        clusters: file('clusters.csv', CLUSTERS),
        truth: file('truth-unmatched.csv', TRUTH_FEBRL.replace('rec-2-dup-0,', 'person-2-dup-0,')),
        truthId: 'rec_id',
        truthCluster: String.raw`rec-(\d+)`,
      }),
      code: 'linkage.truth-id-unmatched',
      rendered: [/Truth id 'person-2-dup-0' does not match the --truth-cluster pattern 'rec-\(\\d\+\)'/, /truth-unmatched\.csv:6, field rec_id/, /is not a column of the truth file/],
    },
    {
      description: 'a misspelt truth cluster column reads as a pattern, and the message says so',
      opts: () => ({ clusters: file('clusters.csv', CLUSTERS), truth: file('truth-column.csv', 'id,entity\nrec-1-org,A\n'), truthId: 'id', truthCluster: 'entty' }),
      code: 'linkage.truth-id-unmatched',
      rendered: [/'entty' is not a column of the truth file \(its columns are id, entity\), so it was read as a pattern over id/],
    },
    {
      description: 'an invalid pattern names the truth file',
      opts: () => ({ clusters: file('clusters.csv', CLUSTERS), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+` }),
      code: 'linkage.invalid-pattern',
      rendered: [/is not a valid regular expression/, /truth-pattern\.csv/],
    },
    {
      description: 'records on one side only name both files and the first ids',
      opts: () => ({ clusters: file('clusters-short.csv', CLUSTERS.replace('rec-3-org,y\n', '')), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.record-mismatch',
      rendered: [/1 record\(s\) in the truth file \S*truth-pattern\.csv have no cluster in the clusters file \S*clusters-short\.csv: rec-3-org/],
    },
    {
      description: 'a duplicate record id names the id and the file',
      opts: () => ({ clusters: file('clusters-dup.csv', `${CLUSTERS}rec-3-org,z\n`), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.duplicate-record',
      rendered: [/Record id 'rec-3-org' appears more than once in the clusters file \S*clusters-dup\.csv/],
    },
    {
      description: 'an empty cluster value names the line and column',
      opts: () => ({ clusters: file('clusters-blank.csv', CLUSTERS.replace('rec-2-org,y', 'rec-2-org, ')), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.empty-value',
      rendered: [/The person_id column is empty \(\S*clusters-blank\.csv:5, field person_id\)/],
    },
    {
      description: 'a row with too many fields is a CSV error at its line',
      opts: () => ({ clusters: file('clusters-ragged.csv', CLUSTERS.replace('rec-2-org,y', 'rec-2-org,y,extra')), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.csv-invalid',
      rendered: [/clusters-ragged\.csv:5/],
    },
    {
      description: 'an empty file',
      opts: () => ({ clusters: file('clusters.csv', CLUSTERS), truth: file('truth-empty.csv', ''), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.empty-file',
      rendered: [/no header line \(\S*truth-empty\.csv\)/],
    },
    {
      description: 'a file that does not exist',
      opts: () => ({ clusters: join(dir, 'nowhere.csv'), truth: file('truth-pattern.csv', TRUTH_FEBRL), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'fs.enoent',
      rendered: [/Cannot read \S*nowhere\.csv: it does not exist/],
    },
    {
      description: 'a Parquet truth file',
      opts: () => ({ clusters: file('clusters.csv', CLUSTERS), truth: join(dir, 'truth.parquet'), truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }),
      code: 'linkage.not-csv',
      rendered: [/--truth must be a CSV file, not \.parquet/],
    },
  ];

  it.each(errors)('$description', async ({ opts, code, rendered }) => {
    const error = await failure(opts());
    expect(error.code).toBe(code);
    for (const pattern of rendered) expect(error.render()).toMatch(pattern);
  });
});

describeWithShared('linkEvalCommand on the shared FEBRL3 data set', (shared) => {
  it('scores every-record-its-own-cluster: no predicted pairs, every true pair missed', async () => {
    const truthPath = join(shared, 'data/linkage/febrl3.csv');
    // Independently of the command: the first field of each line is rec_id; records sharing the
    // number in rec-<n>-org / rec-<n>-dup-<k> are one person.
    const ids = readFileSync(truthPath, 'utf8')
      .split(/\r?\n/)
      .slice(1)
      .filter((line) => line.trim() !== '')
      .map((line) => line.slice(0, line.indexOf(',')).trim());
    const sizes = new Map<string, number>();
    for (const id of ids) {
      const person = id.split('-')[1]!;
      sizes.set(person, (sizes.get(person) ?? 0) + 1);
    }
    const truePairs = [...sizes.values()].reduce((sum, n) => sum + (n * (n - 1)) / 2, 0);
    expect(truePairs).toBeGreaterThan(0);

    const clusters = file('febrl3-singletons.csv', `record_id,person_id\n${ids.map((id, i) => `${id},p${i}`).join('\n')}\n`);
    const scores = await linkEvalCommand({ clusters, truth: truthPath, truthId: 'rec_id', truthCluster: String.raw`rec-(\d+)` }, recordingConsole());

    expect(scores.records).toBe(ids.length);
    expect(scores.predictedPairs).toBe(0);
    expect(scores.truePositivePairs).toBe(0);
    expect(scores.truePairs).toBe(truePairs);
    expect(scores.pairwise).toEqual({ precision: 1, recall: 0, f1: 0 });
    expect(scores.bcubed.precision).toBe(1);
    // B-cubed recall of singletons: each record finds only itself, 1/|its person|, averaged.
    const expectedRecall = [...sizes.values()].reduce((sum, n) => sum + n * (1 / n), 0) / ids.length;
    expect(scores.bcubed.recall).toBeCloseTo(expectedRecall, 12);
  });
});
