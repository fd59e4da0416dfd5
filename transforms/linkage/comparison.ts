// A comparison: how one identity field agrees between two records, as numbered levels. The first
// matching level wins: the strongest is numbered highest, "anything else" is 0 and a missing value on
// either side is -1 (no evidence, weight 0). Emits `CASE WHEN … THEN n … END AS gamma_<name>`.

import { quoteIdent } from '../../core/sql.ts';
import type { ComparisonLevel } from './comparisonLevel.ts';
import type { LinkageRole } from './roles.ts';

export const NULL_GAMMA = -1;
export const ELSE_GAMMA = 0;

export interface LevelDescription {
  /** The gamma value the level gives. */
  gamma: number;
  label: string;
  /** The record-table column whose value frequency adjusts this level's weight, if any. */
  tfColumn: string | null;
}

export class Comparison {
  readonly name: string;
  /** The roles it reads: a blocking rule on any of them makes its levels uninformative in that rule's pairs. */
  readonly roles: readonly LinkageRole[];
  private readonly missing: ComparisonLevel;
  /** Strongest first; the "else" level is implicit. */
  private readonly agreeing: readonly ComparisonLevel[];

  constructor(name: string, roles: readonly LinkageRole[], missing: ComparisonLevel, agreeing: readonly ComparisonLevel[]) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`comparison name '${name}' must be snake_case`);
    if (agreeing.length === 0) throw new Error(`comparison ${name} needs at least one agreeing level`);
    this.name = name;
    this.roles = roles;
    this.missing = missing;
    this.agreeing = agreeing;
  }

  get gammaColumn(): string {
    return `gamma_${this.name}`;
  }

  /** Every level with its gamma, strongest first, ending with "else" (0); the missing level is left out. */
  levels(): LevelDescription[] {
    const top = this.agreeing.length;
    return [
      ...this.agreeing.map((level, i) => ({ gamma: top - i, label: level.label(), tfColumn: level.tfColumn })),
      { gamma: ELSE_GAMMA, label: 'else', tfColumn: null },
    ];
  }

  gammaSql(): string {
    const top = this.agreeing.length;
    const whens = this.agreeing.map((level, i) => `WHEN ${level.toSql()} THEN ${top - i}`).join(' ');
    return `CAST(CASE WHEN ${this.missing.toSql()} THEN ${NULL_GAMMA} ${whens} ELSE ${ELSE_GAMMA} END AS TINYINT) AS ${quoteIdent(this.gammaColumn)}`;
  }

  /** The record-table columns the levels read (each appears in the pair table as `<col>_l` and `<col>_r`). */
  columnsRead(): string[] {
    const text = [this.missing, ...this.agreeing].map((l) => l.toSql()).join(' ');
    return [...new Set([...text.matchAll(/"([a-z_]+)_[lr]"/g)].map((m) => m[1]!))];
  }
}
