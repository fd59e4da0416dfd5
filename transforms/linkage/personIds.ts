// Stable person ids. A cluster that holds records of earlier people keeps the oldest of their ids (a
// merge: the others are retired into it and recorded); an earlier person now split across clusters
// stays with the cluster holding most of their records, the rest become new people; a cluster with no
// earlier records is a new person. A new id is derived from the cluster's smallest record id, so a
// full rebuild of unchanged data gives the same ids; an id already in the registry is never reused.
// Pure: SQL text only.

/**
 * Inputs: `clusters (rid, label)`, `records (rid, record_id)`, `previous (record_id, person_id)` and
 * `registry (person_id, created_at)`; output one row per cluster label that holds earlier records, with
 * the id it keeps and `earlier_ids`, every earlier id it absorbs (the kept one included).
 */
export function keptPersonIdsSql(clusters: string, records: string, previous: string, registry: string): string {
  return `WITH earlier AS (
  SELECT c.label, p.person_id, count(*) AS n
  FROM ${clusters} c JOIN ${records} r USING (rid) JOIN ${previous} p ON p.record_id = r.record_id
  GROUP BY c.label, p.person_id
),
owner AS (
  -- an earlier person belongs to the cluster holding most of their records (ties: the smaller label)
  SELECT person_id, arg_max(label, (n, -label)) AS label FROM earlier GROUP BY person_id
),
aged AS (
  SELECT o.label, o.person_id, g.created_at FROM owner o LEFT JOIN ${registry} g USING (person_id)
)
SELECT label,
       arg_min(person_id, (coalesce(created_at, TIMESTAMP '9999-12-31'), person_id)) AS person_id,
       list(person_id ORDER BY person_id) AS earlier_ids
FROM aged GROUP BY label`;
}

/** A candidate new id for each cluster without one: `P` and 12 hex digits of the smallest record id's MD5, salted on a clash. */
export function newPersonIdSql(recordIdExpr: string, salt: number): string {
  const key = salt === 0 ? recordIdExpr : `${recordIdExpr} || '#${salt}'`;
  return `'P' || upper(substr(md5(${key}), 1, 12))`;
}
