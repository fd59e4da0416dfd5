// API keys: the token format, verification (right, wrong, tampered, revoked, malformed), the admin file
// (0600, atomic, hashed only, refused when others can read it) and hot reload when another process
// changes it.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { API_KEY_PATTERN, ApiKeyStore, createApiKey, listApiKeys, revokeApiKey } from '../../../warehouse/auth/apiKeys.ts';

const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../../..');
const NOW = new Date('2026-03-01T09:00:00.000Z');

async function keysFile(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'carelake-keys-')), 'secrets', 'api-keys.json');
}

/** `createApiKey` in a child Node process, as `carelake keys create` would run beside a server; returns the token. */
async function createInAnotherProcess(file: string, name: string, role: string): Promise<string> {
  const script = `const m = await import(process.argv[1]);
    const created = await m.createApiKey(process.argv[2], { name: process.argv[3], role: process.argv[4] });
    process.stdout.write(created.token);`;
  const args = ['--import', 'tsx', '--input-type=module', '-e', script, join(REPO, 'warehouse/auth/apiKeys.ts'), file, name, role];
  return (await exec(process.execPath, args, { cwd: REPO })).stdout;
}

/** The same token with one character of the secret changed. */
function tamper(token: string, at = -5): string {
  const i = token.length + at;
  const c = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + c + token.slice(i + 1);
}

describe('createApiKey', () => {
  it('makes clk_<keyId>_<secret> with an 8–12 character base32 id and a 32-byte base64url secret', async () => {
    const file = await keysFile();
    const { token, record } = await createApiKey(file, { name: 'reporting-service', role: 'commissioner', now: NOW });
    const match = API_KEY_PATTERN.exec(token);
    expect(match).not.toBeNull();
    expect(match?.[1]).toBe(record.keyId);
    expect(record.keyId).toMatch(/^[a-z2-7]{8,12}$/);
    expect(Buffer.from(match?.[2] ?? '', 'base64url')).toHaveLength(32);
    expect(record).toEqual({ keyId: record.keyId, name: 'reporting-service', role: 'commissioner', createdAt: NOW.toISOString(), revokedAt: null });
    expect(record).not.toHaveProperty('hash');
  });

  it('writes a 0600 file holding only the hash: never the token, never the secret', async () => {
    const file = await keysFile();
    const { token } = await createApiKey(file, { name: 'alice', role: 'analyst', now: NOW });
    const secret = token.slice(token.lastIndexOf('_', token.length - 44) + 1);
    expect(secret).toHaveLength(43);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(0, 16));
    const stored = JSON.parse(text) as { keys: { hash: string }[] };
    expect(stored.keys[0]?.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Temporary and lock files are gone: only the key file remains.
    expect(await readdir(join(file, '..'))).toEqual(['api-keys.json']);
  });

  it('gives every key its own id and secret', async () => {
    const file = await keysFile();
    const a = await createApiKey(file, { name: 'a', role: 'analyst' });
    const b = await createApiKey(file, { name: 'b', role: 'analyst' });
    expect(a.record.keyId).not.toBe(b.record.keyId);
    expect(a.token).not.toBe(b.token);
    expect((await listApiKeys(file)).map((k) => k.name)).toEqual(['a', 'b']);
  });

  it('refuses a name already used by an active key, but allows it again once that key is revoked', async () => {
    const file = await keysFile();
    await createApiKey(file, { name: 'alice', role: 'analyst' });
    await expect(createApiKey(file, { name: 'alice', role: 'engineer' })).rejects.toMatchObject({ code: 'auth.key-name-taken' });
    await revokeApiKey(file, 'alice');
    await expect(createApiKey(file, { name: 'alice', role: 'engineer' })).resolves.toMatchObject({ record: { name: 'alice', role: 'engineer' } });
  });

  it('refuses unknown roles and unusable names', async () => {
    const file = await keysFile();
    await expect(createApiKey(file, { name: 'x', role: 'admin' })).rejects.toMatchObject({ code: 'auth.invalid-role' });
    for (const name of ['', ' alice', 'a b', 'x'.repeat(65), '-lead', 'name\n']) {
      await expect(createApiKey(file, { name, role: 'analyst' })).rejects.toMatchObject({ code: 'auth.invalid-key-name' });
    }
    await expect(listApiKeys(file)).resolves.toEqual([]);
  });

  it('keeps every key when several callers create keys at once', async () => {
    const file = await keysFile();
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => createApiKey(file, { name, role: 'analyst' })));
    expect((await listApiKeys(file)).map((k) => k.name).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps every key when several processes create keys at once', async () => {
    const file = await keysFile();
    await Promise.all(['p1', 'p2', 'p3', 'p4'].map((name) => createInAnotherProcess(file, name, 'analyst')));
    expect((await listApiKeys(file)).map((k) => k.name).sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
  });
});

