// Stable person ids in a real in-memory DuckDB: which earlier id each cluster keeps (continuity,
// merges keep the oldest, splits stay with the majority) and how new ids are derived.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { keptPersonIdsSql, newPersonIdSql } from '../../../transforms/linkage/personIds.ts';

let db: DuckDb;
beforeAll(async () => {
  db = await DuckDb.open(':memory:');
});
afterAll(() => db?.close());

interface Kept {
  /** The cluster, by record ids. */
  records: string[];
  person_id: string | null;
  earlier_ids: string[] | null;
}

/**
 * Loads the four input relations (records get rids in record id order; a cluster's label is its
 * smallest rid) and returns, per cluster, the id it keeps (null when new) and the earlier ids it holds.
 */
async function keptIds(clusters: string[][], previous: Record<string, string>, registry: Record<string, string>): Promise<Kept[]> {
  const recordIds = clusters.flat().sort();
  const rid = new Map(recordIds.map((id, i) => [id, i + 1]));
  const label = (cluster: string[]): number => Math.min(...cluster.map((id) => rid.get(id)!));
  const json = JSON.stringify;
  await db.run(`CREATE OR REPLACE TABLE records AS SELECT unnest(from_json($1::JSON, '["BIGINT"]')) AS rid, unnest(from_json($2::JSON, '["VARCHAR"]')) AS record_id`, [
    json(recordIds.map((id) => rid.get(id))),
    json(recordIds),
  ]);
  const memberships = clusters.flatMap((cluster) => cluster.map((id) => [rid.get(id)!, label(cluster)]));
  await db.run(`CREATE OR REPLACE TABLE clusters AS SELECT unnest(from_json($1::JSON, '["BIGINT"]')) AS rid, unnest(from_json($2::JSON, '["BIGINT"]')) AS label`, [
    json(memberships.map(([r]) => r)),
    json(memberships.map(([, l]) => l)),
  ]);
  await db.run(`CREATE OR REPLACE TABLE previous AS SELECT unnest(from_json($1::JSON, '["VARCHAR"]')) AS record_id, unnest(from_json($2::JSON, '["VARCHAR"]')) AS person_id`, [
    json(Object.keys(previous)),
    json(Object.values(previous)),
  ]);
  await db.run(
    `CREATE OR REPLACE TABLE registry AS SELECT unnest(from_json($1::JSON, '["VARCHAR"]')) AS person_id, CAST(unnest(from_json($2::JSON, '["VARCHAR"]')) AS TIMESTAMP) AS created_at`,
    [json(Object.keys(registry)), json(Object.values(registry))],
  );
  const rows = await db.all(`SELECT c.label, k.person_id, k.earlier_ids
FROM (SELECT DISTINCT label FROM clusters) c LEFT JOIN (${keptPersonIdsSql('clusters', 'records', 'previous', 'registry')}) k USING (label)
ORDER BY c.label`);
  const byLabel = new Map(rows.map((r) => [Number(r['label']), r]));
  return clusters.map((cluster) => {
    const row = byLabel.get(label(cluster))!;
    return { records: cluster, person_id: (row['person_id'] as string | null) ?? null, earlier_ids: (row['earlier_ids'] as string[] | null) ?? null };
  });
}

