// Shared fixtures for the linkage integration tests: hand-made patient records loaded into a real
// DuckDB table (values bound as parameters), 999-range test NHS numbers with a valid check digit, the
// options for a run over them, and readers for the tables a run writes. Fixtures are synthetic.

import type { Console } from '../../../cli/console.ts';
import type { DuckDb } from '../../../core/duckdb.ts';
import { quoteIdent } from '../../../core/sql.ts';
import { nhsCheckDigit } from '../../../transforms/identifiers/nhsNumber.ts';
import { comparisonsFor } from '../../../transforms/linkage/comparisonLibrary.ts';
import { DEFAULT_LINKAGE_SETTINGS, type LinkageSettings, type LinkRecordsOptions } from '../../../transforms/linkage/linkRecords.ts';
import { LINKAGE_MODEL_FORMAT, LINKAGE_MODEL_VERSION, type LinkageModel } from '../../../transforms/linkage/linkageModel.ts';
import { mappedRoles, type RoleMapping } from '../../../transforms/linkage/roles.ts';

/** A Console that says nothing. */
export const silentConsole: Console = { info() {}, warn() {}, progress() {}, done() {} };

/**
 * The `n`-th valid NHS number in the 999 test range (n from 1): nine leading digits `999` + n, and
 * the Modulus 11 check digit; leading digits that admit no check digit are skipped.
 */
export function testNhsNumber(n: number): string {
  let found = 0;
  for (let k = 0; k < 1_000_000; k++) {
    const nine = `999${String(k).padStart(6, '0')}`;
    const check = nhsCheckDigit(nine);
    if (check !== null && ++found === n) return `${nine}${check}`;
  }
  throw new RangeError(`no ${n}-th test NHS number`);
}

/** One input row; every value is text, as a CSV or a PAS extract gives it. */
export interface FixtureRecord {
  record_id: string | null;
  given_name: string | null;
  family_name: string | null;
  birth_date: string | null;
  sex: string | null;
  postcode: string | null;
  nhs_number: string | null;
  /** `01` is a PDS-verified number. */
  nhs_status: string | null;
  linked_record_id: string | null;
  source: string | null;
}

export const FIXTURE_COLUMNS = ['record_id', 'given_name', 'family_name', 'birth_date', 'sex', 'postcode', 'nhs_number', 'nhs_status', 'linked_record_id', 'source'] as const;

/** A record with the given fields and everything else empty. */
export function rec(fields: Partial<FixtureRecord> & { record_id: string | null }): FixtureRecord {
  return {
    given_name: null,
    family_name: null,
    birth_date: null,
    sex: null,
    postcode: null,
    nhs_number: null,
    nhs_status: null,
    linked_record_id: null,
    source: null,
    ...fields,
  };
}

/** `CREATE TABLE <table> AS SELECT * FROM (VALUES …)`, every column VARCHAR, values bound. */
export async function loadRecords(db: DuckDb, table: string, records: readonly FixtureRecord[]): Promise<void> {
  const row = `(${FIXTURE_COLUMNS.map(() => 'CAST(? AS VARCHAR)').join(', ')})`;
  const values = records.map(() => row).join(',\n');
  const params = records.flatMap((r) => FIXTURE_COLUMNS.map((c) => r[c]));
  await db.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(table)} AS SELECT * FROM (VALUES ${values}) v(${FIXTURE_COLUMNS.map((c) => quoteIdent(c)).join(', ')})`,
    params,
    `load the fixture ${table}`,
  );
}

/** Every fixture column mapped onto its role. */
export const FIXTURE_MAPPING: RoleMapping = {
  given_name: ['given_name'],
  family_name: ['family_name'],
  birth_date: ['birth_date'],
  sex: ['sex'],
  postcode: ['postcode'],
  nhs_number: ['nhs_number'],
  nhs_number_verification_status: ['nhs_status'],
  linked_record_id: ['linked_record_id'],
  source: ['source'],
};

/** Test NHS numbers count as evidence; a smaller u sample than production keeps the runs quick. */
export const FIXTURE_SETTINGS: LinkageSettings = { ...DEFAULT_LINKAGE_SETTINGS, acceptTestNhsNumbers: true, uSamplePairs: 100_000 };

export const FIXED_NOW = new Date('2025-01-15T09:00:00Z');

/** Options for a run over `from` with the fixture mapping, prefix `lk_` in `main`; override any. */
export function fixtureOptions(from: string, overrides: Partial<LinkRecordsOptions> = {}): LinkRecordsOptions {
  return {
    from,
    idColumn: 'record_id',
    mapping: FIXTURE_MAPPING,
    settings: FIXTURE_SETTINGS,
    model: null,
    previous: null,
    schema: 'main',
    prefix: 'lk_',
    now: FIXED_NOW,
    clock: () => performance.now(),
    ...overrides,
  };
}

export interface XrefRow {
  record_id: string;
  person_id: string;
  match_probability: number | null;
  rule: string;
}

/** A run's cross-reference, keyed by record id. */
export async function readXref(db: DuckDb, xref: string): Promise<Map<string, XrefRow>> {
  const rows = await db.all(`SELECT record_id, person_id, match_probability, rule FROM ${xref} ORDER BY record_id`);
  return new Map(
    rows.map((r) => [
      String(r.record_id),
      { record_id: String(r.record_id), person_id: String(r.person_id), match_probability: r.match_probability === null ? null : Number(r.match_probability), rule: String(r.rule) },
    ]),
  );
}

/** The person id of a record, failing loudly when the record is not in the xref. */
export function personOf(xref: ReadonlyMap<string, XrefRow>, recordId: string): string {
  const row = xref.get(recordId);
  if (row === undefined) throw new Error(`record ${recordId} is not in the xref`);
  return row.person_id;
}

/**
 * A hand-written model with moderate weights for the fixture roles. A model trained on a dozen records
 * is all or nothing (every agreement a near-certainty), so a pair of middling probability needs one
 * like this: the strongest level m 0.8 / u 0.01 (sex 0.95 / 0.5), weaker agreeing levels m 0.15 shared
 * / u 0.02 each, "else" m 0.05; λ = 0.01.
 */
export function moderateModel(mapping: RoleMapping = FIXTURE_MAPPING): LinkageModel {
  return {
    format: LINKAGE_MODEL_FORMAT,
    version: LINKAGE_MODEL_VERSION,
    trained_at: FIXED_NOW.toISOString(),
    records: 0,
    probability_two_random_records_match: 0.01,
    comparisons: comparisonsFor(mappedRoles(mapping)).map((comparison) => {
      const levels = comparison.levels();
      const weaker = levels.length - 2;
      const top = comparison.name === 'sex' ? { m: 0.95, u: 0.5 } : { m: 0.8, u: 0.01 };
      return {
        name: comparison.name,
        levels: levels.map((level, i) => {
          const isElse = i === levels.length - 1;
          const m = i === 0 ? top.m : isElse ? 1 - top.m - (weaker > 0 ? 0.15 : 0) : 0.15 / weaker;
          const u = i === 0 ? top.u : isElse ? 1 - top.u - 0.02 * weaker : 0.02;
          return { gamma: level.gamma, label: level.label, m, u, tf_column: level.tfColumn };
        }),
      };
    }),
    training: { u_sample_pairs: 0, deterministic_pairs: 0, sessions: [] },
  };
}