describe('ApiKeyStore.verify', () => {
  it('accepts the key as created and returns a non-secret principal', async () => {
    const file = await keysFile();
    const { token, record } = await createApiKey(file, { name: 'alice', role: 'analyst' });
    const store = await ApiKeyStore.open(file);
    const principal = await store.verify(token);
    expect(principal).toEqual({ id: `key:${record.keyId}`, name: 'alice', role: 'analyst', via: 'api-key' });
    expect(principal?.id).not.toContain(token.slice(-43));
  });

  it('refuses tampered secrets, swapped ids and keys from another file', async () => {
    const file = await keysFile();
    const a = await createApiKey(file, { name: 'a', role: 'analyst' });
    const b = await createApiKey(file, { name: 'b', role: 'engineer' });
    const other = await createApiKey(await keysFile(), { name: 'a', role: 'engineer' });
    const store = await ApiKeyStore.open(file, { recheckMs: 0 });
    for (const at of [-1, -20, -43]) expect(await store.check(tamper(a.token, at))).toMatchObject({ principal: null, reason: `wrong secret for API key ${a.record.keyId}` });
    // a's id with b's secret: each secret proves only its own key.
    const swapped = `clk_${a.record.keyId}_${b.token.slice(-43)}`;
    expect(await store.verify(swapped)).toBeNull();
    expect(await store.check(other.token)).toMatchObject({ principal: null, reason: `unknown API key id ${other.record.keyId}` });
  });

  it('returns null for malformed tokens and never throws', async () => {
    const file = await keysFile();
    const { token } = await createApiKey(file, { name: 'a', role: 'analyst' });
    const store = await ApiKeyStore.open(file);
    const malformed: unknown[] = [
      '',
      'clk_',
      token.slice(0, -1),
      `${token}A`,
      token.toUpperCase(),
      token.replace('clk_', 'CLK_'),
      token.replace(/^clk_/, 'clx_'),
      `${token} `,
      ` ${token}`,
      'clk_short_abc',
      'clk_abcdefgh_' + 'A'.repeat(42) + '=',
      'clk_abcdefghijklmnop_' + 'A'.repeat(43),
      'x'.repeat(100_000),
      undefined,
      null,
      42,
      { token },
    ];
    for (const bad of malformed) {
      await expect(store.verify(bad)).resolves.toBeNull();
    }
    expect(await store.check('nonsense')).toEqual({ principal: null, reason: 'malformed API key' });
  });

  it('refuses a revoked key, revoked by name or by key id', async () => {
    const file = await keysFile();
    const a = await createApiKey(file, { name: 'a', role: 'analyst' });
    const b = await createApiKey(file, { name: 'b', role: 'commissioner' });
    const store = await ApiKeyStore.open(file, { recheckMs: 0 });
    expect(await store.verify(a.token)).not.toBeNull();
    const revoked = await revokeApiKey(file, 'a', NOW);
    expect(revoked).toMatchObject({ keyId: a.record.keyId, revokedAt: NOW.toISOString() });
    await revokeApiKey(file, b.record.keyId, NOW);
    expect(await store.check(a.token)).toMatchObject({ principal: null, reason: expect.stringContaining('revoked') });
    expect(await store.verify(b.token)).toBeNull();
    // Revoked keys stay listed, so audit ids can still be traced to a name.
    expect((await listApiKeys(file)).map((k) => [k.name, k.revokedAt])).toEqual([
      ['a', NOW.toISOString()],
      ['b', NOW.toISOString()],
    ]);
  });

  it('says what is wrong when revoking an unknown or already revoked key', async () => {
    const file = await keysFile();
    const a = await createApiKey(file, { name: 'a', role: 'analyst' });
    await expect(revokeApiKey(file, 'nobody')).rejects.toMatchObject({ code: 'auth.unknown-key' });
    await revokeApiKey(file, 'a');
    await expect(revokeApiKey(file, 'a')).rejects.toMatchObject({ code: 'auth.unknown-key' });
    await expect(revokeApiKey(file, a.record.keyId)).rejects.toMatchObject({ code: 'auth.key-already-revoked' });
  });

  it('has no keys when the file does not exist yet, and picks up the first one created', async () => {
    const file = await keysFile();
    const store = await ApiKeyStore.open(file, { recheckMs: 0 });
    expect(store.activeKeys).toBe(0);
    const { token } = await createApiKey(file, { name: 'first', role: 'engineer' });
    expect(await store.verify(token)).toMatchObject({ role: 'engineer' });
    expect(store.activeKeys).toBe(1);
  });

  it('picks up a key added by another process, without a restart', async () => {
    const file = await keysFile();
    await createApiKey(file, { name: 'existing', role: 'analyst' });
    const store = await ApiKeyStore.open(file, { recheckMs: 0 });
    const token = await createInAnotherProcess(file, 'from-cli', 'commissioner');
    expect(token).toMatch(API_KEY_PATTERN);
    expect(await store.verify(token)).toMatchObject({ name: 'from-cli', role: 'commissioner', via: 'api-key' });
    expect(store.activeKeys).toBe(2);
  });

  it('re-reads the file no more often than recheckMs, and at once on reload()', async () => {
    const file = await keysFile();
    const store = await ApiKeyStore.open(file, { recheckMs: 60_000 });
    const { token } = await createApiKey(file, { name: 'late', role: 'analyst' });
    expect(await store.verify(token)).toBeNull();
    await store.reload();
    expect(await store.verify(token)).toMatchObject({ name: 'late' });
  });
});

