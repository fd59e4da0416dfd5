// SSH host key pinning. The fingerprint is OpenSSH's (`ssh-keygen -lf`, `ssh-keyscan | ssh-keygen -lf -`):
// SHA256 over the public key blob, base64 without padding. A server whose key differs is refused
// before authentication, so a private key is never offered to an impostor. Pure.

import { createHash, timingSafeEqual } from 'node:crypto';

export function hostKeySha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export interface HostKeyCheck {
  /** For ssh2's `hostVerifier` (called with the raw key when no hostHash is set). */
  verify(keyBlob: Buffer): boolean;
  /** The fingerprint the server presented, once it has; null before or if it never did. */
  readonly presented: string | null;
}

/** A verifier that accepts only `expected`; it remembers what was presented, for the refusal message. */
export function pinnedHostKey(expected: string): HostKeyCheck {
  let presented: string | null = null;
  return {
    verify(keyBlob: Buffer): boolean {
      presented = hostKeySha256(keyBlob);
      const a = Buffer.from(presented);
      const b = Buffer.from(expected);
      return a.length === b.length && timingSafeEqual(a, b);
    },
    get presented() {
      return presented;
    },
  };
}
