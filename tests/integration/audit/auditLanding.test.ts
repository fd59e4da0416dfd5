import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { landAudit } from '../../../warehouse/audit/auditLanding.ts';
import { AuditLog } from '../../../warehouse/audit/auditLog.ts';

const EXPECTED_TYPES = {
  seq: 'BIGINT',
  event_time: 'TIMESTAMP WITH TIME ZONE',
  principal: 'VARCHAR',
  role: 'VARCHAR',
  endpoint: 'VARCHAR',
  query: 'VARCHAR',
  report_id: 'VARCHAR',
  params: 'JSON',
  rows: 'BIGINT',
  duration_ms: 'DOUBLE',
  outcome: 'VARCHAR',
  status: 'INTEGER',
  error: 'VARCHAR',
  request_id: 'VARCHAR',
  release: 'VARCHAR',
  prev: 'VARCHAR',
  hash: 'VARCHAR',
};

describe('landAudit', () => {
  let db: DuckDb | null = null;
  afterEach(() => {
    db?.close();
    db = null;
  });

  const lake = () => new LakeLayout(mkdtempSync(join(tmpdir(), 'carelake-audit-land-')));
  const columnTypes = async (database: DuckDb) =>
    Object.fromEntries((await database.all(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'ops' AND table_name = 'audit' ORDER BY ordinal_position`)).map((r) => [r.column_name, r.data_type]));

  it('lands every entry into ops.audit with typed columns IG can query in SQL', async () => {
    const layout = lake();
    const log = AuditLog.open(layout.auditLog);
    for (let i = 0; i < 20; i++) {
      await log.append({
        at: `2026-03-01T09:${String(i).padStart(2, '0')}:00.250Z`,
        principal: i % 2 === 0 ? 'key:ab12cd' : 'jwt:4f2a:alice',
        role: i % 2 === 0 ? 'analyst' : 'commissioner',
        endpoint: i % 2 === 0 ? 'POST /api/query' : 'GET /api/reports/:id',
        query: i % 2 === 0 ? `select ${i}` : null,
        reportId: i % 2 === 0 ? null : 'ae-attendances-by-month',
        params: i % 2 === 0 ? null : { month: '2026-02', '10': i },
        rows: i === 19 ? null : i,
        durationMs: i + 0.5,
        outcome: i === 19 ? 'denied' : 'ok',
        status: i === 19 ? 403 : 200,
        error: i === 19 ? 'auth.forbidden' : null,
        requestId: `req-${i}`,
        release: '20260301T090000000Z',
      });
    }
    await log.close();

    db = await DuckDb.open(join(layout.root, 'warehouse.duckdb'));
    expect(await landAudit(db, layout.auditLog)).toBe(20);
    expect(await columnTypes(db)).toEqual(EXPECTED_TYPES);
    expect(await db.all(`SELECT count(*) AS n, sum(rows) AS total, min(seq) AS first, max(seq) AS last FROM ops.audit`)).toEqual([{ n: '20', total: '171', first: '1', last: '20' }]);
    expect(await db.all(`SELECT principal, outcome, status, error FROM ops.audit WHERE outcome <> 'ok'`)).toEqual([{ principal: 'jwt:4f2a:alice', outcome: 'denied', status: 403, error: 'auth.forbidden' }]);
    expect(await db.scalar(`SELECT params->>'month' FROM ops.audit WHERE seq = 2`)).toBe('2026-02');
    expect(await db.scalar(`SELECT strftime(event_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%g') FROM ops.audit WHERE seq = 3`)).toBe('2026-03-01T09:02:00.250');
    // The stored hash chain is there for anyone who wants to re-check it in SQL.
    expect(await db.scalar(`SELECT count(*) FROM ops.audit a JOIN ops.audit b ON b.seq = a.seq + 1 WHERE b.prev <> a.hash`)).toBe('0');

    // Landing again replaces, never duplicates.
    expect(await landAudit(db, layout.auditLog)).toBe(20);
    expect(await db.scalar(`SELECT count(*) FROM ops.audit`)).toBe('20');
  });

  it('gives an empty table with the same columns when nothing has been audited', async () => {
    const layout = lake();
    db = await DuckDb.open(':memory:');
    expect(await landAudit(db, layout.auditLog)).toBe(0);
    expect(await columnTypes(db)).toEqual(EXPECTED_TYPES);
    expect(await db.scalar(`SELECT count(*) FROM ops.audit`)).toBe('0');
  });

  it('refuses a log that does not verify, naming the line, and keeps the previous ops.audit', async () => {
    const layout = lake();
    const log = AuditLog.open(layout.auditLog);
    for (let i = 0; i < 5; i++) await log.append({ principal: 'cli:ig', role: 'engineer', endpoint: 'cli query', query: `select ${i}`, rows: i, durationMs: 1, outcome: 'ok', status: 0, requestId: `r${i}` });
    await log.close();
    db = await DuckDb.open(':memory:');
    expect(await landAudit(db, layout.auditLog)).toBe(5);

    const lines = readFileSync(layout.auditLog, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"rows":2', '"rows":0');
    writeFileSync(layout.auditLog, lines.join('\n'));
    await expect(landAudit(db, layout.auditLog)).rejects.toMatchObject({ code: 'audit.tampered', location: { file: layout.auditLog, line: 3 }, message: expect.stringMatching(/line 3 does not match its hash/) });
    expect(await db.scalar(`SELECT count(*) FROM ops.audit`)).toBe('5');
    expect(await db.scalar(`SELECT count(*) FROM duckdb_tables() WHERE temporary`)).toBe('0');
  });
});
