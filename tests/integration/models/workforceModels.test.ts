// The workforce models end to end on handcrafted ESR GO files (tests/support/esrGoFiles.ts) landed by the real
// esr connector, one run per file as they would arrive: the current state after a change file, the
// reset a later full file makes, a VPD that never sent a full file, pseudonymised keys made in SQL by
// the registered `pseudonym()` function, no identifier reaching the curated tables, the monthly
// snapshot, and the data tests the property files declare.

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../../../core/config.ts';
import { DuckDb, withDuckDb, type Row } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { createLogger } from '../../../core/logger.ts';
import { quoteIdent, quoteLiteral } from '../../../core/sql.ts';
import { Ledger } from '../../../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../../../pipelines/runs/runSource.ts';
import { runProject } from '../../../transforms/models/runProject.ts';
import { Pseudonymiser } from '../../../transforms/pseudonymisation/pseudonymiser.ts';
import { registerPseudonymFunction } from '../../../transforms/pseudonymisation/pseudonymSqlFunction.ts';
import { identifierLikeColumn } from '../../../warehouse/publish/identifierColumns.ts';
import { projectRoot } from '../../sharedData.ts';
import { copyBundledProject } from '../../support/bundledProject.ts';
import {
  MEDICAL,
  NURSING,
  assignment,
  contact,
  costing,
  deletion,
  identifyingValues,
  organisation,
  person,
  position,
  writeGoFile,
  type FixtureAssignment,
  type FixturePerson,
  type GoFileSpec,
} from '../../support/esrGoFiles.ts';
import { runColumnDataTests } from './schemaDataTests.ts';

const logger = createLogger(null);
const NOW = new Date('2026-01-15T00:00:00.000Z');
const KEY = Buffer.alloc(32, 7);
const pseudonymiser = new Pseudonymiser(KEY);

const ESR_MODELS = [
  'stg_esr_go_file',
  'stg_esr_person',
  'stg_esr_assignment',
  'stg_esr_costing',
  'stg_esr_position',
  'stg_esr_organisation',
  'workforce_assignment',
  'workforce_position',
  'workforce_organisation',
  'workforce_monthly',
];
const CURATED = ['workforce_assignment', 'workforce_position', 'workforce_organisation', 'workforce_monthly'];

// ---- fixture ------------------------------------------------------------------------------------

