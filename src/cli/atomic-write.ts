/**
 * Write a file so that readers see either nothing (or the old file) or the whole new file:
 * write `FILE.tmp-<pid>` in the same directory, then rename it over `FILE`. On failure the
 * temporary file is removed and nothing else changes.
 *
 * @example
 * await writeFileAtomic('summary.json', JSON.stringify(summary));
 */
import { realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // Through a symbolic link, write the file it points to (a rename would replace the link).
  path = await realpath(path).catch(() => path);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Why no file can be written at `path` (its directory is missing, or `path` is a directory),
 * naming `flag`; undefined when it can. For checking outputs before a long run (`train`
 * checks its own outputs more strictly: src/cli/output-paths.ts).
 *
 * @example
 * const problem = await checkWritableFile('out/summary.json', '--json');
 */
export async function checkWritableFile(path: string, flag: string): Promise<string | undefined> {
  const dir = dirname(resolve(path));
  const d = await stat(dir).catch(() => null);
  if (!d?.isDirectory()) return `${flag} ${path}: the directory ${dir} does not exist`;
  const f = await stat(path).catch(() => null);
  if (f?.isDirectory()) return `${flag} ${path}: is a directory`;
  return undefined;
}
