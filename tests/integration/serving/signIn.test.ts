// Browser sign-in over loopback with real API keys, a real run ledger and the real audit log: a key
// pasted into /sign-in becomes a server-side session behind an HttpOnly, SameSite=Strict cookie; pages
// without one send the browser to sign in and back (never to another site); revoking the key, idling
// or signing out ends the session; forms posted with the cookie need the session's CSRF token, bearer
// requests do not; every response carries the security headers; sign-ins are audited without the
// token. Then the same in real Chromium, where the cookie must be out of the page's reach.

import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../warehouse/audit/auditEntry.ts';
import { createApiKey, revokeApiKey } from '../../../warehouse/auth/apiKeys.ts';
import { HAS_CHROMIUM, launchChromium, warnIfNoChromium } from '../../support/browser.ts';
import { startGovernedServer, type GovernedServer } from '../../support/governedServer.ts';
import { makeOpsLake, type OpsLake } from '../ops/opsLake.ts';

warnIfNoChromium('tests/integration/serving/signIn.test.ts (the browser part)');

const MINUTE = 60_000;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

let lake: OpsLake;
let server: GovernedServer;
/** The clock sessions are timed by; tests move it forward. */
let sessionNow = new Date();

beforeAll(async () => {
  lake = await makeOpsLake();
  server = await startGovernedServer({ layout: lake.layout, operations: { config: lake.config }, sessions: { clock: () => sessionNow } });
});
afterAll(async () => {
  await server?.close();
  lake?.close();
});

