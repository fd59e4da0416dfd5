// The audit log as `ops.audit` in the warehouse, so information-governance leads can ask it questions in
// SQL ("who ran what against analyst marts last month"). Rebuilt from the log at every build, after the
// ledger copy. The log is verified in the same streaming pass that loads it: a log that fails
// verification is not landed (the build is told why, and the previous ops.audit stays), because a table
// IG would trust must not hold entries the chain does not vouch for.
//
// Loaded with DuckDB's appender into a temporary table, then swapped in with one CREATE OR REPLACE, so
// a failure halfway leaves the previous ops.audit whole. Column names are snake_case; `at` (a reserved
// word in DuckDB) becomes `event_time`.

import type { ColumnType, DuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import type { AuditEntry } from './auditEntry.ts';
import { auditCompanionPaths } from './auditLog.ts';
import { verifyAuditLog } from './auditVerify.ts';

/** ops.audit's columns, in order, with the entry field each comes from. */
export const AUDIT_COLUMNS: readonly { name: string; type: string; load: ColumnType; value: (e: AuditEntry) => string | number | null }[] = [
  { name: 'seq', type: 'BIGINT', load: 'BIGINT', value: (e) => e.seq },
  { name: 'event_time', type: 'TIMESTAMPTZ', load: 'TIMESTAMPTZ', value: (e) => e.at },
  { name: 'principal', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.principal },
  { name: 'role', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.role },
  { name: 'endpoint', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.endpoint },
  { name: 'query', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.query },
  { name: 'report_id', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.reportId },
  { name: 'params', type: 'JSON', load: 'VARCHAR', value: (e) => (e.params === null ? null : JSON.stringify(e.params)) },
  { name: 'rows', type: 'BIGINT', load: 'BIGINT', value: (e) => e.rows },
  { name: 'duration_ms', type: 'DOUBLE', load: 'DOUBLE', value: (e) => e.durationMs },
  { name: 'outcome', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.outcome },
  { name: 'status', type: 'INTEGER', load: 'INTEGER', value: (e) => e.status },
  { name: 'error', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.error },
  { name: 'request_id', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.requestId },
  { name: 'release', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.release },
  { name: 'prev', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.prev },
  { name: 'hash', type: 'VARCHAR', load: 'VARCHAR', value: (e) => e.hash },
];

const STAGING = 'carelake_audit_landing';

export interface LandAuditOptions {
  /** Default: beside the log (LakeLayout.auditHead / auditLock). */
  headFile?: string;
  lockFile?: string;
}

/**
 * (Re)creates `ops.audit` from the log at `file` and returns its row count. No log: an empty table with
 * the same columns. A log that fails verification: `audit.tampered`, and ops.audit is left as it was.
 */
export async function landAudit(db: DuckDb, file: string, options: LandAuditOptions = {}): Promise<number> {
  const companions = auditCompanionPaths(file);
  const headFile = options.headFile ?? companions.headFile;
  await db.run(`CREATE SCHEMA IF NOT EXISTS ops`);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${STAGING} (${AUDIT_COLUMNS.map((c) => `"${c.name}" ${c.load}`).join(', ')})`,
    undefined,
    'create the audit staging table',
  );
  try {
    const appender = await db.rowAppender(
      STAGING,
      AUDIT_COLUMNS.map((c) => c.load),
      'main',
      'temp',
    );
    let result;
    try {
      result = await verifyAuditLog(companions.file, headFile, {
        lockFile: options.lockFile ?? companions.lockFile,
        onEntry: (entry) => appender.appendRow(AUDIT_COLUMNS.map((c) => c.value(entry))),
      });
    } finally {
      appender.close();
    }
    if (!result.ok) {
      const problem = result.firstProblem!;
      throw new CarelakeError({
        code: 'audit.tampered',
        kind: 'runtime',
        message: `The audit log was not copied to ops.audit: it failed verification: ${problem.problem}`,
        location: { file: companions.file, line: problem.line > 0 ? problem.line : undefined },
        hint: 'run `carelake audit verify`; ops.audit keeps its previous contents',
      });
    }
    const select = AUDIT_COLUMNS.map((c) => (c.type === c.load ? `"${c.name}"` : `CAST("${c.name}" AS ${c.type}) AS "${c.name}"`)).join(', ');
    await db.run(`CREATE OR REPLACE TABLE ops.audit AS SELECT ${select} FROM temp.main.${STAGING} ORDER BY seq`, undefined, 'create ops.audit');
    return result.entries;
  } finally {
    await db.run(`DROP TABLE IF EXISTS temp.main.${STAGING}`, undefined, 'drop the audit staging table');
  }
}
