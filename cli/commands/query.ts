// `carelake query "<sql>"`: the engineer's view of the warehouse catalog (raw views, curated tables,
// ops.*), opened read-only for the length of one query.
// `carelake query --role analyst "<sql>"`: the governed path, exactly as POST /api/query takes it —
// the statement check, the analyst serving release on a locked-down connection, the row and time
// limits, disclosure of aggregate counts, and an audit entry for the OS user. A commissioner cannot
// run SQL, here or over HTTP.

import { existsSync } from 'node:fs';
import { withDuckDb } from '../../core/duckdb.ts';
import { CarelakeError } from '../../core/errors.ts';
import { cliPrincipal, type AuditOutcome } from '../../warehouse/audit/auditEntry.ts';
import type { Role } from '../../warehouse/auth/principal.ts';
import { DISCLOSURE_POLICIES } from '../../warehouse/disclosure/policy.ts';
import { disclosedColumnIndexes, disclosedResult } from '../../warehouse/query/disclosedResult.ts';
import { runQuery } from '../../warehouse/query/queryRunner.ts';
import { encodeResult, toJsonValue } from '../../warehouse/query/resultFormats.ts';
import { checkStatement } from '../../warehouse/query/statementCheck.ts';
import { openAuditLog } from '../../warehouse/server/servingAccess.ts';
import { ServingReader } from '../../warehouse/serving/servingReader.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export type QueryOutput = 'table' | 'json' | 'csv';

export async function queryCommand(ctx: CommandContext, sql: string, format: QueryOutput, out: Console, role?: Role): Promise<void> {
  if (role === 'analyst' || role === 'commissioner') return governedQuery(ctx, sql, format, out, role);
  if (!existsSync(ctx.layout.warehouse)) {
    throw new CarelakeError({ code: 'query.no-warehouse', kind: 'runtime', message: `There is no warehouse yet at ${ctx.layout.warehouse}`, hint: 'run `carelake build` first' });
  }
  const result = await withDuckDb(ctx.layout.warehouse, { readOnly: true }, (db) => db.table(sql, undefined, 'run your query'));
  printRows(result.columns, result.rows, format, out);
}

async function governedQuery(ctx: CommandContext, sql: string, format: QueryOutput, out: Console, role: 'analyst' | 'commissioner'): Promise<void> {
  const audit = openAuditLog(ctx.layout);
  const started = performance.now();
  const note: { outcome: AuditOutcome; status: number; error: string | null; rows: number | null; release: string | null } = {
    outcome: 'ok',
    status: 0,
    error: null,
    rows: null,
    release: null,
  };
  try {
    if (role === 'commissioner') {
      Object.assign(note, { outcome: 'denied', status: 1, error: 'auth.forbidden' });
      throw new CarelakeError({
        code: 'auth.forbidden',
        kind: 'runtime',
        message: 'A commissioner cannot run SQL: commissioners read the published reports (carelake serve)',
      });
    }
    const statement = await checkStatement(sql).catch((err: unknown) => {
      Object.assign(note, { outcome: 'refused', status: 1, error: err instanceof CarelakeError ? err.code : 'query.refused' });
      throw err;
    });
    const reader = new ServingReader(ctx.layout, role);
    try {
      await reader.use(async (db, release) => {
        note.release = release.releaseId;
        const result = await runQuery(db, statement, { maxRows: ctx.config.serve.limits.maxRows, timeoutMs: ctx.config.serve.limits.timeoutMs });
        const disclosed = disclosedResult(result, disclosedColumnIndexes(statement), DISCLOSURE_POLICIES[ctx.config.governance.suppression]);
        if (format === 'csv') {
          for await (const chunk of encodeResult(disclosed, 'csv')) process.stdout.write(chunk);
        } else {
          const rows: unknown[][] = [];
          for await (const batch of disclosed) for (const row of batch) rows.push(row.map(toJsonValue));
          printRows(
            disclosed.columns.map((c) => c.name),
            rows,
            format,
            out,
          );
        }
        note.rows = disclosed.rowCount;
        if (disclosed.truncated) out.warn(`Only the first ${ctx.config.serve.limits.maxRows} rows are shown (serve.limits.maxRows).`);
        if (disclosed.suppressed > 0) out.warn(`${disclosed.suppressed} count(s) were suppressed by the ${ctx.config.governance.suppression} disclosure policy (shown empty).`);
      });
    } finally {
      reader.close();
    }
  } catch (err) {
    if (note.status === 0) Object.assign(note, { outcome: err instanceof CarelakeError && err.code === 'query.timeout' ? 'timeout' : 'error', status: 1, error: err instanceof CarelakeError ? err.code : 'internal' });
    throw err;
  } finally {
    await audit.append({
      principal: cliPrincipal(),
      role,
      endpoint: 'cli query',
      query: sql,
      params: { format },
      rows: note.rows,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      outcome: note.outcome,
      status: note.status,
      error: note.error,
      requestId: crypto.randomUUID(),
      release: note.release,
    });
    await audit.close();
  }
}

function printRows(columns: readonly string[], rows: readonly (readonly unknown[])[], format: QueryOutput, out: Console): void {
  if (format === 'json') out.info(JSON.stringify({ columns, rows }));
  else if (format === 'csv') out.info([columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n'));
  else out.info(`${formatTable(columns, rows)}\n(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