/** POST /sign-in as a browser's form would, not following the redirect. */
const postSignIn = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${server.base}/sign-in`, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(fields), redirect: 'manual' });

/** The `name=value` of the session cookie a sign-in set, or null. */
const sessionCookie = (response: Response): string | null => response.headers.getSetCookie().find((c) => c.startsWith('carelake_session='))?.split(';')[0] ?? null;

/** A request with the browser's cookie and nothing else, not following redirects. */
const withCookie = (cookie: string, path: string, init: RequestInit = {}) =>
  fetch(`${server.base}${path}`, { redirect: 'manual', ...init, headers: { ...(init.headers as Record<string, string>), cookie } });

/** The CSRF token in a page's forms. */
const csrfTokenIn = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

/** The audit log, once it holds an entry for each of the request ids (entries are written just after the response). */
async function auditOf(requestIds: readonly string[]): Promise<{ entries: AuditEntry[]; text: string }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const text = await readFile(lake.layout.auditLog, 'utf8').catch(() => '');
    const entries = text.trim() === '' ? [] : text.trim().split('\n').map((line) => JSON.parse(line) as AuditEntry);
    const logged = new Set(entries.map((e) => e.requestId));
    if (requestIds.every((id) => logged.has(id)) || Date.now() > deadline) return { entries, text };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('signing in', () => {
  it('shows an accessible form that sends the browser back where it was going', async () => {
    const response = await fetch(`${server.base}/sign-in?next=${encodeURIComponent('/ops/runs?status=failed')}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<html lang="en-GB">');
    expect(html).toContain('<label class="nhsuk-label" for="token">API key or access token</label>');
    expect(html).toMatch(/<input class="nhsuk-input" type="password" id="token" name="token"[^>]*aria-describedby="token-hint"/);
    expect(html).toContain('<button class="nhsuk-button" type="submit">Sign in</button>');
    expect(html).toContain('<input type="hidden" name="next" value="/ops/runs?status=failed">');
  });

  it('turns a good key into an HttpOnly, SameSite=Strict session cookie that serves the pages', async () => {
    const response = await postSignIn({ token: server.tokens.commissioner, next: '' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    const setCookie = response.headers.getSetCookie();
    expect(setCookie).toHaveLength(1);
    const attributes = setCookie[0]!.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes[0]).toMatch(/^carelake_session=[a-z0-9_-]{43}$/);
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/']));
    // A session cookie: it dies with the browser. Plain http here, so not Secure (it would never be sent).
    expect(attributes.some((a) => a.startsWith('max-age') || a.startsWith('expires') || a === 'secure')).toBe(false);
    // The cookie is a random id, not the key.
    expect(setCookie[0]).not.toContain(server.tokens.commissioner.slice(4));

    const page = await withCookie(sessionCookie(response)!, '/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Reports</h1>');
    // The same cookie does not grant what the role may not do.
    expect((await withCookie(sessionCookie(response)!, '/ops')).status).toBe(403);
  });

  it('refuses a bad or empty token with the form again (401), no cookie and no echo', async () => {
    const forged = 'clk_aaaaaaaaaa_forgedforgedforgedforgedforgedforgedforg';
    const cases = [
      { description: 'a forged key', token: forged, message: 'That API key or access token was not accepted.' },
      { description: 'not a key or a token', token: '<script>alert(1)</script>', message: 'That API key or access token was not accepted.' },
      { description: 'nothing', token: '   ', message: 'Enter your API key or access token.' },
    ];
    for (const c of cases) {
      const response = await postSignIn({ token: c.token, next: '/ops' });
      expect(response.status, c.description).toBe(401);
      expect(response.headers.getSetCookie(), c.description).toEqual([]);
      const html = await response.text();
      expect(html, c.description).toContain(c.message);
      expect(html, c.description).toContain('aria-invalid="true"');
      expect(html, c.description).toContain('<input type="hidden" name="next" value="/ops">');
      if (c.token.trim() !== '') expect(html, c.description).not.toContain(c.token);
      expect(html, c.description).not.toContain('alert(1)');
    }
  });

  it('sends a page request without a session to sign in and back; APIs and metrics answer 401', async () => {
    const page = await fetch(`${server.base}/ops/runs?status=failed`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`/sign-in?next=${encodeURIComponent('/ops/runs?status=failed')}`);
    const stale = await withCookie('carelake_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '/');
    expect(stale.status).toBe(303);
    expect(stale.headers.get('location')).toBe(`/sign-in?next=${encodeURIComponent('/')}`);
    // The dead cookie is cleared.
    expect(sessionCookie(stale)).toBe('carelake_session=');
    for (const path of ['/api/ops/sources', '/metrics']) {
      const response = await fetch(`${server.base}${path}`, { redirect: 'manual' });
      expect(response.status, path).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toMatch(/^Bearer/);
    }
  });

  it('goes on only to paths on this server: anything else lands on the role’s home page', async () => {
    const cases = [
      { description: 'a path and query kept', role: 'engineer' as const, next: '/ops/runs?status=failed', location: '/ops/runs?status=failed' },
      { description: 'no next: the engineer’s home', role: 'engineer' as const, next: '', location: '/ops' },
      { description: 'a protocol-relative URL', role: 'commissioner' as const, next: '//evil.example', location: '/' },
      { description: 'an absolute URL', role: 'commissioner' as const, next: 'https://evil.example/reports', location: '/' },
      { description: 'a backslash browsers read as a slash', role: 'commissioner' as const, next: '/\\evil.example', location: '/' },
      { description: 'a tab browsers drop', role: 'commissioner' as const, next: '/\t/evil.example', location: '/' },
      { description: 'a script URL', role: 'commissioner' as const, next: 'javascript:alert(1)', location: '/' },
      { description: 'the sign-in page itself', role: 'engineer' as const, next: '/sign-in?next=/ops', location: '/ops' },
    ];
    for (const c of cases) {
      const response = await postSignIn({ token: server.tokens[c.role], next: c.next });
      expect(response.status, c.description).toBe(303);
      expect(response.headers.get('location'), c.description).toBe(c.location);
    }
    // The form never carries a foreign next either.
    expect(await (await fetch(`${server.base}/sign-in?next=${encodeURIComponent('//evil.example')}`)).text()).toContain('name="next" value=""');
  });
});

