// The key a code is matched on, per code system, so that a map entry and a fact meet however each
// spelled the code: ICD-10 in any of its forms (icd10.ts), OPCS-4 with or without its dot (`X38.4`,
// `X384`), and every other system's code as sent without surrounding spaces (SNOMED CT ids, local
// codes — local codes can be case-sensitive, so case is kept). The SQL twin is `code_key` in
// macros/terminology.sql.

import { icd10Key } from './icd10.ts';
import { CODE_SYSTEMS } from './mapEntry.ts';

/** Null when the code cannot be a code of that system (an ICD-10 system holding `LP-DM2`). */
export function codeKey(system: string, code: string): string | null {
  if (system === CODE_SYSTEMS.icd10) return icd10Key(code);
  // Spaces only, as DuckDB's trim() does, so both sides agree.
  const trimmed = code.replace(/^ +| +$/g, '');
  if (trimmed === '') return null;
  if (system === CODE_SYSTEMS.opcs4) return trimmed.toUpperCase().replace(/[\s.]/g, '');
  return trimmed;
}

