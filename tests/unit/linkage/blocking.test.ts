// Blocking rules run in a real in-memory DuckDB: each candidate pair once, rid_l < rid_r, tagged by the
// first rule that produced it; NULL keys never match; rulePairsSql predicts a rule's own pair count; and
// a shape test that the plan is hash joins only (never a cross product or nested loop).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import {
  BLOCKING_KEYS,
  applicableRules,
  blockedPairsSql,
  blockingRule,
  defaultBlockingRules,
  ruleConditionSql,
  rulePairsSql,
  rolesOf,
  type BlockingRule,
} from '../../../transforms/linkage/blocking.ts';
import { LINKAGE_ROLES, type LinkageRole } from '../../../transforms/linkage/roles.ts';

/** The record-table columns the blocking keys read. */
const RECORD_COLUMNS = `rid BIGINT, nhs_number VARCHAR, birth_date DATE, given_name VARCHAR, family_name VARCHAR, postcode VARCHAR,
  postcode_sector VARCHAR, postcode_district VARCHAR, address VARCHAR, sex VARCHAR, email VARCHAR, phone VARCHAR`;

/** Hand-made records: 4 and 5 hold nothing; 1, 3 share an NHS number; 1, 2, 6, 7 a birth date; 1, 3, 7 names. */
const SMALL = `INSERT INTO small (rid, given_name, family_name, birth_date, postcode, nhs_number) VALUES
  (1, 'john', 'smith', DATE '1971-06-24', 'LS1 4AB', '9434765919'),
  (2, 'jon',  'smith', DATE '1971-06-24', 'LS1 4AB', NULL),
  (3, 'john', 'smith', DATE '1972-01-01', NULL,      '9434765919'),
  (4, NULL, NULL, NULL, NULL, NULL),
  (5, NULL, NULL, NULL, NULL, NULL),
  (6, 'mary', 'jones', DATE '1971-06-24', 'SW1A 1AA', NULL),
  (7, 'john', 'smith', DATE '1971-06-24', NULL,      '4010232137')`;

const GENERATED_RECORDS = 400;

/** Deterministic synthetic records (hash of the row number, no randomness) drawn from small pools so keys collide; about one value in six is NULL. */
function generatedRecordsSql(n: number): string {
  const pick = (salt: string, values: string[]): string =>
    `CASE WHEN hash(i, '${salt}-null') % 6 = 0 THEN NULL ELSE ([${values.join(', ')}])[CAST(1 + hash(i, '${salt}') % ${values.length} AS INTEGER)] END`;
  return `INSERT INTO gen SELECT i + 1 AS rid,
  ${pick('nhs', ["'9434765919'", "'4010232137'", "'9990000018'", "'6541237890'"])},
  ${pick('dob', ["DATE '1971-06-24'", "DATE '1971-04-06'", "DATE '1980-01-02'", "DATE '1999-12-31'", "DATE '1971-07-01'", "DATE '2001-02-03'"])},
  ${pick('given', ["'john'", "'jon'", "'mary'", "'ann'", "'robert'", "'james'"])},
  ${pick('family', ["'smith'", "'jones'", "'patel'", "'smyth'"])},
  ${pick('pc', ["'LS1 4AB'", "'LS1 4XY'", "'SW1A 1AA'", "'M1 1AA'"])},
  NULL, NULL,
  ${pick('addr', ["'1 high st'", "'2 low rd'", "'flt 3 12 n rd'"])},
  ${pick('sex', ["'m'", "'f'"])},
  ${pick('email', ["'a@b.com'", "'c@d.org'", "'e@f.net'", "'g@h.uk'", "'i@j.com'", "'k@l.com'", "'m@n.com'"])},
  ${pick('phone', ["'07700900123'", "'01132431234'", "'07700900999'", "'02079460000'", "'01612345678'", "'07811111111'", "'07922222222'"])}
FROM range(${n}) t(i);
UPDATE gen SET postcode_sector = substr(postcode, 1, length(postcode) - 2), postcode_district = split_part(postcode, ' ', 1)`;
}

