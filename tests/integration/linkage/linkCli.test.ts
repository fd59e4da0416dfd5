// `carelake link` (linkCommand) on CSV files in a temp folder: the clusters file it writes, a saved
// model reused, person ids kept from an earlier clusters file, clear errors for bad --columns and
// --explain, and per-field explanations. The input is the project's labelled synthetic records.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkCommand, type LinkOptions, type LinkResult } from '../../../cli/commands/link.ts';
import type { Console } from '../../../cli/console.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { parseLinkageModel } from '../../../transforms/linkage/linkageModel.ts';
import { linkageRecords, writeLinkageRecordsCsv, type LinkageRecord } from '../../../synthetic/linkageRecords.ts';
import { silentConsole } from './linkageFixtures.ts';

const PEOPLE = 150;
const SEED = 11;
const COLUMNS = [
  'given_name=given_name',
  'family_name=family_name',
  'birth_date=birth_date',
  'sex=sex',
  'postcode=postcode',
  'address=address',
  'nhs_number=nhs_number',
  'nhs_number_verification_status=nhs_number_verification_status',
  'source=source',
  'recorded_at=recorded_at',
].join(',');

let dir: string;
let input: string;
const records: LinkageRecord[] = [...linkageRecords({ people: PEOPLE, seed: SEED })];
const path = (name: string): string => join(dir, name);

function options(out: string, extra: Partial<LinkOptions> = {}): LinkOptions {
  return { input, id: 'record_id', columns: COLUMNS, out, acceptTestNhsNumbers: true, ...extra };
}

