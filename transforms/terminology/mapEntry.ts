// The one shape every code map is read into, whatever its file format: an RF2 extended map row, a
// FHIR ConceptMap element target, or a line of a local CSV map. Readers (rf2ExtendedMap.ts,
// conceptMap.ts, csvCodeMap.ts) yield these with the line they came from; the registry
// (mapRegistry.ts) stores them in `terminology.map_entries`.

/** FHIR R4 ConceptMapEquivalence: how the target relates to the source ("the target is wider…"). */
export const EQUIVALENCES = ['relatedto', 'equivalent', 'equal', 'wider', 'subsumes', 'narrower', 'specializes', 'inexact', 'unmatched', 'disjoint'] as const;
export type Equivalence = (typeof EQUIVALENCES)[number];

export function isEquivalence(value: string): value is Equivalence {
  return (EQUIVALENCES as readonly string[]).includes(value);
}

export const CODE_SYSTEMS = {
  snomed: 'http://snomed.info/sct',
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  opcs4: 'http://fhir.hl7.org.uk/CodeSystem/OPCS-4',
} as const;

/** Short names a user may type (`--system icd10`, a CSV's source_system) for the systems carelake knows. */
const SYSTEM_ALIASES: Readonly<Record<string, string>> = {
  icd10: CODE_SYSTEMS.icd10,
  'icd-10': CODE_SYSTEMS.icd10,
  i10: CODE_SYSTEMS.icd10,
  snomed: CODE_SYSTEMS.snomed,
  sct: CODE_SYSTEMS.snomed,
  'snomed-ct': CODE_SYSTEMS.snomed,
  snomedct: CODE_SYSTEMS.snomed,
  opcs4: CODE_SYSTEMS.opcs4,
  'opcs-4': CODE_SYSTEMS.opcs4,
};

/** The canonical URI for a known short name; any other system (a local one) as given. */
export function canonicalSystem(system: string): string {
  const trimmed = system.trim();
  return SYSTEM_ALIASES[trimmed.toLowerCase()] ?? trimmed;
}

export interface MapEntry {
  /** Where the entry came from: 1-based line (RF2, CSV), or the element's index path (ConceptMap). */
  line: number;
  sourceSystem: string;
  sourceCode: string;
  sourceDisplay: string | null;
  targetSystem: string;
  /** Null when the source cannot be mapped (empty RF2 target, `#NC`/`#NIS`, equivalence unmatched). */
  targetCode: string | null;
  targetDisplay: string | null;
  equivalence: Equivalence;
  /** Free text: a ConceptMap comment, or the RF2 unclassifiable target (`#NC`, `#NIS`) as sent. */
  comment: string | null;
  /** RF2 snapshot bookkeeping; ConceptMap and CSV entries are always active with no id. */
  active: boolean;
  rowId: string | null;
  effectiveTime: string | null;
  /** RF2 extended map columns; null for other formats. */
  refsetId: string | null;
  mapGroup: number | null;
  mapPriority: number | null;
  mapRule: string | null;
  mapAdvice: string | null;
  correlationId: string | null;
  /** International edition's 13th column. */
  mapCategoryId: string | null;
  /** UK Clinical Edition's 13th column. */
  mapBlock: number | null;
}

/** The RF2-only fields of an entry from a ConceptMap or CSV map: always active, no id, no map group. */
export const NOT_RF2 = {
  active: true,
  rowId: null,
  effectiveTime: null,
  refsetId: null,
  mapGroup: null,
  mapPriority: null,
  mapRule: null,
  mapAdvice: null,
  correlationId: null,
  mapCategoryId: null,
  mapBlock: null,
} as const satisfies Partial<MapEntry>;

export type MapFormat = 'rf2' | 'conceptmap' | 'csv';

/** A map file opened for reading: its format, what it says about itself, and its entries (streamed). */
export interface MapFile {
  format: MapFormat;
  file: string;
  /** RF2 layout and refsets, ConceptMap url/version/name…: kept with the map in terminology.maps. */
  facts: Record<string, string | null>;
  /** Every entry in file order; a bad row throws a CarelakeError naming the file, line and field. */
  entries(): AsyncIterable<MapEntry>;
}
