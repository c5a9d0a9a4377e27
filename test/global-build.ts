/**
 * Vitest global setup: make sure `dist/` (the compiled package that `bin/sparsepipe.js`
 * runs) is built from the current sources before any test spawns the command. Rebuilds
 * only when a source file is newer than the last build (scripts/build.mjs --if-stale).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const r = spawnSync(process.execPath, ['scripts/build.mjs', '--quiet', '--if-stale'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(
      `npm run build failed before the tests (exit ${r.status}):\n${r.stdout}${r.stderr}`,
    );
}
