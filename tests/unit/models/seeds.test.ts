import { describe, expect, it } from 'vitest';
import { seedSelectSql } from '../../../transforms/models/seeds.ts';

describe('seedSelectSql', () => {
  it('reads the CSV with its header, delimiter and column types', () => {
    expect(seedSelectSql('/p/seeds/codes.csv', { delimiter: '|', column_types: { code: 'varchar' } })).toBe(
      "select * from read_csv('/p/seeds/codes.csv', header = true, auto_detect = true, delim = '|', types = {'code': 'varchar'})",
    );
  });

  it('refuses config that is not what dbt takes', () => {
    expect(() => seedSelectSql('/x.csv', { delimiter: '' })).toThrow(/delimiter/);
    expect(() => seedSelectSql('/x.csv', { column_types: ['code'] })).toThrow(/column_types must map/);
    expect(() => seedSelectSql('/x.csv', { column_types: { code: "varchar'); drop table x; --" } })).toThrow(/column_types.code/);
  });
});
