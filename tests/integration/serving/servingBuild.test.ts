// Publishing serving releases against real DuckDB files in a temp lake: tokenisation, minimisation,
// atomic pointer switch, readers keeping old files, pruning, and refusal of identifier columns.

import { readdir, readFile, stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DuckDb, withDuckDb } from '../../../core/duckdb.ts';
import { CarelakeError } from '../../../core/errors.ts';
import { quoteIdent } from '../../../core/sql.ts';
import { DISCLOSURE_POLICIES } from '../../../warehouse/disclosure/policy.ts';
import { publishServingRelease, type PublishServingOptions } from '../../../warehouse/publish/servingBuild.ts';
import { readServingPointer } from '../../../warehouse/serving/servingPointer.ts';
import { ServingReader } from '../../../warehouse/serving/servingReader.ts';
import { analystTables, BUILT_AT, commissionerTables, INVALID_NHS, makeLake, MASTER_KEY, MRNS, PROJECT_KEY, type TestLake, VALID_NHS } from './fixtures.ts';

let lake: TestLake;

beforeEach(async () => {
  lake = await makeLake();
});
afterEach(async () => {
  await lake.cleanup();
});

function publish(releaseId: string, overrides: Partial<PublishServingOptions> = {}) {
  return publishServingRelease({
    warehouse: lake.warehouse,
    layout: lake.layout,
    role: 'analyst',
    releaseId,
    tables: analystTables,
    pseudonymiser: lake.pseudonymiser,
    builtAt: BUILT_AT,
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<CarelakeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CarelakeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

async function servingFiles(): Promise<string[]> {
  return (await readdir(lake.layout.serving)).filter((name) => name.endsWith('.duckdb')).sort();
}

/** `table.column` for every VARCHAR (or VARCHAR[]) column containing any of the values as a substring. */
async function identifierHits(db: DuckDb, values: readonly string[]): Promise<string[]> {
  const columns = await db.all(
    `SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND database_name = current_database() AND data_type IN ('VARCHAR', 'VARCHAR[]')`,
  );
  expect(columns.length).toBeGreaterThan(0);
  const hits: string[] = [];
  for (const { table_name, column_name } of columns) {
    const column = quoteIdent(String(column_name));
    const count = await db.scalar(
      `SELECT count(*) FROM ${quoteIdent(String(table_name))} WHERE EXISTS (SELECT 1 FROM unnest(string_split($1, '|')) AS s(v) WHERE contains(CAST(${column} AS VARCHAR), s.v))`,
      [values.join('|')],
    );
    if (count !== '0') hits.push(`${String(table_name)}.${String(column_name)}`);
  }
  return hits;
}

describe('publishServingRelease', () => {
  it('builds the file, then points the role at it', async () => {
    const result = await publish('r1');
    expect(result.file).toBe(lake.layout.servingFile('analyst', 'r1'));
    expect(result.tables).toEqual([{ name: 'srv_patient', rows: VALID_NHS.length + 2 }]);
    expect((await stat(result.file)).isFile()).toBe(true);

    const pointer = await readServingPointer(lake.layout);
    expect(pointer?.releases.analyst).toEqual({ releaseId: 'r1', file: 'analyst-r1.duckdb', publishedAt: result.publishedAt });
    // Nothing is left half-built in tmp.
    expect(await readdir(lake.layout.tmp)).toEqual([]);
  });

  it('replaces identifiers with keyed tokens in place, drops and minimises the rest', async () => {
    const { file } = await publish('r1');
    await withDuckDb(file, { readOnly: true }, async (db) => {
      const tables = await db.all(`SELECT table_name, comment FROM duckdb_tables() ORDER BY table_name`);
      // The token mapping tables lived only in the build connection's temp catalog.
      expect(tables.map((t) => t.table_name)).toEqual(['_release', 'srv_patient']);
      expect(tables.find((t) => t.table_name === 'srv_patient')?.comment).toContain('tokens');

      const { columns } = await db.table('SELECT * FROM srv_patient LIMIT 0');
      expect(columns).toEqual(['patient_token', 'mrn_token', 'birth_year', 'postcode_district', 'sex', 'category']);

      const rows = await db.all('SELECT patient_token, mrn_token FROM srv_patient');
      const tokens = new Set(rows.map((r) => r.patient_token));
      for (const [i, nhs] of VALID_NHS.entries()) {
        expect(tokens.has(lake.pseudonymiser.token('nhs_number', nhs))).toBe(true);
        expect(rows.some((r) => r.mrn_token === lake.pseudonymiser.token('mrn', MRNS[i]!))).toBe(true);
      }
      // Invalid and missing NHS numbers keep their row but get no token.
      expect(rows.filter((r) => r.patient_token === null)).toHaveLength(2);
      expect(lake.pseudonymiser.token('nhs_number', INVALID_NHS)).toBeNull();

      const release = await db.all('SELECT release_id, role, built_at, disclosure_policy, disclosure_rules, tables FROM _release');
      expect(release).toEqual([
        { release_id: 'r1', role: 'analyst', built_at: BUILT_AT, disclosure_policy: 'hes', disclosure_rules: JSON.stringify(DISCLOSURE_POLICIES.hes), tables: ['srv_patient'] },
      ]);
    });
  });

  it('leaves no raw identifier in any VARCHAR column and no key bytes in the file', async () => {
    const { file } = await publish('r1');
    const identifiers = [...VALID_NHS, INVALID_NHS, ...MRNS, 'Given0', 'LS1 4AP'];
    // The scan is checked against the warehouse, where it must find the identifiers.
    expect((await identifierHits(lake.warehouse, identifiers)).length).toBeGreaterThan(0);
    await withDuckDb(file, { readOnly: true }, async (db) => {
      expect(await identifierHits(db, identifiers)).toEqual([]);
    });
    const bytes = await readFile(file);
    for (const key of [PROJECT_KEY, MASTER_KEY]) {
      expect(bytes.includes(key.toString('hex'))).toBe(false);
      expect(bytes.includes(key.toString('hex').toUpperCase())).toBe(false);
      expect(bytes.includes(key)).toBe(false);
    }
    for (const nhs of VALID_NHS) expect(bytes.includes(nhs)).toBe(false);
  });

  it('switches the pointer to a new release while a reader holding the old file still reads it', async () => {
    await publish('r1', { keep: 1 });
    const reader = new ServingReader(lake.layout, 'analyst');
    try {
      const seenDuringPublish = await reader.use(async (db, release) => {
        expect(release.releaseId).toBe('r1');
        const second = await publish('r2', { keep: 1 });
        // keep = 1 deletes r1 from the folder while this connection still has it open.
        expect(second.pruned).toEqual([lake.layout.servingFile('analyst', 'r1')]);
        expect((await readServingPointer(lake.layout))?.releases.analyst?.releaseId).toBe('r2');
        return { release: await db.scalar('SELECT release_id FROM _release'), rows: Number(await db.scalar('SELECT count(*) FROM srv_patient')) };
      });
      expect(seenDuringPublish).toEqual({ release: 'r1', rows: VALID_NHS.length + 2 });
      expect(await reader.use(async (db) => db.scalar('SELECT release_id FROM _release'))).toBe('r2');
      expect(await servingFiles()).toEqual(['analyst-r2.duckdb']);
    } finally {
      reader.close();
    }
  });

  it('keeps the newest `keep` releases of the role and leaves other roles alone', async () => {
    await publishServingRelease({
      warehouse: lake.warehouse,
      layout: lake.layout,
      role: 'commissioner',
      releaseId: 'c1',
      tables: commissionerTables,
      pseudonymiser: lake.pseudonymiser,
    });
    for (const id of ['r1', 'r2', 'r3']) await publish(id);
    expect(await servingFiles()).toEqual(['analyst-r1.duckdb', 'analyst-r2.duckdb', 'analyst-r3.duckdb', 'commissioner-c1.duckdb']);
    const fourth = await publish('r4');
    expect(fourth.pruned).toEqual([lake.layout.servingFile('analyst', 'r1')]);
    await publish('r5', { keep: 2 });
    expect(await servingFiles()).toEqual(['analyst-r4.duckdb', 'analyst-r5.duckdb', 'commissioner-c1.duckdb']);
    const pointer = await readServingPointer(lake.layout);
    expect(pointer?.releases.analyst?.releaseId).toBe('r5');
    expect(pointer?.releases.commissioner?.releaseId).toBe('c1');
  });

  const refusals = [
    {
      description: 'an untokenised NHS number',
      tables: [{ name: 'srv_bad', sql: 'SELECT nhs_number, category FROM dim_patient' }],
      mentions: ["column 'nhs_number'"],
    },
    {
      description: 'a postcode and a name together, both reported',
      tables: [{ name: 'srv_bad', sql: 'SELECT postcode, given_name AS name, sex FROM dim_patient' }],
      mentions: ["column 'postcode'", "column 'name'"],
    },
    {
      description: 'a raw birth date behind a qualifying prefix',
      tables: [{ name: 'srv_bad', sql: 'SELECT birth_date AS patient_birth_date FROM dim_patient' }],
      mentions: ["column 'patient_birth_date'"],
    },
    {
      description: 'a token column named like the identifier it replaces',
      tables: [{ name: 'srv_bad', sql: 'SELECT nhs_number, sex FROM dim_patient', tokens: [{ column: 'nhs_number', from: 'nhs_number', kind: 'nhs_number' as const }] }],
      mentions: ["token column 'nhs_number'"],
    },
    {
      description: 'a token reading a column the SELECT lacks',
      tables: [{ name: 'srv_bad', sql: 'SELECT sex FROM dim_patient', tokens: [{ column: 't', from: 'nhs', kind: 'nhs_number' as const }] }],
      mentions: ["reads 'nhs'"],
    },
  ];
  it.each(refusals)('refuses $description before building anything', async ({ tables, mentions }) => {
    const err = await rejection(publish('bad', { tables }));
    expect(err.code).toBe('serving.invalid-release');
    for (const text of mentions) expect(err.message).toContain(text);
    expect(await readServingPointer(lake.layout)).toBeNull();
    await expect(stat(lake.layout.servingFile('analyst', 'bad'))).rejects.toThrow();
  });

  it('refuses to overwrite an existing release', async () => {
    await publish('r1');
    const err = await rejection(publish('r1'));
    expect(err.code).toBe('serving.release-exists');
    expect(err.message).toContain('r1');
  });

  it('cleans up and keeps the old pointer when a table fails to build', async () => {
    await publish('r1');
    const err = await rejection(
      publish('r2', { tables: [...analystTables, { name: 'srv_broken', sql: 'SELECT 1 / 0 AS x, CAST(category AS INTEGER) AS y FROM dim_patient' }] }),
    );
    expect(err.render()).toContain('srv_broken');
    expect((await readServingPointer(lake.layout))?.releases.analyst?.releaseId).toBe('r1');
    expect(await servingFiles()).toEqual(['analyst-r1.duckdb']);
    expect(await readdir(lake.layout.tmp)).toEqual([]);
    // The warehouse connection is still usable and holds no leftover token tables.
    expect(await lake.warehouse.scalar(`SELECT count(*) FROM duckdb_tables() WHERE database_name = 'temp'`)).toBe('0');
  });
});
