// ICD-10 codes arrive in several spellings of the same code: WHO's dotted `J45.9`, HES's undotted
// `J459`, the NHS Data Dictionary's padded `I10X` with `-` in unused positions and a 6th character
// `D` (dagger) or `A` (asterisk) as in `A170-D`, and printed forms with `†`/`*`. Matching needs one
// key for all of them. This is the TypeScript side (map files at load, the CLI); macros/terminology.sql
// holds the SQL twin for facts in the models, and a test keeps the two in step.

/**
 * Upper-cased, without spaces, the dot after the category or the trailing `†`/`+`/`*` mark: a three-character category, then
 * optional 4th (digit, or padding `X`/`-`), 5th (digit or `-`) and the NHS dagger/asterisk letter.
 */
export const ICD10_PATTERN = '^([A-Z][0-9]{2})(?:([0-9])([0-9]|-)?|X-?|--?)?([AD])?$';
const ICD10 = new RegExp(ICD10_PATTERN);

export type Icd10Mark = 'dagger' | 'asterisk';

export interface Icd10Code {
  /** As received. */
  raw: string;
  /** Matching key: upper case, no dot, no padding, no mark (`A170`, `I10`, `S7200`). */
  key: string;
  /** WHO form (`A17.0`, `I10`). */
  dotted: string;
  mark: Icd10Mark | null;
}

/** The parts of an ICD-10 code in any of its forms, or null when it is not one. */
export function normaliseIcd10(raw: string): Icd10Code | null {
  // The one dot allowed is WHO's, after the category.
  let text = raw.toUpperCase().replace(/\s/g, '').replace(/^([A-Z][0-9]{2})\./, '$1');
  let mark: Icd10Mark | null = null;
  const symbol = /[†+*]$/.exec(text);
  if (symbol) {
    mark = symbol[0] === '*' ? 'asterisk' : 'dagger';
    text = text.slice(0, -1);
  }
  const match = ICD10.exec(text);
  if (!match) return null;
  const [, category, fourth, fifth, letter] = match as unknown as [string, string, string | undefined, string | undefined, string | undefined];
  if (letter !== undefined) mark = letter === 'D' ? 'dagger' : 'asterisk';
  const subdivision = (fourth ?? '') + (fifth !== undefined && fifth !== '-' ? fifth : '');
  return { raw, key: category + subdivision, dotted: subdivision === '' ? category : `${category}.${subdivision}`, mark };
}

/** The matching key, or null for text that is not an ICD-10 code. */
export function icd10Key(raw: string): string | null {
  return normaliseIcd10(raw)?.key ?? null;
}