describe('ending sessions', () => {
  it('ends the sessions of a revoked key at their next request', async () => {
    const { token } = await createApiKey(server.keysFile, { name: 'to-be-revoked', role: 'commissioner' });
    const cookie = sessionCookie(await postSignIn({ token }))!;
    expect((await withCookie(cookie, '/')).status).toBe(200);
    await revokeApiKey(server.keysFile, 'to-be-revoked');
    const after = await withCookie(cookie, '/');
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/sign-in?next=%2F');
    // Ended for good, and the key cannot start another.
    expect((await postSignIn({ token })).status).toBe(401);
  });

  it('ends a session left unused for 30 minutes, and any session 8 hours after sign-in', async () => {
    const a = await server.signIn('commissioner');
    const b = await server.signIn('commissioner');
    const steps = [
      { description: 'minute 29: both used', at: 29, a: 200, b: 200 },
      { description: 'minute 58: b used again', at: 58, a: null, b: 200 },
      { description: 'minute 60: a unused for 31 minutes, b for 2', at: 60, a: 303, b: 200 },
    ];
    const start = sessionNow.getTime();
    for (const step of steps) {
      sessionNow = new Date(start + step.at * MINUTE);
      if (step.a !== null) expect((await withCookie(a, '/')).status, step.description).toBe(step.a);
      expect((await withCookie(b, '/')).status, step.description).toBe(step.b);
    }
    // A session kept in use still ends 8 hours after sign-in.
    const kept = await server.signIn('commissioner');
    for (let i = 1; i <= 16; i++) {
      sessionNow = new Date(sessionNow.getTime() + 29 * MINUTE);
      expect((await withCookie(kept, '/')).status, `${i * 29} minutes in`).toBe(200);
    }
    sessionNow = new Date(sessionNow.getTime() + 20 * MINUTE); // 484 minutes: past 8 hours, last used 20 minutes ago
    expect((await withCookie(kept, '/')).status).toBe(303);
  });

  it('signs out with the CSRF token only, then the cookie no longer works', async () => {
    const cookie = await server.signIn('engineer');
    const token = csrfTokenIn(await (await withCookie(cookie, '/ops')).text());
    expect(token).not.toBe('');
    expect((await withCookie(cookie, '/sign-out', { method: 'POST', headers: FORM, body: '' })).status).toBe(403);
    expect((await withCookie(cookie, '/ops')).status).toBe(200);
    const out = await withCookie(cookie, '/sign-out', { method: 'POST', headers: FORM, body: new URLSearchParams({ _csrf: token }) });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/sign-in');
    expect(sessionCookie(out)).toBe('carelake_session=');
    expect((await withCookie(cookie, '/ops')).status).toBe(303);
  });
});

describe('forms posted with the session cookie', () => {
  it('need the session’s CSRF token; bearer requests need none', async () => {
    const cookie = await server.signIn('engineer');
    const other = await server.signIn('engineer');
    const html = await (await withCookie(cookie, '/ops')).text();
    const token = csrfTokenIn(html);
    // Every form on the page that posts carries it: run now and backfill, for each job, and sign-out.
    expect(html.match(/method="post"/g)!.length).toBe(html.match(/name="_csrf"/g)!.length);
    const otherToken = csrfTokenIn(await (await withCookie(other, '/ops')).text());
    expect(otherToken).not.toBe(token);

    const run = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      withCookie(cookie, '/ops/sources/pas/run', { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(fields) });
    const before = lake.ledger.runRequests().length;
    const refused = [
      { description: 'no token', response: () => run({}) },
      { description: 'a wrong token', response: () => run({ _csrf: 'x'.repeat(43) }) },
      { description: 'another session’s token', response: () => run({ _csrf: otherToken }) },
      { description: 'the token, but posted from another site', response: () => run({ _csrf: token }, { 'sec-fetch-site': 'cross-site' }) },
    ];
    for (const c of refused) {
      const response = await c.response();
      expect(response.status, c.description).toBe(403);
      expect(await response.text(), c.description).toContain('Not allowed');
    }
    expect(lake.ledger.runRequests().length).toBe(before);

    const accepted = await run({ _csrf: token });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toMatch(/^\/ops\?requested=\d+$/);
    const backfill = await withCookie(cookie, '/ops/sources/pas/backfill', { method: 'POST', headers: { ...FORM, 'x-csrf-token': token }, body: 'from=2026-01-01&to=2026-01-02' });
    expect(backfill.status).toBe(303);
    const bearer = await server.as('engineer', '/ops/sources/pas/run', { method: 'POST', headers: FORM, body: '', redirect: 'manual' });
    expect(bearer.status).toBe(303);
    const requests = lake.ledger.runRequests().slice(before);
    expect(requests.map((r) => [r.kind, r.requested_by])).toEqual([
      ['run', expect.stringMatching(/^key:/)],
      ['backfill', expect.stringMatching(/^key:/)],
      ['run', expect.stringMatching(/^key:/)],
    ]);
    // The cookie and the bearer key name the same principal.
    expect(new Set(requests.map((r) => r.requested_by)).size).toBe(1);
  });
});

