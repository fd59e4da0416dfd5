// Reports served to commissioners: named SELECTs over the commissioner serving file whose count
// columns always pass through disclosure control before they leave the server. Definitions are code,
// reviewed like code; the concrete NHS reports are added alongside the example below.

import { CarelakeError } from '../../core/errors.ts';

export interface ReportDefinition {
  /** URL-safe and stable: lower-case letters, digits, '.', '_' and '-'. */
  id: string;
  title: string;
  description: string;
  /** A SELECT over the commissioner serving file. */
  sql: string;
  /** Columns holding counts of people or events; each cell is suppressed/rounded by the policy. */
  countColumns: string[];
}

const REPORT_ID = /^[a-z0-9][a-z0-9._-]{0,79}$/;

/**
 * A generic example: counts per category from a serving table `srv_example_counts(category, n)`.
 * It shows the shape a report takes and is what the serving tests publish and query.
 */
export const exampleCountsReport: ReportDefinition = {
  id: 'example-counts',
  title: 'Example: counts by category',
  description: 'Number of records in each category of the example serving table.',
  sql: 'SELECT category, n FROM srv_example_counts ORDER BY category',
  countColumns: ['n'],
};

/** Reports by id. Invalid ids and duplicates throw, naming both definitions, before the server starts. */
export function reportRegistry(reports: readonly ReportDefinition[]): ReadonlyMap<string, ReportDefinition> {
  const problems: string[] = [];
  const byId = new Map<string, ReportDefinition>();
  for (const report of reports) {
    if (!REPORT_ID.test(report.id)) problems.push(`report id '${report.id}' must be lower-case letters, digits, '.', '_' or '-'`);
    if (report.countColumns.length === 0) problems.push(`report '${report.id}' names no count columns, so nothing in it would be disclosure-controlled`);
    const existing = byId.get(report.id);
    if (existing) problems.push(`report id '${report.id}' is used by both '${existing.title}' and '${report.title}'`);
    else byId.set(report.id, report);
  }
  if (problems.length > 0) {
    throw new CarelakeError({
      code: 'reports.invalid-definitions',
      kind: 'config',
      message: `The report definitions are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      location: { file: 'warehouse/reports/reportDefinitions.ts' },
    });
  }
  return byId;
}
