// linkRecords end to end on a real in-memory DuckDB, over small hand-made record sets: clusters and
// the rule behind each link, the run report, cannot-links between verified NHS numbers, A40 merges,
// person ids kept across runs, per-field explanations, the clerical-review queue, saved models, and
// the errors for bad record ids. Every record here is invented; NHS numbers are in the 999 test range.

import { describe, expect, it } from 'vitest';
import { withDuckDb, type DuckDb } from '../../../core/duckdb.ts';
import { explainRecordPair, linkageTables, linkRecords, type LinkageRunReport } from '../../../transforms/linkage/linkRecords.ts';
import { parseLinkageModel, type LinkageModel } from '../../../transforms/linkage/linkageModel.ts';
import {
  FIXTURE_SETTINGS,
  fixtureOptions,
  loadRecords,
  moderateModel,
  personOf,
  readXref,
  rec,
  testNhsNumber,
  type FixtureRecord,
  type XrefRow,
} from './linkageFixtures.ts';

const N = testNhsNumber;

/**
 * The base set: Ann Smith three times (two PAS/GP copies sharing a verified NHS number and birth date,
 * and a lab copy with a surname typo and no number), Robert Okonkwo twice (a first-name typo, no
 * numbers), Ann's mother Mary at the same address, twins Lucy and Raj Patel, and ten other people.
 */
