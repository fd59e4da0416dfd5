// A report run as one server-rendered page in the NHS.UK frontend's markup (nhsuk-frontend's CSS,
// served from /assets): header, breadcrumb, prose, filters as a GET form that works without JavaScript,
// tables with captions and column headers, big numbers, and charts. A chart is a figure holding its
// data as JSON (drawn by ECharts from /assets when scripts run) and always its table, so the numbers
// are there for screen readers and with scripts off. Suppressed cells show `*`, tied to a legend that
// states the policy; every page says when the data was built, which release it is and which policy
// applies. Every interpolated value is escaped. Pure.

import type { Json } from '../../../core/duckdb.ts';
import { escapeHtml, nhsPage, timeElement } from '../../server/pages.ts';
import type { ChartComponent, CompiledReport, ReportComponent, TableComponent } from './reportCompile.ts';
import type { DisclosedResult, FilterState, ReportRun } from './reportRun.ts';

export const SUPPRESSED_MARK = '*';

export interface PageContext {
  release: string;
  asOf: string;
  policyName: string;
  policyDescription: string;
  /** The query string the page was asked for, kept on CSV links so a download matches the page. */
  search: string;
  /** The path of this page (for CSV links). */
  path: string;
  /** Who is signed in, with the sign-out button; empty for a bearer-token request. */
  account?: string;
  /** Whether the server can print the page as PDF (it has Chromium). */
  pdf?: boolean;
}

export function reportPageHtml(run: ReportRun, context: PageContext): string {
  const { report } = run;
  const body: string[] = [`<h1>${escapeHtml(pageTitle(report, run.route))}</h1>`];
  if (report.description) body.push(`<p class="nhsuk-lede-text">${escapeHtml(report.description)}</p>`);
  body.push(provenance(context));
  if (run.filters.length > 0) body.push(filterForm(run.filters));
  let tableCount = 0;
  let hasChart = false;
  for (const block of report.blocks) {
    if (block.kind === 'prose') body.push(`<div class="carelake-prose">${block.html}</div>`);
    else if (block.component.type !== 'Dropdown' && block.component.type !== 'DateRange') {
      tableCount++;
      if (block.component.type === 'BarChart' || block.component.type === 'LineChart') hasChart = true;
      body.push(componentHtml(block.component, run, context, tableCount));
    }
  }
  body.push(legend(context));
  body.push(pageExports(context));
  return nhsPage(
    { title: pageTitle(report, run.route), charts: hasChart, breadcrumbs: [{ href: '/', text: 'Reports' }], account: context.account },
    body.join('\n'),
  );
}

export function pageTitle(report: CompiledReport, route: Record<string, string>): string {
  const values = report.routeParams.map((p) => route[p]).filter(Boolean);
  return values.length > 0 ? `${report.title}: ${values.join(', ')}` : report.title;
}

function provenance(context: PageContext): string {
  return `<div class="nhsuk-inset-text carelake-provenance"><span class="nhsuk-u-visually-hidden">Information: </span><p>Data as of ${timeElement(context.asOf)}, serving release <code>${escapeHtml(context.release)}</code>. Small numbers are protected by disclosure control under ${escapeHtml(withoutFullStop(context.policyDescription))}. Cells marked ${SUPPRESSED_MARK} are suppressed.</p></div>`;
}

/** The whole page to keep: a PDF where the server can print one, else the browser's own print. */
function pageExports(context: PageContext): string {
  if (!context.pdf) return '';
  const href = `${context.path}.pdf${context.search ? `?${context.search}` : ''}`;
  return `<p class="nhsuk-body-s carelake-exports"><a href="${escapeHtml(href)}" download>Download this page as PDF</a></p>`;
}

function legend(context: PageContext): string {
  return `<p class="nhsuk-body-s" id="suppression-legend"><strong>${SUPPRESSED_MARK}</strong> suppressed: too small to publish under the ${escapeHtml(context.policyName)} disclosure rules stated at the top of the page. A rate or average beside a suppressed count is suppressed with it.</p>`;
}

function withoutFullStop(text: string): string {
  return text.replace(/\.$/, '');
}

