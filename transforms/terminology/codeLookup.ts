// `terminology.code_lookup`: for every (code system, code key) some registered map knows, what each
// map says its SNOMED CT concept is and by which rule — the table the curated models join facts to,
// and the one `carelake terminology translate` reads. It is rebuilt whenever a map is loaded or
// removed, so a build reads a small precomputed table instead of resolving maps per fact.
//
// Rules (README, "Terminology"):
// - Forward maps (CSV, ConceptMap; source → SNOMED CT): the targets of the strongest equivalence
//   (equal/equivalent, then wider/narrower/subsumes/specializes, then inexact/relatedto; unmatched and
//   disjoint are never targets). One such target → `exact` when the source system is a standard one
//   (ICD-10, OPCS-4, LOINC…), `local` when it is a local code system; several → `ambiguous`.
// - Reverse lookup of RF2 extended maps (SNOMED CT → ICD-10/OPCS-4, read backwards): every concept with
//   a row targeting the code is a candidate. A candidate is *strong* when that row is in map group 1 at
//   priority 1, is the concept's only group-1 row (a single-target block), and its rule is
//   unconditional (`TRUE`, `OTHERWISE TRUE` or none). Exactly one strong candidate → `reverse-unique`;
//   otherwise `reverse-ambiguous`, with no concept chosen and every candidate kept (strong ones first).
//   `#NC`/`#NIS` and empty targets never make candidates.
// - When several maps know a code, the one chosen (`is_preferred`) is the first that settles on a
//   concept; then forward maps before reverse ones; then by precedence (carelake.yml order, then load
//   order), then name.

import { createHash } from 'node:crypto';
import type { DuckDb } from '../../core/duckdb.ts';
import { quoteLiteral } from '../../core/sql.ts';
import { CODE_SYSTEMS } from './mapEntry.ts';

const SNOMED = quoteLiteral(CODE_SYSTEMS.snomed);

/**
 * SQL: is `expr` a standard code system (ICD-10, OPCS-4, SNOMED CT, LOINC and the other
 * `http://hl7.org/fhir/sid/…` systems) rather than a Trust's or a laboratory's own? A forward map from a
 * local system gives the rule `local`.
 */
function standardSystemSql(expr: string): string {
  const named = [...Object.values(CODE_SYSTEMS), 'http://loinc.org'].map(quoteLiteral).join(', ');
  return `(${expr} IN (${named}) OR starts_with(${expr}, 'http://hl7.org/fhir/sid/'))`;
}

/**
 * The candidate struct shared by both directions, so the two union. `rank` comes first so that
 * list_sort() orders candidates best first (then by code): an ORDER BY inside list() keeps a sort per
 * group, which took over a gigabyte for a UK map's tens of thousands of codes.
 */
const CANDIDATE = `STRUCT(rank INTEGER, code VARCHAR, display VARCHAR, equivalence VARCHAR, map_group INTEGER, map_priority INTEGER, map_rule VARCHAR, map_advice VARCHAR, strong BOOLEAN)`;

