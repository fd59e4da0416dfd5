// Blocking: which pairs of records get compared at all. Each rule is an equi-join on a few keys, so
// DuckDB runs it as a hash join (never a cross join); the union of the rules is the candidate set,
// each pair produced once — a rule leaves out the pairs an earlier rule already produced, and tags
// the rest with its `match_key`. Pure: builds SQL only.

import { quoteIdent } from '../../core/sql.ts';
import type { LinkageRole } from './roles.ts';

export interface BlockingKey {
  name: string;
  /** The roles the key reads: comparisons on them are uninformative among the rule's pairs. */
  roles: readonly LinkageRole[];
  /** The key for a record-table alias (`l` or `r`). */
  sql(alias: string): string;
}

function column(name: string, role: LinkageRole, columnName: string = name): BlockingKey {
  return { name, roles: [role], sql: (alias) => `${alias}.${quoteIdent(columnName)}` };
}

function prefix(name: string, role: LinkageRole, columnName: string, length: number): BlockingKey {
  return { name, roles: [role], sql: (alias) => `substr(${alias}.${quoteIdent(columnName)}, 1, ${length})` };
}

export const BLOCKING_KEYS: Readonly<Record<string, BlockingKey>> = {
  nhs_number: column('nhs_number', 'nhs_number'),
  birth_date: column('birth_date', 'birth_date'),
  birth_year: { name: 'birth_year', roles: ['birth_date'], sql: (a) => `year(${a}."birth_date")` },
  birth_month_day: { name: 'birth_month_day', roles: ['birth_date'], sql: (a) => `strftime(${a}."birth_date", '%m%d')` },
  given_name: column('given_name', 'given_name'),
  given_initial: prefix('given_initial', 'given_name', 'given_name', 1),
  family_name: column('family_name', 'family_name'),
  family_initial: prefix('family_initial', 'family_name', 'family_name', 1),
  // Both initials, in either order: still equal when given and family names are swapped.
  initials: {
    name: 'initials',
    roles: ['given_name', 'family_name'],
    sql: (a) => `least(substr(${a}."given_name", 1, 1), substr(${a}."family_name", 1, 1)) || greatest(substr(${a}."given_name", 1, 1), substr(${a}."family_name", 1, 1))`,
  },
  postcode: column('postcode', 'postcode'),
  postcode_sector: column('postcode_sector', 'postcode'),
  postcode_district: column('postcode_district', 'postcode'),
  address: column('address', 'address'),
  sex: column('sex', 'sex'),
  email: column('email', 'email'),
  phone: column('phone', 'phone'),
};

export interface BlockingRule {
  /** `birth_date+family_initial`: the keys joined with `+`. */
  name: string;
  keys: readonly BlockingKey[];
}

export function blockingRule(keyNames: readonly string[]): BlockingRule {
  const keys = keyNames.map((name) => {
    const key = BLOCKING_KEYS[name];
    if (key === undefined) throw new Error(`'${name}' is not a blocking key; use ${Object.keys(BLOCKING_KEYS).join(', ')}`);
    return key;
  });
  if (keys.length === 0) throw new Error('a blocking rule needs at least one key');
  return { name: keyNames.join('+'), keys };
}

export function rolesOf(rule: BlockingRule): Set<LinkageRole> {
  return new Set(rule.keys.flatMap((k) => k.roles));
}

/**
 * carelake's default rules for the mapped roles, narrowest first. Between them a pair of the same
 * person is produced when any one of these holds: the same NHS number; the same birth date and
 * initials (in either order, so swapped names still meet); the same names and birth year, or names
 * and day and month (a mistyped year); the same postcode and an initial or birth year (mistyped
 * names); the same address and birth year; the same email or phone. The last two, names alone and
 * birth date alone, catch what is left (a birth date wrong beyond a typo, both initials mistyped) but
 * grow quadratically with the population (every John Smith, everyone born on a day), so the runner
 * skips any rule whose pairs exceed its budget (`rulePairsSql`): they run on a Trust's duplicate
 * check, not on a whole ICS.
 */
export function defaultBlockingRules(roles: readonly LinkageRole[]): string[][] {
  return [
    ['nhs_number'],
    ['birth_date', 'initials'],
    ['given_name', 'family_name', 'birth_year'],
    ['given_name', 'family_name', 'birth_month_day'],
    ['postcode', 'given_initial'],
    ['postcode', 'birth_year'],
    ['address', 'birth_year'],
    ['email'],
    ['phone'],
    ['given_name', 'family_name'],
    ['birth_date'],
  ].filter((rule) => rule.every((key) => BLOCKING_KEYS[key]!.roles.every((role) => roles.includes(role))));
}

/** The rules whose keys all come from mapped roles. */
export function applicableRules(rules: readonly (readonly string[])[], roles: readonly LinkageRole[]): BlockingRule[] {
  const have = new Set(roles);
  return rules.map(blockingRule).filter((rule) => rule.keys.every((k) => k.roles.every((role) => have.has(role))));
}

/** How many pairs a rule would produce on its own: Σ n(n-1)/2 over its key groups. Cheap: one aggregate. */
export function rulePairsSql(rule: BlockingRule, records: string): string {
  const keys = rule.keys.map((k) => k.sql('x'));
  return `SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM ${records} x WHERE ${keys.map((k) => `${k} IS NOT NULL`).join(' AND ')} GROUP BY ${keys.join(', ')})`;
}

/** A rule's join condition between aliases `l` and `r`; NULL keys never match. */
export function ruleConditionSql(rule: BlockingRule, l = 'l', r = 'r'): string {
  return rule.keys.map((k) => `${k.sql(l)} = ${k.sql(r)}`).join(' AND ');
}

/**
 * Candidate pairs `(rid_l, rid_r, match_key)` with rid_l < rid_r, from `records`. A pair already
 * produced by an earlier rule is left out of later ones, so each pair appears once.
 */
export function blockedPairsSql(rules: readonly BlockingRule[], records: string): string {
  if (rules.length === 0) throw new Error('linkage needs at least one blocking rule that its mapped roles can serve');
  return rules
    .map((rule, index) => {
      const earlier = rules.slice(0, index).map((e) => `NOT coalesce(${ruleConditionSql(e)}, false)`);
      const where = earlier.length === 0 ? '' : `\n  AND ${earlier.join('\n  AND ')}`;
      return `SELECT l.rid AS rid_l, r.rid AS rid_r, ${index} AS match_key
FROM ${records} l JOIN ${records} r ON ${ruleConditionSql(rule)} AND l.rid < r.rid${where}`;
    })
    .join('\nUNION ALL\n');
}
