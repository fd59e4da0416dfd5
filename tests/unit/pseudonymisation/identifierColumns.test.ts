// Which output column names the serving build refuses as direct identifiers.

import { describe, expect, it } from 'vitest';
import { identifierLikeColumn } from '../../../warehouse/publish/identifierColumns.ts';

describe('identifierLikeColumn', () => {
  const cases = [
    { description: 'NHS number', column: 'nhs_number', expected: 'nhs_number' },
    { description: 'qualified NHS number', column: 'patient_nhs_number', expected: 'nhs_number' },
    { description: 'linkage pair suffix', column: 'nhs_number_l', expected: 'nhs_number' },
    { description: 'upper case', column: 'NHS_NUMBER', expected: 'nhs_number' },
    { description: 'MRN', column: 'mrn', expected: 'mrn' },
    { description: 'local MRN', column: 'local_mrn', expected: 'mrn' },
    { description: 'given name', column: 'given_name', expected: 'given_name' },
    { description: 'family name', column: 'family_name', expected: 'family_name' },
    { description: 'bare name', column: 'name', expected: 'name' },
    { description: 'birth date', column: 'birth_date', expected: 'birth_date' },
    { description: 'date of birth', column: 'date_of_birth', expected: 'date_of_birth' },
    { description: 'postcode', column: 'postcode', expected: 'postcode' },
    { description: 'home postcode', column: 'home_postcode', expected: 'postcode' },
    { description: 'address line', column: 'address_line_1', expected: 'address' },
    { description: 'phone', column: 'phone', expected: 'phone' },
    { description: 'email', column: 'email', expected: 'email' },
    { description: 'NI number', column: 'ni_number', expected: 'ni_number' },
    { description: 'postcode district is minimised', column: 'postcode_district', expected: null },
    { description: 'birth year is minimised', column: 'birth_year', expected: null },
    { description: 'token column', column: 'nhs_number_token', expected: null },
    { description: 'validity flag', column: 'nhs_number_valid', expected: null },
    { description: 'practice name is not a person', column: 'practice_name', expected: null },
    { description: 'patient token', column: 'patient_token', expected: null },
    { description: 'count', column: 'n', expected: null },
    { description: 'age band', column: 'age_band', expected: null },
  ];
  it.each(cases)('$description', ({ column, expected }) => expect(identifierLikeColumn(column)).toBe(expected));
});
