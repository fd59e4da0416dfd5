// Server-rendered HTML for engineers: loads and schedules, the run history and one run in full. Plain
// template literals with every interpolated value escaped and no scripts, following the report pages'
// habits (pages.ts): a language, a title, one h1, captions, column and row headers with scope, and a
// label for every form control; errors in a summary at the top that links to the field. Pure: facts
// in, strings out.

import type { AlertRecord, FileRecord, QuarantineRecord, RunRecord, RunRequest, RunStatus } from '../../pipelines/ledger/ledger.ts';
import { RUN_STATUSES } from '../../pipelines/ledger/ledger.ts';
import type { FreshnessThreshold } from '../../transforms/models/freshness.ts';
import type { OpsJobFacts, OpsOverview, RunLogLine } from './opsRoutes.ts';
import { escapeHtml } from './pages.ts';

const STYLE = `
body { font-family: system-ui, Arial, sans-serif; margin: 1.5rem auto; max-width: 96rem; padding: 0 1rem; color: #212b32; line-height: 1.5; }
a { color: #005eb8; }
a:focus, button:focus, input:focus, select:focus { outline: 3px solid #ffeb3b; outline-offset: 1px; }
nav ul { list-style: none; padding: 0; display: flex; gap: 1.5rem; }
nav a[aria-current="page"] { font-weight: bold; text-decoration: none; }
table { border-collapse: collapse; margin: 1rem 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.5rem; }
th, td { border-bottom: 1px solid #d8dde0; padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
th[scope="col"] { border-bottom: 2px solid #212b32; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #f0f4f5; border-left: 4px solid #005eb8; padding: 0.6rem 1rem; }
.banner { background: #e6f4ea; border-left: 4px solid #007f3b; padding: 0.6rem 1rem; }
.error-summary { border: 4px solid #d5281b; padding: 0.6rem 1rem; }
.error-message { color: #d5281b; font-weight: bold; }
.status { font-weight: bold; }
.status-failed, .status-error, .status-interrupted { color: #d5281b; }
.status-partial, .status-warn, .status-retried { color: #8a4b00; }
.status-succeeded, .status-pass { color: #007f3b; }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 0.5rem; background: #fff; }
form.inline { margin: 0; }
fieldset { border: 1px solid #d8dde0; margin: 0.5rem 0; padding: 0.5rem 1rem; }
legend { font-weight: bold; }
.field { display: inline-block; margin-right: 1rem; }
label { display: block; }
button { font: inherit; padding: 0.2rem 0.8rem; white-space: nowrap; }
code, .mono, .log td { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
.mono, .log td { white-space: pre-wrap; word-break: break-word; }
`;

type OpsSection = 'ops' | 'runs';

/** `account`: who is signed in and a sign-out button (for a signed-in browser), or empty. */
function opsLayout(title: string, section: OpsSection | null, main: string, account: string): string {
  const link = (href: string, label: string, which: OpsSection) => `<li><a href="${href}"${section === which ? ' aria-current="page"' : ''}>${label}</a></li>`;
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – carelake operations</title>
<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header><nav aria-label="Operations"><ul>${link('/ops', 'Loads and schedules', 'ops')}${link('/ops/runs', 'Run history', 'runs')}</ul></nav>${account}</header>
<main id="main">
${main}
</main>
</body>
</html>
`;
}

// ---- small formatters ----------------------------------------------------------------------------

/** An ISO instant as `2026-03-01 09:30:05 UTC`, keeping the machine-readable value in `datetime`. */
function utcTime(iso: string | null): string {
  if (iso === null) return '';
  const parsed = new Date(iso);
  const shown = Number.isNaN(parsed.getTime()) ? iso : `${parsed.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(shown)}</time>`;
}

/** An instant on the wall clock of `zone`, e.g. `2026-03-29 02:00 BST`: when a cron job fires is read there. */
function zonedTime(iso: string, zone: string): string {
  const parsed = new Date(iso);
  if (Number.isNaN(parsed.getTime())) return escapeHtml(iso);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' })
      .formatToParts(parsed)
      .map((p) => [p.type, p.value]),
  );
  const shown = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName ?? zone}`;
  return `<time datetime="${escapeHtml(parsed.toISOString())}">${escapeHtml(shown)}</time>`;
}

function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : n.toLocaleString('en-GB');
}

