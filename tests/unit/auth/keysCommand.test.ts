// `carelake keys create|list|revoke` as the CLI calls them: the token is printed once with a warning,
// list shows neither secrets nor hashes, revoke says what it revoked.

import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from '../../../cli/commands/keys.ts';
import type { Console } from '../../../cli/console.ts';
import type { CommandContext } from '../../../cli/context.ts';
import { parseConfig } from '../../../core/config.ts';
import { LakeLayout } from '../../../core/lake.ts';
import { ApiKeyStore } from '../../../warehouse/auth/apiKeys.ts';

function recorder(): Console & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return { lines, warnings, info: (l) => lines.push(l), warn: (l) => warnings.push(l), progress: () => undefined, done: () => undefined };
}

async function context(): Promise<CommandContext> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-keyscli-'));
  const config = parseConfig('lake: ./lake\n', { file: join(dir, 'carelake.yml'), baseDir: dir });
  return { config, layout: new LakeLayout(config.lake) };
}

describe('carelake keys', () => {
  it('create prints the token once, warns it cannot be shown again, and says where the hash lives', async () => {
    const ctx = await context();
    const out = recorder();
    const created = await keysCreateCommand(ctx, { name: 'alice', role: 'analyst' }, out);
    const file = ctx.config.serve.auth.apiKeysFile;
    expect(file).toBe(join(ctx.config.baseDir, 'secrets', 'api-keys.json'));
    expect(out.lines.filter((l) => l.includes(created.token))).toHaveLength(1);
    expect(out.warnings.join('\n')).toMatch(/only time the key is shown/);
    expect(out.warnings.join('\n')).toContain(file);
    expect(out.warnings.join('\n')).not.toContain(created.token);
    expect(await ApiKeyStore.open(file).then((s) => s.verify(created.token))).toMatchObject({ name: 'alice', role: 'analyst' });
  });

  it('list shows key ids, names, roles and status, never a secret or hash', async () => {
    const ctx = await context();
    const a = await keysCreateCommand(ctx, { name: 'alice', role: 'analyst' }, recorder());
    const b = await keysCreateCommand(ctx, { name: 'reports', role: 'commissioner' }, recorder());
    await keysRevokeCommand(ctx, 'alice', recorder());
    const out = recorder();
    await keysListCommand(ctx, out);
    const text = out.lines.join('\n');
    expect(text).toMatch(new RegExp(`${a.record.keyId}\\s+alice\\s+analyst\\s+\\S+\\s+revoked`));
    expect(text).toMatch(new RegExp(`${b.record.keyId}\\s+reports\\s+commissioner\\s+\\S+\\s+active`));
    const hashes = (JSON.parse(await readFile(ctx.config.serve.auth.apiKeysFile, 'utf8')) as { keys: { hash: string }[] }).keys.map((k) => k.hash);
    for (const secret of [a.token, b.token, a.token.slice(-43), b.token.slice(-43), ...hashes]) expect(text).not.toContain(secret);
  });

  it('list says how to start when there are no keys', async () => {
    const out = recorder();
    await keysListCommand(await context(), out);
    expect(out.lines.join('\n')).toMatch(/No API keys .*carelake keys create --name/);
  });

  it('revoke by key id says which key it revoked; create refuses a bad role', async () => {
    const ctx = await context();
    const a = await keysCreateCommand(ctx, { name: 'alice', role: 'engineer' }, recorder());
    const out = recorder();
    await keysRevokeCommand(ctx, a.record.keyId, out);
    expect(out.lines.join('\n')).toContain(`Revoked API key ${a.record.keyId} 'alice' (engineer)`);
    await expect(keysCreateCommand(ctx, { name: 'bob', role: 'superuser' }, recorder())).rejects.toMatchObject({ code: 'auth.invalid-role', kind: 'config' });
  });
});