const someone = (n: number, firstName: string, lastName: string): FixturePerson => ({
  personId: `1000000${n}`,
  employeeNumber: `2000000${n}`,
  firstName,
  lastName,
  dateOfBirth: `198${n}0314`,
  niNumber: `QQ12345${n}C`,
  email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}@example.nhs.uk`,
  phone: `0770090000${n}`,
  postcode: `LS${n} 4AP`,
});
const P1 = someone(1, 'Aoife', 'Testwright');
const P2 = someone(2, 'Bilal', 'Samplesmith');
const P3 = someone(3, 'Ceri', 'Fixtureson');
const P4 = someone(4, 'Dara', 'Mockford');
const Q1 = { ...someone(9, 'Esme', 'Otherfile'), personId: '90000001', employeeNumber: '90000002' };

const O1 = { id: '700001', name: 'Ward A', costCentre: '43100001' };
const O2 = { id: '700002', name: 'Theatres', costCentre: '43100002' };
const nurse = { positionId: '600001', orgId: O1.id, staffGroup: NURSING, jobRole: 'Staff Nurse' };
const doctor = { positionId: '600002', orgId: O2.id, staffGroup: MEDICAL, jobRole: 'Consultant' };

const A1: FixtureAssignment = { ...nurse, personId: P1.personId, assignmentId: 'A1', number: P1.employeeNumber, fte: '1.00', start: '20240115' };
const A2: FixtureAssignment = { ...doctor, personId: P1.personId, assignmentId: 'A2', number: `${P1.employeeNumber}-2`, fte: '0.20', start: '20250601' };
const A3: FixtureAssignment = { ...nurse, personId: P2.personId, assignmentId: 'A3', number: P2.employeeNumber, fte: '0.80', start: '20251110' };
// P2's second nursing assignment in the same ward: one person, counted once.
const A6: FixtureAssignment = { ...nurse, personId: P2.personId, assignmentId: 'A6', number: `${P2.employeeNumber}-2`, fte: '0.20', start: '20251201' };
// Ended on 30 June 2025: in the snapshots of January to June 2025 only.
const A7: FixtureAssignment = { ...doctor, personId: P2.personId, assignmentId: 'A7', number: `${P2.employeeNumber}-3`, fte: '0.10', start: '20250101', end: '20250630' };
const A4: FixtureAssignment = { ...doctor, personId: P3.personId, assignmentId: 'A4', number: P3.employeeNumber, fte: '1.00', start: '20200101' };
const A5: FixtureAssignment = { ...nurse, personId: P4.personId, assignmentId: 'A5', number: P4.employeeNumber, fte: '0.50', start: '20251220' };
const B1: FixtureAssignment = { ...nurse, personId: Q1.personId, assignmentId: 'B1', number: Q1.employeeNumber, fte: '1.00', start: '20230301' };

const structure = [organisation(O1.id, O1.name, O1.costCentre), organisation(O2.id, O2.name, O2.costCentre), position(nurse.positionId, O1.id, NURSING, 'Staff Nurse', 'N0A'), position(doctor.positionId, O2.id, MEDICAL, 'Consultant', 'M01')];

/** Full extract, 1 January 2026. */
const FULL_1: GoFileSpec = {
  vpd: '431',
  extract: 'F',
  date: '20260101',
  sequence: 1,
  records: [
    ...structure,
    person(P1),
    ...contact(P1),
    assignment(A1),
    costing(P1.personId, 'A1', 'C1', '43109999', '60'),
    costing(P1.personId, 'A1', 'C1B', O1.costCentre, '40'),
    assignment(A2),
    costing(P1.personId, 'A2', 'C2', O2.costCentre, '100'),
    person(P2),
    ...contact(P2),
    assignment(A3),
    assignment(A6),
    assignment(A7),
    person(P3),
    ...contact(P3),
    assignment(A4),
    costing(P3.personId, 'A4', 'C4', O2.costCentre, '100'),
  ],
};

/** Changes, 5 January 2026: A1 cut to 0.6 FTE, A2 ended (deleted), P3 deleted, P4 joins. */
const CHANGES_2: GoFileSpec = {
  vpd: '431',
  extract: 'C',
  date: '20260105',
  sequence: 2,
  records: [assignment({ ...A1, fte: '0.60' }), deletion('ASD', 'A2'), deletion('PRD', P3.personId), person(P4), ...contact(P4), assignment(A5)],
};

/** A second full extract, 10 January 2026: only P1 (A1) and P2 (A3); everything else is gone. */
const FULL_3: GoFileSpec = {
  vpd: '431',
  extract: 'F',
  date: '20260110',
  sequence: 3,
  records: [...structure, person(P1), assignment({ ...A1, fte: '0.60' }), costing(P1.personId, 'A1', 'C1', '43109999', '60'), person(P2), assignment(A3)],
};

/** Changes after the second full file, 12 January 2026: A1 up to 0.9 FTE. */
const CHANGES_4: GoFileSpec = { vpd: '431', extract: 'C', date: '20260112', sequence: 4, records: [assignment({ ...A1, fte: '0.90' })] };

/** Another VPD that has only ever sent a changes file: all of its files apply. */
const OTHER_VPD: GoFileSpec = { vpd: '999', extract: 'C', date: '20260111', sequence: 1, records: [person(Q1), assignment(B1)] };

// ---- building ----------------------------------------------------------------------------------

interface BuiltWarehouse {
  file: string;
  db: DuckDb;
}

/** Lands each file in its own run, in order, then runs the ESR models into a warehouse file. */
async function landAndBuild(root: string, files: readonly GoFileSpec[]): Promise<BuiltWarehouse> {
  const layout = new LakeLayout(join(root, 'lake'));
  const inbox = join(root, 'inbox');
  await mkdir(inbox, { recursive: true });
  const source: SourceConfig = { name: 'esr', kind: 'esr', path: inbox, pattern: 'GO_*_GO?_*.DAT', layout: 'esr-go-v1' };
  const ledger = Ledger.open(layout.ledger);
  try {
    for (const spec of files) {
      await writeGoFile(inbox, spec);
      const summary = await runSource(source, await listSourceFiles(source, { layout, logger, ledger: () => ledger }), { layout, ledger, logger, trigger: 'manual' });
      expect(summary.run.records_quarantined).toBe(0);
    }
  } finally {
    ledger.close();
  }
  const projectDir = join(root, 'project');
  await copyBundledProject(projectDir);
  const file = join(root, 'warehouse.duckdb');
  const db = await DuckDb.open(file);
  registerPseudonymFunction(db, pseudonymiser);
  const { results } = await runProject({
    projectDir,
    db,
    env: {},
    target: { name: 'dev', schema: 'main' },
    now: NOW,
    vars: { raw_root: layout.rawDir, esr_source: 'esr' },
    select: ESR_MODELS,
  });
  expect(results.results.filter((r) => r.status !== 'success').map((r) => `${r.unique_id}: ${r.message ?? r.status}`)).toEqual([]);
  return { file, db };
}

const token = (kind: 'esr_person' | 'esr_assignment', value: string) => pseudonymiser.token(kind, value)!;

/** Current assignments keyed by their raw number, for readable expectations. */
async function currentAssignments(db: DuckDb, numbers: readonly string[]): Promise<Row[]> {
  const byKey = new Map(numbers.map((n) => [token('esr_assignment', n), n]));
  const rows = await db.all(
    `SELECT assignment_key, person_key, vpd, staff_group, job_role, occupation_code, organisation_id, organisation_name, cost_centre, fte,
            strftime(assignment_start, '%Y-%m-%d') AS assignment_start, strftime(assignment_end, '%Y-%m-%d') AS assignment_end
     FROM main_curated.workforce_assignment`,
  );
  return rows
    .map(({ assignment_key, ...rest }) => ({ number: byKey.get(String(assignment_key)) ?? `unknown ${String(assignment_key)}`, ...rest }))
    .sort((a, b) => a.number.localeCompare(b.number));
}

// ---- tests -------------------------------------------------------------------------------------

describe('workforce models: a full file, then a change file', () => {
  let root: string;
  let built: BuiltWarehouse;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'carelake-workforce-'));
    built = await landAndBuild(root, [FULL_1, CHANGES_2]);
  });
  afterAll(async () => {
    built?.db.close();
    await rm(root, { recursive: true, force: true });
  });

  it('lists both files as part of the current state', async () => {
    expect(await built.db.all(`SELECT file_name, extract, file_sequence::INTEGER AS seq, strftime(file_date, '%Y-%m-%d') AS file_date, in_current_state FROM main_staging.stg_esr_go_file ORDER BY seq`)).toEqual([
      { file_name: 'GO_431_EXP_GOF_20260101_00000001.DAT', extract: 'full', seq: 1, file_date: '2026-01-01', in_current_state: true },
      { file_name: 'GO_431_EXP_GOC_20260105_00000002.DAT', extract: 'changes', seq: 2, file_date: '2026-01-05', in_current_state: true },
    ]);
  });

  it('applies the changes: updated FTE, the deleted assignment gone, the deleted person and their assignments and costings gone', async () => {
    const p = (x: FixturePerson) => token('esr_person', x.personId);
    const nursing = { vpd: '431', staff_group: NURSING, job_role: 'Staff Nurse', occupation_code: 'N0A', organisation_id: O1.id, organisation_name: O1.name, assignment_end: null };
    expect(await currentAssignments(built.db, [A1, A2, A3, A4, A5, A6, A7].map((a) => a.number))).toEqual([
      // The primary costing (60%) gives A1's cost centre; the others have none and take their ward's.
      { number: A1.number, person_key: p(P1), ...nursing, cost_centre: '43109999', fte: 0.6, assignment_start: '2024-01-15' },
      { number: A3.number, person_key: p(P2), ...nursing, cost_centre: O1.costCentre, fte: 0.8, assignment_start: '2025-11-10' },
      { number: A6.number, person_key: p(P2), ...nursing, cost_centre: O1.costCentre, fte: 0.2, assignment_start: '2025-12-01' },
      {
        number: A7.number,
        person_key: p(P2),
        vpd: '431',
        staff_group: MEDICAL,
        job_role: 'Consultant',
        occupation_code: 'M01',
        organisation_id: O2.id,
        organisation_name: O2.name,
        cost_centre: O2.costCentre,
        fte: 0.1,
        assignment_start: '2025-01-01',
        assignment_end: '2025-06-30',
      },
      { number: A5.number, person_key: p(P4), ...nursing, cost_centre: O1.costCentre, fte: 0.5, assignment_start: '2025-12-20' },
    ]);
    expect(await built.db.all(`SELECT person_id FROM main_staging.stg_esr_person ORDER BY 1`)).toEqual([P1, P2, P4].map((x) => ({ person_id: x.personId })));
    expect(await built.db.all(`SELECT costing_allocation_id FROM main_staging.stg_esr_costing ORDER BY 1`)).toEqual([{ costing_allocation_id: 'C1' }, { costing_allocation_id: 'C1B' }]);
  });

  it('keys people and assignments with keyed pseudonyms, never the raw ids', async () => {
    const rows = await built.db.all(`SELECT DISTINCT person_key FROM main_curated.workforce_assignment ORDER BY 1`);
    const expected = [P1, P2, P4].map((x) => token('esr_person', x.personId)).sort();
    expect(rows.map((r) => r.person_key)).toEqual(expected);
    for (const key of expected) expect(key).toMatch(/^[0-9a-f]{64}$/);
    // The same function gives the same token for the same id, and the serving publish uses this Pseudonymiser.
    expect(await built.db.scalar(`SELECT pseudonym('esr_person', ?)`, [P1.personId])).toBe(token('esr_person', P1.personId));
    expect(await built.db.scalar(`SELECT ni_number_key FROM main_staging.stg_esr_person WHERE person_id = ?`, [P1.personId])).toBe(pseudonymiser.token('ni_number', P1.niNumber));
  });

  it('lets no name, date of birth, NI number, email, phone, address or raw id into the curated tables', async () => {
    const columns = await built.db.all(
      `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
       WHERE (table_schema = 'main_curated' AND table_name LIKE 'workforce%') OR (table_schema = 'main_staging' AND table_name LIKE 'stg_esr%')`,
    );
    const forbidden = /(^|_)(first|last|middle|maiden|preferred)_name$|^title$|birth|ni_number$|email|phone|address|postcode|^_raw$/;
    for (const c of columns) expect(`${String(c.table_name)}.${String(c.column_name)}`).not.toMatch(forbidden);
    const curated = columns.filter((c) => c.table_schema === 'main_curated');
    expect(new Set(curated.map((c) => c.table_name))).toEqual(new Set(CURATED));
    for (const c of curated) {
      expect(identifierLikeColumn(String(c.column_name)), String(c.column_name)).toBeNull();
      expect(['person_id', 'employee_number', 'assignment_number', 'assignment_id']).not.toContain(c.column_name);
    }
    // Values too: none of the fixture's identifying values is in any text column of a curated table.
    const values = [P1, P2, P3, P4].flatMap(identifyingValues).concat([A1, A2, A3, A5, A6, A7].map((a) => a.number), P1.dateOfBirth);
    for (const c of curated.filter((col) => col.data_type === 'VARCHAR')) {
      const hits = await built.db.scalar(`SELECT count(*)::INTEGER FROM main_curated.${quoteIdent(String(c.table_name))} WHERE ${quoteIdent(String(c.column_name))} IN (${values.map(quoteLiteral).join(', ')})`);
      expect(hits, `${String(c.table_name)}.${String(c.column_name)}`).toBe(0);
    }
  });

  it('snapshots each month: distinct people with an assignment active on its last day (the as-of date for the last month), and their FTE', async () => {
    const rows = await built.db.all(
      `SELECT strftime(month, '%Y-%m') AS month, strftime(snapshot_date, '%Y-%m-%d') AS snapshot_date, staff_group, organisation_id, headcount::INTEGER AS headcount, fte
       FROM main_curated.workforce_monthly ORDER BY month, staff_group`,
    );
    const months = (from: string, to: string): string[] => {
      const out: string[] = [];
      for (let d = new Date(`${from}-01T00:00:00Z`); d <= new Date(`${to}-01T00:00:00Z`); d.setUTCMonth(d.getUTCMonth() + 1)) out.push(d.toISOString().slice(0, 7));
      return out;
    };
    const ward = (month: string, headcount: number, fte: number) => ({ month, staff_group: NURSING, organisation_id: O1.id, headcount, fte });
    const theatre = (month: string) => ({ month, staff_group: MEDICAL, organisation_id: O2.id, headcount: 1, fte: 0.1 });
    const expected = [
      // 24 months ending January 2026: only A1 (0.6) until A3 starts on 10 November 2025.
      ...months('2024-02', '2025-10').map((m) => ward(m, 1, 0.6)),
      ward('2025-11', 2, 1.4),
      // December: A6 (P2 again) and A5 (P4) start; P2 still counts once.
      ward('2025-12', 3, 2.1),
      ward('2026-01', 3, 2.1),
      ...months('2025-01', '2025-06').map(theatre),
    ].sort((a, b) => a.month.localeCompare(b.month) || a.staff_group.localeCompare(b.staff_group));
    expect(rows.map(({ snapshot_date: _, ...r }) => r)).toEqual(expected);
    const snapshots = new Map(rows.map((r) => [r.month, r.snapshot_date]));
    expect([snapshots.get('2024-02'), snapshots.get('2025-06'), snapshots.get('2025-12'), snapshots.get('2026-01')]).toEqual(['2024-02-29', '2025-06-30', '2025-12-31', '2026-01-05']);
  });

  it('passes the data tests its property files declare', async () => {
    const results = [
      ...(await runColumnDataTests(built.db, join(projectRoot, 'models/staging/esr/schema.yml'), ESR_MODELS)),
      ...(await runColumnDataTests(built.db, join(projectRoot, 'models/marts/workforce.yml'), ESR_MODELS)),
    ];
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => r.failures > 0)).toEqual([]);
  });

  it('leaves a warehouse any connection can read without the function, and without the key', async () => {
    built.db.close();
    try {
      await withDuckDb(built.file, { readOnly: true }, async (db) => {
        for (const model of ESR_MODELS) {
          const schema = model.startsWith('stg_') ? 'main_staging' : 'main_curated';
          expect(Number(await db.scalar(`SELECT count(*) FROM ${schema}.${model}`)), model).toBeGreaterThan(0);
        }
      });
    } finally {
      built = { ...built, db: await DuckDb.open(built.file) };
    }
    const bytes = await readFile(built.file);
    expect(bytes.includes(KEY)).toBe(false);
    expect(bytes.includes(Buffer.from(KEY.toString('hex')))).toBe(false);
  });
});

describe('workforce models: a later full file resets the state, and a VPD without one applies every file', () => {
  let root: string;
  let built: BuiltWarehouse;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'carelake-workforce-reset-'));
    built = await landAndBuild(root, [FULL_1, CHANGES_2, FULL_3, OTHER_VPD, CHANGES_4]);
  });
  afterAll(async () => {
    built?.db.close();
    await rm(root, { recursive: true, force: true });
  });

  it('applies only the last full file of a VPD and the files after it', async () => {
    expect(await built.db.all(`SELECT vpd, file_sequence::INTEGER AS seq, in_current_state FROM main_staging.stg_esr_go_file ORDER BY vpd, seq`)).toEqual([
      { vpd: '431', seq: 1, in_current_state: false },
      { vpd: '431', seq: 2, in_current_state: false },
      { vpd: '431', seq: 3, in_current_state: true },
      { vpd: '431', seq: 4, in_current_state: true },
      { vpd: '999', seq: 1, in_current_state: true },
    ]);
    const rows = await currentAssignments(built.db, [A1, A2, A3, A4, A5, A6, A7, B1].map((a) => a.number));
    // P4 (A5) and A6/A7 were not in the second full file, so they are gone.
    expect(rows.map((r) => [r.number, r.vpd, r.fte])).toEqual([
      [A1.number, '431', 0.9],
      [A3.number, '431', 0.8],
      [B1.number, '999', 1],
    ]);
    expect(await built.db.all(`SELECT vpd, person_id FROM main_staging.stg_esr_person ORDER BY 1, 2`)).toEqual([
      { vpd: '431', person_id: P1.personId },
      { vpd: '431', person_id: P2.personId },
      { vpd: '999', person_id: Q1.personId },
    ]);
  });

  it('gives a person the same key in every build made with the same key', async () => {
    expect(await built.db.scalar(`SELECT DISTINCT person_key FROM main_curated.workforce_assignment WHERE assignment_key = ?`, [token('esr_assignment', A1.number)])).toBe(
      token('esr_person', P1.personId),
    );
  });

  it('dates the last snapshot by the latest file of the current state', async () => {
    expect(await built.db.scalar(`SELECT strftime(max(snapshot_date), '%Y-%m-%d') FROM main_curated.workforce_monthly`)).toBe('2026-01-12');
  });
});