/** Seconds as `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

function durationOf(run: Pick<RunRecord, 'started_at' | 'finished_at'>): string {
  if (run.finished_at === null) return '';
  const ms = Date.parse(run.finished_at) - Date.parse(run.started_at);
  if (Number.isNaN(ms)) return '';
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatAge(ms / 1000);
}

function threshold(t: FreshnessThreshold | null): string {
  return t ? `${t.count} ${t.period}${t.count === 1 ? '' : 's'}` : '';
}

function statusText(status: string): string {
  return `<span class="status status-${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

function runLink(runId: string, text = runId): string {
  return `<a href="/ops/runs/${encodeURIComponent(runId)}">${escapeHtml(text)}</a>`;
}

/** Reconciliation JSON (declared against read counts) as short text. */
function reconciliationText(json: string | null): string {
  if (json === null) return '';
  try {
    const items = JSON.parse(json) as unknown;
    if (Array.isArray(items)) {
      return items
        .map((item) => (typeof item === 'object' && item !== null ? Object.entries(item).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : String(item)))
        .join('; ');
    }
  } catch {
    // shown as stored
  }
  return json;
}

function windowText(from: string | null, to: string | null): string {
  if (from === null && to === null) return '';
  return `${utcTime(from)} to ${utcTime(to)}`;
}

function table(options: { caption: string; head: string[]; numeric?: number[]; rows: string[][]; empty: string; id?: string; className?: string; rowHeader?: boolean }): string {
  const numeric = new Set(options.numeric ?? []);
  const cls = (i: number) => (numeric.has(i) ? ' class="num"' : '');
  const head = options.head.map((h, i) => `<th scope="col"${cls(i)}>${h}</th>`).join('');
  const body =
    options.rows.length === 0
      ? `<tr><td colspan="${options.head.length}">${escapeHtml(options.empty)}</td></tr>`
      : options.rows
          .map((row) => `<tr>${row.map((cell, i) => (i === 0 && options.rowHeader ? `<th scope="row">${cell}</th>` : `<td${cls(i)}>${cell}</td>`)).join('')}</tr>`)
          .join('\n');
  const attrs = `${options.id ? ` id="${options.id}"` : ''}${options.className ? ` class="${options.className}"` : ''}`;
  return `<table${attrs}>
<caption>${options.caption}</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}

// ---- /ops --------------------------------------------------------------------------------------

/** A backfill form that did not validate, shown again with its values and what is wrong. */
export interface BackfillProblem {
  source: string;
  from: string;
  to: string;
  errors: { field: 'from' | 'to'; message: string }[];
}

export interface OpsOverviewExtras {
  pending: readonly RunRequest[];
  alerts: readonly AlertRecord[];
  /** After a request: the request recorded (null if it could not be found again). */
  requested?: RunRequest | null | undefined;
  problem?: BackfillProblem | undefined;
  /** The hidden CSRF field every form here must carry (empty when the page was asked for with a bearer token). */
  csrfField: string;
  /** Who is signed in and a sign-out button, or empty. */
  account: string;
}

const fieldId = (source: string, field: 'from' | 'to') => `backfill-${source}-${field}`;

function schedulerNote(overview: OpsOverview): string {
  if (overview.scheduler.running) {
    return `<p class="note" id="scheduler-status">Scheduler: <strong>running</strong> (process ${overview.scheduler.pid}, since ${utcTime(overview.scheduler.since)}). Cron times are read in ${escapeHtml(overview.timezone)}.</p>`;
  }
  return `<p class="note" id="scheduler-status">Scheduler: <strong>not running</strong>: requests wait until <code>carelake schedule</code> starts. Cron times are read in ${escapeHtml(overview.timezone)}.</p>`;
}

function requestedBanner(requested: RunRequest | null | undefined, overview: OpsOverview): string {
  if (requested === undefined) return '';
  if (requested === null) return '<div class="banner" role="status"><h2>Run requested</h2><p>The request was recorded.</p></div>';
  const what = requested.kind === 'backfill' ? `a backfill of ${escapeHtml(requested.job)} from ${windowText(requested.window_from, requested.window_to)}` : `a run of ${escapeHtml(requested.job)}`;
  const when = overview.scheduler.running
    ? 'The scheduler takes it within a few seconds; it is listed below as pending until then.'
    : 'It waits, pending, until <code>carelake schedule</code> starts.';
  return `<div class="banner" role="status" id="request-banner"><h2>Run requested</h2><p>Request ${requested.request_id}: ${what}, asked for by ${escapeHtml(requested.requested_by)} at ${utcTime(requested.requested_at)}. ${when}</p></div>`;
}

function problemSummary(problem: BackfillProblem | undefined): string {
  if (!problem) return '';
  const items = problem.errors.map((e) => `<li><a href="#${fieldId(problem.source, e.field)}">Backfill of ${escapeHtml(problem.source)}: ${escapeHtml(e.message)}</a></li>`).join('');
  return `<div class="error-summary" role="alert" aria-labelledby="error-summary-title"><h2 id="error-summary-title">There is a problem</h2><ul>${items}</ul><p>Nothing was requested.</p></div>`;
}

function scheduleCell(job: OpsJobFacts): string {
  const parts: string[] = [];
  if (job.schedule) parts.push(`<code>${escapeHtml(job.schedule)}</code> (${escapeHtml(job.timezone)})`);
  if (job.after.length > 0) parts.push(`after ${job.after.map(escapeHtml).join(', ')} land new data`);
  return parts.length > 0 ? parts.join('<br>') : 'not scheduled';
}

function lastRunCell(job: OpsJobFacts): string {
  const r = job.lastRun;
  if (!r) return 'never run';
  return `${runLink(r.run_id, r.status)}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}<br>started ${utcTime(r.started_at)}<br><span class="visually-hidden">run id </span><code>${escapeHtml(r.run_id)}</code>`;
}

function freshnessCell(job: OpsJobFacts): string {
  const f = job.freshness;
  const rule = [f.warnAfter ? `warn after ${threshold(f.warnAfter)}` : '', f.errorAfter ? `error after ${threshold(f.errorAfter)}` : ''].filter(Boolean).join(', ');
  return `${statusText(f.status)}${rule ? `<br><small>${escapeHtml(rule)}</small>` : ''}`;
}

function ageCell(job: OpsJobFacts): string {
  const f = job.freshness;
  if (job.kind === 'build') return '';
  if (f.ageSeconds === null) return 'never landed';
  return `${escapeHtml(formatAge(f.ageSeconds))}<br><small>newest ${utcTime(f.newestLandedAt)}</small>`;
}

function runNowForm(job: OpsJobFacts, csrf: string): string {
  return `<form class="inline" method="post" action="/ops/sources/${encodeURIComponent(job.name)}/run">${csrf}<button type="submit">Run now<span class="visually-hidden"> ${escapeHtml(job.name)}</span></button></form>`;
}

function backfillForm(job: OpsJobFacts, today: string, problem: BackfillProblem | undefined, csrf: string): string {
  const mine = problem?.source === job.name ? problem : undefined;
  const field = (name: 'from' | 'to', label: string, hint: string) => {
    const id = fieldId(job.name, name);
    const error = mine?.errors.find((e) => e.field === name);
    const value = mine ? mine[name] : '';
    const described = [`${id}-hint`, ...(error ? [`${id}-error`] : [])].join(' ');
    return `<div class="field"><label for="${id}">${label}</label><small id="${id}-hint">${hint}</small>${
      error ? `<br><span class="error-message" id="${id}-error">Error: ${escapeHtml(error.message)}</span>` : ''
    }<br><input type="date" id="${id}" name="${name}" required max="${today}" value="${escapeHtml(value)}" aria-describedby="${described}"${error ? ' aria-invalid="true"' : ''}></div>`;
  };
  return `<form method="post" action="/ops/sources/${encodeURIComponent(job.name)}/backfill">${csrf}