describe('keptPersonIdsSql', () => {
  const cases: {
    description: string;
    clusters: string[][];
    previous: Record<string, string>;
    registry: Record<string, string>;
    expected: { person_id: string | null; earlier_ids: string[] | null }[];
  }[] = [
    {
      description: 'a cluster keeps its earlier id, and a new record joining it takes that id',
      clusters: [['a1', 'a2', 'a3']],
      previous: { a1: 'P1', a2: 'P1' },
      registry: { P1: '2024-01-01 00:00:00' },
      expected: [{ person_id: 'P1', earlier_ids: ['P1'] }],
    },
    {
      description: 'a cluster with no earlier records is new',
      clusters: [['a1'], ['b1', 'b2']],
      previous: { a1: 'P1' },
      registry: { P1: '2024-01-01 00:00:00' },
      expected: [
        { person_id: 'P1', earlier_ids: ['P1'] },
        { person_id: null, earlier_ids: null },
      ],
    },
    {
      description: 'a merge of two earlier people keeps the one created first, listing both',
      clusters: [['a1', 'a2', 'a3', 'a4']],
      previous: { a1: 'PB', a2: 'PB', a3: 'PA' },
      registry: { PA: '2024-05-01 00:00:00', PB: '2023-01-01 00:00:00' },
      expected: [{ person_id: 'PB', earlier_ids: ['PA', 'PB'] }],
    },
    {
      description: 'a merge decided by creation time, not by record count',
      clusters: [['a1', 'a2', 'a3', 'a4']],
      previous: { a1: 'PB', a2: 'PB', a3: 'PB', a4: 'PA' },
      registry: { PA: '2020-02-02 00:00:00', PB: '2023-01-01 00:00:00' },
      expected: [{ person_id: 'PA', earlier_ids: ['PA', 'PB'] }],
    },
    {
      description: 'a merge where one id is missing from the registry: the registered one is older',
      clusters: [['a1', 'a2']],
      previous: { a1: 'P0', a2: 'P9' },
      registry: { P9: '2024-01-01 00:00:00' },
      expected: [{ person_id: 'P9', earlier_ids: ['P0', 'P9'] }],
    },
    {
      description: 'a merge of ids created at the same moment keeps the smaller id',
      clusters: [['a1', 'a2']],
      previous: { a1: 'PZ', a2: 'PY' },
      registry: { PY: '2024-01-01 00:00:00', PZ: '2024-01-01 00:00:00' },
      expected: [{ person_id: 'PY', earlier_ids: ['PY', 'PZ'] }],
    },
    {
      description: 'a split earlier person stays with the cluster holding most of their records',
      clusters: [['a1'], ['a2', 'a3']],
      previous: { a1: 'P1', a2: 'P1', a3: 'P1' },
      registry: { P1: '2024-01-01 00:00:00' },
      expected: [
        { person_id: null, earlier_ids: null },
        { person_id: 'P1', earlier_ids: ['P1'] },
      ],
    },
    {
      description: 'a split into equal halves: the cluster with the smaller label keeps the id',
      clusters: [['a2'], ['a1']],
      previous: { a1: 'P1', a2: 'P1' },
      registry: { P1: '2024-01-01 00:00:00' },
      expected: [
        { person_id: null, earlier_ids: null },
        { person_id: 'P1', earlier_ids: ['P1'] },
      ],
    },
    {
      description: 'a split and a merge at once: each earlier person goes to their majority cluster',
      clusters: [
        ['a1', 'b1', 'b2'],
        ['a2', 'a3'],
      ],
      previous: { a1: 'P1', a2: 'P1', a3: 'P1', b1: 'P2', b2: 'P2' },
      registry: { P1: '2023-01-01 00:00:00', P2: '2024-01-01 00:00:00' },
      expected: [
        { person_id: 'P2', earlier_ids: ['P2'] },
        { person_id: 'P1', earlier_ids: ['P1'] },
      ],
    },
  ];

  it.each(cases)('$description', async ({ clusters, previous, registry, expected }) => {
    const kept = await keptIds(clusters, previous, registry);
    expect(kept.map(({ person_id, earlier_ids }) => ({ person_id, earlier_ids }))).toEqual(expected);
  });

  it('every earlier id ends up in exactly one cluster', async () => {
    const kept = await keptIds(
      [['a1', 'b1'], ['a2', 'c1'], ['c2', 'c3'], ['d1']],
      { a1: 'PA', a2: 'PA', b1: 'PB', c1: 'PC', c2: 'PC', c3: 'PC' },
      { PA: '2022-01-01 00:00:00', PB: '2021-01-01 00:00:00', PC: '2023-01-01 00:00:00' },
    );
    const all = kept.flatMap((k) => k.earlier_ids ?? []);
    expect(all.sort()).toEqual(['PA', 'PB', 'PC']);
  });
});

describe('newPersonIdSql', () => {
  const md5Id = (text: string): string => `P${createHash('md5').update(text).digest('hex').slice(0, 12).toUpperCase()}`;

  const cases = [
    { description: 'a plain record id', recordId: 'pas-000123', salt: 0, expected: md5Id('pas-000123') },
    { description: 'another record id gives another id', recordId: 'pas-000124', salt: 0, expected: md5Id('pas-000124') },
    { description: 'salt 1 appends #1 before hashing', recordId: 'pas-000123', salt: 1, expected: md5Id('pas-000123#1') },
    { description: 'salt 2 appends #2', recordId: 'pas-000123', salt: 2, expected: md5Id('pas-000123#2') },
  ];

  it.each(cases)('$description: P + 12 upper-case hex of the MD5', async ({ recordId, salt, expected }) => {
    const sql = `SELECT ${newPersonIdSql('first_record', salt)} AS id FROM (SELECT CAST($1 AS VARCHAR) AS first_record)`;
    const first = await db.scalar(sql, [recordId]);
    expect(first).toMatch(/^P[0-9A-F]{12}$/);
    expect(first).toBe(expected);
    // Deterministic: the same record id gives the same person id on every run.
    expect(await db.scalar(sql, [recordId])).toBe(first);
  });

  it('ids for many record ids are all well formed and distinct', async () => {
    const rows = await db.all(`SELECT ${newPersonIdSql('first_record', 0)} AS id FROM (SELECT 'rec-' || i AS first_record FROM range(5000) t(i))`);
    const ids = rows.map((r) => String(r['id']));
    expect(ids.every((id) => /^P[0-9A-F]{12}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