/** The clusters file as rows of its three columns (no field holds a comma). */
function readClusters(file: string): { header: string; rows: { record_id: string; person_id: string; match_probability: string }[] } {
  const [header, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  return {
    header: header!,
    rows: lines.map((line) => {
      const [record_id, person_id, match_probability] = line.split(',');
      return { record_id: record_id!, person_id: person_id!, match_probability: match_probability! };
    }),
  };
}

const personIdsOf = (file: string): Map<string, string> => new Map(readClusters(file).rows.map((r) => [r.record_id, r.person_id]));

/** The error linkCommand fails with, or a failed test when it succeeds. */
async function failure(opts: LinkOptions): Promise<Error> {
  try {
    await linkCommand(opts, silentConsole);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  throw new Error('expected linkCommand to fail');
}

let first: LinkResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-link-cli-'));
  input = path('records.csv');
  await writeLinkageRecordsCsv(input, { people: PEOPLE, seed: SEED });
  first = await linkCommand(options(path('clusters.csv'), { saveModel: path('model.json') }), silentConsole);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('carelake link', () => {
  it('writes record_id,person_id,match_probability, one row for every input record', () => {
    const { header, rows } = readClusters(path('clusters.csv'));
    expect(header).toBe('record_id,person_id,match_probability');
    expect(rows).toHaveLength(records.length);
    expect(rows.map((r) => r.record_id).sort()).toEqual(records.map((r) => r.recordId).sort());
    for (const row of rows) {
      expect(row.person_id, row.record_id).toMatch(/^P[0-9A-F]{12}$/);
      // Empty for a record linked to nothing, a probability otherwise.
      if (row.match_probability !== '') expect(Number(row.match_probability), row.record_id).toBeGreaterThanOrEqual(0.95);
    }
    expect(first.report.records).toBe(records.length);
    expect(new Set(rows.map((r) => r.person_id)).size).toBe(first.report.people);
  });

  it('--save-model writes a model that --model scores with, without training, to the same clusters', async () => {
    expect(existsSync(path('model.json'))).toBe(true);
    const saved = parseLinkageModel(JSON.parse(readFileSync(path('model.json'), 'utf8')), 'model.json');
    expect(saved).toEqual(first.report.model);

    const reused = await linkCommand(options(path('clusters-reused.csv'), { model: path('model.json') }), silentConsole);
    expect(reused.report.model).toEqual(saved);
    expect(reused.report.stages.map((s) => s.stage)).not.toContain('estimate m and λ (EM)');
    expect(readFileSync(path('clusters-reused.csv'), 'utf8')).toBe(readFileSync(path('clusters.csv'), 'utf8'));
  });

  it('--previous keeps the person ids of an earlier clusters file', async () => {
    // A copy of a traced GP record under an id that sorts before every other (a fresh run would derive
    // that person's id from it), and a new person.
    const traced = records.find((r) => r.source === 'gp' && r.nhsNumberVerificationStatus === '01')!;
    const lines = readFileSync(input, 'utf8').trimEnd().split('\n');
    const tracedLine = lines.find((line) => line.startsWith(`${traced.recordId},`))!;
    const copy = `aaa-000001${tracedLine.slice(traced.recordId.length)}`;
    const newcomer = 'zzz-000001,Xanthe,Quillfeather,1911-11-11,female,ZE1 0AA,"1 Nowhere Lane, Lerwick",,03,gp,2024-01-01,P9999999';
    const grown = path('records-grown.csv');
    writeFileSync(grown, `${[...lines, copy, newcomer].join('\n')}\n`);

    // Both runs score with the saved model: training (a million random pairs for u) is not what is tested here.
    const model = path('model.json');
    const before = personIdsOf(path('clusters.csv'));
    const kept = await linkCommand(options(path('clusters-kept.csv'), { input: grown, previous: path('clusters.csv'), model }), silentConsole);
    const after = personIdsOf(path('clusters-kept.csv'));
    expect(after.size).toBe(records.length + 2);
    for (const [recordId, personId] of before) expect(after.get(recordId), recordId).toBe(personId);
    expect(after.get('aaa-000001'), 'the copy joins its person, under the earlier id').toBe(before.get(traced.recordId));
    expect(new Set(before.values()).has(after.get('zzz-000001')!), 'a new person gets a new id').toBe(false);
    expect(kept.report.newPeople).toBe(1);

    // Without --previous the same input gives that person the id derived from the copy's record id.
    await linkCommand(options(path('clusters-fresh.csv'), { input: grown, model }), silentConsole);
    expect(personIdsOf(path('clusters-fresh.csv')).get(traced.recordId)).not.toBe(before.get(traced.recordId));
  });

  it('--explain a,b gives the per-field explanation of two records', async () => {
    // Two records of the first person with more than one.
    const person = records.find((r, i) => records.findIndex((x) => x.personId === r.personId) !== i)!.personId;
    const [a, b] = records.filter((r) => r.personId === person);
    const lines: string[] = [];
    const recording: Console = { info: (line) => lines.push(line), warn: (line) => lines.push(line), progress() {}, done() {} };
    const result = await linkCommand(options(path('clusters-explained.csv'), { model: path('model.json'), explain: [`${a!.recordId}, ${b!.recordId}`] }), recording);
    expect(result.explanations).toHaveLength(1);
    const { pair, explanation } = result.explanations[0]!;
    expect(pair).toEqual([a!.recordId, b!.recordId]);
    expect(explanation.fields.map((f) => f.comparison)).toEqual(['given_name', 'family_name', 'birth_date', 'sex', 'postcode', 'nhs_number', 'address']);
    expect(explanation.prior_weight + explanation.fields.reduce((sum, f) => sum + f.weight, 0)).toBeCloseTo(explanation.match_weight, 9);
    expect(lines.some((line) => line.includes(`${a!.recordId} ↔ ${b!.recordId}: match weight`))).toBe(true);
  });

  const failures = [
    {
      description: 'an unknown role in --columns',
      options: () => options(path('never.csv'), { columns: `${COLUMNS},middle_name=given_name` }),
      code: 'link.columns',
      message: /--columns: 'middle_name' is not a linkage role/,
    },
    {
      description: 'a role without a column in --columns',
      options: () => options(path('never.csv'), { columns: 'given_name=,family_name=family_name' }),
      code: 'link.columns',
      message: /role given_name needs a column/,
    },
    {
      description: '--columns naming a column the file does not have',
      options: () => options(path('never.csv'), { columns: 'given_name=forename,family_name=family_name,birth_date=birth_date' }),
      code: 'link.columns',
      message: /records\.csv has no column 'forename'/,
    },
    {
      description: '--id naming a column the file does not have',
      options: () => options(path('never.csv'), { id: 'mrn' }),
      code: 'link.columns',
      message: /records\.csv has no column 'mrn'/,
    },
    {
      description: '--explain with one record id',
      options: () => options(path('never.csv'), { model: path('model.json'), explain: ['gp-only'] }),
      code: 'link.explain',
      message: /--explain takes two record ids/,
    },
  ];
  for (const c of failures) {
    it(`fails clearly for ${c.description}`, async () => {
      const err = await failure(c.options());
      expect(err).toBeInstanceOf(CarelakeError);
      expect((err as CarelakeError).code).toBe(c.code);
      expect(err.message).toMatch(c.message);
    });
  }

  it('fails for --explain naming a record that is not in the input, naming the id', async () => {
    const err = await failure(options(path('never.csv'), { model: path('model.json'), explain: [`${records[0]!.recordId},nope-000001`] }));
    expect(err.message).toMatch(/nope-000001/);
  });
});