describe('the API keys file', () => {
  it.skipIf(process.platform === 'win32')('is refused when group or others can read it, by create, list and the store', async () => {
    const file = await keysFile();
    await createApiKey(file, { name: 'a', role: 'analyst' });
    await chmod(file, 0o644);
    const refused = { code: 'auth.api-keys-file-permissions', kind: 'config' };
    await expect(ApiKeyStore.open(file)).rejects.toMatchObject(refused);
    await expect(listApiKeys(file)).rejects.toMatchObject(refused);
    await expect(createApiKey(file, { name: 'b', role: 'analyst' })).rejects.toMatchObject(refused);
    await expect(ApiKeyStore.open(file)).rejects.toMatchObject({ message: expect.stringContaining('mode 0644'), hint: expect.stringContaining(`chmod 600 ${file}`) });
    await chmod(file, 0o640);
    await expect(ApiKeyStore.open(file)).rejects.toMatchObject(refused);
  });

  it.skipIf(process.platform === 'win32')('refuses every key while a running server finds it world-readable, and recovers after chmod', async () => {
    const file = await keysFile();
    const { token } = await createApiKey(file, { name: 'a', role: 'analyst' });
    const errors: CarelakeError[] = [];
    const store = await ApiKeyStore.open(file, { recheckMs: 0, onReloadError: (e) => errors.push(e) });
    expect(await store.verify(token)).not.toBeNull();
    await chmod(file, 0o604);
    expect(await store.check(token)).toMatchObject({ principal: null, reason: expect.stringContaining('API keys unavailable') });
    expect(await store.verify(token)).toBeNull();
    expect(errors.map((e) => e.code)).toEqual(['auth.api-keys-file-permissions']);
    await chmod(file, 0o600);
    expect(await store.verify(token)).not.toBeNull();
  });

  it('is refused when it is not a carelake keys file, without quoting its contents', async () => {
    const file = await keysFile();
    await createApiKey(file, { name: 'a', role: 'analyst' });
    await writeFile(file, '{"version":1,"keys":[clk_pasted_secret_value]}', { mode: 0o600 });
    const err = await ApiKeyStore.open(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CarelakeError);
    expect(err).toMatchObject({ code: 'auth.api-keys-file-invalid' });
    expect((err as Error).message).not.toContain('pasted_secret');
    await writeFile(file, JSON.stringify({ version: 1, keys: [{ keyId: 'abcdefgh', name: 'a', role: 'root', hash: 'x', createdAt: 'now', revokedAt: null }] }), { mode: 0o600 });
    await expect(ApiKeyStore.open(file)).rejects.toThrow(/keys\.0\.role/);
  });
});