<fieldset><legend>Backfill ${escapeHtml(job.name)}</legend>
${field('from', 'From', 'the first day loaded')}
${field('to', 'To', 'the day after the last day loaded')}
<button type="submit">Request backfill<span class="visually-hidden"> of ${escapeHtml(job.name)}</span></button>
</fieldset>
</form>`;
}

export function opsOverviewPage(overview: OpsOverview, extras: OpsOverviewExtras): string {
  const jobRows = overview.jobs.map((job) => [
    escapeHtml(job.name),
    escapeHtml(job.kind),
    scheduleCell(job),
    job.nextRunAt ? zonedTime(job.nextRunAt, job.timezone) : 'none',
    lastRunCell(job),
    count(job.lastRun?.records_in),
    count(job.lastRun?.records_landed),
    count(job.lastRun?.records_quarantined),
    freshnessCell(job),
    ageCell(job),
    runNowForm(job, extras.csrfField),
  ]);
  const jobsTable = table({
    id: 'jobs',
    caption: 'Sources and the warehouse build',
    head: ['Name', 'Kind', 'Schedule', 'Next run', 'Last run', 'Records in', 'Landed', 'Quarantined', 'Freshness', 'Age of newest data', 'Action'],
    numeric: [5, 6, 7],
    rows: jobRows,
    empty: 'No sources are configured.',
    rowHeader: true,
  });
  const today = overview.generatedAt.slice(0, 10);
  const backfills = overview.jobs.filter((j) => j.backfill).map((j) => backfillForm(j, today, extras.problem, extras.csrfField)).join('\n');
  const pending = table({
    id: 'pending-requests',
    caption: 'Pending run requests',
    head: ['Request', 'Job', 'Kind', 'Window', 'Asked for by', 'At'],
    rows: extras.pending.map((r) => [String(r.request_id), escapeHtml(r.job), escapeHtml(r.kind), windowText(r.window_from, r.window_to), escapeHtml(r.requested_by), utcTime(r.requested_at)]),
    empty: 'No requests are waiting.',
    rowHeader: true,
  });
  const alerts = table({
    id: 'alerts',
    caption: 'Recent alerts',
    head: ['Raised', 'Severity', 'Kind', 'Source', 'Summary', 'Run', 'Delivery'],
    rows: extras.alerts.map((a) => [
      utcTime(a.raised_at),
      escapeHtml(a.severity),
      escapeHtml(a.kind),
      escapeHtml(a.source),
      escapeHtml(a.summary),
      a.run_id ? runLink(a.run_id) : '',
      `${escapeHtml(a.delivery)}${a.delivery_error ? `: ${escapeHtml(a.delivery_error)}` : ''}`,
    ]),
    empty: 'No alerts have been raised.',
    rowHeader: true,
  });
  const main = `<h1>Loads and schedules</h1>