export const CODE_LOOKUP_SQL = `
WITH current_maps AS (
    SELECT map_name, map_version, format, precedence FROM terminology.maps WHERE is_current
),
forward_rows AS (
    SELECT e.*, m.format, m.precedence,
        CASE
            WHEN e.equivalence IN ('equal', 'equivalent') THEN 1
            WHEN e.equivalence IN ('wider', 'narrower', 'subsumes', 'specializes') THEN 2
            ELSE 3
        END AS strength
    FROM terminology.map_entries e
    JOIN current_maps m USING (map_name)
    WHERE e.target_system = ${SNOMED} AND e.target_key IS NOT NULL AND e.source_key IS NOT NULL
      AND e.equivalence NOT IN ('unmatched', 'disjoint')
),
forward_targets AS (
    -- One row per target concept, at its strongest equivalence (a map may list a target twice).
    SELECT map_name, map_version, format, precedence, source_system, source_key, target_key AS code,
        min(strength) AS strength,
        arg_min(target_display, (strength, line)) AS display,
        arg_min(equivalence, (strength, line)) AS equivalence
    FROM forward_rows
    GROUP BY ALL
),
forward AS (
    SELECT map_name, map_version, format, precedence, source_system, source_key, 0 AS direction,
        list_sort(list({'rank': strength, 'code': code, 'display': display, 'equivalence': equivalence, 'map_group': NULL, 'map_priority': NULL,
              'map_rule': NULL, 'map_advice': NULL, 'strong': strength = best}::${CANDIDATE})) AS candidates,
        count(*) FILTER (WHERE strength = best) AS strong_count
    FROM (SELECT *, min(strength) OVER (PARTITION BY map_name, source_system, source_key) AS best FROM forward_targets)
    GROUP BY ALL
),
rf2 AS (
    -- Each row with the number of group-1 rows its concept has (a single-target block has one).
    SELECT e.map_name, e.map_version, m.format, m.precedence, e.source_key, e.target_system, e.target_key, e.equivalence,
        e.map_group, e.map_priority, e.map_rule, e.map_advice,
        count(*) FILTER (WHERE e.map_group = 1) OVER (PARTITION BY e.map_name, e.source_key) AS group_one_rows
    FROM terminology.map_entries e
    JOIN current_maps m USING (map_name)
    WHERE m.format = 'rf2' AND e.source_system = ${SNOMED}
),
reverse_targets AS (
    SELECT r.map_name, r.map_version, r.format, r.precedence, r.target_system AS source_system, r.target_key AS source_key,
        r.source_key AS code,
        bool_or(r.map_group = 1 AND r.map_priority = 1 AND r.group_one_rows = 1
                AND (r.map_rule IS NULL OR upper(trim(r.map_rule)) IN ('TRUE', 'OTHERWISE TRUE'))) AS strong,
        arg_min(r.map_group, (r.map_group, r.map_priority)) AS map_group,
        arg_min(r.map_priority, (r.map_group, r.map_priority)) AS map_priority,
        arg_min(r.map_rule, (r.map_group, r.map_priority)) AS map_rule,
        arg_min(r.map_advice, (r.map_group, r.map_priority)) AS map_advice,
        arg_min(r.equivalence, (r.map_group, r.map_priority)) AS equivalence
    FROM rf2 r
    WHERE r.target_key IS NOT NULL
    GROUP BY ALL
),
reverse AS (
    SELECT t.map_name, t.map_version, t.format, t.precedence, t.source_system, t.source_key, 1 AS direction,
        list_sort(list({'rank': CASE WHEN t.strong THEN 0 ELSE 1 END, 'code': t.code, 'display': c.display, 'equivalence': t.equivalence,
              'map_group': t.map_group, 'map_priority': t.map_priority, 'map_rule': t.map_rule, 'map_advice': t.map_advice, 'strong': t.strong}::${CANDIDATE})) AS candidates,
        count(*) FILTER (WHERE t.strong) AS strong_count
    FROM reverse_targets t
    LEFT JOIN terminology.concepts c ON c.code = t.code
    GROUP BY ALL
),
resolved AS (
    SELECT *,
        CASE
            WHEN direction = 1 AND strong_count = 1 THEN 'reverse-unique'
            WHEN direction = 1 THEN 'reverse-ambiguous'
            WHEN strong_count > 1 THEN 'ambiguous'
            WHEN ${standardSystemSql('source_system')} THEN 'exact'
            ELSE 'local'
        END AS map_rule,
        CASE WHEN strong_count = 1 THEN candidates[1] END AS chosen
    FROM (SELECT * FROM forward UNION ALL BY NAME SELECT * FROM reverse)
)
SELECT
    r.source_system,
    r.source_key,
    r.map_name,
    r.map_version,
    r.format AS map_format,
    r.precedence,
    r.map_rule,
    r.chosen.code AS snomed_code,
    coalesce(r.chosen.display, c.display) AS snomed_display,
    r.chosen.equivalence AS equivalence,
    r.candidates,
    row_number() OVER (PARTITION BY r.source_system, r.source_key ORDER BY r.chosen IS NULL, r.direction, r.precedence, r.map_name) = 1 AS is_preferred
FROM resolved r
LEFT JOIN terminology.concepts c ON c.code = r.chosen.code
`;

/** SNOMED CT displays any registered map carries, the first map (by precedence) winning. */
export const CONCEPTS_SQL = `
SELECT code, arg_min(display, (precedence, side, map_name)) AS display
FROM (
    SELECT e.target_key AS code, e.target_display AS display, m.precedence, 0 AS side, e.map_name
    FROM terminology.map_entries e JOIN terminology.maps m ON m.map_name = e.map_name AND m.is_current
    WHERE e.target_system = ${SNOMED} AND e.target_key IS NOT NULL AND e.target_display IS NOT NULL
    UNION ALL
    SELECT e.source_key, e.source_display, m.precedence, 1, e.map_name
    FROM terminology.map_entries e JOIN terminology.maps m ON m.map_name = e.map_name AND m.is_current
    WHERE e.source_system = ${SNOMED} AND e.source_key IS NOT NULL AND e.source_display IS NOT NULL
)
GROUP BY code
`;

/** Names the SQL above: a lookup built by another carelake version is rebuilt, even with no new map. */
const LOOKUP_VERSION = createHash('sha256').update(CONCEPTS_SQL).update(CODE_LOOKUP_SQL).digest('hex').slice(0, 16);

/**
 * Rebuilds terminology.concepts and terminology.code_lookup from the registered maps; with
 * `onlyIfStale`, only when they are missing or were built by other SQL than this version's.
 */
export async function rebuildCodeLookup(db: DuckDb, options: { onlyIfStale?: boolean } = {}): Promise<void> {
  if (options.onlyIfStale) {
    const built = await db.scalar(`SELECT comment FROM duckdb_tables() WHERE schema_name = 'terminology' AND table_name = 'code_lookup'`);
    if (built === LOOKUP_VERSION) return;
  }
  await db.run(`CREATE OR REPLACE TABLE terminology.concepts AS ${CONCEPTS_SQL}`, undefined, 'build terminology.concepts');
  await db.run(`CREATE OR REPLACE TABLE terminology.code_lookup AS ${CODE_LOOKUP_SQL}`, undefined, 'build terminology.code_lookup');
  await db.run(`COMMENT ON TABLE terminology.code_lookup IS '${LOOKUP_VERSION}'`);
}
