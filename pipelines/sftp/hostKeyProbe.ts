// Asks an SSH server for its host key without logging in, to help an operator pin it: the connection
// is dropped as soon as the key is presented, so no credentials are ever sent. The fingerprint it
// returns must still be confirmed with the server's operators out of band before it is trusted.

import { Client } from 'ssh2';
import { CarelakeError } from '../../core/errors.ts';
import { hostKeySha256 } from './hostKey.ts';

export interface PresentedHostKey {
  fingerprint: string;
  /** e.g. ssh-ed25519, ecdsa-sha2-nistp256, rsa-sha2-512 */
  algorithm: string;
}

export function probeHostKey(host: string, port: number, timeoutMs = 10_000): Promise<PresentedHostKey> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: PresentedHostKey | null = null;
    const finish = () => {
      client.end();
      if (presented !== null) resolve(presented);
      else reject(new CarelakeError({ code: 'sftp.connection', kind: 'runtime', message: `${host}:${port} did not present an SSH host key` }));
    };
    client.on('error', (err: Error) => {
      if (presented !== null) finish();
      else reject(new CarelakeError({ code: 'sftp.connection', kind: 'runtime', message: `Cannot reach the SSH server ${host}:${port}: ${err.message}`, cause: err }));
    });
    client.on('close', finish);
    client.connect({
      host,
      port,
      username: 'carelake-host-key-probe',
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        const length = key.readUInt32BE(0);
        presented = { fingerprint: hostKeySha256(key), algorithm: key.subarray(4, 4 + length).toString('ascii') };
        return false;
      },
    });
  });
}
