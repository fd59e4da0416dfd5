// codeKey (map entries, keyed in TypeScript at load) and the code_key macro (facts, keyed in SQL at
// build) must agree, or a fact would miss its map entry.

import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { quoteLiteral } from '../../../core/sql.ts';
import { codeKey } from '../../../transforms/terminology/codeKey.ts';
import { CODE_SYSTEMS } from '../../../transforms/terminology/mapEntry.ts';
import { renderWithProjectMacros } from '../../support/projectMacros.ts';

const CASES: [system: string, code: string, key: string | null][] = [
  [CODE_SYSTEMS.icd10, 'J45.9', 'J459'],
  [CODE_SYSTEMS.icd10, 'G01X-A', 'G01'],
  [CODE_SYSTEMS.icd10, 'LP-DM2', null],
  [CODE_SYSTEMS.opcs4, 'X38.4', 'X384'],
  [CODE_SYSTEMS.opcs4, ' h22.9 ', 'H229'],
  [CODE_SYSTEMS.snomed, ' 44054006 ', '44054006'],
  ['https://lab.example.nhs.uk/CodeSystem/tests', 'HbA1c', 'HbA1c'],
  ['L', '  ', null],
];

describe('codeKey and code_key', () => {
  it.each(CASES)('%s %j → %j', (system, code, key) => {
    expect(codeKey(system, code)).toBe(key);
  });

  it('agree in SQL', async () => {
    const db = await DuckDb.open(':memory:');
    try {
      const values = CASES.map(([system, code], i) => `(${i}, ${quoteLiteral(system)}, ${quoteLiteral(code)})`).join(', ');
      const rows = await db.all(renderWithProjectMacros(`SELECT {{ code_key('s', 'c') }} AS key FROM (VALUES ${values}) t(i, s, c) ORDER BY i`));
      expect(rows.map((r) => r.key)).toEqual(CASES.map(([system, code]) => codeKey(system, code)));
    } finally {
      db.close();
    }
  });
});
