#!/usr/bin/env node
/**
 * `npm run build`: compile the package to `dist/` (ESM JavaScript, `.d.ts`, source maps)
 * with tsc (tsconfig.build.json: `src`, `machines`, `actors`, `visualizations`; relative
 * `.ts` imports rewritten to `.js`), then copy the files tsc does not emit but the code
 * loads at run time: the inspector page (`page.html`, `page.js`) and the worker bootstrap
 * (`*.mjs`). `dist/` is removed first so no stale module survives a rename.
 *
 * Runs on `npm install` / `npm ci` in a clone (`prepare`) and before `npm pack` (`prepack`).
 * The test suite calls it with `--if-stale` (test/global-build.ts): nothing is done when
 * `dist/` is newer than every source file, so tests that spawn the command run what ships.
 *
 * Usage: node scripts/build.mjs [--quiet] [--if-stale]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const quiet = process.argv.includes('--quiet');
const t0 = performance.now();
const TOPS = ['src', 'machines', 'actors', 'visualizations'];
const STAMP = join(dist, '.build-stamp');

function newestSource(dir, newest = 0) {
  for (const name of readdirSync(dir)) {
    if (name === 'generated' || name === 'node_modules') continue;
    const path = join(dir, name);
    const st = statSync(path);
    newest = st.isDirectory() ? newestSource(path, newest) : Math.max(newest, st.mtimeMs);
  }
  return newest;
}
if (process.argv.includes('--if-stale') && existsSync(STAMP)) {
  const configs = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'].map(
    (f) => statSync(join(root, f)).mtimeMs,
  );
  const newest = Math.max(...configs, ...TOPS.map((t) => newestSource(join(root, t))));
  if (newest < statSync(STAMP).mtimeMs) process.exit(0);
}

let tsc;
try {
  tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');
} catch {
  if (existsSync(join(dist, 'src/index.js'))) process.exit(0); // installed without dev tools: keep the shipped build
  console.error(
    'sparsepipe build: typescript is not installed (npm install, with dev dependencies)',
  );
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const forTests = process.argv.includes('--if-stale');
if (r.status !== 0) {
  // tsc still emits on type errors. For the test run that is enough (vitest itself ignores
  // types; `npm run typecheck` reports them); a build for install or pack must be clean.
  if (!(forTests && existsSync(join(dist, 'src/cli/main.js')))) {
    console.error(`sparsepipe build: tsc failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  console.error(
    'sparsepipe build: tsc reported type errors; dist/ was emitted anyway for the tests',
  );
}

const ASSET = /\.(html|mjs|css)$|^page\.js$/;
let copied = 0;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'generated') copyAssets(path);
    } else if (ASSET.test(name)) {
      cpSync(path, join(dist, relative(root, path)));
      copied++;
    }
  }
}
for (const top of TOPS) copyAssets(join(root, top));
writeFileSync(STAMP, `${new Date().toISOString()}\n`);

if (!quiet)
  console.log(
    `sparsepipe build: dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s (${copied} assets copied)`,
  );