let db: DuckDb;
beforeAll(async () => {
  db = await DuckDb.open(':memory:');
  await db.run(`CREATE TABLE small (${RECORD_COLUMNS}); ${SMALL}`);
  await db.run(`CREATE TABLE gen (${RECORD_COLUMNS}); ${generatedRecordsSql(GENERATED_RECORDS)}`);
});
afterAll(() => db?.close());

type Pair = [number, number, number];

async function pairs(sql: string): Promise<Pair[]> {
  const rows = await db.all(`SELECT rid_l, rid_r, match_key FROM (${sql}) ORDER BY rid_l, rid_r`);
  return rows.map((r) => [Number(r['rid_l']), Number(r['rid_r']), Number(r['match_key'])]);
}

/**
 * The oracle: every pair of distinct records (a cross join — fine for a few hundred test rows, never
 * in the engine) with the index of the first rule whose condition holds.
 */
async function oraclePairs(rules: readonly BlockingRule[], records: string): Promise<Pair[]> {
  const first = rules.map((rule, i) => `WHEN coalesce(${ruleConditionSql(rule)}, false) THEN ${i}`).join(' ');
  return pairs(`SELECT * FROM (SELECT l.rid AS rid_l, r.rid AS rid_r, CASE ${first} END AS match_key FROM ${records} l CROSS JOIN ${records} r WHERE l.rid < r.rid) WHERE match_key IS NOT NULL`);
}

const rules = (...names: string[][]): BlockingRule[] => names.map((n) => blockingRule(n));

describe('blockedPairsSql', () => {
  const cases: { description: string; rules: BlockingRule[]; expected: Pair[] }[] = [
    {
      description: 'each pair once, tagged by the first rule that produced it',
      rules: rules(['nhs_number'], ['birth_date'], ['given_name', 'family_name'], ['postcode', 'given_initial']),
      expected: [
        [1, 2, 1],
        [1, 3, 0],
        [1, 6, 1],
        [1, 7, 1],
        [2, 6, 1],
        [2, 7, 1],
        [3, 7, 2],
        [6, 7, 1],
      ],
    },
    {
      description: 'rule order decides the tag: names first claims the name pairs',
      rules: rules(['given_name', 'family_name'], ['nhs_number'], ['birth_date']),
      expected: [
        [1, 2, 2],
        [1, 3, 0],
        [1, 6, 2],
        [1, 7, 0],
        [2, 6, 2],
        [2, 7, 2],
        [3, 7, 0],
        [6, 7, 2],
      ],
    },
    {
      description: 'a rule that adds nothing new produces no rows',
      rules: rules(['birth_date'], ['postcode', 'given_initial']),
      expected: [
        [1, 2, 0],
        [1, 6, 0],
        [1, 7, 0],
        [2, 6, 0],
        [2, 7, 0],
        [6, 7, 0],
      ],
    },
    {
      description: 'derived keys: same postcode and given initial (jon / john)',
      rules: rules(['postcode', 'given_initial']),
      expected: [[1, 2, 0]],
    },
    {
      description: 'derived keys: same names and birth year',
      rules: rules(['given_name', 'family_name', 'birth_year']),
      expected: [[1, 7, 0]],
    },
  ];

  it.each(cases)('$description', async ({ rules: r, expected }) => {
    const got = await pairs(blockedPairsSql(r, 'small'));
    expect(got).toEqual(expected);
    expect(got).toEqual(await oraclePairs(r, 'small'));
  });

  it('over generated records matches the cross-join oracle, with every pair once and rid_l < rid_r', async () => {
    const all = applicableRules(defaultBlockingRules([...LINKAGE_ROLES]), [...LINKAGE_ROLES]);
    const got = await pairs(blockedPairsSql(all, 'gen'));
    expect(got.length).toBeGreaterThan(1000);
    expect(got.every(([l, r]) => l < r)).toBe(true);
    expect(new Set(got.map(([l, r]) => `${l}-${r}`)).size).toBe(got.length);
    expect(got).toEqual(await oraclePairs(all, 'gen'));
  });

  it('needs at least one rule', () => {
    expect(() => blockedPairsSql([], 'small')).toThrow('linkage needs at least one blocking rule that its mapped roles can serve');
  });
});

