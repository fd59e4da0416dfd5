// `carelake keys create|list|revoke`: API keys for the serving API. A key is printed once, at creation,
// and only its SHA-256 is kept (serve.auth.apiKeysFile, default secrets/api-keys.json beside
// carelake.yml); `list` shows names, roles and dates, never secrets or hashes. A running server picks
// up changes to the file by itself, so no restart is needed after create or revoke.

import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyInfo, type CreatedApiKey } from '../../warehouse/auth/apiKeys.ts';
import { formatTable, type Console } from '../console.ts';
import type { CommandContext } from '../context.ts';

export interface KeysCreateOptions {
  name: string;
  /** analyst | commissioner | engineer; anything else is refused. */
  role: string;
}

export async function keysCreateCommand(ctx: CommandContext, options: KeysCreateOptions, out: Console, now = new Date()): Promise<CreatedApiKey> {
  const file = ctx.config.serve.auth.apiKeysFile;
  const created = await createApiKey(file, { name: options.name, role: options.role, now });
  const { record } = created;
  out.info(`Created API key ${record.keyId} '${record.name}' with role ${record.role}:`);
  out.info('');
  out.info(`  ${created.token}`);
  out.info('');
  out.warn(`this is the only time the key is shown. carelake keeps only its hash (in ${file}) and cannot show it again: store it now in a password manager or secret store; if it is lost, revoke it and create another.`);
  out.info('Send it as `Authorization: Bearer <key>`. A running `carelake serve` accepts it within a second, without a restart.');
  return created;
}

export async function keysListCommand(ctx: CommandContext, out: Console): Promise<ApiKeyInfo[]> {
  const file = ctx.config.serve.auth.apiKeysFile;
  const keys = await listApiKeys(file);
  if (keys.length === 0) {
    out.info(`No API keys in ${file}. Create one with \`carelake keys create --name <name> --role <analyst|commissioner|engineer>\`.`);
    return keys;
  }
  out.info(
    formatTable(
      ['key_id', 'name', 'role', 'created_at', 'status'],
      keys.map((k) => [k.keyId, k.name, k.role, k.createdAt, k.revokedAt === null ? 'active' : `revoked ${k.revokedAt}`]),
    ),
  );
  return keys;
}

export async function keysRevokeCommand(ctx: CommandContext, nameOrKeyId: string, out: Console, now = new Date()): Promise<ApiKeyInfo> {
  const revoked = await revokeApiKey(ctx.config.serve.auth.apiKeysFile, nameOrKeyId, now);
  out.info(`Revoked API key ${revoked.keyId} '${revoked.name}' (${revoked.role}). A running \`carelake serve\` refuses it within a second.`);
  return revoked;
}