describe('security headers', () => {
  it('are on every response: a strict policy, no referrer, no sniffing, no caching', async () => {
    const cookie = await server.signIn('commissioner');
    const responses = [
      { description: 'the sign-in page', response: () => fetch(`${server.base}/sign-in`) },
      { description: 'a page', response: () => withCookie(cookie, '/') },
      { description: 'a redirect to sign in', response: () => fetch(`${server.base}/`, { redirect: 'manual' }) },
      { description: 'an API answer', response: () => fetch(`${server.base}/api/health`) },
      { description: 'a 404', response: () => withCookie(cookie, '/nowhere') },
    ];
    for (const c of responses) {
      const headers = (await c.response()).headers;
      const policy = new Map((headers.get('content-security-policy') ?? '').split(';').map((d) => { const [name, ...values] = d.trim().split(/\s+/); return [name, values] as const; }));
      expect(policy.get('default-src'), c.description).toEqual(["'none'"]);
      expect(policy.get('script-src'), c.description).toEqual(["'self'"]);
      expect(policy.get('img-src'), c.description).toEqual(["'self'", 'data:']);
      expect(policy.get('form-action'), c.description).toEqual(["'self'"]);
      expect(policy.get('frame-ancestors'), c.description).toEqual(["'none'"]);
      expect(policy.get('base-uri'), c.description).toEqual(["'none'"]);
      // The server's own inline stylesheets by hash, never 'unsafe-inline'.
      const styles = policy.get('style-src') ?? [];
      expect(styles[0], c.description).toBe("'self'");
      for (const s of styles.slice(1)) expect(s, c.description).toMatch(/^'sha256-[A-Za-z0-9+/]{43}='$/);
      expect(headers.get('referrer-policy'), c.description).toBe('no-referrer');
      expect(headers.get('x-content-type-options'), c.description).toBe('nosniff');
      expect(headers.get('x-frame-options'), c.description).toBe('DENY');
      expect(headers.get('cache-control'), c.description).toBe('no-store');
    }
  });
});