function filterForm(filters: readonly FilterState[]): string {
  const fields = filters.map((state) => {
    const f = state.filter;
    if ('options' in state) {
      const options = state.options.map((o) => `<option value="${escapeHtml(o.value)}"${o.value === state.selected ? ' selected' : ''}>${escapeHtml(o.label)}</option>`).join('');
      return `<div class="nhsuk-form-group"><label class="nhsuk-label" for="filter-${f.name}">${escapeHtml(f.title)}</label><select class="nhsuk-select" id="filter-${f.name}" name="${f.name}">${options}</select></div>`;
    }
    const input = (suffix: 'start' | 'end', label: string, value: string | null) =>
      `<div class="nhsuk-form-group carelake-inline"><label class="nhsuk-label" for="filter-${f.name}-${suffix}">${escapeHtml(f.title)}: ${label}</label><input class="nhsuk-input nhsuk-input--width-10" type="date" id="filter-${f.name}-${suffix}" name="${f.name}_${suffix}" value="${escapeHtml(value ?? '')}"${state.min ? ` min="${state.min}"` : ''}${state.max ? ` max="${state.max}"` : ''}></div>`;
    return `<fieldset class="nhsuk-fieldset"><legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">${escapeHtml(f.title)}</legend>${input('start', 'from', state.start)}${input('end', 'to', state.end)}</fieldset>`;
  });
  return `<form method="get" class="carelake-filters" aria-label="Filters">${fields.join('')}<button class="nhsuk-button nhsuk-button--secondary" type="submit" data-module="nhsuk-button">Apply filters</button></form>`;
}

function componentHtml(component: ReportComponent, run: ReportRun, context: PageContext, index: number): string {
  const result = run.results.get((component as { data: string }).data)!;
  switch (component.type) {
    case 'BigValue':
      return bigValue(component.title, result, component.value);
    case 'DataTable':
      return tableHtml(component.title, result, context, index, component);
    case 'BarChart':
    case 'LineChart':
      return chartHtml(component, result, context, index);
    default:
      return '';
  }
}

function bigValue(title: string, result: DisclosedResult, column: string): string {
  const i = result.columns.indexOf(column);
  const suppressed = i < 0 || result.rows.length === 0 || result.suppressed.has(`0:${i}`);
  const value = suppressed ? SUPPRESSED_MARK : formatCell(result.rows[0]![i] ?? null, true);
  return `<div class="nhsuk-card carelake-big-value"><div class="nhsuk-card__content"><h2 class="nhsuk-card__heading nhsuk-heading-s">${escapeHtml(title)}</h2><p class="nhsuk-heading-xl nhsuk-u-margin-bottom-0"${suppressed ? ' aria-describedby="suppression-legend"' : ''}>${escapeHtml(value)}</p></div></div>`;
}

export function tableHtml(title: string, result: DisclosedResult, context: PageContext, index: number, table?: TableComponent): string {
  const numeric = new Set([...result.counts, ...result.measures]);
  const head = result.columns.map((c) => `<th scope="col" class="nhsuk-table__header${numeric.has(c) ? ' nhsuk-table__header--numeric' : ''}">${escapeHtml(label(c))}</th>`).join('');
  const linkIndex = table?.linkOn ? result.columns.indexOf(table.linkOn) : -1;
  const linkFor = (row: Json[]): string | null => {
    if (!table?.link) return null;
    let href = table.link;
    for (const column of table.linkColumns) {
      const value = row[result.columns.indexOf(column)] ?? null;
      if (value === null) return null;
      href = href.replace(`{${column}}`, encodeURIComponent(String(value)));
    }
    return `/reports/${href}`;
  };
  const rows = result.rows
    .map((row, r) => {
      const cells = row.map((value, i) => {
        const isNumeric = numeric.has(result.columns[i]!);
        const cls = `nhsuk-table__cell${isNumeric ? ' nhsuk-table__cell--numeric' : ''}`;
        if (result.suppressed.has(`${r}:${i}`)) return `<td class="${cls}" aria-describedby="suppression-legend">${SUPPRESSED_MARK}</td>`;
        const text = escapeHtml(formatCell(value, isNumeric));
        const href = i === linkIndex ? linkFor(row) : null;
        if (href) return `<td class="${cls}"><a href="${escapeHtml(href)}">${text}</a></td>`;
        return `<td class="${cls}">${text}</td>`;
      });
      return `<tr class="nhsuk-table__row">${cells.join('')}</tr>`;
    })
    .join('');
  const csv = `${context.path}.csv?query=${encodeURIComponent(result.name)}${context.search ? `&${context.search}` : ''}`;
  // A wide table scrolls in its container, which keyboard users must be able to reach (WCAG 2.1.1).
  return `<div class="nhsuk-table-container" tabindex="0" role="region" aria-labelledby="table-${index}-caption"><table class="nhsuk-table" id="table-${index}"><caption class="nhsuk-table__caption" id="table-${index}-caption">${escapeHtml(title)}</caption><thead class="nhsuk-table__head"><tr class="nhsuk-table__row">${head}</tr></thead><tbody class="nhsuk-table__body">${rows || `<tr class="nhsuk-table__row"><td class="nhsuk-table__cell" colspan="${result.columns.length}">No data for this selection.</td></tr>`}</tbody></table></div><p class="nhsuk-body-s"><a href="${escapeHtml(csv)}" download>Download “${escapeHtml(title)}” as CSV</a></p>`;
}

