/**
 * The package version, read from package.json (for `--version`, summaries and checkpoints).
 * Found by walking up from this module, so it works from the sources (`src/cli/`) and from
 * the compiled package (`dist/src/cli/`).
 *
 * @example
 * await sparsepipeVersion(); // '0.1.0'
 */
import { readFile } from 'node:fs/promises';

export async function sparsepipeVersion(): Promise<string> {
  for (let up = '../'; up.length <= 5 * 3; up += '../') {
    let text: string;
    try {
      text = await readFile(new URL(`${up}package.json`, import.meta.url), 'utf8');
    } catch {
      continue;
    }
    const pkg = JSON.parse(text) as { name?: string; version?: string };
    if (pkg.name === 'sparsepipe') return pkg.version ?? '0.0.0';
  }
  return '0.0.0';
}
