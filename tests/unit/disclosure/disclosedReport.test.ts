// Disclosure control applied to a report's query result.

import { describe, expect, it } from 'vitest';
import { DISCLOSURE_POLICIES } from '../../../warehouse/disclosure/policy.ts';
import { discloseReport } from '../../../warehouse/reports/disclosedReport.ts';
import type { ReportDefinition } from '../../../warehouse/reports/reportDefinitions.ts';

const report: ReportDefinition = { id: 'r', title: 'R', description: 'd', sql: 'SELECT 1', countColumns: ['n'] };
const source = { release: 'c1', asOf: '2025-03-01T09:30:00.000Z', policy: DISCLOSURE_POLICIES.hes };

describe('discloseReport', () => {
  it('suppresses and rounds count cells, records suppressed cells, leaves other columns alone', () => {
    const result = discloseReport(
      report,
      { columns: ['group', 'n'], rows: [['a', '0'], ['b', '3'], ['c', 12], ['7', null]] },
      source,
    );
    expect(result.rows).toEqual([['a', 0], ['b', null], ['c', 10], ['7', null]]);
    // Counts in the commissioner file are never missing: a NULL one was suppressed when it was published.
    expect(result.suppressed).toEqual([
      { row: 1, column: 'n' },
      { row: 3, column: 'n' },
    ]);
    expect(result.policy.scheme).toBe('hes');
    expect(result.policy.description).toContain('1 to 7');
  });

  const errors = [
    { description: 'a count column the SQL does not return', columns: ['group', 'x'], rows: [['a', 1]], error: /count column 'n'/ },
    { description: 'a non-numeric count', columns: ['n'], rows: [['ten']], error: /not a count at row 1/ },
    { description: 'a negative count', columns: ['n'], rows: [[-3]], error: /not a count/ },
  ];
  it.each(errors)('refuses $description without echoing values', ({ columns, rows, error }) => {
    expect(() => discloseReport(report, { columns, rows }, source)).toThrow(error);
    try {
      discloseReport(report, { columns, rows }, source);
    } catch (err) {
      expect(String(err)).not.toContain('ten');
    }
  });
});
