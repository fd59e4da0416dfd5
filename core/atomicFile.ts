// Replacing a small file so that readers see the old text or the new, never half of either: write a
// temporary sibling (O_EXCL, with its final mode from the start), fsync it, rename it over the target,
// fsync the folder. Used for the serving pointer, the API keys file and the audit head.

import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Throws the file system's own error; callers name what they were writing. */
export async function writeFileAtomically(path: string, text: string, mode = 0o644): Promise<void> {
  const pending = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(pending, 'wx', mode);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(pending, path);
  } catch (err) {
    await unlink(pending).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dirname(path));
}

/** Makes a rename durable. Some platforms cannot open a folder for fsync; the rename is still atomic there. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability across power loss is best-effort on such platforms; atomicity does not depend on it.
  }
}