${problemSummary(extras.problem)}
${requestedBanner(extras.requested, overview)}
${schedulerNote(overview)}
<p>As of ${utcTime(overview.generatedAt)}. <a href="/api/ops/sources">These facts as JSON</a>.</p>
${jobsTable}
<h2>Backfill a source</h2>
<p>A backfill loads only what falls in a window of UTC days: files last modified in it, or the export made in it, or (for a Bulk Data server) resources updated in it. The scheduler runs it like any run; files already landed are not landed again.</p>
${backfills || '<p>No sources are configured.</p>'}
<h2>Waiting and recent</h2>
${pending}
${alerts}`;
  return opsLayout('Loads and schedules', 'ops', main, extras.account);
}

// ---- /ops/runs -------------------------------------------------------------------------------------

export interface RunHistoryFilter {
  source: string;
  status: RunStatus | '';
  sources: readonly string[];
  limit: number;
}

function option(value: string, label: string, selected: boolean): string {
  return `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`;
}

function runRow(r: RunRecord): string[] {
  return [
    runLink(r.run_id),
    escapeHtml(r.source),
    escapeHtml(r.trigger),
    statusText(r.status),
    String(r.attempt),
    utcTime(r.started_at),
    escapeHtml(durationOf(r)),
    count(r.records_in),
    count(r.records_landed),
    count(r.records_quarantined),
    count(r.records_filtered),
    windowText(r.window_from, r.window_to),
  ];
}

const RUN_HEAD = ['Run', 'Source', 'Trigger', 'Status', 'Attempt', 'Started', 'Took', 'Records in', 'Landed', 'Quarantined', 'Filtered', 'Window'];
const RUN_NUMERIC = [4, 7, 8, 9, 10];

export function runHistoryPage(runs: readonly RunRecord[], filter: RunHistoryFilter, account = ''): string {
  const sources = [...new Set([...filter.sources, ...(filter.source ? [filter.source] : [])])];
  const form = `<form method="get" action="/ops/runs" aria-label="Filter runs">
<div class="field"><label for="filter-source">Source</label><select id="filter-source" name="source">${option('', 'All sources', filter.source === '')}${sources.map((s) => option(s, s, s === filter.source)).join('')}</select></div>
<div class="field"><label for="filter-status">Status</label><select id="filter-status" name="status">${option('', 'Any status', filter.status === '')}${RUN_STATUSES.map((s) => option(s, s, s === filter.status)).join('')}</select></div>
<button type="submit">Filter</button>
</form>`;
  const described = [filter.source ? `of ${filter.source}` : '', filter.status ? `with status ${filter.status}` : ''].filter(Boolean).join(' ');
  const caption = `Runs${described ? ` ${escapeHtml(described)}` : ''}, newest first${runs.length >= filter.limit ? ` (the newest ${filter.limit} are shown)` : ''}`;
  const main = `<h1>Run history</h1>
