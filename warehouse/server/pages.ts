// The frame every carelake page for people is drawn in, and the few pieces all pages share: the NHS.UK
// frontend's header, skip link, main and footer (nhsuk-frontend's CSS and carelake's small additions,
// served same-origin from /assets, so the pages need no inline style), escaping, times, and the error
// page. Plain template literals with every interpolated value escaped. Pure: strings in, strings out.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** ISO time as `2025-03-01 09:30 UTC`, keeping the machine-readable value in `datetime`. */
export function timeElement(iso: string): string {
  const parsed = new Date(iso);
  const shown = Number.isNaN(parsed.getTime()) ? iso : `${parsed.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(shown)}</time>`;
}

export interface LayoutOptions {
  title: string;
  breadcrumbs?: { href: string; text: string }[];
  /** Charts need ECharts and carelake's small chart script. */
  charts?: boolean;
  /** Who is signed in and the sign-out button (signOutControl), shown in the header. */
  account?: string;
}

/** The page frame every carelake page for people uses: NHS.UK header, skip link, main, footer. */
export function nhsPage(options: LayoutOptions, main: string): string {
  const crumbs = options.breadcrumbs?.length
    ? `<nav class="nhsuk-breadcrumb" aria-label="Breadcrumb"><ol class="nhsuk-breadcrumb__list">${options.breadcrumbs
        .map((c) => `<li class="nhsuk-breadcrumb__list-item"><a class="nhsuk-breadcrumb__link" href="${escapeHtml(c.href)}">${escapeHtml(c.text)}</a></li>`)
        .join('')}</ol></nav>`
    : '';
  const scripts = options.charts ? `<script src="/assets/echarts.min.js" defer></script><script src="/assets/carelake-charts.js" defer></script>` : '';
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} – carelake</title>
<link rel="icon" href="/assets/images/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/nhsuk-frontend.min.css">
<link rel="stylesheet" href="/assets/carelake.css">
${scripts}
</head>
<body>
<a class="nhsuk-skip-link" href="#maincontent">Skip to main content</a>
<header class="nhsuk-header" role="banner">
<div class="nhsuk-header__container nhsuk-width-container">
<div class="nhsuk-header__service"><a class="nhsuk-header__service-logo" href="/" aria-label="carelake reports homepage"><span class="nhsuk-header__service-name">carelake reports</span></a></div>
${options.account ? `<div class="carelake-account">${options.account}</div>` : ''}
</div>
</header>
<div class="nhsuk-width-container">
${crumbs}
<main class="nhsuk-main-wrapper" id="maincontent" role="main">
${main}
</main>
</div>
<footer role="contentinfo" class="nhsuk-footer"><div class="nhsuk-width-container"><p class="nhsuk-body-s">carelake: pseudonymised, disclosure-controlled data for commissioning. Not for direct care.</p></div></footer>
</body>
</html>
`;
}

export function errorPage(status: number, heading: string, message: string): string {
  return nhsPage({ title: heading }, `<h1>${escapeHtml(heading)}</h1>\n<p>${escapeHtml(message)}</p>\n<p>Status ${status}. <a href="/">Back to reports</a></p>`);
}
