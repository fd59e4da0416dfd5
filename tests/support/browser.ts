// Real headless Chromium for tests of server-rendered pages, driven by playwright-core against the
// system browser (Debian's /usr/bin/chromium; `.ci/run` installs it). Where it is absent, tests that
// need it skip with a notice rather than fail: use `describe.skipIf(!HAS_CHROMIUM)` and call
// `warnIfNoChromium()` once at the top of the file.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);
/** Screenshots and other files a test leaves for people to look at (git-ignored). */
export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

export function warnIfNoChromium(what: string): void {
  if (!HAS_CHROMIUM) console.warn(`SKIPPED: ${what} needs Chromium at ${CHROMIUM_PATH}, which is absent (apt-get install chromium).`);
}

export async function launchChromium(): Promise<Browser> {
  // Chromium's sandbox cannot start as root (CI containers); elsewhere it stays on.
  const asRoot = process.getuid?.() === 0;
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--headless=new', ...(asRoot ? ['--no-sandbox'] : [])] });
}

export interface SignedInPage {
  context: BrowserContext;
  page: Page;
}

/** A page whose every request (navigation, form post) carries `Authorization: Bearer <token>`. */
export async function signedInPage(browser: Browser, token: string): Promise<SignedInPage> {
  const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${token}` }, locale: 'en-GB', viewport: { width: 1400, height: 900 } });
  return { context, page: await context.newPage() };
}

/** A path under tests/artifacts/, its folder created. */
export async function artifactPath(name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
