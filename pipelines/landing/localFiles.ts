// Local files as landing inputs: identity (size + sha256, streamed) and line-by-line reading.
// Reading happens before a run starts, so an unreadable file fails the run before anything lands.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileSystemError } from '../../core/errors.ts';
import { inWindow, type RunWindow } from '../runs/runWindow.ts';
import type { SourceFile } from './fileLanding.ts';

export async function describeLocalFile(path: string): Promise<SourceFile> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: info.isDirectory() ? 'EISDIR' : 'EINVAL' });
    const hash = createHash('sha256');
    let hasRecordSeparator = false;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      hasRecordSeparator ||= (chunk as Buffer).includes(0x1e);
    }
    return { location: path, bytes: info.size, sha256: hash.digest('hex'), localPath: path, hasRecordSeparator };
  } catch (err) {
    throw fileSystemError('read source file', path, err);
  }
}

/** The paths last modified inside the window (all of them without one), checked before any is read. */
export async function modifiedWithin(paths: readonly string[], window: RunWindow | undefined): Promise<string[]> {
  if (!window) return [...paths];
  const kept: string[] = [];
  for (const path of paths) {
    try {
      if (inWindow((await stat(path)).mtimeMs, window)) kept.push(path);
    } catch (err) {
      throw fileSystemError('read source file', path, err);
    }
  }
  return kept;
}

/** Lines of a text file with 1-based numbers; LF and CRLF both end a line. */
export async function* readLines(path: string, encoding: BufferEncoding = 'utf8'): AsyncGenerator<{ line: number; text: string }> {
  const lines = createInterface({ input: createReadStream(path, { encoding }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) yield { line: ++line, text };
}
