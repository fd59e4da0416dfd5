// The SQL macros of macros/hl7_datetime.sql against parseHl7DateTime, in a real DuckDB, over the same
// table of cases (and a few thousand generated values): one grammar, two executions, which must agree
// on every instant (to the microsecond), precision and date, and on what is invalid.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { parseHl7DateTime } from '../../../pipelines/hl7v2/timestamp.ts';
import { MacroLibrary, parseTemplate, renderProgram } from '../../../transforms/models/jinja.ts';
import { projectRoot } from '../../sharedData.ts';
import { generatedHl7DateTimes, HL7_DATETIME_CASES } from './timestampCases.ts';

const MACRO_FILE = 'macros/hl7_datetime.sql';

/** Renders one macro call the way the model runner does: the project's macro file loaded into the render. */
function render(call: string): string {
  const { library, problems } = MacroLibrary.parse([{ path: MACRO_FILE, contents: readFileSync(join(projectRoot, MACRO_FILE), 'utf8') }]);
  expect(problems).toEqual([]);
  return renderProgram(parseTemplate('test', `{{ ${call} }}`), { values: {}, functions: {} }, library);
}

/** Microseconds since the epoch of an ISO instant with 3 or 4 fraction digits. */
function instantMicros(instant: string): string {
  const fourth = /\.\d{3}(\d)Z$/.exec(instant)?.[1] ?? '0';
  return String(BigInt(Date.parse(instant)) * 1000n + BigInt(fourth) * 100n);
}

interface SqlRow {
  i: number;
  micros: string | null;
  precision: string | null;
  date: string | null;
}

/** What the SQL should give for a value: parseHl7DateTime's answer in the query's shape. */
function fromParser(i: number, value: string, timezone: string): SqlRow {
  const parsed = parseHl7DateTime(value, timezone);
  if (!parsed?.ok) return { i, micros: null, precision: null, date: null };
  return { i, micros: instantMicros(parsed.instant), precision: parsed.precision, date: parsed.date };
}

describe('macros/hl7_datetime.sql agrees with parseHl7DateTime', () => {
  let db: DuckDb;
  const rows = [
    ...HL7_DATETIME_CASES.map(({ value, timezone }) => ({ value, timezone })),
    ...generatedHl7DateTimes(3000).map((value, n) => ({ value, timezone: ['Europe/London', 'America/New_York', 'UTC'][n % 3]! })),
  ].map((row, i) => ({ i, ...row }));

  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
    await db.run(
      `create table cases as select unnest(from_json($1::JSON, '[{"i":"INTEGER","value":"VARCHAR","timezone":"VARCHAR"}]'), recursive := true)`,
      [JSON.stringify(rows)],
    );
  });
  afterAll(() => db?.close());

  async function sqlRows(timezoneSql: string, where = 'true'): Promise<SqlRow[]> {
    return (await db.all(
      `select i,
          epoch_us(${render(`hl7_datetime('value', "${timezoneSql}")`)})::varchar as micros,
          ${render(`hl7_datetime_precision('value')`)} as precision,
          (${render(`hl7_date('value')`)})::varchar as date
        from cases where ${where} order by i`,
    )) as unknown as SqlRow[];
  }

  it('on every case of the shared table, valid and invalid', async () => {
    const sql = await sqlRows('timezone');
    const cases = HL7_DATETIME_CASES.map(({ value, timezone, description }, i) => ({ description, ...fromParser(i, value, timezone) }));
    expect(sql.slice(0, cases.length).map((row, i) => ({ description: cases[i]!.description, ...row }))).toEqual(cases);
  });

  it('on generated values, with the zone taken from a column', async () => {
    const sql = await sqlRows('timezone', `i >= ${HL7_DATETIME_CASES.length}`);
    const expected = rows.slice(HL7_DATETIME_CASES.length).map(({ i, value, timezone }) => ({ value, ...fromParser(i, value, timezone) }));
    expect(sql.map((row, n) => ({ value: expected[n]!.value, ...row }))).toEqual(expected);
    // The generated values must exercise both sides of the grammar to mean anything.
    const valid = expected.filter((row) => row.precision !== null).length;
    expect(valid).toBeGreaterThan(300);
    expect(expected.length - valid).toBeGreaterThan(300);
  });

  it('with the zone given as a quoted literal', async () => {
    const sql = await sqlRows("'Europe/London'", `timezone = 'Europe/London'`);
    const expected = rows.filter((row) => row.timezone === 'Europe/London').map(({ i, value }) => fromParser(i, value, 'Europe/London'));
    expect(sql).toEqual(expected);
  });

  it('keeps NULL as NULL', async () => {
    const [row] = await db.all(
      `select ${render(`hl7_datetime('v', "'UTC'")`)} as t, ${render(`hl7_datetime_precision('v')`)} as p, ${render(`hl7_date('v')`)} as d from (select null::varchar as v)`,
    );
    expect(row).toEqual({ t: null, p: null, d: null });
  });
});
