/**
 * The package version, read from package.json (for `--version`, summaries and checkpoints).
 *
 * @example
 * await sparsepipeVersion(); // '0.1.0'
 */
import { readFile } from 'node:fs/promises';

export async function sparsepipeVersion(): Promise<string> {
  const pkg = JSON.parse(
    await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version?: string };
  return pkg.version ?? '0.0.0';
}