describe('NULL keys never match', () => {
  const keyNames = Object.keys(BLOCKING_KEYS);
  it.each(keyNames.map((key) => ({ key })))('$key', async ({ key }) => {
    const rule = blockingRule([key]);
    // Records 4 and 5 hold NULL in every column.
    const nullOnly = '(SELECT * FROM small WHERE rid IN (4, 5))';
    expect(await pairs(blockedPairsSql([rule], nullOnly))).toEqual([]);
    expect(Number(await db.scalar(rulePairsSql(rule, nullOnly)))).toBe(0);
  });

  it('a NULL key in an earlier rule does not hide a pair from a later one', async () => {
    // 1 and 2: NHS number NULL on 2, so the nhs_number rule says nothing and birth_date must still produce them.
    const got = await pairs(blockedPairsSql(rules(['nhs_number'], ['birth_date']), '(SELECT * FROM small WHERE rid IN (1, 2))'));
    expect(got).toEqual([[1, 2, 1]]);
  });
});

describe('blocking plan shape', () => {
  interface PlanNode {
    name: string;
    children?: PlanNode[];
    extra_info?: Record<string, unknown>;
  }
  /** Every operator of DuckDB's JSON plan (the box-drawn plan is cut off beyond a few branches). */
  async function operators(sql: string): Promise<PlanNode[]> {
    const rows = await db.all(`EXPLAIN (FORMAT json) ${sql}`);
    const found: PlanNode[] = [];
    const walk = (node: PlanNode): void => {
      found.push(node);
      for (const child of node.children ?? []) walk(child);
    };
    for (const root of JSON.parse(String(rows[0]!['explain_value'])) as PlanNode[]) walk(root);
    return found;
  }

  const all = applicableRules(defaultBlockingRules([...LINKAGE_ROLES]), [...LINKAGE_ROLES]);
  const cases = [
    { description: 'the default rules for every role', rules: all },
    { description: 'one rule on a derived key', rules: rules(['given_name', 'family_name', 'birth_month_day']) },
  ];
  it.each(cases)('$description: one inner hash join per rule; no cross product or nested loop', async ({ rules: r }) => {
    const ops = await operators(blockedPairsSql(r, 'gen'));
    const joins = ops.filter((op) => op.name.includes('JOIN') || op.name.includes('CROSS') || op.name.includes('PRODUCT'));
    expect(joins.map((op) => op.name)).toEqual(r.map(() => 'HASH_JOIN'));
    for (const join of joins) expect(join.extra_info?.['Join Type']).toBe('INNER');
    for (const forbidden of ['CROSS_PRODUCT', 'NESTED_LOOP_JOIN', 'BLOCKWISE_NL_JOIN', 'PIECEWISE_MERGE_JOIN', 'POSITIONAL_SCAN']) {
      expect(ops.map((op) => op.name)).not.toContain(forbidden);
    }
  });
});

describe('rulePairsSql', () => {
  const defaults = defaultBlockingRules([...LINKAGE_ROLES]);
  it.each(defaults.map((keys) => ({ rule: keys.join('+'), keys })))('$rule alone: predicted = produced', async ({ keys }) => {
    const rule = blockingRule(keys);
    const predicted = Number(await db.scalar(rulePairsSql(rule, 'gen')));
    const produced = Number(await db.scalar(`SELECT count(*) FROM (${blockedPairsSql([rule], 'gen')})`));
    expect(predicted).toBe(produced);
    expect(produced).toBeGreaterThan(0);
  });

  it('on the hand-made records', async () => {
    expect(Number(await db.scalar(rulePairsSql(blockingRule(['birth_date']), 'small')))).toBe(6);
    expect(Number(await db.scalar(rulePairsSql(blockingRule(['given_name', 'family_name']), 'small')))).toBe(3);
  });
});

