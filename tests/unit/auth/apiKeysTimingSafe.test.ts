// The secret is checked with crypto.timingSafeEqual on two 32-byte digests — once per verify, whether
// the secret is right, wrong, or the key id unknown — so response time tells a guesser nothing.
// node:crypto is wrapped (not replaced) to watch the calls.

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const spy = vi.hoisted(() => ({ calls: [] as [Buffer, Buffer][] }));

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean => {
    spy.calls.push([Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)]);
    return original.timingSafeEqual(a, b);
  };
  return { ...original, default: { ...original, timingSafeEqual }, timingSafeEqual };
});

const { ApiKeyStore, createApiKey } = await import('../../../warehouse/auth/apiKeys.ts');

describe('API key comparison', () => {
  beforeEach(() => {
    spy.calls.length = 0;
  });

  it('compares 32-byte digests with timingSafeEqual for right, wrong and unknown keys alike', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'carelake-keys-')), 'api-keys.json');
    const { token, record } = await createApiKey(file, { name: 'a', role: 'analyst' });
    const store = await ApiKeyStore.open(file);

    expect(await store.verify(token)).not.toBeNull();
    const wrong = `clk_${record.keyId}_${'A'.repeat(43)}`;
    expect(await store.verify(wrong)).toBeNull();
    const unknown = `clk_zzzzzzzzzz_${token.slice(-43)}`;
    expect(await store.verify(unknown)).toBeNull();

    expect(spy.calls).toHaveLength(3);
    for (const [presented, stored] of spy.calls) {
      expect(presented).toHaveLength(32);
      expect(stored).toHaveLength(32);
    }
    // Never the raw secret: what is compared is its SHA-256.
    expect(spy.calls.some(([presented]) => presented.toString('utf8').includes(token.slice(-43)))).toBe(false);
  });

  it('does no comparison at all for a malformed token', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'carelake-keys-')), 'api-keys.json');
    const store = await ApiKeyStore.open(file);
    expect(await store.verify('Bearer nonsense')).toBeNull();
    expect(spy.calls).toHaveLength(0);
  });
});