describe('the audit log', () => {
  it('records sign-ins, refusals and sign-outs with their outcome and principal, never the token', async () => {
    const forged = 'clk_bbbbbbbbbb_forgedforgedforgedforgedforgedforgedforg';
    const refused = await postSignIn({ token: forged });
    expect(refused.status).toBe(401);
    const signedIn = await postSignIn({ token: server.tokens.engineer });
    const cookie = sessionCookie(signedIn)!;
    const viaCookie = await withCookie(cookie, '/ops');
    const token = csrfTokenIn(await viaCookie.text());
    const viaBearer = await server.as('engineer', '/ops');
    expect(viaBearer.status).toBe(200);
    const signedOut = await withCookie(cookie, '/sign-out', { method: 'POST', headers: FORM, body: new URLSearchParams({ _csrf: token }) });
    expect(signedOut.status).toBe(303);
    const unauthenticated = await fetch(`${server.base}/ops`, { redirect: 'manual' });

    // Each response names its request; the entries are found by those ids.
    const ids = [refused, signedIn, viaCookie, viaBearer, signedOut, unauthenticated].map((r) => r.headers.get('x-request-id'));
    const { entries, text } = await auditOf(ids as string[]);
    const entry = (i: number) => entries.find((e) => e.requestId === ids[i]);
    const engineer = `key:${/^clk_([a-z2-7]+)_/.exec(server.tokens.engineer)![1]}`;
    const cases = [
      { description: 'a refused sign-in', entry: entry(0), expected: { endpoint: 'POST /sign-in', principal: 'anonymous', role: null, outcome: 'unauthenticated', status: 401, error: 'auth.sign-in-failed' } },
      { description: 'a sign-in', entry: entry(1), expected: { endpoint: 'POST /sign-in', principal: engineer, role: 'engineer', outcome: 'ok', status: 303, error: null } },
      { description: 'a page through the cookie', entry: entry(2), expected: { endpoint: 'GET /ops', principal: engineer, role: 'engineer', outcome: 'ok', status: 200 } },
      { description: 'a page through the bearer key', entry: entry(3), expected: { endpoint: 'GET /ops', principal: engineer, role: 'engineer', outcome: 'ok', status: 200 } },
      { description: 'a sign-out', entry: entry(4), expected: { endpoint: 'POST /sign-out', principal: engineer, role: 'engineer', outcome: 'ok', status: 303 } },
      { description: 'a page without a session', entry: entry(5), expected: { endpoint: 'GET /ops', principal: 'anonymous', outcome: 'unauthenticated', status: 303, error: 'auth.sign-in-required' } },
    ];
    for (const c of cases) expect(c.entry, c.description).toMatchObject(c.expected);
    for (const secret of [forged, ...Object.values(server.tokens)]) expect(text).not.toContain(secret.slice(4));
  });
});

describe.skipIf(!HAS_CHROMIUM)('signing in with Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('fills the form, lands on the reports, and keeps the cookie out of the page’s reach', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`${server.base}/`);
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      expect(await page.locator('h1').innerText()).toBe('Sign in to carelake');
      await page.getByLabel('API key or access token').fill(server.tokens.commissioner);
      await Promise.all([page.waitForURL(`${server.base}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(await page.locator('h1').innerText()).toBe('Reports');
      // The page's own view of its cookies (a string, so it runs in the page without DOM types here).
      expect(await page.evaluate('document.cookie')).not.toContain('carelake_session');
      const [cookie] = (await context.cookies()).filter((c) => c.name === 'carelake_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', secure: false, expires: -1 });
      // The linked stylesheets come from this server (no web fonts from elsewhere): nothing was blocked.
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('lets a signed-in engineer press "Run now" (the form carries the token) and sign out', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    try {
      const page = await context.newPage();
      await page.goto(`${server.base}/ops/runs`);
      await page.getByLabel('API key or access token').fill(server.tokens.engineer);
      await Promise.all([page.waitForURL(`${server.base}/ops/runs`), page.getByRole('button', { name: 'Sign in' }).click()]);
      await page.goto(`${server.base}/ops`);
      const before = lake.ledger.runRequests().length;
      await Promise.all([page.waitForURL(/\/ops\?requested=\d+$/), page.getByRole('button', { name: 'Run now pas' }).click()]);
      expect(await page.locator('#request-banner').innerText()).toContain('a run of pas');
      expect(lake.ledger.runRequests().length).toBe(before + 1);
      await Promise.all([page.waitForURL(/\/sign-in$/), page.getByRole('button', { name: 'Sign out' }).click()]);
      await page.goto(`${server.base}/ops`);
      expect(new URL(page.url()).pathname).toBe('/sign-in');
    } finally {
      await context.close();
    }
  });
});
