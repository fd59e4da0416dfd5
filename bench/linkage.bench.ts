// Patient linkage: accuracy on labelled data against a simple deterministic baseline (records linked
// when given name, family name and birth date are all exactly equal, as a spreadsheet VLOOKUP would),
// and speed end to end on a million generated patient records (read the CSV, link, write the clusters)
// against the baseline's own run over the same file in the same process.
//
// Accuracy sets: ../shared/data/linkage febrl3.csv (truth from rec_id) and fake_1000.csv (truth
// column `cluster`) when the shared folder is present; generated records (synthetic/linkageRecords.ts,
// GENERATED_PEOPLE people, seed SEED) always. Scored with transforms/linkage/evaluation.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkCommand, type LinkOptions } from '../cli/commands/link.ts';
import { linkEvalCommand } from '../cli/commands/linkEval.ts';
import type { Console } from '../cli/console.ts';
import { withDuckDb } from '../core/duckdb.ts';
import { quoteIdent, quoteLiteral } from '../core/sql.ts';
import { writeLinkageRecordsCsv } from '../synthetic/linkageRecords.ts';
import { sharedDir } from '../tests/sharedData.ts';
import type { LinkageScores } from '../transforms/linkage/evaluation.ts';
import { fmt, measure } from './measure.ts';

const GENERATED_PEOPLE = 20_000;
/** About 1.73 records per person: 577,000 people make just over a million records. */
const SPEED_PEOPLE = 577_000;
const SEED = 11;

const silent: Console = { info() {}, warn() {}, progress() {}, done() {} };

const GENERATED_COLUMNS =
  'given_name=given_name,family_name=family_name,birth_date=birth_date,sex=sex,postcode=postcode,address=address,nhs_number=nhs_number,nhs_number_verification_status=nhs_number_verification_status,source=source,recorded_at=recorded_at';

interface AccuracyCase {
  name: string;
  input: string;
  id: string;
  columns: string;
  truthCluster: string;
  baseline: { given: string; family: string; birth: string };
  acceptTestNhsNumbers?: boolean;
}

/** The baseline's clusters file: one cluster per exact (given, family, birth date), lower-cased; a record missing any is alone. */
async function deterministicBaseline(c: AccuracyCase, out: string): Promise<void> {
  await withDuckDb(':memory:', {}, async (db) => {
    await db.run(`CREATE TABLE t AS SELECT * FROM read_csv(${quoteLiteral(c.input)}, header = true, all_varchar = true)`);
    for (const row of await db.all(`SELECT column_name FROM duckdb_columns() WHERE table_name = 't'`)) {
      const name = String(row.column_name);
      if (name.trim() !== name) await db.run(`ALTER TABLE t RENAME ${quoteIdent(name)} TO ${quoteIdent(name.trim())}`);
    }
    const key = [c.baseline.given, c.baseline.family, c.baseline.birth].map((col) => `nullif(lower(trim(${quoteIdent(col)})), '')`);
    await db.run(`COPY (
      SELECT trim(${quoteIdent(c.id)}) AS record_id,
             CASE WHEN ${key.map((k) => `${k} IS NOT NULL`).join(' AND ')} THEN concat_ws('|', ${key.join(', ')}) ELSE 'alone:' || trim(${quoteIdent(c.id)}) END AS person_id
      FROM t) TO ${quoteLiteral(out)} (HEADER)`);
  });
}

async function scoreFile(c: AccuracyCase, clusters: string): Promise<LinkageScores> {
  return linkEvalCommand({ clusters, truth: c.input, truthId: c.id, truthCluster: c.truthCluster }, silent);
}