function chartHtml(chart: ChartComponent, result: DisclosedResult, context: PageContext, index: number): string {
  const x = result.columns.indexOf(chart.x);
  const series = chart.series ? result.columns.indexOf(chart.series) : -1;
  // Suppressed points are gaps (null), never zero, so a chart cannot show what the table hides.
  const points = result.rows.map((row, r) => ({
    x: row[x] ?? null,
    series: series >= 0 ? String(row[series] ?? '') : null,
    y: chart.y.map((col) => {
      const i = result.columns.indexOf(col);
      return result.suppressed.has(`${r}:${i}`) ? null : toNumber(row[i] ?? null);
    }),
  }));
  const spec = { type: chart.type === 'BarChart' ? 'bar' : 'line', title: chart.title, x: chart.x, y: chart.y.map(label), points };
  return `<figure class="carelake-chart" id="chart-${index}"><figcaption class="nhsuk-heading-s">${escapeHtml(chart.title)}</figcaption><div class="carelake-chart__canvas" aria-hidden="true"></div><script type="application/json" class="carelake-chart__data">${jsonForHtml(spec)}</script><details class="nhsuk-details"><summary class="nhsuk-details__summary"><span class="nhsuk-details__summary-text">The numbers in this chart</span></summary><div class="nhsuk-details__text">${tableHtml(chart.title, result, context, index)}</div></details></figure>`;
}

/** Words a column name spells in lower case that readers know in capitals. */
const ACRONYMS: Record<string, string> = { ods: 'ODS', snomed: 'SNOMED CT', fte: 'FTE', nhs: 'NHS', icb: 'ICB', icd10: 'ICD-10', id: 'ID', hba1c: 'HbA1c', gp: 'GP' };

/** A column name as a heading: `practice_ods` → `Practice ODS`, `per_1000_registered` → `Per 1,000 registered`. */
export function label(column: string): string {
  const words = column.split('_').filter(Boolean).map((w) => ACRONYMS[w.toLowerCase()] ?? (/^\d{4,}$/.test(w) ? Number(w).toLocaleString('en-GB') : w));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Numbers (counts and measures) in en-GB style; anything else, codes made of digits included, as it is. */
function formatCell(value: Json, numeric: boolean): string {
  if (value === null) return '';
  if (numeric && typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-GB') : value.toLocaleString('en-GB', { maximumFractionDigits: 2 });
  // A BIGINT count too large for a JS number arrives as a string of digits.
  if (numeric && typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value).toLocaleString('en-GB');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function toNumber(value: Json): number | null {
  if (value === null) return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** JSON inside a <script> element: `<` escaped so no value can close the element. */
function jsonForHtml(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function reportIndexHtml(
  reports: readonly CompiledReport[],
  context: Pick<PageContext, 'release' | 'asOf' | 'policyName' | 'policyDescription'> | null,
  broken: readonly string[],
  account = '',
): string {
  const items = reports
    .filter((r) => r.listed)
    .map((r) => `<li><a href="/reports/${escapeHtml(r.id)}">${escapeHtml(r.title)}</a>${r.description ? `<p class="nhsuk-body-s">${escapeHtml(r.description)}</p>` : ''}</li>`)
    .join('');
  const release = context ? provenance({ ...context, search: '', path: '/' }) : '<p>No serving release has been published yet.</p>';
  const warning = broken.length > 0 ? `<div class="nhsuk-warning-callout"><h2 class="nhsuk-warning-callout__label">Unavailable reports</h2><p>${broken.length} report(s) failed their checks and are not shown; see <code>carelake reports check</code>.</p></div>` : '';
  return nhsPage({ title: 'Reports', account }, `<h1>Reports</h1>${release}${warning}<ul class="nhsuk-list nhsuk-list--border">${items}</ul>`);
}
