// A comparison level: one named condition on a pair of records, as SQL over the pair table's `<col>_l`
// and `<col>_r` columns. Levels compose with and() / or() / not(), and a Comparison numbers them.
// Pure: builds SQL only.

import { quoteIdent } from '../../core/sql.ts';

export interface LevelOptions {
  /** Records with this column's value are adjusted for how common the value is (exact levels only). */
  tfColumn?: string;
}

export class ComparisonLevel {
  readonly description: string;
  private readonly condition: string;
  readonly tfColumn: string | null;

  constructor(description: string, condition: string, options: LevelOptions = {}) {
    this.description = description;
    this.condition = condition;
    this.tfColumn = options.tfColumn ?? null;
  }

  toSql(): string {
    return this.condition;
  }

  label(): string {
    return this.description;
  }

  and(other: ComparisonLevel): ComparisonLevel {
    return new ComparisonLevel(`${this.description} and ${other.description}`, `((${this.condition}) AND (${other.condition}))`);
  }

  or(other: ComparisonLevel): ComparisonLevel {
    return new ComparisonLevel(`${this.description} or ${other.description}`, `((${this.condition}) OR (${other.condition}))`);
  }

  not(): ComparisonLevel {
    return new ComparisonLevel(`not (${this.description})`, `(NOT coalesce(${this.condition}, false))`);
  }
}

/** The left and right columns of the pair table. */
export function side(column: string): { l: string; r: string } {
  return { l: quoteIdent(`${column}_l`), r: quoteIdent(`${column}_r`) };
}

export function nullLevel(column: string): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} missing`, `(${l} IS NULL OR ${r} IS NULL)`);
}

export function exactLevel(column: string, options: { termFrequency?: boolean } = {}): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} exact`, `${l} = ${r}`, options.termFrequency === true ? { tfColumn: column } : {});
}

export function jaroWinklerLevel(column: string, threshold: number): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} Jaro-Winkler >= ${threshold}`, `jaro_winkler_similarity(${l}, ${r}) >= ${threshold}`);
}

export function damerauLevenshteinLevel(column: string, distance: number): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} Damerau-Levenshtein <= ${distance}`, `damerau_levenshtein(${l}, ${r}) <= ${distance}`);
}

/** Texts of equal length differing in at most `distance` positions (a mistyped digit); cheaper than edit distance. */
export function hammingLevel(column: string, distance: number): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} Hamming <= ${distance}`, `CASE WHEN length(${l}) <> length(${r}) THEN false ELSE hamming(${l}, ${r}) <= ${distance} END`);
}

/** Day and month transposed (`1971-06-04` against `1971-04-06`), a common keying error. */
export function dayMonthSwapLevel(column: string): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} day and month swapped`, `(year(${l}) = year(${r}) AND month(${l}) = day(${r}) AND day(${l}) = month(${r}))`);
}

export function dateWithinLevel(column: string, days: number): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(`${column} within ${days} days`, `abs(date_diff('day', ${l}, ${r})) <= ${days}`);
}

/** One value inside the other (`smith` in `smithjones`, a double-barrelled name); both at least `minLength` long. */
export function containsLevel(column: string, minLength: number): ComparisonLevel {
  const { l, r } = side(column);
  return new ComparisonLevel(
    `${column} one contains the other`,
    `(least(length(${l}), length(${r})) >= ${minLength} AND (contains(${l}, ${r}) OR contains(${r}, ${l})))`,
  );
}

/** One side's value is a whole word of the other side's `wordsColumn` (a middle name used as the first name). */
export function amongWordsLevel(column: string, wordsColumn: string): ComparisonLevel {
  const a = side(column);
  const w = side(wordsColumn);
  return new ComparisonLevel(
    `${column} among the other's ${wordsColumn}`,
    `(contains(' ' || ${w.r} || ' ', ' ' || ${a.l} || ' ') OR contains(' ' || ${w.l} || ' ', ' ' || ${a.r} || ' '))`,
  );
}

/** Two columns crossed over (given and family names entered the wrong way round), allowing a typo in each. */
export function crossedLevel(column: string, other: string, threshold = 0.92): ComparisonLevel {
  const a = side(column);
  const b = side(other);
  return new ComparisonLevel(
    `${column} and ${other} swapped`,
    `(jaro_winkler_similarity(${a.l}, ${b.r}) >= ${threshold} AND jaro_winkler_similarity(${a.r}, ${b.l}) >= ${threshold})`,
  );
}
