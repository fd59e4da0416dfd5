// `materialized='linkage'`: a model whose SELECT yields patient records (a `record_id` column and
// columns named after linkage roles — given_name, family_name, birth_date, sex, postcode, nhs_number,
// nhs_number_verification_status, linked_record_id, source, recorded_at, …) and whose relation is the
// person cross-reference `(source, source_record_id, person_id, match_probability, rule)`. The
// previous build's table and id registry keep person ids stable; --full-refresh starts afresh (ids
// still derive from each person's smallest record id, so unchanged data keeps them). Companion tables
// beside it: `<model>_records` (standardised), `_pairs` (scored, for explanations), `_review`,
// `_retired`, `_registry` and `_model` (the trained parameters as JSON).
// Config: threshold, review_lower, accept_test_nhs_numbers, blocking_rules (['birth_date',
// 'postcode+given_initial', …]), max_pairs_per_record, seed.

import type { DuckDb } from '../../core/duckdb.ts';
import { qualified, quoteIdent, quoteLiteral } from '../../core/sql.ts';
import { DEFAULT_LINKAGE_SETTINGS, linkRecords, type LinkageSettings, type PreviousLinkage } from './linkRecords.ts';
import { isLinkageField, type LinkageField, type RoleMapping } from './roles.ts';

export const RECORD_ID_COLUMN = 'record_id';

export interface LinkageMaterializeInput {
  schema: string;
  identifier: string;
  sql: string;
  existing: 'view' | 'table' | null;
  fullRefresh: boolean;
  config: Readonly<Record<string, unknown>>;
}

export class LinkageConfigError extends Error {}

function probabilitySetting(config: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new LinkageConfigError(`${key} must be a probability between 0 and 1`);
  return value;
}

/** The linkage settings a model's config asks for, on top of the defaults. */
export function linkageSettingsFromConfig(config: Readonly<Record<string, unknown>>): LinkageSettings {
  const threshold = probabilitySetting(config, 'threshold', DEFAULT_LINKAGE_SETTINGS.threshold);
  const reviewLower = probabilitySetting(config, 'review_lower', Math.min(DEFAULT_LINKAGE_SETTINGS.reviewLower, threshold));
  if (reviewLower > threshold) throw new LinkageConfigError('review_lower must not be above threshold');
  const accept = config.accept_test_nhs_numbers ?? false;
  if (typeof accept !== 'boolean') throw new LinkageConfigError('accept_test_nhs_numbers must be true or false');
  const rules = config.blocking_rules;
  let blockingRules: string[][] | null = null;
  if (rules !== undefined && rules !== null) {
    if (!Array.isArray(rules) || rules.length === 0 || !rules.every((r) => typeof r === 'string' && r.trim() !== '')) {
      throw new LinkageConfigError("blocking_rules must be a list of rules like ['birth_date', 'postcode+given_initial']");
    }
    blockingRules = (rules as string[]).map((r) => r.split('+').map((k) => k.trim()));
  }
  const budget = config.max_pairs_per_record ?? DEFAULT_LINKAGE_SETTINGS.maxPairsPerRecord;
  if (typeof budget !== 'number' || !(budget > 0)) throw new LinkageConfigError('max_pairs_per_record must be a positive number');
  const seed = config.seed ?? DEFAULT_LINKAGE_SETTINGS.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new LinkageConfigError('seed must be a whole number');
  return { ...DEFAULT_LINKAGE_SETTINGS, threshold, reviewLower, acceptTestNhsNumbers: accept, blockingRules, maxPairsPerRecord: budget, seed };
}

async function tableExists(db: DuckDb, schema: string, name: string): Promise<boolean> {
  const found = await db.scalar(
    `SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() AND lower(table_schema) = lower(?) AND lower(table_name) = lower(?)`,
    [schema, name],
  );
  return Number(found) > 0;
}

/** Builds the cross-reference and its companions; returns the rows written. */
export async function materializeLinkage(db: DuckDb, input: LinkageMaterializeInput, now: Date, clock: () => number): Promise<number> {
  const settings = linkageSettingsFromConfig(input.config);
  const relation = qualified(input.schema, input.identifier);
  const inputTable = quoteIdent(`${input.identifier}__input`);
  await db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(input.schema)}`);
  await db.run(`CREATE OR REPLACE TEMP TABLE ${inputTable} AS (\n${input.sql.replace(/[\s;]+$/, '')}\n)`, undefined, `select the records to link for ${relation}`);
  const columns = (await db.all(`SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' AND table_name = ?`, [`${input.identifier}__input`])).map((r) =>
    String(r.column_name),
  );
  if (!columns.includes(RECORD_ID_COLUMN)) {
    throw new LinkageConfigError(`the model's SELECT must have a ${RECORD_ID_COLUMN} column (it has ${columns.join(', ')})`);
  }
  const mapping: RoleMapping = Object.fromEntries(columns.filter(isLinkageField).map((c) => [c as LinkageField, [c]]));
  const prefix = `${input.identifier}_`;
  const companion = (name: string): string => qualified(input.schema, `${prefix}${name}`);
  let previous: PreviousLinkage | null = null;
  if (!input.fullRefresh && input.existing === 'table' && (await tableExists(db, input.schema, `${prefix}registry`))) {
    previous = {
      xref: `(SELECT source_record_id AS record_id, person_id FROM ${relation})`,
      registry: `(SELECT person_id, created_at FROM ${companion('registry')})`,
      ...((await tableExists(db, input.schema, `${prefix}retired`)) ? { retired: `(SELECT * FROM ${companion('retired')})` } : {}),
    };
  }
  const report = await linkRecords(db, { from: inputTable, idColumn: RECORD_ID_COLUMN, mapping, settings, model: null, previous, schema: input.schema, prefix, now, clock });
  if (input.existing === 'view') await db.run(`DROP VIEW ${relation}`);
  await db.run(`CREATE OR REPLACE TABLE ${relation} AS
SELECT source, record_id AS source_record_id, person_id, match_probability, rule FROM ${report.tables.xref} ORDER BY source_record_id;
DROP TABLE ${report.tables.xref};
DROP TABLE ${inputTable};
CREATE OR REPLACE TABLE ${companion('model')} AS SELECT ${quoteLiteral(report.model.trained_at)}::TIMESTAMP AS trained_at, ${quoteLiteral(JSON.stringify(report.model))}::JSON AS model, ${quoteLiteral(JSON.stringify({ stages: report.stages, pairsByRule: report.pairsByRule, unreadable: report.unreadable }))}::JSON AS run_report`);
  return report.records;
}
