/**
 * The URL of a module of this package given by its source path (`./x.ts`), for the places
 * that need a module's file rather than its exports: worker-thread and `mpirun` entries.
 * The package runs in two forms: from its TypeScript sources (tsx, vitest) and compiled to
 * `dist/` (plain Node). tsc rewrites `.ts` in import specifiers but not in URLs, so this
 * maps `x.ts` to `x.js` when the calling module is itself compiled JavaScript.
 *
 * @example
 * const entry = moduleUrl('./thread-rank-main.ts', import.meta.url);
 * // …/src/…/thread-rank-main.ts from sources, …/dist/src/…/thread-rank-main.js compiled
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function moduleUrl(sourcePath: string, base: string): URL {
  const url = new URL(sourcePath, base);
  if (isCompiled(base) && url.pathname.endsWith('.ts') && !url.pathname.endsWith('.d.ts'))
    url.pathname = `${url.pathname.slice(0, -3)}.js`;
  return url;
}

/**
 * Whether the module at `base` (an `import.meta.url`) is compiled JavaScript.
 *
 * @example
 * isCompiled(import.meta.url); // false under tsx, true in dist/
 */
export function isCompiled(base: string): boolean {
  return /\.[cm]?js$/.test(new URL(base).pathname);
}

/**
 * The directory of this package (where its package.json is), from any of its modules, in
 * the sources or compiled to `dist/`.
 *
 * @example
 * join(packageRoot(import.meta.url), 'visualizations/generated');
 */
export function packageRoot(base: string): string {
  let dir = new URL('./', base);
  for (let i = 0; i < 6; i++) {
    const manifest = new URL('package.json', dir);
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'sparsepipe') return fileURLToPath(dir);
    }
    dir = new URL('../', dir);
  }
  throw new Error(`packageRoot: no sparsepipe package.json above ${base}`);
}
