// A folder of Markdown reports for a test, written under the test's own directory and loaded the way
// `carelake serve` loads `reports.dir`.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadReportCatalog, type ReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';

/** Writes each `path → Markdown` under `dir` and loads the folder as a report catalog. */
export async function reportCatalogOf(dir: string, files: Record<string, string>): Promise<ReportCatalog> {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  }
  return loadReportCatalog(dir);
}

/** A report over the serving tests' `srv_example_counts(category, n)`: one table of counts. */
export const EXAMPLE_COUNTS_REPORT = `---
title: "Example: counts by category"
description: Number of records in each category of the example serving table.
---
\`\`\`sql counts counts=n
SELECT category, n FROM srv_example_counts ORDER BY category
\`\`\`
<DataTable data="counts" title="Counts by category"/>
`;
