// `$translate` over the registered maps, shaped like FHIR's ConceptMap/$translate output (result,
// message, match[] with equivalence, concept and source) plus carelake's rule and preference, so a
// data engineer can see exactly what the curated layer will do with a code — and why.

import type { DuckDb, Json } from '../../core/duckdb.ts';
import { codeKey } from './codeKey.ts';
import { canonicalSystem, CODE_SYSTEMS } from './mapEntry.ts';

export interface TranslateRequest {
  system: string;
  code: string;
  /** Only this map (by name). */
  map?: string;
}

export interface TranslationMatch {
  equivalence: string;
  concept: { system: string; code: string; display: string | null } | null;
  /** `name|version` of the map, or null for a code that is SNOMED CT already. */
  source: string | null;
  rule: string;
  /** The match the curated layer uses. */
  preferred: boolean;
  /** RF2 map group, priority, rule and advice; a ConceptMap comment or `#NC`. */
  detail?: Record<string, unknown>;
}

export interface Translation {
  system: string;
  code: string;
  /** What the code is matched on (ICD-10 without dot, padding or mark). */
  key: string | null;
  result: boolean;
  message: string;
  match: TranslationMatch[];
}

export async function translateCode(db: DuckDb, request: TranslateRequest): Promise<Translation> {
  const system = canonicalSystem(request.system);
  const key = codeKey(system, request.code);
  const base = { system, code: request.code, key };
  if (key === null) return { ...base, result: false, message: `'${request.code}' is not a code of ${system}`, match: [] };

  const match: TranslationMatch[] = [];
  if (system === CODE_SYSTEMS.snomed) {
    const display = (await db.scalar(`SELECT display FROM terminology.concepts WHERE code = $1`, [key])) as string | null;
    match.push({ equivalence: 'equal', concept: { system, code: key, display }, source: null, rule: 'exact', preferred: true });
  }

  /** Only the named map, when one is given: `$3`. */
  const onlyMap = (column: string) => (request.map === undefined ? '' : `AND ${column} = $3`);
  const params = request.map === undefined ? [system, key] : [system, key, request.map];
  const lookups = await db.all(
    `SELECT map_name, map_version, map_rule, snomed_code, is_preferred, candidates::JSON AS candidates
     FROM terminology.code_lookup WHERE source_system = $1 AND source_key = $2 ${onlyMap('map_name')}
     ORDER BY NOT is_preferred, precedence, map_name`,
    params,
  );
  for (const row of lookups) {
    const preferred = row.is_preferred === true && system !== CODE_SYSTEMS.snomed;
    const candidates = (typeof row.candidates === 'string' ? JSON.parse(row.candidates) : row.candidates) as Record<string, Json>[];
    for (const c of candidates) {
      // A settled map names one concept; the other candidates are listed but not chosen.
      const chosen = row.snomed_code !== null && c.code === row.snomed_code;
      match.push({
        equivalence: String(c.equivalence),
        concept: { system: CODE_SYSTEMS.snomed, code: String(c.code), display: (c.display as string | null) ?? null },
        source: `${String(row.map_name)}|${String(row.map_version)}`,
        rule: String(row.map_rule),
        preferred: preferred && chosen,
        ...(c.map_group === null ? {} : { detail: { map_group: c.map_group, map_priority: c.map_priority, map_rule: c.map_rule, map_advice: c.map_advice, strong: c.strong } }),
      });
    }
  }

  // What the maps say explicitly cannot be mapped (unmatched entries, RF2 #NC/#NIS targets), and for
  // a SNOMED CT code, where RF2 maps send it (forward, to ICD-10 / OPCS-4).
  const entries = await db.all(
    `SELECT e.map_name, e.map_version, e.target_system, e.target_code, e.target_display, e.equivalence, e.comment,
            e.map_group, e.map_priority, e.map_rule, e.map_advice
     FROM terminology.map_entries e JOIN terminology.maps m ON m.map_name = e.map_name AND m.is_current
     WHERE e.source_system = $1 AND e.source_key = $2 ${onlyMap('e.map_name')}
       AND (e.target_code IS NULL OR e.equivalence IN ('unmatched', 'disjoint') OR m.format = 'rf2')
     ORDER BY m.precedence, e.map_name, e.map_group NULLS FIRST, e.map_priority NULLS FIRST`,
    params,
  );
  for (const e of entries) {
    match.push({
      equivalence: String(e.equivalence),
      concept: e.target_code === null ? null : { system: String(e.target_system), code: String(e.target_code), display: (e.target_display as string | null) ?? null },
      source: `${String(e.map_name)}|${String(e.map_version)}`,
      rule: e.target_code === null ? 'unmapped' : 'forward-rf2',
      preferred: false,
      detail: { map_group: e.map_group, map_priority: e.map_priority, map_rule: e.map_rule, map_advice: e.map_advice, comment: e.comment },
    });
  }

  const chosen = match.find((m) => m.preferred);
  const message = chosen
    ? `${request.code} → ${chosen.concept?.code} (${chosen.rule}${chosen.source ? `, ${chosen.source}` : ''})`
    : lookups.length > 0
      ? `${request.code} has ${match.filter((m) => m.concept !== null).length} candidate concepts and no rule picks one (${String(lookups[0]!.map_rule)})`
      : `no registered map${request.map ? ` named '${request.map}'` : ''} translates ${request.code} to SNOMED CT`;
  return { ...base, result: chosen !== undefined, message, match };
}