async function accuracy(dir: string): Promise<void> {
  const generated = join(dir, 'generated.csv');
  await writeLinkageRecordsCsv(generated, { people: GENERATED_PEOPLE, seed: SEED });
  const cases: AccuracyCase[] = [];
  const shared = sharedDir();
  if (shared === null) console.log('(shared data folder absent: FEBRL and fake_1000 skipped)');
  else {
    cases.push(
      {
        name: 'febrl3 (5,000 records)',
        input: join(shared, 'data/linkage/febrl3.csv'),
        id: 'rec_id',
        columns: 'given_name=given_name,family_name=surname,birth_date=date_of_birth,postcode=postcode,address=street_number+address_1+address_2+suburb',
        truthCluster: 'rec-(\\d+)',
        baseline: { given: 'given_name', family: 'surname', birth: 'date_of_birth' },
      },
      {
        name: 'fake_1000 (1,000 records)',
        input: join(shared, 'data/linkage/fake_1000.csv'),
        id: 'unique_id',
        columns: 'given_name=first_name,family_name=surname,birth_date=dob,address=city,email=email',
        truthCluster: 'cluster',
        baseline: { given: 'first_name', family: 'surname', birth: 'dob' },
      },
    );
  }
  cases.push({
    name: `generated (${fmt(GENERATED_PEOPLE, 0)} people)`,
    input: generated,
    id: 'record_id',
    columns: GENERATED_COLUMNS,
    truthCluster: 'person_id',
    baseline: { given: 'given_name', family: 'family_name', birth: 'birth_date' },
    acceptTestNhsNumbers: true,
  });
  console.log('set                         carelake P / R / F1 (B-cubed F1)     baseline F1   F1 gain');
  for (const c of cases) {
    const clusters = join(dir, 'clusters.csv');
    const baseline = join(dir, 'baseline.csv');
    await linkCommand({ input: c.input, id: c.id, columns: c.columns, out: clusters, ...(c.acceptTestNhsNumbers ? { acceptTestNhsNumbers: true } : {}) }, silent);
    await deterministicBaseline(c, baseline);
    const ours = await scoreFile(c, clusters);
    const base = await scoreFile(c, baseline);
    const p = ours.pairwise;
    console.log(
      `${c.name.padEnd(28)}${fmt(p.precision, 4)} / ${fmt(p.recall, 4)} / ${fmt(p.f1, 4)} (${fmt(ours.bcubed.f1, 4)})   ${fmt(base.pairwise.f1, 4)}        +${fmt(p.f1 - base.pairwise.f1, 4)}`,
    );
  }
}

async function speed(dir: string): Promise<void> {
  const input = join(dir, 'million.csv');
  const written = await writeLinkageRecordsCsv(input, { people: SPEED_PEOPLE, seed: SEED });
  const c: AccuracyCase = {
    name: 'million',
    input,
    id: 'record_id',
    columns: GENERATED_COLUMNS,
    truthCluster: 'person_id',
    baseline: { given: 'given_name', family: 'family_name', birth: 'birth_date' },
  };
  const options: LinkOptions = { input, id: 'record_id', columns: GENERATED_COLUMNS, out: join(dir, 'million-clusters.csv'), acceptTestNhsNumbers: true };
  const baseline = await measure(() => deterministicBaseline(c, join(dir, 'million-baseline.csv')));
  const linked = await measure(() => linkCommand(options, silent));
  const report = linked.result.report;
  const scores = await scoreFile(c, options.out);
  console.log(`${fmt(written.records, 0)} records (${fmt(written.people, 0)} people), ${fmt(report.candidatePairs, 0)} pairs compared`);
  const compare = report.stages.find((s) => s.stage === 'compare')?.seconds ?? NaN;
  console.log(`carelake link:        ${fmt(linked.seconds)} s end to end, peak RSS ${fmt(linked.peakRssMb, 0)} MB, F1 ${fmt(scores.pairwise.f1, 4)}`);
  console.log(`  ${fmt(report.candidatePairs / compare, 0)} comparisons/s in the compare stage, ${fmt(written.records / linked.seconds, 0)} records/s end to end`);
  console.log(`deterministic baseline: ${fmt(baseline.seconds)} s, peak RSS ${fmt(baseline.peakRssMb, 0)} MB (ratio ${fmt(linked.seconds / baseline.seconds)}×)`);
  for (const stage of report.stages) console.log(`  ${stage.stage.padEnd(28)}${fmt(stage.seconds, 2)} s`);
  for (const rule of report.pairsByRule) {
    console.log(`  rule ${rule.rule.padEnd(40)}${rule.skippedPairs === undefined ? `${fmt(rule.pairs, 0)} pairs` : `skipped (${fmt(rule.skippedPairs, 0)} pairs over budget)`}`);
  }
}

export async function benchLinkage(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-linkage-bench-'));
  try {
    await accuracy(dir);
    await speed(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
