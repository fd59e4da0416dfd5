// `carelake init`: writes a starter carelake.yml (the embedded defaults) where none exists.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_YAML } from '../../core/config.ts';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import type { Console } from '../console.ts';

export async function initCommand(dir: string, out: Console): Promise<string> {
  const file = resolve(dir, 'carelake.yml');
  try {
    await writeFile(file, DEFAULT_CONFIG_YAML, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CarelakeError({ code: 'init.exists', kind: 'config', message: `${file} already exists`, location: { file }, hint: 'edit it, or remove it to start again' });
    }
    throw fileSystemError('write', file, err);
  }
  out.info(`Wrote ${file}. Edit its sources, then run \`carelake load\`.`);
  return file;
}
