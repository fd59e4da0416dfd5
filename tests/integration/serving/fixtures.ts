// Shared synthetic fixtures for the serving tests: a temp lake, a small curated warehouse with valid
// (999-range test) and invalid NHS numbers, and serving table specs for both roles. Never real data.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { nhsCheckDigit } from '../../../transforms/identifiers/nhsNumber.ts';
import { derivePseudonymKey, Pseudonymiser } from '../../../transforms/pseudonymisation/pseudonymiser.ts';
import type { ServingTableSpec } from '../../../warehouse/publish/servingBuild.ts';

export const MASTER_KEY = Buffer.from('4f1c2b7a9e0d3c6f8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071', 'hex');
export const PROJECT_KEY = derivePseudonymKey(MASTER_KEY, 'serving-tests');
export const BUILT_AT = '2025-03-01T09:30:00.000Z';

/** Valid NHS numbers from the 999 test range, in a fixed order. */
export function syntheticNhsNumbers(count: number): string[] {
  const numbers: string[] = [];
  for (let i = 0; numbers.length < count; i++) {
    const firstNine = `999${String(100000 + i).padStart(6, '0')}`;
    const check = nhsCheckDigit(firstNine);
    if (check !== null) numbers.push(`${firstNine}${check}`);
  }
  return numbers;
}

export const VALID_NHS = syntheticNhsNumbers(6);
/** Fails the Mod 11 check: must come out as a NULL token. */
export const INVALID_NHS = '9991000001';
export const MRNS = VALID_NHS.map((_, i) => `RXX${String(7000 + i)}`);

/** Category counts chosen to exercise HES: zero, 1–7 suppressed, rounding either way, and HTML escaping. */
export const CATEGORY_COUNTS: { category: string; n: number }[] = [
  { category: 'a-zero', n: 0 },
  { category: 'b-one', n: 1 },
  { category: 'c-seven', n: 7 },
  { category: 'd-eight', n: 8 },
  { category: 'e-twelve', n: 12 },
  { category: 'f-twenty-three', n: 23 },
  { category: 'g-<script>alert(1)</script>', n: 100 },
];

export interface TestLake {
  dir: string;
  layout: LakeLayout;
  warehouse: DuckDb;
  pseudonymiser: Pseudonymiser;
  cleanup(): Promise<void>;
}

export async function makeLake(): Promise<TestLake> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-serving-'));
  const layout = new LakeLayout(dir);
  const warehouse = await DuckDb.open(layout.warehouse);
  await seedWarehouse(warehouse);
  return {
    dir,
    layout,
    warehouse,
    pseudonymiser: new Pseudonymiser(PROJECT_KEY),
    async cleanup() {
      warehouse.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function seedWarehouse(db: DuckDb): Promise<void> {
  await db.run(
    `CREATE TABLE dim_patient (nhs_number VARCHAR, mrn VARCHAR, given_name VARCHAR, birth_date DATE, postcode VARCHAR, sex VARCHAR, category VARCHAR)`,
  );
  const rows: [string | null, string | null, string, string, string, string, string][] = VALID_NHS.map((nhs, i) => [
    nhs,
    MRNS[i]!,
    `Given${i}`,
    `19${50 + i}-0${(i % 9) + 1}-15`,
    `LS${i + 1} 4AP`,
    i % 2 === 0 ? 'F' : 'M',
    i % 3 === 0 ? 'x' : 'y',
  ]);
  rows.push([INVALID_NHS, 'RXX9999', 'GivenBad', '1990-01-01', 'LS9 9ZZ', 'F', 'x']);
  rows.push([null, null, 'GivenNull', '1991-01-01', 'LS8 8ZZ', 'M', 'y']);
  for (const row of rows) await db.run('INSERT INTO dim_patient VALUES ($1, $2, $3, $4::DATE, $5, $6, $7)', row);

  await db.run('CREATE TABLE fct_category_counts (category VARCHAR, n BIGINT)');
  for (const { category, n } of CATEGORY_COUNTS) await db.run('INSERT INTO fct_category_counts VALUES ($1, $2)', [category, n]);
}

/** Row-level, pseudonymised: identifiers tokenised, dates and postcodes minimised, names dropped. */
export const analystTables: ServingTableSpec[] = [
  {
    name: 'srv_patient',
    sql: `SELECT nhs_number, mrn, given_name, year(birth_date) AS birth_year, left(postcode, strpos(postcode, ' ') - 1) AS postcode_district, sex, category FROM dim_patient`,
    tokens: [
      { column: 'patient_token', from: 'nhs_number', kind: 'nhs_number' },
      { column: 'mrn_token', from: 'mrn', kind: 'mrn' },
    ],
    drop: ['given_name'],
    description: "One row per patient; identifiers replaced by this project's tokens.",
  },
];

/** Aggregates only, as commissioners receive them. */
export const commissionerTables: ServingTableSpec[] = [
  {
    name: 'srv_example_counts',
    sql: 'SELECT category, n FROM fct_category_counts',
    description: 'Counts per category.',
    aggregate: { dimensions: ['category'], declaredDimensions: [], counts: ['n'], measures: [], rates: [] },
  },
];
