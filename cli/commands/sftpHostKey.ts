// `carelake sftp host-key <host> [--port]`: prints the fingerprint an SSH server presents, in the form
// sftp.hostKeySha256 takes, without logging in. It is a convenience, not a trust decision: the output
// says to confirm the fingerprint with the server's operators before pinning it.

import { probeHostKey } from '../../pipelines/sftp/hostKeyProbe.ts';
import type { Console } from '../console.ts';

export async function sftpHostKeyCommand(host: string, options: { port: number }, out: Console): Promise<void> {
  const key = await probeHostKey(host, options.port);
  out.info(key.fingerprint);
  out.warn(
    `${host}:${options.port} presented this ${key.algorithm} host key. Confirm the fingerprint with the server's operators ` +
      '(they can run `ssh-keygen -lf` on the host key) before putting it in sftp.hostKeySha256.',
  );
}
