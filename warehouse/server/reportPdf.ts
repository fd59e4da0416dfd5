// Reports as PDF (`/reports/<path>.pdf`): the page the server has just rendered, printed by headless
// Chromium with the print stylesheet (no header or filters; each chart followed by its table). Chromium
// is driven by playwright-core against a system browser (Debian's /usr/bin/chromium), launched on the
// first PDF and kept for the server's life; without one, PDFs are simply not offered.
//
// The browser never talks to the server or to anything else: it opens the page on a made-up origin
// whose every request is answered from memory (the page's HTML, and the assets from the AssetStore)
// and any other request is refused. So printing needs no credentials, is not a second page view in the
// audit log, and a page cannot make the browser fetch from elsewhere.

import PQueue from 'p-queue';
import { chromium, type Browser } from 'playwright-core';
import type { AssetStore } from './assetRoutes.ts';
import { escapeHtml } from './pages.ts';

/** Where the page is opened: a reserved name (RFC 6761) nothing can resolve. */
const ORIGIN = 'http://carelake-print.invalid';
const PRINT_TIMEOUT_MS = 30_000;

export interface ReportPdfOptions {
  /** The Chromium (or Chrome) executable. */
  executablePath: string;
  assets: AssetStore;
  /** PDFs printed at once; more wait their turn. */
  concurrency?: number;
}

export class ReportPdfPrinter {
  private browser: Promise<Browser> | null = null;
  private readonly queue: PQueue;

  constructor(private readonly options: ReportPdfOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency ?? 2 });
  }

  /** The HTML page, whose address is `path`, as an A4 PDF. */
  async print(html: string, path: string, title: string): Promise<Buffer> {
    return (await this.queue.add(() => this.printNow(html, path, title)))!;
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    if (browser) await (await browser.catch(() => null))?.close();
  }

  private async printNow(html: string, path: string, title: string): Promise<Buffer> {
    const browser = await this.launched();
    const context = await browser.newContext({ locale: 'en-GB', serviceWorkers: 'block' });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(PRINT_TIMEOUT_MS);
      await page.route('**/*', async (route) => {
        const url = new URL(route.request().url());
        if (url.origin !== ORIGIN) return route.abort('blockedbyclient');
        if (url.pathname === path) return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
        const asset = url.pathname.startsWith('/assets/') ? await this.options.assets.get(url.pathname.slice('/assets/'.length)) : null;
        if (!asset) return route.fulfill({ status: 404, body: '' });
        return route.fulfill({ status: 200, contentType: asset.type, body: asset.body });
      });
      await page.goto(`${ORIGIN}${path}`, { waitUntil: 'load' });
      // Charts are drawn on DOMContentLoaded; carelake-charts.js marks the page once they are.
      if (html.includes('class="carelake-chart"')) await page.waitForSelector('html[data-charts-drawn]', { state: 'attached' });
      // Each chart's numbers go on paper under it.
      await page.locator('details').evaluateAll((elements) => elements.forEach((d) => d.setAttribute('open', '')));
      return await page.pdf({
        format: 'A4',
        printBackground: true,
        margin: { top: '16mm', bottom: '16mm', left: '12mm', right: '12mm' },
        displayHeaderFooter: true,
        headerTemplate: '<span></span>',
        // Chromium fills in the page numbers' classes; the template is markup, so the title is escaped.
        footerTemplate: `<div style="font-size:8px;width:100%;padding:0 12mm;display:flex;justify-content:space-between;font-family:Arial,sans-serif"><span>${escapeHtml(title)}</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
      });
    } finally {
      await context.close();
    }
  }

  private launched(): Promise<Browser> {
    if (!this.browser) {
      // Chromium's sandbox cannot start as root (containers); elsewhere it stays on.
      const asRoot = process.getuid?.() === 0;
      const launching = chromium.launch({ executablePath: this.options.executablePath, headless: true, args: asRoot ? ['--no-sandbox'] : [] });
      this.browser = launching;
      // A browser that dies is launched again for the next PDF.
      void launching.then(
        (browser) => browser.on('disconnected', () => this.browser === launching && (this.browser = null)),
        () => this.browser === launching && (this.browser = null),
      );
    }
    return this.browser;
  }
}
