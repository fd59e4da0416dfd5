import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKeySha256, pinnedHostKey } from '../../../pipelines/sftp/hostKey.ts';
import { ed25519KeyPair } from '../../support/sshKeys.ts';

const keygen = spawnSync('ssh-keygen', ['-?']).error === undefined;

function newPublicKey(): { line: string; blob: Buffer } {
  const { public: line } = ed25519KeyPair();
  return { line, blob: Buffer.from(line.split(' ')[1]!, 'base64') };
}

describe('host key fingerprints', () => {
  it.runIf(keygen)('match what ssh-keygen -l prints', () => {
    const key = newPublicKey();
    const file = join(mkdtempSync(join(tmpdir(), 'carelake-hostkey-')), 'key.pub');
    writeFileSync(file, `${key.line}\n`);
    const printed = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).stdout.split(' ')[1];
    expect(hostKeySha256(key.blob)).toBe(printed);
  });

  it('accepts only the pinned key and remembers what was presented', () => {
    const pinned = newPublicKey();
    const other = newPublicKey();
    const check = pinnedHostKey(hostKeySha256(pinned.blob));
    expect(check.presented).toBeNull();
    expect(check.verify(other.blob)).toBe(false);
    expect(check.presented).toBe(hostKeySha256(other.blob));
    expect(check.verify(pinned.blob)).toBe(true);
  });
});
