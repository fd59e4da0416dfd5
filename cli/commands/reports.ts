// `carelake reports check`: compile every report and run it on the current commissioner release;
// exit 1 naming each report (file and line) that fails, so a broken report is found at build time.

import { CarelakeError } from '../../core/errors.ts';
import { DISCLOSURE_POLICIES } from '../../warehouse/disclosure/policy.ts';
import { loadReportCatalog } from '../../warehouse/reports/markdown/reportCatalog.ts';
import { checkReports } from '../../warehouse/reports/markdown/reportCheck.ts';
import { closeStatementParser } from '../../warehouse/query/statementCheck.ts';
import { ServingReader } from '../../warehouse/serving/servingReader.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export async function reportsCheckCommand(ctx: CommandContext, out: Console): Promise<void> {
  const catalog = await loadReportCatalog(ctx.config.reports.dir);
  const reader = new ServingReader(ctx.layout, 'commissioner');
  try {
    const outcomes = await checkReports(catalog, reader, DISCLOSURE_POLICIES[ctx.config.governance.suppression]);
    out.info(
      formatTable(
        ['report', 'page', 'result', 'rows'],
        outcomes.map((o) => [o.report, o.route ? Object.values(o.route).join('/') : '', o.ok ? 'ok' : 'FAILED', o.ok ? o.rows : '']),
      ),
    );
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length > 0) {
      throw new CarelakeError({
        code: 'reports.check-failed',
        kind: 'runtime',
        message: `${failed.length} report check${failed.length === 1 ? '' : 's'} failed:\n${failed.map((f) => `  - ${f.error!.message}`).join('\n')}`,
        hint: `fix the report files in ${catalog.dir}`,
      });
    }
    out.info(`All ${outcomes.length} report page(s) in ${catalog.dir} compiled and ran on the current commissioner release.`);
  } finally {
    reader.close();
    await closeStatementParser();
  }
}
