// Column names as table headings: underscores become spaces, the acronyms readers know are in
// capitals, long numbers get their thousands separator, and nothing else is changed.

import { describe, expect, it } from 'vitest';
import { label } from '../../../warehouse/reports/markdown/reportHtml.ts';

describe('label', () => {
  it.each([
    ['practice_ods', 'Practice ODS'],
    ['snomed_code', 'SNOMED CT code'],
    ['per_1000_registered', 'Per 1,000 registered'],
    ['fte', 'FTE'],
    ['hba1c_above_58', 'HbA1c above 58'],
    ['run_id', 'Run ID'],
    ['week_starting', 'Week starting'],
    ['Already Titled', 'Already Titled'],
    ['idle', 'Idle'],
  ])('%s → %s', (column, heading) => {
    expect(label(column)).toBe(heading);
  });
});
