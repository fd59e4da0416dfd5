// The demonstration terminology map (seeds/terminology/carelake_demo_code_map.csv): about a hundred
// ICD-10 (WHO 5th edition, dotted) diagnoses common in English hospital and GP records, the local lab
// codes and the local problem codes of the synthetic data, each mapped to one SNOMED CT concept.
//
// Provenance: hand-made for the demo from public SNOMED CT browser knowledge; not a TRUD release, not
// derived from the UK extended maps, and never to be used for care. Load real maps from configured
// paths (specs/terminology.md); this file exists so the demo and the tests have something to map with.
//
// Equivalence is FHIR R4 ConceptMap's, read as "the target is … the source": `equivalent` when the
// concepts match (an ICD-10 "X, unspecified" residual is taken as X itself, the usual convention),
// `wider` when the SNOMED concept covers more (E11.9 "without complications" → type 2 diabetes),
// `narrower` when it covers less (R55 "Syncope and collapse" → syncope). SNOMED displays are preferred
// terms as remembered; for concepts the generator already used, its display is kept so that one
// concept has one display across the project.
//
// The generator's clinical content (synthetic/clinical.ts) draws on this map, so this module must not
// import clinical.ts: the code system URIs are repeated here and a test checks they agree.

import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DEMO_MAP_FILE } from '../core/config.ts';

export const DEMO_CODE_MAP_COLUMNS = ['source_system', 'source_code', 'source_display', 'target_code', 'target_display', 'equivalence'] as const;

export const DEMO_MAP_SYSTEMS = {
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  localProblem: 'https://carelake.example.nhs.uk/CodeSystem/local-problem',
  localLab: 'https://carelake.example.nhs.uk/CodeSystem/local-lab',
} as const;

export type DemoMapEquivalence = 'equivalent' | 'wider' | 'narrower';
const EQUIVALENCES: readonly string[] = ['equivalent', 'wider', 'narrower'] satisfies readonly DemoMapEquivalence[];

export interface DemoCodeMapRow {
  source_system: string;
  source_code: string;
  source_display: string;
  /** SNOMED CT concept id. */
  target_code: string;
  target_display: string;
  equivalence: DemoMapEquivalence;
}

/**
 * ICD-10 codes that are dagger (aetiology) or asterisk (manifestation) codes, keyed by WHO dotted code.
 * Not in the CSV: the mark belongs to the classification, not to the map. The NHS Data Dictionary form
 * carries it as the 6th character (`A170-D`, `G01X-A`).
 */
export const ICD10_DAGGER_ASTERISK: ReadonlyMap<string, 'dagger' | 'asterisk'> = new Map([
  ['A17.0', 'dagger'], // Tuberculous meningitis †, paired with…
  ['G01', 'asterisk'], // Meningitis in bacterial diseases classified elsewhere *
]);

function readDemoCodeMap(): readonly DemoCodeMapRow[] {
  const text = readFileSync(DEMO_MAP_FILE, 'utf8');
  const records = parse(text, { skip_empty_lines: true });
  const [header, ...body] = records;
  if (header === undefined || header.join(',') !== DEMO_CODE_MAP_COLUMNS.join(',')) {
    throw new Error(`${DEMO_MAP_FILE}: the header must be ${DEMO_CODE_MAP_COLUMNS.join(',')}`);
  }
  return body.map((fields, i) => {
    const line = i + 2;
    if (fields.length !== DEMO_CODE_MAP_COLUMNS.length) throw new Error(`${DEMO_MAP_FILE}:${line}: expected ${DEMO_CODE_MAP_COLUMNS.length} fields`);
    const [source_system, source_code, source_display, target_code, target_display, equivalence] = fields as [string, string, string, string, string, string];
    if (!EQUIVALENCES.includes(equivalence)) throw new Error(`${DEMO_MAP_FILE}:${line}: unknown equivalence`);
    return Object.freeze({ source_system, source_code, source_display, target_code, target_display, equivalence: equivalence as DemoMapEquivalence });
  });
}

/** Every row of the demonstration map, in file order (read once, when this module loads). */
export const DEMO_CODE_MAP: readonly DemoCodeMapRow[] = Object.freeze(readDemoCodeMap());

/** The ICD-10 rows, in file order (sorted by code). */
export const DEMO_ICD10_ROWS: readonly DemoCodeMapRow[] = Object.freeze(DEMO_CODE_MAP.filter((row) => row.source_system === DEMO_MAP_SYSTEMS.icd10));

const byKey = new Map(DEMO_CODE_MAP.map((row) => [`${row.source_system}|${row.source_code}`, row]));

/** The map's row for a source code, or undefined when the demo map has none (an unmapped code). */
export function demoMapLookup(system: string, code: string): DemoCodeMapRow | undefined {
  return byKey.get(`${system}|${code}`);
}
