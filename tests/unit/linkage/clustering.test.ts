// Clustering: the in-memory constrained union-find that honours cannot-links (two verified NHS numbers
// never share a person), and the SQL connected components (label propagation with pointer jumping) run
// to convergence in a real in-memory DuckDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import {
  changedLabelsSql,
  clusterWithCannotLinks,
  conflictingComponentsSql,
  initialLabelsSql,
  LINK_PRIORITY,
  propagateLabelsSql,
  type CandidateLink,
} from '../../../transforms/linkage/clustering.ts';

const { merge, deterministic, probabilistic } = LINK_PRIORITY;

function link(a: number, b: number, priority: number, probability: number): CandidateLink {
  return { a, b, priority, probability };
}

describe('clusterWithCannotLinks', () => {
  const cases: {
    description: string;
    nodes: number[];
    links: CandidateLink[];
    verified: Record<number, string>;
    labels: Record<number, number>;
    refused: CandidateLink[];
  }[] = [
    {
      description: 'strongest link first: the stronger pair claims the shared record',
      nodes: [1, 2, 3],
      links: [link(1, 2, probabilistic, 0.96), link(2, 3, probabilistic, 0.99)],
      verified: { 1: 'A', 3: 'B' },
      labels: { 1: 1, 2: 2, 3: 2 },
      refused: [link(1, 2, probabilistic, 0.96)],
    },
    {
      description: 'strongest link first, the other way round',
      nodes: [1, 2, 3],
      links: [link(2, 3, probabilistic, 0.96), link(1, 2, probabilistic, 0.99)],
      verified: { 1: 'A', 3: 'B' },
      labels: { 1: 1, 2: 1, 3: 3 },
      refused: [link(2, 3, probabilistic, 0.96)],
    },
    {
      description: 'a merge (priority 3) beats a more probable probabilistic link',
      nodes: [1, 2, 3],
      links: [link(1, 2, probabilistic, 0.999), link(2, 3, merge, 0.5)],
      verified: { 1: 'A', 3: 'B' },
      labels: { 1: 1, 2: 2, 3: 2 },
      refused: [link(1, 2, probabilistic, 0.999)],
    },
    {
      description: 'a deterministic link beats a probabilistic one',
      nodes: [1, 2, 3],
      links: [link(1, 2, probabilistic, 0.999), link(2, 3, deterministic, 1)],
      verified: { 1: 'A', 3: 'B' },
      labels: { 1: 1, 2: 2, 3: 2 },
      refused: [link(1, 2, probabilistic, 0.999)],
    },
    {
      description: 'a direct link between two verified numbers is refused',
      nodes: [1, 2],
      links: [link(1, 2, probabilistic, 0.999)],
      verified: { 1: 'A', 2: 'B' },
      labels: { 1: 1, 2: 2 },
      refused: [link(1, 2, probabilistic, 0.999)],
    },
    {
      description: 'the same verified number on both sides is no conflict',
      nodes: [1, 2],
      links: [link(1, 2, probabilistic, 0.97)],
      verified: { 1: 'A', 2: 'A' },
      labels: { 1: 1, 2: 1 },
      refused: [],
    },
    {
      description: 'a chain without verified numbers becomes one cluster, labelled by its smallest node',
      nodes: [4, 3, 2, 1],
      links: [link(3, 4, probabilistic, 0.97), link(2, 3, probabilistic, 0.98), link(1, 2, probabilistic, 0.99)],
      verified: {},
      labels: { 1: 1, 2: 1, 3: 1, 4: 1 },
      refused: [],
    },
    {
      description: 'a chain between two verified numbers breaks at its weakest link',
      nodes: [1, 2, 3, 4],
      links: [link(1, 2, probabilistic, 0.99), link(2, 3, probabilistic, 0.97), link(3, 4, probabilistic, 0.98)],
      verified: { 1: 'A', 4: 'B' },
      labels: { 1: 1, 2: 1, 3: 3, 4: 3 },
      refused: [link(2, 3, probabilistic, 0.97)],
    },
    {
      description: 'a cluster keeps the verified number it gained from a merge',
      nodes: [1, 2, 3, 4],
      links: [link(2, 3, merge, 1), link(3, 4, probabilistic, 0.99), link(1, 2, probabilistic, 0.98)],
      verified: { 1: 'A', 4: 'B' },
      labels: { 1: 1, 2: 2, 3: 2, 4: 2 },
      refused: [link(1, 2, probabilistic, 0.98)],
    },
    {
      description: 'a link inside a cluster already joined is neither taken again nor refused',
      nodes: [1, 2, 3],
      links: [link(1, 2, probabilistic, 0.99), link(2, 3, probabilistic, 0.98), link(1, 3, probabilistic, 0.97)],
      verified: { 1: 'A' },
      labels: { 1: 1, 2: 1, 3: 1 },
      refused: [],
    },
    {
      description: 'a node without links stays on its own',
      nodes: [1, 2, 9],
      links: [link(1, 2, probabilistic, 0.99)],
      verified: { 9: 'A', 1: 'B' },
      labels: { 1: 1, 2: 1, 9: 9 },
      refused: [],
    },
    {
      description: 'equal priority and probability: the smaller node pair goes first',
      nodes: [1, 2, 3],
      links: [link(2, 3, probabilistic, 0.98), link(1, 2, probabilistic, 0.98)],
      verified: { 1: 'A', 3: 'B' },
      labels: { 1: 1, 2: 1, 3: 3 },
      refused: [link(2, 3, probabilistic, 0.98)],
    },
  ];

  it.each(cases)('$description', ({ nodes, links, verified, labels, refused }) => {
    const result = clusterWithCannotLinks(nodes, links, new Map(Object.entries(verified).map(([n, v]) => [Number(n), v])));
    expect(Object.fromEntries(result.labels)).toEqual(labels);
    expect(result.refused).toEqual(refused);
  });

  it('does not reorder the caller’s links', () => {
    const links = [link(1, 2, probabilistic, 0.5), link(2, 3, merge, 1)];
    const copy = links.map((l) => ({ ...l }));
    clusterWithCannotLinks([1, 2, 3], links, new Map());
    expect(links).toEqual(copy);
  });
});

