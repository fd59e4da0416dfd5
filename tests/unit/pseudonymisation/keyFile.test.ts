// The master key loader against real files in a temp folder: creation with private modes, refusal of
// shared or short key files, and the environment variable taking precedence.

import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { loadMasterKey } from '../../../warehouse/secrets/keyFile.ts';

const posix = process.platform !== 'win32';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carelake-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<CarelakeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CarelakeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('loadMasterKey', () => {
  it.runIf(posix)('creates a 32-byte key file with mode 0600 in a 0700 folder, then reuses it', async () => {
    const keyFile = join(dir, 'secrets', 'pseudonym.key');
    const created = await loadMasterKey({ keyFile, env: {} });
    expect(created.source).toBe('created');
    expect(created.key).toHaveLength(32);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
    expect((await readFile(keyFile)).equals(created.key)).toBe(true);

    const again = await loadMasterKey({ keyFile, env: {} });
    expect(again.source).toBe('file');
    expect(again.key.equals(created.key)).toBe(true);
  });

  it.runIf(posix)('refuses a group/world-readable key file, naming it and not leaking the key', async () => {
    const keyFile = join(dir, 'pseudonym.key');
    const key = Buffer.alloc(32, 0xab);
    await writeFile(keyFile, key, { mode: 0o600 });
    await chmod(keyFile, 0o644);
    const err = await rejection(loadMasterKey({ keyFile, env: {} }));
    expect(err.code).toBe('secrets.key-file-permissions');
    expect(err.message).toContain(keyFile);
    expect(err.message).toContain('0644');
    expect(err.render()).toContain('chmod 600');
    expect(JSON.stringify(err.toJSON())).not.toContain(key.toString('hex'));
  });

  it('refuses a key file shorter than 32 bytes', async () => {
    const keyFile = join(dir, 'pseudonym.key');
    await writeFile(keyFile, Buffer.alloc(16, 1), { mode: 0o600 });
    const err = await rejection(loadMasterKey({ keyFile, env: {} }));
    expect(err.code).toBe('secrets.key-file-too-short');
    expect(err.message).toContain(keyFile);
  });

  const envCases = [
    { description: 'hex', value: 'ab'.repeat(32), expected: Buffer.alloc(32, 0xab) },
    { description: 'base64', value: Buffer.alloc(48, 7).toString('base64'), expected: Buffer.alloc(48, 7) },
    { description: 'hex with surrounding whitespace', value: ` ${'01'.repeat(40)}\n`, expected: Buffer.alloc(40, 1) },
  ];
  it.each(envCases)('takes the environment variable over the key file ($description)', async ({ value, expected }) => {
    const keyFile = join(dir, 'never-created.key');
    const loaded = await loadMasterKey({ keyFile, env: { CARELAKE_PSEUDONYM_KEY: value } });
    expect(loaded.source).toBe('env');
    expect(loaded.key.equals(expected)).toBe(true);
    await expect(stat(keyFile)).rejects.toThrow();
  });

  it('reads a custom variable name', async () => {
    const loaded = await loadMasterKey({ keyFile: join(dir, 'k'), envVar: 'MY_KEY', env: { MY_KEY: 'cd'.repeat(32) } });
    expect(loaded.key.equals(Buffer.alloc(32, 0xcd))).toBe(true);
  });

  const badEnvCases = [
    { description: 'too short', value: 'ab'.repeat(16), code: 'secrets.env-key-too-short' },
    { description: 'not hex or base64', value: 'not a key!', code: 'secrets.env-key-invalid' },
  ];
  it.each(badEnvCases)('refuses an environment key that is $description, without echoing it', async ({ value, code }) => {
    const err = await rejection(loadMasterKey({ keyFile: join(dir, 'k'), env: { CARELAKE_PSEUDONYM_KEY: value } }));
    expect(err.code).toBe(code);
    expect(err.message).toContain('CARELAKE_PSEUDONYM_KEY');
    expect(err.message).not.toContain(value);
  });
});
