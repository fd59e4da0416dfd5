import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../../warehouse/auth/principal.ts';
import { SessionStore } from '../../../../warehouse/server/session/sessionStore.ts';
import { checkedNext } from '../../../../warehouse/server/session/signInRoutes.ts';

const MINUTE = 60_000;
const alice: Principal = { id: 'key:abcdefghij', name: 'alice', role: 'commissioner', via: 'api-key' };

describe('SessionStore', () => {
  const cases = [
    { description: 'used within the idle timeout', steps: [29, 29, 29], alive: true },
    { description: 'left unused for the idle timeout', steps: [30], alive: false },
    { description: 'kept in use past the absolute lifetime', steps: [29, 29, 29, 29, 29], alive: false },
    { description: 'used until just before the end of its token', steps: [10], notAfter: 11, alive: true },
    { description: 'used at the end of its token', steps: [11], notAfter: 11, alive: false },
  ];
  for (const c of cases) {
    it(c.description, () => {
      let now = 0;
      const store = new SessionStore({ idleMs: 30 * MINUTE, absoluteMs: 120 * MINUTE, now: () => now });
      const { id, session } = store.create(alice, c.notAfter === undefined ? undefined : c.notAfter * MINUTE);
      let alive = true;
      for (const step of c.steps) {
        now += step * MINUTE;
        alive = store.touch(id) !== null;
      }
      expect(alive).toBe(c.alive);
      if (!c.alive) expect(store.size).toBe(0);
      expect(session.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });
  }

  it('mints distinct random ids, knows only its own, and forgets a session once ended', () => {
    const store = new SessionStore({ idleMs: MINUTE, absoluteMs: MINUTE });
    const a = store.create(alice);
    const b = store.create(alice);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.session.csrfToken).not.toBe(b.session.csrfToken);
    expect(store.touch(`${a.id.slice(0, -1)}x`)).toBeNull();
    store.end(a.id);
    expect(store.touch(a.id)).toBeNull();
    expect(store.touch(b.id)?.principal).toEqual(alice);
  });
});

describe('checkedNext', () => {
  const cases: { description: string; next: unknown; expected: string | null }[] = [
    { description: 'a path', next: '/reports/admissions', expected: '/reports/admissions' },
    { description: 'a path with a query, normalised', next: '/ops/runs?status=failed&source=a b', expected: '/ops/runs?status=failed&source=a%20b' },
    { description: 'dot segments stay on this server', next: '/../../etc/passwd', expected: '/etc/passwd' },
    { description: 'a fragment is dropped', next: '/ops#jobs', expected: '/ops' },
    { description: 'protocol-relative', next: '//evil.example/x', expected: null },
    { description: 'a backslash', next: '/\\evil.example', expected: null },
    { description: 'a tab', next: '/\t/evil.example', expected: null },
    { description: 'a newline', next: '/ops\n', expected: null },
    { description: 'an absolute URL', next: 'https://evil.example/', expected: null },
    { description: 'a script URL', next: 'javascript:alert(1)', expected: null },
    { description: 'a relative path', next: 'ops', expected: null },
    { description: 'the sign-in page', next: '/sign-in?next=/ops', expected: null },
    { description: 'the sign-out endpoint', next: '/sign-out', expected: null },
    { description: 'empty', next: '', expected: null },
    { description: 'not a string', next: ['/ops'], expected: null },
    { description: 'too long', next: `/${'a'.repeat(3000)}`, expected: null },
  ];
  for (const c of cases) {
    it(c.description, () => {
      expect(checkedNext(c.next)).toBe(c.expected);
    });
  }
});
