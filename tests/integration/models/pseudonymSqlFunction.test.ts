// `pseudonym(kind, value)` on a real DuckDB connection: the same token the serving publish makes for
// every kind, NULL where the Pseudonymiser gives none, a clear error for an unknown kind that does not
// echo the value, and nothing of it left in the database file for another connection to find.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb, withDuckDb } from '../../../core/duckdb.ts';
import { IDENTIFIER_KINDS, Pseudonymiser, type IdentifierKind } from '../../../transforms/pseudonymisation/pseudonymiser.ts';
import { registerPseudonymFunction } from '../../../transforms/pseudonymisation/pseudonymSqlFunction.ts';

const pseudonymiser = new Pseudonymiser(Buffer.alloc(32, 3));

describe('pseudonym() in SQL', () => {
  let dir: string;
  let db: DuckDb;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carelake-pseudonym-sql-'));
    db = await DuckDb.open(join(dir, 'w.duckdb'));
    registerPseudonymFunction(db, pseudonymiser);
  });
  afterAll(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: { description: string; kind: IdentifierKind; value: string | null }[] = [
    ...IDENTIFIER_KINDS.map((kind) => ({ description: `${kind}: the Pseudonymiser's token`, kind, value: ' ab 12 ' })),
    { description: 'a valid NHS number is tokenised', kind: 'nhs_number', value: '943 476 5919' },
    { description: 'an invalid NHS number gives NULL, as in serving', kind: 'nhs_number', value: '9434765918' },
    { description: 'NULL gives NULL', kind: 'esr_person', value: null },
  ];
  it.each(cases)('$description', async ({ kind, value }) => {
    expect(await db.scalar(`SELECT pseudonym(?, ?::VARCHAR)`, [kind, value])).toBe(pseudonymiser.token(kind, value));
  });

  it('tokenises a column in one pass, row by row', async () => {
    const rows = await db.all(`SELECT v, pseudonym('esr_employee', v) AS t FROM (SELECT (i % 5000)::VARCHAR AS v FROM range(20000) r(i)) ORDER BY v LIMIT 3`);
    for (const row of rows) expect(row.t).toBe(pseudonymiser.token('esr_employee', String(row.v)));
  });

  it('refuses an unknown kind without repeating the value', async () => {
    const failure = db.scalar(`SELECT pseudonym(?, ?)`, ['passport', 'AB1234567']);
    await expect(failure).rejects.toThrow(/kind must be one of/);
    await expect(failure).rejects.not.toThrow(/AB1234567/);
  });

  it('is not in the database file: another connection does not have it', async () => {
    await db.run(`CREATE TABLE t AS SELECT pseudonym('esr_person', '42') AS k`);
    await db.run('CHECKPOINT');
    db.close();
    try {
      await withDuckDb(join(dir, 'w.duckdb'), { readOnly: true }, async (other) => {
        expect(await other.scalar(`SELECT k FROM t`)).toBe(pseudonymiser.token('esr_person', '42'));
        await expect(other.scalar(`SELECT pseudonym('esr_person', '42')`)).rejects.toThrow(/pseudonym does not exist/);
      });
    } finally {
      db = await DuckDb.open(join(dir, 'w.duckdb'));
      registerPseudonymFunction(db, pseudonymiser);
    }
  });
});