describe('connected components in SQL', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
  });
  afterAll(() => db?.close());

  /** Loads undirected edges (both directions, as the runner writes them) and runs rounds until nothing changes. */
  async function components(edges: readonly [number, number][], roundCap = 1000): Promise<{ labels: Map<number, number>; rounds: number; converged: boolean }> {
    await db.run('CREATE OR REPLACE TABLE edges (rid_a BIGINT, rid_b BIGINT)');
    await db.run(
      `INSERT INTO edges SELECT a, b FROM (SELECT unnest($1::BIGINT[]) AS a, unnest($2::BIGINT[]) AS b) UNION ALL SELECT b, a FROM (SELECT unnest($1::BIGINT[]) AS a, unnest($2::BIGINT[]) AS b)`,
      [edges.map(([a]) => String(a)), edges.map(([, b]) => String(b))].map((list) => `[${list.join(',')}]`),
    );
    await db.run(`CREATE OR REPLACE TABLE labels AS ${initialLabelsSql('edges')}`);
    let rounds = 0;
    let converged = false;
    while (!converged && rounds < roundCap) {
      rounds++;
      await db.run(`CREATE OR REPLACE TABLE labels_next AS ${propagateLabelsSql('labels', 'edges')}`);
      const changed = Number(await db.scalar(changedLabelsSql('labels', 'labels_next')));
      await db.run('DROP TABLE labels; ALTER TABLE labels_next RENAME TO labels');
      converged = changed === 0;
    }
    const rows = await db.all('SELECT rid, label FROM labels');
    return { labels: new Map(rows.map((r) => [Number(r['rid']), Number(r['label'])])), rounds, converged };
  }

  /** The expected answer: each node labelled with its component's smallest node (by a plain union-find). */
  function minLabels(edges: readonly [number, number][]): Map<number, number> {
    const parent = new Map<number, number>();
    const find = (n: number): number => {
      if (!parent.has(n)) parent.set(n, n);
      while (parent.get(n) !== n) n = parent.get(n)!;
      return n;
    };
    for (const [a, b] of edges) {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
    }
    return new Map([...parent.keys()].map((n) => [n, find(n)]));
  }

  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
  /** 1…n in an order fixed by a seeded Fisher–Yates shuffle (mulberry32), so rids along a path are not sorted. */
  const shuffled = (n: number, seed: number): number[] => {
    let a = seed >>> 0;
    const random = (): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const nodes = range(n);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
    }
    return nodes;
  };
  const path = (nodes: readonly number[]): [number, number][] => nodes.slice(1).map((node, i) => [nodes[i]!, node]);

  const cases: { description: string; edges: [number, number][]; components: number; maxRounds: number }[] = [
    { description: 'a long chain in rid order (1-2-…-1000)', edges: path(range(1000)), components: 1, maxRounds: 12 },
    { description: 'a long chain with the smallest rid at the far end', edges: path(range(1000).reverse()), components: 1, maxRounds: 12 },
    { description: 'a star whose centre is not the smallest rid', edges: range(500).filter((n) => n !== 250).map((n) => [250, n] as [number, number]), components: 1, maxRounds: 4 },
    {
      description: 'several components: chain, star, pair and triangle',
      edges: [...path([10, 11, 12, 13, 14]), [30, 21], [30, 22], [30, 23], [40, 41], [50, 51], [51, 52], [52, 50]],
      components: 4,
      maxRounds: 6,
    },
  ];

  it.each(cases)('$description: every node gets its component’s smallest rid', async ({ edges, components: count, maxRounds }) => {
    const { labels, rounds } = await components(edges);
    const expected = minLabels(edges);
    expect(labels).toEqual(expected);
    expect(new Set(labels.values()).size).toBe(count);
    // Pointer jumping: about log2(length) rounds, not one round per hop.
    expect(rounds).toBeLessThanOrEqual(maxRounds);
  });

  it('a long chain visiting rids in shuffled order still ends with the smallest rid everywhere', async () => {
    const edges = path(shuffled(1000, 7));
    const { labels, converged } = await components(edges);
    expect(converged).toBe(true);
    expect(labels).toEqual(minLabels(edges));
  });

  // With rids in random order along a chain, plain min-label spreading creeps one hop a round;
  // hooking each label's own node onto the smallest label its holders saw keeps it logarithmic.
  it('a chain in random rid order settles within the runner’s rounds', async () => {
    const edges = path(shuffled(500, 500));
    const { labels, converged } = await components(edges, 64);
    expect(converged).toBe(true);
    expect(labels).toEqual(minLabels(edges));
  });

  it('conflictingComponentsSql finds components holding two verified NHS numbers', async () => {
    await db.run(`CREATE OR REPLACE TABLE comp (rid BIGINT, label BIGINT);
INSERT INTO comp VALUES (1, 1), (2, 1), (3, 1), (4, 4), (5, 4), (6, 6), (7, 6);
CREATE OR REPLACE TABLE recs (rid BIGINT, nhs_number VARCHAR, nhs_number_verified BOOLEAN);
INSERT INTO recs VALUES (1, '9434765919', true), (2, NULL, false), (3, '4010232137', true),
  (4, '9434765919', true), (5, '9434765919', true),
  (6, '9434765919', true), (7, '4010232137', false)`);
    const rows = await db.all(conflictingComponentsSql('comp', 'recs'));
    // 1: two verified numbers; 4: the same one twice; 6: the second number is not verified.
    expect(rows.map((r) => Number(r['label']))).toEqual([1]);
  });
});
