// Clustering linked pairs into people. Connected components run in SQL by min-label propagation with
// pointer jumping (each round halves the remaining distance, so a chain of length d settles in about
// log2 d rounds). A component holding two different verified NHS numbers breaks the cannot-link rule;
// only those few components are re-clustered here, in TypeScript, by a union-find that takes the
// strongest links first (merges, then deterministic, then by probability) and refuses any link that
// would put two verified numbers together. Pure: SQL text and an in-memory algorithm.

/** The edge table is `(rid_a, rid_b)` with each link in both directions; labels start as each node's own rid. */
export function initialLabelsSql(edges: string): string {
  return `SELECT DISTINCT rid_a AS rid, rid_a AS label FROM ${edges}`;
}

/**
 * One propagation round: each node takes the smallest label among itself and its neighbours; each
 * label's own node (the label is a node id) takes the smallest label any of its holders saw, which
 * hooks whole trees onto smaller ones; then every node jumps to its label's label. Labels only fall
 * and never leave a component, so no change in a round means every component has one label.
 */
export function propagateLabelsSql(labels: string, edges: string): string {
  return `WITH spread AS (
  SELECT n.rid, n.label, least(n.label, min(nb.label)) AS best
  FROM ${labels} n JOIN ${edges} e ON e.rid_a = n.rid JOIN ${labels} nb ON nb.rid = e.rid_b
  GROUP BY n.rid, n.label
),
hook AS (SELECT label AS rid, min(best) AS best FROM spread GROUP BY label),
hooked AS (
  SELECT s.rid, least(s.best, coalesce(h.best, s.best), coalesce(own.best, s.best)) AS label
  FROM spread s LEFT JOIN hook h ON h.rid = s.label LEFT JOIN hook own ON own.rid = s.rid
)
SELECT m.rid, least(m.label, coalesce(j.label, m.label)) AS label FROM hooked m LEFT JOIN hooked j ON j.rid = m.label`;
}

export function changedLabelsSql(before: string, after: string): string {
  return `SELECT count(*) FROM ${before} b JOIN ${after} a USING (rid) WHERE a.label <> b.label`;
}

/** Components whose records hold more than one distinct verified NHS number. */
export function conflictingComponentsSql(labels: string, records: string): string {
  return `SELECT c.label FROM ${labels} c JOIN ${records} r USING (rid)
WHERE r.nhs_number_verified GROUP BY c.label HAVING count(DISTINCT r.nhs_number) > 1`;
}

export interface CandidateLink {
  a: number;
  b: number;
  /** Higher first: 3 merge, 2 deterministic, 1 probabilistic. */
  priority: number;
  probability: number;
}

export const LINK_PRIORITY = { merge: 3, deterministic: 2, probabilistic: 1 } as const;

export interface ConstrainedClusters {
  /** Node → the smallest node of its cluster. */
  labels: Map<number, number>;
  /** Links refused because they would join two verified NHS numbers. */
  refused: CandidateLink[];
}

/**
 * Greedy constrained clustering of one component: links strongest first, each taken unless the two
 * clusters already hold different verified NHS numbers. `verified` gives a node's verified number.
 */
export function clusterWithCannotLinks(nodes: readonly number[], links: readonly CandidateLink[], verified: ReadonlyMap<number, string>): ConstrainedClusters {
  const parent = new Map<number, number>(nodes.map((n) => [n, n]));
  const numbers = new Map<number, string | undefined>(nodes.map((n) => [n, verified.get(n)]));
  const find = (n: number): number => {
    let root = n;
    while (parent.get(root) !== root) root = parent.get(root)!;
    let node = n;
    while (node !== root) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const refused: CandidateLink[] = [];
  const ordered = [...links].sort((x, y) => y.priority - x.priority || y.probability - x.probability || x.a - y.a || x.b - y.b);
  for (const link of ordered) {
    const ra = find(link.a);
    const rb = find(link.b);
    if (ra === rb) continue;
    const na = numbers.get(ra);
    const nb = numbers.get(rb);
    if (na !== undefined && nb !== undefined && na !== nb) {
      refused.push(link);
      continue;
    }
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    parent.set(child, root);
    numbers.set(root, na ?? nb);
  }
  return { labels: new Map(nodes.map((n) => [n, find(n)])), refused };
}
