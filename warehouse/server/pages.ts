// Server-rendered HTML for commissioners: plain template literals, every interpolated value escaped,
// no scripts. Pages follow the GOV.UK/NHS habits that make tables usable with a screen reader: a
// language, a title, a caption, column headers with scope, and the suppression legend tied to the
// table with aria-describedby. Pure: strings in, strings out.

import type { Json } from '../../core/duckdb.ts';
import type { DisclosedReport } from '../reports/disclosedReport.ts';
import type { ReportDefinition } from '../reports/reportDefinitions.ts';

export const SUPPRESSED_MARK = '*';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export interface ReleaseNote {
  releaseId: string;
  publishedAt: string;
}

const STYLE = `
body { font-family: system-ui, Arial, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #212b32; line-height: 1.5; }
a { color: #005eb8; }
a:focus { outline: 3px solid #ffeb3b; }
table { border-collapse: collapse; margin: 1rem 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.5rem; }
th, td { border-bottom: 1px solid #d8dde0; padding: 0.4rem 0.8rem; text-align: left; }
th[scope="col"] { border-bottom: 2px solid #212b32; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #f0f4f5; border-left: 4px solid #005eb8; padding: 0.6rem 1rem; }
`;

function page(title: string, main: string): string {
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – carelake</title>
<style>${STYLE}</style>
</head>
<body>
<header><p><a href="/">carelake reports</a></p></header>
<main id="main">
${main}
</main>
</body>
</html>
`;
}

/** ISO time as `2025-03-01 09:30 UTC`, keeping the machine-readable value in `datetime`. */
export function timeElement(iso: string): string {
  const parsed = new Date(iso);
  const shown = Number.isNaN(parsed.getTime()) ? iso : `${parsed.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(shown)}</time>`;
}

export function indexPage(reports: readonly ReportDefinition[], release: ReleaseNote | null): string {
  const note = release
    ? `<p class="note">Current release <strong>${escapeHtml(release.releaseId)}</strong>, published ${timeElement(release.publishedAt)}.</p>`
    : '<p class="note">No data release has been published yet.</p>';
  const items = reports
    .map((r) => `<li><a href="/reports/${encodeURIComponent(r.id)}">${escapeHtml(r.title)}</a> – ${escapeHtml(r.description)}</li>`)
    .join('\n');
  const list = reports.length > 0 ? `<ul>\n${items}\n</ul>` : '<p>No reports are defined.</p>';
  return page('Reports', `<h1>Reports</h1>\n${note}\n${list}`);
}

function cellText(value: Json): string {
  if (value === null) return '';
  if (typeof value === 'number') return value.toLocaleString('en-GB');
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  return JSON.stringify(value);
}

export function reportPage(report: DisclosedReport): string {
  const countColumns = new Set(report.countColumns);
  const suppressedCells = new Set(report.suppressed.map((s) => `${s.row}\u0000${s.column}`));
  const numeric = report.columns.map((column, i) => countColumns.has(column) || report.rows.some((row) => typeof row[i] === 'number'));
  const head = report.columns.map((column, i) => `<th scope="col"${numeric[i] ? ' class="num"' : ''}>${escapeHtml(column)}</th>`).join('');
  const body = report.rows
    .map((row, r) => {
      const cells = report.columns.map((column, i) => {
        const cls = numeric[i] ? ' class="num"' : '';
        if (suppressedCells.has(`${r}\u0000${column}`)) return `<td${cls}><abbr title="suppressed">${SUPPRESSED_MARK}</abbr></td>`;
        return `<td${cls}>${escapeHtml(cellText(row[i] ?? null))}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const empty = report.rows.length === 0 ? `<tr><td colspan="${report.columns.length}">No rows.</td></tr>` : '';
  const main = `<h1>${escapeHtml(report.title)}</h1>
<p>${escapeHtml(report.description)}</p>
<p class="note" id="release-note">Release <strong>${escapeHtml(report.release)}</strong>, data as of ${timeElement(report.asOf)}. Disclosure control: ${escapeHtml(report.policy.description)}</p>
<table aria-describedby="release-note legend">
<caption>${escapeHtml(report.title)}</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${body}${empty}
</tbody>
</table>
<p id="legend"><strong>${SUPPRESSED_MARK}</strong> = suppressed: the count is too small to publish safely (${escapeHtml(suppressedRange(report))}). ${report.suppressed.length === 1 ? '1 cell is' : `${report.suppressed.length} cells are`} suppressed in this table.</p>
<p><a href="/api/reports/${encodeURIComponent(report.id)}">This report as JSON</a></p>`;
  return page(report.title, main);
}

function suppressedRange(report: DisclosedReport): string {
  const low = report.policy.suppressZero ? 0 : 1;
  return `between ${low} and ${report.policy.threshold}`;
}

export function errorPage(status: number, heading: string, message: string): string {
  return page(heading, `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(message)}</p>\n<p>Status ${status}. <a href="/">Back to reports</a></p>`);
}