${form}
${table({ id: 'runs', caption, head: RUN_HEAD, numeric: RUN_NUMERIC, rows: runs.map(runRow), empty: 'No runs match.', rowHeader: true })}`;
  return opsLayout('Run history', 'runs', main, account);
}

// ---- /ops/runs/:id -------------------------------------------------------------------------------

export interface RunPageFacts {
  run: RunRecord;
  files: readonly FileRecord[];
  /** The first of the run's quarantined records. */
  quarantine: readonly QuarantineRecord[];
  quarantineTotal: number;
  /** Its first attempt, the retries of it, and re-runs of this run. */
  related: readonly RunRecord[];
  log: { lines: readonly RunLogLine[]; earlierOmitted: boolean } | null;
  logLimit: number;
}

export function runPage(facts: RunPageFacts, account = ''): string {
  const { run } = facts;
  const fields: [string, string][] = [
    ['Run id', `<code>${escapeHtml(run.run_id)}</code>`],
    ['Source', escapeHtml(run.source)],
    ['Kind', escapeHtml(run.kind)],
    ['Trigger', escapeHtml(run.trigger)],
    ['Status', statusText(run.status)],
    ['Started', utcTime(run.started_at)],
    ['Finished', run.finished_at ? utcTime(run.finished_at) : 'not finished'],
    ['Took', escapeHtml(durationOf(run))],
    ['Records in', count(run.records_in)],
    ['Records landed', count(run.records_landed)],
    ['Records quarantined', count(run.records_quarantined)],
    ['Records filtered', count(run.records_filtered)],
    ['Files seen', count(run.files_seen)],
    ['Files landed', count(run.files_landed)],
    ['Files skipped (already landed)', count(run.files_skipped)],
    ['Attempt', String(run.attempt)],
    ['Retry of', run.retry_of ? runLink(run.retry_of) : ''],
    ['Re-run of', run.rerun_of ? runLink(run.rerun_of) : ''],
    ['Window', windowText(run.window_from, run.window_to)],
    ['Scheduled for', run.scheduled_for ? utcTime(run.scheduled_for) : ''],
    ['Error', run.error ? `<span class="mono">${escapeHtml(run.error)}</span>` : ''],
  ];
  const factsTable = `<table id="run-facts">
<caption>The run as the ledger records it</caption>
<tbody>
${fields.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${v}</td></tr>`).join('\n')}
</tbody>
</table>`;
  const files = table({
    id: 'files',
    caption: 'Files',
    head: ['Location', 'Status', 'Bytes', 'Records in', 'Landed', 'Quarantined', 'Filtered', 'Reconciliation'],
    numeric: [2, 3, 4, 5, 6],
    rows: facts.files.map((f) => [
      escapeHtml(f.location),
      statusText(f.status),
      count(f.bytes),
      count(f.records_in),
      count(f.records_landed),
      count(f.records_quarantined),
      count(f.records_filtered),
      escapeHtml(reconciliationText(f.reconciliation)),
    ]),
    empty: 'This run recorded no files.',
    rowHeader: true,
  });
  const cut = facts.quarantineTotal > facts.quarantine.length;
  const quarantine = table({
    id: 'quarantine',
    caption: `Quarantined records${cut ? ` (the first ${count(facts.quarantine.length)} of ${count(facts.quarantineTotal)} are shown)` : ''}`,
    head: ['Location', 'Record', 'Field', 'Reason'],
    rows: facts.quarantine.map((q) => [escapeHtml(q.location), escapeHtml(q.record), escapeHtml(q.field ?? ''), escapeHtml(q.reason)]),
    empty: 'Nothing was quarantined.',
  });
  const related = table({
    id: 'retries',
    caption: 'Attempts and re-runs',
    head: RUN_HEAD,
    numeric: RUN_NUMERIC,
    rows: facts.related.map(runRow),
    empty: 'This run has no other attempts and was not re-run.',
    rowHeader: true,
  });
  const log = facts.log
    ? table({
        id: 'log',
        className: 'log',
        caption: `Log${facts.log.earlierOmitted ? ` (the last ${count(facts.logLimit)} lines; the whole log is in logs/runs/${escapeHtml(run.run_id)}.jsonl)` : ''}`,
        head: ['Time', 'Level', 'Message', 'Details'],
        rows: facts.log.lines.map((l) => [utcTime(l.time), escapeHtml(l.level), escapeHtml(l.msg), escapeHtml(l.fields)]),
        empty: 'The log is empty.',
      })
    : '<p id="log">This run left no log.</p>';
  const main = `<h1>Run ${escapeHtml(run.run_id)}</h1>
<p>${statusText(run.status)} run of <a href="/ops/runs?source=${encodeURIComponent(run.source)}">${escapeHtml(run.source)}</a>.</p>
${factsTable}
<h2>Files</h2>
${files}
<h2>Quarantine</h2>
${quarantine}
<h2>Attempts</h2>
${related}
<h2>Log</h2>
${log}`;
  return opsLayout(`Run ${run.run_id}`, null, main, account);
}
