import { describe, expect, it } from 'vitest';
import { injectCtes } from '../../../transforms/models/ephemeral.ts';

const ctes = new Map([['__dbt__cte__base', 'select 1 as id;']]);

describe('injectCtes', () => {
  it('prepends a with clause to a plain select', () => {
    expect(injectCtes('select * from __dbt__cte__base', ctes)).toBe('with __dbt__cte__base as (\nselect 1 as id\n)\nselect * from __dbt__cte__base');
  });

  it("joins the consumer's own with clause, after leading comments", () => {
    const sql = '-- note\n/* block */\nWITH x AS (select 2) select * from x, __dbt__cte__base';
    expect(injectCtes(sql, ctes)).toBe('-- note\n/* block */\nWITH __dbt__cte__base as (\nselect 1 as id\n),\nx AS (select 2) select * from x, __dbt__cte__base');
  });

  it('keeps with recursive in front', () => {
    expect(injectCtes('with recursive r(n) as (select 1) select * from r', ctes).startsWith('with recursive __dbt__cte__base as (')).toBe(true);
  });

  it('leaves SQL alone when nothing is ephemeral', () => {
    expect(injectCtes('select 1', new Map())).toBe('select 1');
  });
});
