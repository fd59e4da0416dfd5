// `carelake reports check`: compile every report and run it on the current commissioner release;
// exit 1 naming each report (file and line) that fails, so a broken report is found at build time.

import { DISCLOSURE_POLICIES } from '../../warehouse/disclosure/policy.ts';
import { loadReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';
import { checkReports, reportCheckFailure } from '../../warehouse/reports/markdown/reportCheck.ts';
import { closeStatementParser } from '../../warehouse/query/statementCheck.ts';
import { ServingReader } from '../../warehouse/serving/servingReader.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export async function reportsCheckCommand(ctx: CommandContext, out: Console): Promise<void> {
  const catalog = await loadReportCatalog(ctx.config.reports.dir);
  const reader = new ServingReader(ctx.layout, 'commissioner');
  try {
    const outcomes = await checkReports(catalog, (work) => reader.use((db) => work(db)), DISCLOSURE_POLICIES[ctx.config.governance.suppression]);
    out.info(
      formatTable(
        ['report', 'page', 'result', 'rows'],
        outcomes.map((o) => [o.report, o.route ? Object.values(o.route).join('/') : '', o.ok ? 'ok' : 'FAILED', o.ok ? o.rows : '']),
      ),
    );
    const failure = reportCheckFailure(outcomes, catalog.dir);
    if (failure) throw failure;
    out.info(`All ${outcomes.length} report page(s) in ${catalog.dir} compiled and ran on the current commissioner release.`);
  } finally {
    reader.close();
    await closeStatementParser();
  }
}
