// Throwaway ed25519 key pairs for SFTP tests. ssh2's generateKeyPairSync drops a leading zero byte of
// an ed25519 key (about one pair in 128 comes out with a 31-byte key), which its own parser — and sshd —
// then reject as malformed. A pair is therefore checked and drawn again until both halves parse.

import ssh2 from 'ssh2';

export interface SshKeyPair {
  readonly private: string;
  readonly public: string;
}

export function ed25519KeyPair(comment?: string): SshKeyPair {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}
