import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditShowCommand, auditVerifyCommand } from '../../../cli/commands/audit.ts';
import type { Console } from '../../../cli/console.ts';
import { commandContext, type CommandContext } from '../../../cli/context.ts';
import type { AuditEntry } from '../../../warehouse/audit/auditEntry.ts';
import { AuditLog } from '../../../warehouse/audit/auditLog.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();

async function lakeContext(): Promise<CommandContext> {
  const dir = mkdtempSync(join(tmpdir(), 'carelake-audit-cli-'));
  writeFileSync(join(dir, 'carelake.yml'), 'lake: ./lake\n');
  return commandContext({ config: join(dir, 'carelake.yml') });
}

function capture(): { out: Console; info: string[]; warn: string[] } {
  const info: string[] = [];
  const warn: string[] = [];
  return { out: { info: (l) => info.push(l), warn: (l) => warn.push(l), progress: () => {}, done: () => {} }, info, warn };
}

async function seed(ctx: CommandContext): Promise<void> {
  const log = AuditLog.open(ctx.layout.auditLog);
  const base = { endpoint: 'POST /api/query', durationMs: 4, status: 200, requestId: 'r' } as const;
  await log.append({ ...base, at: hoursAgo(72), principal: 'key:ab12cd', role: 'analyst', query: 'select 1', rows: 1, outcome: 'ok' });
  await log.append({ ...base, at: hoursAgo(30), principal: 'jwt:4f2a:alice', role: 'commissioner', query: 'select * from marts.x', outcome: 'denied', status: 403, error: 'auth.forbidden' });
  await log.append({ ...base, at: hoursAgo(10), principal: 'key:ab12cd', role: 'analyst', query: 'drop table x', outcome: 'refused', status: 400, error: 'query.not-select' });
  await log.append({ ...base, at: hoursAgo(0.25), principal: 'jwt:4f2a:bob', role: 'commissioner', endpoint: 'GET /api/reports/:id', reportId: 'ae-by-month', rows: 12, outcome: 'ok' });
  await log.close();
}

describe('carelake audit show', () => {
  it('filters by --since (span or ISO), principal and outcome', async () => {
    const ctx = await lakeContext();
    await seed(ctx);
    const show = async (options: Partial<Parameters<typeof auditShowCommand>[1]>) =>
      (await auditShowCommand(ctx, { since: '24h', format: 'table', now: NOW, ...options }, capture().out)).map((e) => e.seq);

    expect(await show({ since: '24h' })).toEqual([3, 4]);
    expect(await show({ since: '30m' })).toEqual([4]);
    expect(await show({ since: '7d' })).toEqual([1, 2, 3, 4]);
    expect(await show({ since: '2026-03-08T12:00Z' })).toEqual([2, 3, 4]);
    expect(await show({ since: '2026-03-09' })).toEqual([2, 3, 4]);
    expect(await show({ since: '2026-03-10' })).toEqual([3, 4]);
    expect(await show({ since: '7d', principal: 'key:ab12cd' })).toEqual([1, 3]);
    expect(await show({ since: '7d', principal: 'jwt:*' })).toEqual([2, 4]);
    expect(await show({ since: '7d', outcome: 'denied' })).toEqual([2]);
    await expect(show({ outcome: 'bad' })).rejects.toMatchObject({ code: 'audit.outcome', kind: 'config' });
    await expect(show({ since: 'last week' })).rejects.toMatchObject({ code: 'audit.since', kind: 'config' });
  });

  it('prints a table or a JSON array', async () => {
    const ctx = await lakeContext();
    await seed(ctx);
    const table = capture();
    await auditShowCommand(ctx, { since: '24h', format: 'table', now: NOW }, table.out);
    expect(table.info[0]).toMatch(/^seq +at +principal +role +endpoint +outcome +status +rows +ms +query \/ report/);
    expect(table.info[0]).toMatch(/refused .*drop table x/);
    expect(table.info[0]).toMatch(/report ae-by-month/);
    expect(table.info[0]).toMatch(/\(2 entries\)$/);

    const json = capture();
    await auditShowCommand(ctx, { since: '24h', format: 'json', now: NOW }, json.out);
    const parsed = JSON.parse(json.info[0]!) as AuditEntry[];
    expect(parsed.map((e) => [e.seq, e.outcome])).toEqual([
      [3, 'refused'],
      [4, 'ok'],
    ]);
  });

  it('warns, and shows only what verifies, when the log has been tampered with', async () => {
    const ctx = await lakeContext();
    await seed(ctx);
    const lines = readFileSync(ctx.layout.auditLog, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('drop table x', 'select 2    ');
    writeFileSync(ctx.layout.auditLog, lines.join('\n'));
    const c = capture();
    expect((await auditShowCommand(ctx, { since: '7d', format: 'table', now: NOW }, c.out)).map((e) => e.seq)).toEqual([1, 2]);
    expect(c.warn.join()).toMatch(/line 3 .*carelake audit verify/);
  });

  it('says so when nothing has been audited yet', async () => {
    const ctx = await lakeContext();
    const c = capture();
    expect(await auditShowCommand(ctx, { since: '24h', format: 'table', now: NOW }, c.out)).toEqual([]);
    expect(c.info[0]).toMatch(/\(0 entries\)/);
  });
});

describe('carelake audit verify', () => {
  it('reports an intact log and fails on a tampered one, naming the line', async () => {
    const ctx = await lakeContext();
    const none = capture();
    await auditVerifyCommand(ctx, none.out);
    expect(none.info[0]).toMatch(/No audit log yet/);

    await seed(ctx);
    const ok = capture();
    expect(await auditVerifyCommand(ctx, ok.out)).toMatchObject({ ok: true, entries: 4 });
    expect(ok.info[0]).toMatch(/^Audit log OK: 4 entries/);

    const lines = readFileSync(ctx.layout.auditLog, 'utf8').split('\n');
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    writeFileSync(ctx.layout.auditLog, lines.join('\n'));
    const err = await auditVerifyCommand(ctx, capture().out).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'audit.tampered', kind: 'runtime', location: { file: ctx.layout.auditLog, line: 2 } });
    expect((err as Error).message).toMatch(/line 2 has seq 3 where 2 was expected/);
    expect((err as { render(): string }).render()).toMatch(/audit\.jsonl:2/);
  });
});
