// Secrets on disk (SSH and SMART private keys) must be readable by their owner alone: a key others can
// read is not private, so it is refused rather than used. One check for every key file.

import { stat } from 'node:fs/promises';
import { CarelakeError, fileSystemError } from './errors.ts';

/** Throws a config error (`code`) naming the file and its mode when group or others can access it. */
export async function assertPrivateFile(file: string, what: string, code: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (err) {
    throw fileSystemError(`read the ${what}`, file, err);
  }
  // Windows reports synthetic modes; ACLs there are out of our reach.
  if (process.platform === 'win32' || (mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  throw new CarelakeError({
    code,
    kind: 'config',
    message: `The ${what} ${file} is accessible by group or others (mode ${octal}); refusing to use a private key that is not private`,
    location: { file },
    hint: `run: chmod 600 ${file}`,
  });
}
