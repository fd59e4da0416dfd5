// ICD-10 normalisation: every spelling of a code gives the same key (icd10.ts), and the SQL macros
// (macros/terminology.sql) agree with the TypeScript on every case, run in DuckDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { normaliseIcd10 } from '../../../transforms/terminology/icd10.ts';
import { renderWithProjectMacros } from '../../support/projectMacros.ts';

const FORMS: [raw: string, key: string | null, dotted: string | null, mark: 'dagger' | 'asterisk' | null][] = [
  ['J45.9', 'J459', 'J45.9', null],
  ['J459', 'J459', 'J45.9', null],
  ['j45.9', 'J459', 'J45.9', null],
  [' J45 .9 ', 'J459', 'J45.9', null],
  ['I10', 'I10', 'I10', null],
  ['I10X', 'I10', 'I10', null],
  ['I10-', 'I10', 'I10', null],
  ['I10X-', 'I10', 'I10', null],
  ['S72.00', 'S7200', 'S72.00', null],
  ['S7200', 'S7200', 'S72.00', null],
  ['A17.0', 'A170', 'A17.0', null],
  ['A170-D', 'A170', 'A17.0', 'dagger'],
  ['A170D', 'A170', 'A17.0', 'dagger'],
  ['A17.0†', 'A170', 'A17.0', 'dagger'],
  ['A17.0+', 'A170', 'A17.0', 'dagger'],
  ['G01X-A', 'G01', 'G01', 'asterisk'],
  ['G01XA', 'G01', 'G01', 'asterisk'],
  ['G01*', 'G01', 'G01', 'asterisk'],
  ['M14.2*', 'M142', 'M14.2', 'asterisk'],
  ['E10.5-D', 'E105', 'E10.5', 'dagger'],
  ['U07.1', 'U071', 'U07.1', null],
  // Not ICD-10: no key, so they are never matched (and count as unmapped).
  ['', null, null, null],
  ['J4', null, null, null],
  ['44054006', null, null, null],
  ['I10XX', null, null, null],
  ['I10X1', null, null, null],
  ['J45.9.1', null, null, null],
  ['LP-DM2', null, null, null],
  ['#NC', null, null, null],
];

describe('normaliseIcd10', () => {
  it.each(FORMS)('%j → key %j, dotted %j, mark %j', (raw, key, dotted, mark) => {
    const code = normaliseIcd10(raw);
    if (key === null) {
      expect(code).toBeNull();
      return;
    }
    expect(code).toEqual({ raw, key, dotted, mark });
  });
});

describe('macros icd10_key / icd10_dotted / icd10_mark', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
    const values = FORMS.map(([raw], i) => `(${i}, ${quoteLiteral(raw)})`).join(', ');
    await db.run(`CREATE TABLE forms AS SELECT * FROM (VALUES ${values}) t(id, raw)`);
  });
  afterAll(() => db.close());

  it('agree with normaliseIcd10 on every form', async () => {
    const rows = await db.all(
      renderWithProjectMacros(`SELECT raw, {{ icd10_key('raw') }} AS key, {{ icd10_dotted('raw') }} AS dotted, {{ icd10_mark('raw') }} AS mark FROM forms ORDER BY id`),
    );
    expect(rows).toEqual(
      FORMS.map(([raw]) => {
        const code = normaliseIcd10(raw);
        return { raw, key: code?.key ?? null, dotted: code?.dotted ?? null, mark: code?.mark ?? null };
      }),
    );
  });

  it('are NULL for NULL', async () => {
    expect(await db.all(renderWithProjectMacros(`SELECT {{ icd10_key('NULL::VARCHAR') }} AS key, {{ icd10_dotted('NULL::VARCHAR') }} AS dotted`))).toEqual([{ key: null, dotted: null }]);
  });
});
