// The shape of one raw dataset: its record columns, in order. Lineage columns are added by landing,
// never declared here, so every raw dataset carries the same lineage under the same names.

import type { CellValue, ColumnType } from '../../core/duckdb.ts';

export interface RawColumn {
  name: string;
  type: ColumnType;
}

export interface RawDatasetSchema {
  /** The folder name under raw/<source>/, e.g. `Patient`, `messages`, `person`. */
  dataset: string;
  columns: readonly RawColumn[];
  /**
   * The column holding the record's original text. Defaults to `_raw`; FHIR datasets name it
   * `resource` because the resource JSON line is itself the original record. `null` for datasets
   * derived from a record whose original text another dataset already holds (HL7 segments).
   */
  originalTextColumn?: string | null;
}

/** The name of a dataset's original-text column, or null when it has none. */
export function originalColumnOf(schema: RawDatasetSchema): string | null {
  return schema.originalTextColumn === undefined ? '_raw' : schema.originalTextColumn;
}

export type RawRecordValues = readonly CellValue[];

/** Lineage every raw row carries, after its record columns. */
export const LINEAGE_COLUMNS = ['_run_id', '_source', '_file', '_record', '_ingested_at'] as const;