describe('defaultBlockingRules', () => {
  const everything = defaultBlockingRules([...LINKAGE_ROLES]);
  const needsOnly = (rule: readonly string[], roles: readonly LinkageRole[]): boolean => rule.every((key) => BLOCKING_KEYS[key]!.roles.every((role) => roles.includes(role)));

  it('with every role mapped: only known keys, the NHS number first, each rule once', () => {
    expect(everything.length).toBeGreaterThan(5);
    expect(everything[0]).toEqual(['nhs_number']);
    for (const rule of everything) for (const key of rule) expect(Object.keys(BLOCKING_KEYS)).toContain(key);
    expect(new Set(everything.map((r) => r.join('+'))).size).toBe(everything.length);
  });

  const cases: { description: string; roles: LinkageRole[]; exactly?: string[][]; includes?: string[][] }[] = [
    { description: 'names and birth date', roles: ['given_name', 'family_name', 'birth_date'], includes: [['given_name', 'family_name', 'birth_year'], ['given_name', 'family_name']] },
    { description: 'postcode and given name', roles: ['postcode', 'given_name'], includes: [['postcode', 'given_initial']] },
    { description: 'NHS number and email', roles: ['email', 'nhs_number'], exactly: [['nhs_number'], ['email']] },
    { description: 'address without a birth date: its rule drops out', roles: ['address', 'phone'], exactly: [['phone']] },
    { description: 'sex alone serves no rule', roles: ['sex'], exactly: [] },
    { description: 'nothing mapped', roles: [], exactly: [] },
  ];
  it.each(cases)('$description: drops the rules that need an unmapped role, keeping the order', ({ roles, exactly, includes }) => {
    const got = defaultBlockingRules(roles);
    expect(got).toEqual(everything.filter((rule) => needsOnly(rule, roles)));
    for (const rule of got) expect(needsOnly(rule, roles)).toBe(true);
    if (exactly !== undefined) expect(got).toEqual(exactly);
    for (const rule of includes ?? []) expect(got).toContainEqual(rule);
  });

  it('applicableRules keeps the rules whose keys all come from mapped roles', () => {
    const got = applicableRules([['birth_date'], ['postcode', 'birth_year'], ['email']], ['birth_date', 'email']);
    expect(got.map((r) => r.name)).toEqual(['birth_date', 'email']);
  });
});

describe('blockingRule', () => {
  it('names the rule after its keys and knows their roles', () => {
    const rule = blockingRule(['birth_date', 'family_initial', 'postcode_sector']);
    expect(rule.name).toBe('birth_date+family_initial+postcode_sector');
    expect(rule.keys.map((k) => k.name)).toEqual(['birth_date', 'family_initial', 'postcode_sector']);
    expect([...rolesOf(rule)]).toEqual(['birth_date', 'family_name', 'postcode']);
  });

  const bad: { description: string; keys: string[]; message: string | RegExp }[] = [
    { description: 'an unknown key, listing the known ones', keys: ['birth_date', 'surname'], message: /^'surname' is not a blocking key; use nhs_number, birth_date, birth_year, .*, phone$/ },
    { description: 'a role name that is not a key', keys: ['nhs_number_verification_status'], message: "'nhs_number_verification_status' is not a blocking key" },
    { description: 'no keys', keys: [], message: 'a blocking rule needs at least one key' },
  ];
  it.each(bad)('rejects $description', ({ keys, message }) => {
    expect(() => blockingRule(keys)).toThrow(message);
  });

  it('applicableRules rejects unknown keys too', () => {
    expect(() => applicableRules([['birth_date'], ['shoe_size']], ['birth_date'])).toThrow("'shoe_size' is not a blocking key");
  });
});
