import { describe, expect, it } from 'vitest';
import { failureCountSql, genericTestName, genericTestSql } from '../../../transforms/models/dataTests.ts';

describe('generic test names (dbt style)', () => {
  it('joins test, model, column and arguments', () => {
    expect(genericTestName('not_null', 'stg_patient', 'patient_id', {})).toBe('not_null_stg_patient_patient_id');
    expect(genericTestName('accepted_values', 'encounter', 'status', { values: ['planned', 'finished'] })).toBe('accepted_values_encounter_status__planned__finished');
    expect(genericTestName('relationships', 'encounter', 'patient_id', { to: "ref('patient')", field: 'patient_id' })).toBe('relationships_encounter_patient_id__patient_id__ref_patient_');
  });

  it('shortens names over 63 characters with a hash, stably', () => {
    const long = genericTestName('accepted_values', 'a_very_long_model_name_for_testing', 'a_very_long_column_name', { values: ['x', 'y', 'z'] });
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toBe(genericTestName('accepted_values', 'a_very_long_model_name_for_testing', 'a_very_long_column_name', { values: ['x', 'y', 'z'] }));
  });
});

describe('generic test SQL', () => {
  it('applies where to the model before testing', () => {
    expect(genericTestSql({ test: 'not_null', relation: '"main"."p"', column: 'id', where: "sex = 'M'" })).toBe(`select id\nfrom (select * from "main"."p" where sex = 'M') dbt_subquery\nwhere id is null`);
  });

  it('quotes accepted values unless quote is false', () => {
    expect(genericTestSql({ test: 'accepted_values', relation: 't', column: 'n', values: [1, "o'k"] })).toContain("not in ('1', 'o''k')");
    expect(genericTestSql({ test: 'accepted_values', relation: 't', column: 'n', values: [1, 2], quote: false })).toContain('not in (1, 2)');
  });

  it('counts failures around any failing-rows query, dropping a trailing semicolon', () => {
    expect(failureCountSql('select 1;\n')).toBe('select count(*) as failures from (\nselect 1\n) dbt_internal_test');
  });
});