const BASE: readonly FixtureRecord[] = [
  rec({ record_id: 'r01', given_name: 'Ann', family_name: 'Smith', birth_date: '1980-03-14', sex: 'F', postcode: 'LS1 4AB', nhs_number: N(1), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r02', given_name: 'Anne', family_name: 'SMITH', birth_date: '14/03/1980', sex: 'female', postcode: 'ls14ab', nhs_number: N(1), nhs_status: '01', source: 'pas' }),
  rec({ record_id: 'r03', given_name: 'Ann', family_name: 'Smyth', birth_date: '1980-03-14', sex: 'F', postcode: 'LS1 4AB', source: 'lab' }),
  rec({ record_id: 'r04', given_name: 'Robert', family_name: 'Okonkwo', birth_date: '1975-07-02', sex: 'M', postcode: 'M1 2CD', source: 'gp' }),
  rec({ record_id: 'r05', given_name: 'Robret', family_name: 'Okonkwo', birth_date: '1975-07-02', sex: 'M', postcode: 'M1 2CD', source: 'pas' }),
  rec({ record_id: 'r06', given_name: 'Mary', family_name: 'Smith', birth_date: '1952-09-09', sex: 'F', postcode: 'LS1 4AB', nhs_number: N(2), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r07', given_name: 'Lucy', family_name: 'Patel', birth_date: '2001-05-20', sex: 'F', postcode: 'B1 1AA', nhs_number: N(3), nhs_status: '02', source: 'gp' }),
  rec({ record_id: 'r08', given_name: 'Raj', family_name: 'Patel', birth_date: '2001-05-20', sex: 'M', postcode: 'B1 1AA', source: 'gp' }),
  rec({ record_id: 'r09', given_name: 'Carol', family_name: 'Whitfield', birth_date: '1990-11-30', sex: 'F', postcode: 'NE1 7RU', nhs_number: N(4), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r10', given_name: 'David', family_name: 'Brown', birth_date: '1962-01-05', sex: 'M', postcode: 'BS8 1TH', nhs_number: N(5), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r11', given_name: 'Eilidh', family_name: 'MacLeod', birth_date: '1948-12-01', sex: 'F', postcode: 'CA1 1QS', source: 'pas' }),
  rec({ record_id: 'r12', given_name: 'Farhan', family_name: 'Hussain', birth_date: '1999-04-18', sex: 'M', postcode: 'BD7 1DP', nhs_number: N(6), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r13', given_name: 'Grace', family_name: 'Adeyemi', birth_date: '1987-08-08', sex: 'F', postcode: 'SE15 5JT', source: 'lab' }),
  rec({ record_id: 'r14', given_name: 'Henry', family_name: 'Thompson', birth_date: '1933-02-27', sex: 'M', postcode: 'EX4 3PQ', nhs_number: N(7), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r15', given_name: 'Isla', family_name: 'Campbell', birth_date: '2015-06-11', sex: 'F', postcode: 'CF10 3AT', source: 'pas' }),
  rec({ record_id: 'r16', given_name: 'Jack', family_name: 'Wilson', birth_date: '1968-10-23', sex: 'M', postcode: 'NR2 4SX', nhs_number: N(8), nhs_status: '01', source: 'gp' }),
  rec({ record_id: 'r17', given_name: 'Kate', family_name: 'Evans', birth_date: '1995-01-31', sex: 'F', postcode: 'SA1 1DP', source: 'gp' }),
  rec({ record_id: 'r18', given_name: 'Liam', family_name: "O'Brien", birth_date: '1979-05-05', sex: 'M', postcode: 'L8 0TH', source: 'lab' }),
];

const BASE_IDS: readonly string[] = BASE.map((r) => r.record_id!);

const SINGLETONS = ['r06', 'r07', 'r08', 'r09', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'r16', 'r17', 'r18'];

const byId = (id: string): FixtureRecord => {
  const found = BASE.find((r) => r.record_id === id);
  if (found === undefined) throw new Error(`no base record ${id}`);
  return found;
};

/** Loads `records` as table `input` in a fresh in-memory database and hands it over. */
async function withRecords<T>(records: readonly FixtureRecord[], work: (db: DuckDb) => Promise<T>): Promise<T> {
  return withDuckDb(':memory:', {}, async (db) => {
    await loadRecords(db, 'input', records);
    return work(db);
  });
}

/** The pair-table row of two records, in either order; undefined when the run did not keep the pair. */
async function pairRow(db: DuckDb, pairs: string, a: string, b: string): Promise<{ link_rule: string; match_weight: number; match_probability: number } | undefined> {
  const rows = await db.all(
    `SELECT link_rule, match_weight, match_probability FROM ${pairs} WHERE (record_id_l = ? AND record_id_r = ?) OR (record_id_l = ? AND record_id_r = ?)`,
    [a, b, b, a],
  );
  const row = rows[0];
  return row === undefined ? undefined : { link_rule: String(row.link_rule), match_weight: Number(row.match_weight), match_probability: Number(row.match_probability) };
}

/** record id → person id. */
function personIds(xref: ReadonlyMap<string, XrefRow>): Map<string, string> {
  return new Map([...xref].map(([id, row]) => [id, row.person_id]));
}

describe('linkRecords: a basic run', () => {
  it('links obvious duplicates, keeps different people apart and names the rule behind each link', async () => {
    await withRecords(BASE, async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      const xref = await readXref(db, report.tables.xref);

      const counts = await db.all(`SELECT CAST(count(*) AS INTEGER) AS n, CAST(count(DISTINCT record_id) AS INTEGER) AS ids FROM ${report.tables.xref}`);
      expect(counts[0], 'every input record exactly once').toEqual({ n: 18, ids: 18 });
      expect([...xref.keys()].sort()).toEqual([...BASE_IDS].sort());

      const together = [
        { description: 'two copies with the same verified NHS number and birth date', ids: ['r01', 'r02'] },
        { description: 'a lab copy with a surname typo and no NHS number joins them', ids: ['r01', 'r03'] },
        { description: 'a first-name typo, no NHS numbers', ids: ['r04', 'r05'] },
      ];
      for (const c of together) expect(personOf(xref, c.ids[0]!), c.description).toBe(personOf(xref, c.ids[1]!));

      const apart = [
        { description: 'mother and daughter at one address', ids: ['r01', 'r06'] },
        { description: 'twins: same birth date, surname and postcode', ids: ['r07', 'r08'] },
        { description: 'Ann and Robert', ids: ['r01', 'r04'] },
      ];
      for (const c of apart) expect(personOf(xref, c.ids[0]!), c.description).not.toBe(personOf(xref, c.ids[1]!));
      expect(new Set(SINGLETONS.map((id) => personOf(xref, id))).size, 'each of the other people is their own person').toBe(SINGLETONS.length);
      expect(new Set([...xref.values()].map((r) => r.person_id)).size).toBe(15);

      const rules = [
        { description: 'a verified NHS number and birth date shared', id: 'r01', rule: 'deterministic' },
        { description: 'its partner', id: 'r02', rule: 'deterministic' },
        { description: 'linked only by its demographics', id: 'r03', rule: 'probabilistic' },
        { description: 'a probabilistic pair', id: 'r04', rule: 'probabilistic' },
        { description: 'its partner', id: 'r05', rule: 'probabilistic' },
        ...SINGLETONS.map((id) => ({ description: `singleton ${id}`, id, rule: 'unlinked' })),
      ];
      for (const c of rules) expect(xref.get(c.id)?.rule, c.description).toBe(c.rule);
      for (const id of SINGLETONS) expect(xref.get(id)?.match_probability, `singleton ${id} has no match probability`).toBeNull();
      for (const id of ['r03', 'r04', 'r05']) expect(xref.get(id)?.match_probability, id).toBeGreaterThanOrEqual(FIXTURE_SETTINGS.threshold);
      expect(xref.get('r01')?.match_probability).toBe(1);

      expect((await pairRow(db, report.tables.pairs, 'r01', 'r02'))?.link_rule).toBe('deterministic');
      expect((await pairRow(db, report.tables.pairs, 'r04', 'r05'))?.link_rule).toBe('probabilistic');
    });
  });

  it('reports records, candidate pairs by blocking rule and the time of every stage', async () => {
    await withRecords(BASE, async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      expect(report.records).toBe(18);
      expect(report.candidatePairs).toBe(report.pairsByRule.reduce((sum, r) => sum + r.pairs, 0));
      expect(report.candidatePairs).toBeGreaterThan(0);
      // The pair table keeps only the pairs worth keeping (linked, for review, deterministic, cannot-link).
      expect(Number(await db.scalar(`SELECT count(*) FROM ${report.tables.pairs}`))).toBeLessThanOrEqual(report.candidatePairs);
      expect(report.deterministicPairs).toBe(1);
      expect(report.people).toBe(15);
      expect(report.newPeople).toBe(15);
      expect(report.retiredPeople).toBe(0);
      expect(report.tables).toEqual(linkageTables('main', 'lk_'));
      const stages = report.stages.map((s) => s.stage);
      expect(stages).toEqual(
        expect.arrayContaining(['standardise', 'block', 'compare', 'estimate u (random pairs)', 'estimate m and λ (EM)', 'score', 'cluster', 'assign person ids', 'review queue']),
      );
      for (const s of report.stages) expect(s.seconds, s.stage).toBeGreaterThanOrEqual(0);
      expect(report.unreadable).toEqual([]);
    });
  });

  it('counts values it could not use by role, naming the first record, and still links those records', async () => {
    const damaged = [
      ...BASE,
      rec({ record_id: 'r19', given_name: 'Ann', family_name: 'Smith', birth_date: 'unknown', sex: 'F', postcode: 'LS1 4AB', nhs_number: '1234567890', nhs_status: '01', source: 'pas' }),
      rec({ record_id: 'r20', given_name: 'Zed', family_name: 'Quill', birth_date: '31/02/1980', sex: 'X', postcode: 'YO1 7HH', source: 'pas' }),
    ];
    await withRecords(damaged, async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      expect(report.unreadable).toEqual([
        { role: 'birth_date', records: 2, firstRecordId: 'r19' },
        { role: 'nhs_number', records: 1, firstRecordId: 'r19' },
        { role: 'sex', records: 1, firstRecordId: 'r20' },
      ]);
      const xref = await readXref(db, report.tables.xref);
      expect(xref.size).toBe(damaged.length);
      expect(personOf(xref, 'r19')).toBe(personOf(xref, 'r01'));
    });
  });
});

describe('linkRecords: cannot-link between verified NHS numbers', () => {
  // Oliver Grant three times: A and B identical but for two different verified NHS numbers, C with no
  // number. C links both strongly; only the NHS numbers say A and B are two people.
  const grant = (id: string, nhs: string | null, status: string | null): FixtureRecord =>
    rec({ record_id: id, given_name: 'Oliver', family_name: 'Grant', birth_date: '1970-02-02', sex: 'M', postcode: 'PO1 2AB', nhs_number: nhs, nhs_status: status, source: 'pas' });

  /** Person ids holding more than one distinct verified NHS number. */
  const conflictingPeople = (db: DuckDb, report: LinkageRunReport) =>
    db.all(`SELECT x.person_id FROM ${report.tables.xref} x JOIN ${report.tables.records} r USING (record_id)
WHERE r.nhs_number_verified GROUP BY x.person_id HAVING count(DISTINCT r.nhs_number) > 1`);

  const cases = [
    {
      description: 'two verified numbers (status 01) never share a person, whatever links the records',
      statusB: '01',
      split: true,
    },
    {
      description: 'a number that is not verified (status 02) is no bar: all three are one person',
      statusB: '02',
      split: false,
    },
  ];
  for (const c of cases) {
    it(c.description, async () => {
      const records = [...BASE, grant('r21', N(10), '01'), grant('r22', N(11), c.statusB), grant('r23', null, null)];
      await withRecords(records, async (db) => {
        const report = await linkRecords(db, fixtureOptions('input'));
        const xref = await readXref(db, report.tables.xref);
        expect(await conflictingPeople(db, report)).toEqual([]);
        if (c.split) {
          expect(personOf(xref, 'r21')).not.toBe(personOf(xref, 'r22'));
          expect(report.cannotLinkPairs).toBe(1);
          expect(report.refusedLinks).toBeGreaterThan(0);
          expect((await pairRow(db, report.tables.pairs, 'r21', 'r22'))?.link_rule).toBe('cannot_link');
          // C goes with one of them, not both.
          expect([personOf(xref, 'r21'), personOf(xref, 'r22')]).toContain(personOf(xref, 'r23'));
        } else {
          expect(new Set(['r21', 'r22', 'r23'].map((id) => personOf(xref, id))).size).toBe(1);
          expect(report.cannotLinkPairs).toBe(0);
          expect(report.refusedLinks).toBe(0);
        }
      });
    });
  }
});

describe('linkRecords: A40 merges as forced links', () => {
  it('joins a record to the one it names whatever their demographics; a name outside the input is counted, not an error', async () => {
    const records = [
      ...BASE,
      // Nothing in common with r10 (David Brown) but the merge message naming it.
      rec({ record_id: 'r24', given_name: 'Zara', family_name: 'Quinn', birth_date: '2012-12-12', sex: 'F', postcode: 'TR1 2XY', linked_record_id: 'r10', source: 'pas' }),
      rec({ record_id: 'r25', given_name: 'Yusuf', family_name: 'Ali', birth_date: '1944-04-04', sex: 'M', postcode: 'HU1 1AA', linked_record_id: 'x-not-loaded', source: 'pas' }),
    ];
    await withRecords(records, async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      const xref = await readXref(db, report.tables.xref);
      const cases = [
        { description: 'the merged record', id: 'r24', person: personOf(xref, 'r10'), rule: 'merge' },
        { description: 'the record it names', id: 'r10', person: personOf(xref, 'r24'), rule: 'merge' },
      ];
      for (const c of cases) {
        expect(personOf(xref, c.id), c.description).toBe(c.person);
        expect(xref.get(c.id)?.rule, c.description).toBe(c.rule);
      }
      expect(report.forcedLinks).toBe(1);
      expect(report.forcedLinksUnresolved).toBe(1);
      expect(xref.get('r25')?.rule, 'a merge naming a record not in the input links nothing').toBe('unlinked');
      expect(new Set([...xref.values()].filter((r) => r.person_id === personOf(xref, 'r10')).map((r) => r.record_id))).toEqual(new Set(['r10', 'r24']));
    });
  });
});

describe('linkRecords: a long chain of links', () => {
  it('settles a chain of 150 A40 merges, visited in scrambled order, into one person', async () => {
    // Record c<k> names the record before it on the path; the path visits ids in the order k·37 mod 150,
    // so neighbours on the chain are far apart in id order (the worst case for label propagation).
    const length = 150;
    const id = (i: number) => `c${String((i * 37) % length).padStart(3, '0')}`;
    const chain = Array.from({ length }, (_, i) => rec({ record_id: id(i), linked_record_id: i === 0 ? null : id(i - 1), source: 'pas' }));
    await withRecords([...BASE, ...chain], async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      const xref = await readXref(db, report.tables.xref);
      expect(report.forcedLinks).toBe(length - 1);
      expect(new Set(chain.map((r) => personOf(xref, r.record_id!))).size).toBe(1);
      expect(personOf(xref, 'c000')).not.toBe(personOf(xref, 'r01'));
    });
  });
});

describe('linkRecords: stable person ids across runs', () => {
  const T0 = new Date('2024-01-01T00:00:00Z');
  const T1 = new Date('2024-06-01T00:00:00Z');
  const T2 = new Date('2025-01-01T00:00:00Z');

  /** Copies of people already seen, two new people, and a record joining Kate (by an A40 merge) and Jack (by its demographics). */
  const ADDED: readonly FixtureRecord[] = [
    // Sorts before r01, so a fresh run would derive Ann's id from it.
    rec({ ...byId('r01'), record_id: 'r00', source: 'lab', nhs_number: null, nhs_status: null }),
    rec({ record_id: 'r30', given_name: 'Mohammed', family_name: 'Rahman', birth_date: '2003-03-03', sex: 'M', postcode: 'E1 6AN', source: 'gp' }),
    rec({ record_id: 'r31', given_name: 'Niamh', family_name: 'Kelly', birth_date: '1958-07-19', sex: 'F', postcode: 'BT1 5GS', source: 'pas' }),
    rec({ ...byId('r16'), record_id: 'r32', nhs_number: null, nhs_status: null, linked_record_id: 'r17', source: 'pas' }),
  ];

  it('keeps earlier ids, issues new ones, and gives a merged person the older id', async () => {
    await withDuckDb(':memory:', {}, async (db) => {
      // Run 1 in two steps, so that Kate (r17) is issued her id before Jack (r16).
      await loadRecords(db, 'without_jack', BASE.filter((r) => r.record_id !== 'r16'));
      const stepA = await linkRecords(db, fixtureOptions('without_jack', { prefix: 'a_', now: T0 }));
      await loadRecords(db, 'base', BASE);
      const stepB = await linkRecords(db, fixtureOptions('base', { prefix: 'b_', now: T1, previous: { xref: stepA.tables.xref, registry: stepA.tables.registry } }));
      expect(stepB.newPeople).toBe(1);
      const before = personIds(await readXref(db, stepB.tables.xref));
      const kate = before.get('r17')!;
      const jack = before.get('r16')!;
      const created = new Map((await db.all(`SELECT person_id, created_at FROM ${stepB.tables.registry}`)).map((r) => [String(r.person_id), String(r.created_at)]));
      // The premise: Kate's id is older but sorts after Jack's, so only its age can make it survive.
      expect(created.get(kate)! < created.get(jack)!).toBe(true);
      expect(jack < kate).toBe(true);

      await loadRecords(db, 'base_and_more', [...BASE, ...ADDED]);
      const run2 = await linkRecords(db, fixtureOptions('base_and_more', { prefix: 'c_', now: T2, previous: { xref: stepB.tables.xref, registry: stepB.tables.registry } }));
      const after = personIds(await readXref(db, run2.tables.xref));

      const cases = [
        { description: 'Ann keeps her id though a record sorting before hers joined', id: 'r00', person: before.get('r01') },
        { description: 'Robert keeps his id', id: 'r04', person: before.get('r04') },
        { description: 'a singleton keeps its id', id: 'r09', person: before.get('r09') },
        { description: 'Jack and Kate merged: the older id (Kate’s) survives', id: 'r16', person: kate },
        { description: 'the bridging record', id: 'r32', person: kate },
        { description: 'Kate', id: 'r17', person: kate },
      ];
      for (const c of cases) expect(after.get(c.id), c.description).toBe(c.person);
      for (const id of BASE_IDS.filter((id) => id !== 'r16')) expect(after.get(id), id).toBe(before.get(id));

      const earlier = new Set(before.values());
      for (const id of ['r30', 'r31']) {
        expect(earlier.has(after.get(id)!), `${id} is a new person with a new id`).toBe(false);
      }
      expect(after.get('r30')).not.toBe(after.get('r31'));
      expect(run2.newPeople).toBe(2);
      expect(run2.retiredPeople).toBe(1);
      expect(await db.all(`SELECT retired_person_id, person_id, CAST(retired_at AS VARCHAR) AS retired_at FROM ${run2.tables.retired}`)).toEqual([
        { retired_person_id: jack, person_id: kate, retired_at: '2025-01-01 00:00:00' },
      ]);
      const registry = await db.all(`SELECT person_id, CAST(created_at AS VARCHAR) AS created_at FROM ${run2.tables.registry}`);
      expect(registry, 'every id issued so far, the retired one included').toHaveLength(earlier.size + 2);
      expect(registry.map((r) => r.person_id)).toContain(jack);
      expect(registry.filter((r) => r.created_at === '2025-01-01 00:00:00').map((r) => r.person_id).sort()).toEqual([after.get('r30'), after.get('r31')].sort());

      // Run 3: the same input again, with run 2 as the previous state (its retirements carried over).
      const T3 = new Date('2025-02-01T00:00:00Z');
      const run3 = await linkRecords(
        db,
        fixtureOptions('base_and_more', { prefix: 'd_', now: T3, previous: { xref: run2.tables.xref, registry: run2.tables.registry, retired: run2.tables.retired } }),
      );
      expect(personIds(await readXref(db, run3.tables.xref))).toEqual(after);
      expect(run3.newPeople).toBe(0);
      expect(run3.retiredPeople, 'nothing retired in this run').toBe(0);
      expect(await db.all(`SELECT retired_person_id, person_id, CAST(retired_at AS VARCHAR) AS retired_at FROM ${run3.tables.retired}`), 'the earlier retirement is kept').toEqual([
        { retired_person_id: jack, person_id: kate, retired_at: '2025-01-01 00:00:00' },
      ]);
    });
  });

  it('gives identical ids on identical input, with or without the previous state', async () => {
    await withRecords(BASE, async (db) => {
      const fresh = await linkRecords(db, fixtureOptions('input', { prefix: 'fresh_' }));
      const ids = personIds(await readXref(db, fresh.tables.xref));
      const cases = [
        { description: 'a re-run with the previous state', options: fixtureOptions('input', { prefix: 'again_', now: T2, previous: { xref: fresh.tables.xref, registry: fresh.tables.registry } }) },
        { description: 'a fresh run with no previous state (ids derive from the smallest record id)', options: fixtureOptions('input', { prefix: 'rebuild_', now: T2 }) },
      ];
      for (const c of cases) {
        const report = await linkRecords(db, c.options);
        expect(personIds(await readXref(db, report.tables.xref)), c.description).toEqual(ids);
      }
    });
  });
});

describe('explainRecordPair', () => {
  it('gives per-field levels and weights that add up to the match weight, for any two records', async () => {
    await withRecords(BASE, async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      // Only linked (and review-band) pairs stay in the pair table, so only the linked pair's weight can
      // be checked against the run's. No blocking rule joins r01 and r06: they share no birth date,
      // birth year, first name or initial.
      const cases = [
        { description: 'a linked pair', a: 'r04', b: 'r05', inPairTable: true, linked: true },
        { description: 'a clearly rejected pair (twins)', a: 'r07', b: 'r08', inPairTable: false, linked: false },
        { description: 'a pair blocking never produced (mother and daughter)', a: 'r01', b: 'r06', inPairTable: false, linked: false },
      ];
      for (const c of cases) {
        const e = await explainRecordPair(db, report.tables.records, report.model, c.a, c.b);
        expect(e.fields.map((f) => f.comparison), c.description).toEqual(report.model.comparisons.map((m) => m.name));
        for (const f of e.fields) expect(f.level, `${c.description}: ${f.comparison}`).not.toBe('');
        expect(e.prior_weight + e.fields.reduce((sum, f) => sum + f.weight, 0), c.description).toBeCloseTo(e.match_weight, 9);
        const pair = await pairRow(db, report.tables.pairs, c.a, c.b);
        if (c.inPairTable) {
          expect(pair, c.description).toBeDefined();
          expect(e.match_weight, `${c.description}: the weight the run scored`).toBeCloseTo(pair!.match_weight, 6);
        } else {
          expect(pair, c.description).toBeUndefined();
        }
        if (c.linked) expect(e.match_probability, c.description).toBeGreaterThanOrEqual(FIXTURE_SETTINGS.threshold);
        else expect(e.match_probability, c.description).toBeLessThan(FIXTURE_SETTINGS.reviewLower);
      }
      const linked = await explainRecordPair(db, report.tables.records, report.model, 'r04', 'r05');
      expect(linked.fields.find((f) => f.comparison === 'birth_date')?.level).toBe('birth_date exact');
      expect(linked.fields.find((f) => f.comparison === 'nhs_number')).toMatchObject({ level: 'missing', weight: 0 });
    });
  });

  it('throws for a record id that is not in the records', async () => {
    await withRecords(BASE, async (db) => {
      const report = await linkRecords(db, fixtureOptions('input'));
      await expect(explainRecordPair(db, report.tables.records, report.model, 'r01', 'r99')).rejects.toThrow(/r99/);
    });
  });
});

describe('linkRecords: the clerical-review queue', () => {
  // Scored with a moderate hand-written model (see moderateModel): Sam Green and his son share name
  // and postcode sector but not birth date; Tom Baker's GP record (r42) and "Thomas" Baker at another
  // postcode (r44) are middling too, but r44 shares a verified NHS number and birth date with r43,
  // which r42 matches strongly — so r42 and r44 are one person all the same.
  const REVIEW: readonly FixtureRecord[] = [
    ...BASE,
    rec({ record_id: 'r40', given_name: 'Sam', family_name: 'Green', birth_date: '1971-01-01', sex: 'M', postcode: 'SW1A 1AA', source: 'gp' }),
    rec({ record_id: 'r41', given_name: 'Sam', family_name: 'Green', birth_date: '1998-06-19', sex: 'M', postcode: 'SW1A 1ZZ', source: 'pas' }),
    rec({ record_id: 'r42', given_name: 'Tom', family_name: 'Baker', birth_date: '1950-05-05', sex: 'M', postcode: 'EX1 1AA', source: 'gp' }),
    rec({ record_id: 'r43', given_name: 'Tom', family_name: 'Baker', birth_date: '1950-05-05', sex: 'M', postcode: 'EX1 1AA', nhs_number: N(20), nhs_status: '01', source: 'pas' }),
    rec({ record_id: 'r44', given_name: 'Thomas', family_name: 'Baker', birth_date: '1950-05-05', sex: 'M', postcode: 'TQ9 5ZZ', nhs_number: N(20), nhs_status: '01', source: 'lab' }),
  ];

  it('queues the pairs between the review bound and the threshold, saying whether they ended in one person', async () => {
    await withRecords(REVIEW, async (db) => {
      const model = moderateModel();
      // A first run only to standardise the records, so the pairs' probabilities can be read first.
      const probe = await linkRecords(db, fixtureOptions('input', { model, prefix: 'probe_' }));
      const p = async (a: string, b: string) => (await explainRecordPair(db, probe.tables.records, model, a, b)).match_probability;
      const sam = await p('r40', 'r41');
      const tom = await p('r42', 'r44');
      const strong = await p('r42', 'r43');
      for (const [name, value] of [['Sam Green', sam], ['Tom and Thomas Baker', tom]] as const) {
        expect(value, `${name} is a middling pair`).toBeGreaterThan(0.05);
        expect(value, `${name} is a middling pair`).toBeLessThan(0.95);
      }
      const reviewLower = Math.min(sam, tom) / 2;
      const threshold = (1 + Math.max(sam, tom)) / 2;
      expect(strong, 'r42 and r43 link outright').toBeGreaterThanOrEqual(threshold);

      const report = await linkRecords(db, fixtureOptions('input', { model, settings: { ...FIXTURE_SETTINGS, reviewLower, threshold } }));
      const review = await db.all(`SELECT record_id_l, record_id_r, same_person, match_probability FROM ${report.tables.review} ORDER BY record_id_l, record_id_r`);
      const cases = [
        { description: 'father and son of one name: queued, two people', a: 'r40', b: 'r41', probability: sam, same: false },
        { description: 'middling, but one person through r43: queued, one person', a: 'r42', b: 'r44', probability: tom, same: true },
      ];
      for (const c of cases) {
        const row = review.find((r) => r.record_id_l === c.a && r.record_id_r === c.b);
        expect(row, c.description).toBeDefined();
        expect(row!.same_person, c.description).toBe(c.same);
        expect(Number(row!.match_probability), c.description).toBeCloseTo(c.probability, 9);
      }
      expect(report.reviewPairs).toBe(review.length);
      for (const r of review) {
        expect(Number(r.match_probability)).toBeGreaterThanOrEqual(reviewLower);
        expect(Number(r.match_probability)).toBeLessThan(threshold);
      }
    });
  });
});

describe('linkRecords: a saved model', () => {
  it('round-trips through JSON and scores a later run to the same clusters without training', async () => {
    await withRecords(BASE, async (db) => {
      const trained = await linkRecords(db, fixtureOptions('input', { prefix: 'train_' }));
      const saved: LinkageModel = parseLinkageModel(JSON.parse(JSON.stringify(trained.model)), 'saved-model.json');
      expect(saved).toEqual(trained.model);

      const reused = await linkRecords(db, fixtureOptions('input', { prefix: 'reuse_', model: saved, modelFile: 'saved-model.json' }));
      expect(reused.model).toEqual(saved);
      expect(reused.stages.map((s) => s.stage)).not.toContain('estimate u (random pairs)');
      expect(reused.stages.map((s) => s.stage)).not.toContain('estimate m and λ (EM)');
      expect(personIds(await readXref(db, reused.tables.xref))).toEqual(personIds(await readXref(db, trained.tables.xref)));
    });
  });

  const broken = (change: (model: LinkageModel) => LinkageModel) => change(moderateModel());
  const cases = [
    {
      description: 'a model with no comparison for a mapped role',
      model: broken((m) => ({ ...m, comparisons: m.comparisons.filter((c) => c.name !== 'postcode') })),
      error: /saved-model\.json has no parameters for postcode/,
    },
    {
      description: 'a model trained with other levels for a comparison',
      model: broken((m) => ({ ...m, comparisons: m.comparisons.map((c) => (c.name === 'sex' ? { ...c, levels: c.levels.map((l) => ({ ...l, label: `old ${l.label}` })) } : c)) })),
      error: /saved-model\.json was trained with other levels for sex/,
    },
  ];
  for (const c of cases) {
    it(`fails clearly for ${c.description}`, async () => {
      await withRecords(BASE, async (db) => {
        await expect(linkRecords(db, fixtureOptions('input', { model: c.model, modelFile: 'saved-model.json' }))).rejects.toThrow(c.error);
      });
    });
  }
});

describe('linkRecords: record ids', () => {
  // The id column is called `mrn` here, to show the messages name the caller's column.
  const cases = [
    {
      description: 'a duplicate id',
      records: [...BASE, rec({ ...byId('r05'), given_name: 'Bob' })],
      error: /^mrn is not unique: r05 appears more than once$/,
    },
    {
      description: 'a NULL id',
      records: [...BASE, rec({ ...byId('r05'), record_id: null })],
      error: /^1 record\(s\) have no mrn; every record needs an id$/,
    },
    {
      description: 'a blank id (counted as missing)',
      records: [...BASE, rec({ ...byId('r05'), record_id: '  ' }), rec({ ...byId('r06'), record_id: null })],
      error: /^2 record\(s\) have no mrn/,
    },
  ];
  for (const c of cases) {
    it(`fails clearly for ${c.description}`, async () => {
      await withRecords(c.records, async (db) => {
        await db.run(`CREATE TABLE by_mrn AS SELECT record_id AS mrn, * EXCLUDE (record_id) FROM input`);
        await expect(linkRecords(db, fixtureOptions('by_mrn', { idColumn: 'mrn' }))).rejects.toThrow(c.error);
      });
    });
  }
});
