import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { ed25519KeyPair } from '../../support/sshKeys.ts';

describe('test ed25519 key pairs', () => {
  // Drawn often enough that ssh2's one-in-a-hundred-odd malformed pair would almost surely appear.
  it('always parse, both halves, with the comment kept', () => {
    for (let i = 0; i < 1500; i++) {
      const pair = ed25519KeyPair('probe');
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      const pub = ssh2.utils.parseKey(pair.public);
      expect(pub).not.toBeInstanceOf(Error);
      expect(Buffer.from(pair.public.split(' ')[1]!, 'base64').length).toBe(51); // 4+11 type, 4+32 key
    }
    expect(ed25519KeyPair('a comment').public.trim().endsWith(' a comment')).toBe(true);
  });
});
