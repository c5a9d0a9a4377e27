/**
 * Fast start: `sparsepipe --help`, `--version` and a bad flag load none of the heavy
 * packages (tfjs, its wasm backend, RxJS, XState, koffi, elkjs, ws); a sim run loads tfjs but
 * not the layout or WebSocket packages, nor the FFI (koffi) when the dense math is wasm.
 * Checked on the compiled command (what users run) with an ESM loader hook and a CommonJS
 * `Module._load` wrapper (koffi is loaded through `createRequire`) that list every package.
 * How long start-up takes is measured by bench/cli-startup.ts, not here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/sparsepipe.js');
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
export async function resolve(s, c, next) {
  const r = await next(s, c);
  const m = /node_modules\\\\/((?:@[^/]+\\\\/)?[^/]+)/.exec(r.url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\\\n');
  return r;
}\`));
`)}`;

// CommonJS loads (createRequire) do not pass through the ESM hook: wrap Module._load.
const CJS_HOOK = join(mkdtempSync(join(tmpdir(), 'sparsepipe-start-')), 'cjs-hook.cjs');
writeFileSync(
  CJS_HOOK,
  `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  const m = /^((?:@[^/]+\\/)?[^/.][^/]*)/.exec(request);
  if (m && !request.startsWith('node:')) process.stderr.write('LOADED ' + m[1] + '\\n');
  return load.call(this, request, ...rest);
};
`,
);

function loaded(args: string[]): { status: number | null; packages: Set<string> } {
  const r = spawnSync(process.execPath, ['--require', CJS_HOOK, '--import', HOOK, bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const packages = new Set(
    r.stderr
      .split('\n')
      .filter((l) => l.startsWith('LOADED '))
      .map((l) => l.slice(7)),
  );
  return { status: r.status, packages };
}

const HEAVY = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  'rxjs',
  'xstate',
  'koffi',
  'elkjs',
  'ws',
];

describe('sparsepipe start-up loads only what the command needs', () => {
  it.each([
    [['--help'], 0],
    [['--version'], 0],
    [['train', '--bogus'], 2],
    [['train', '--help'], 0],
    [['simulate', '--help'], 0],
    [['plan', '--bogus'], 2],
    [['simulate', '--topology', 'tpu'], 2],
  ])('%j loads no heavy package', (args, code) => {
    const r = loaded(args as string[]);
    expect(r.status).toBe(code);
    expect(HEAVY.filter((p) => r.packages.has(p))).toEqual([]);
  });

  it('a sim run with wasm dense math loads tfjs but not koffi, elkjs or ws', () => {
    const r = loaded([
      'train',
      '--ranks',
      '1',
      '--batch-size',
      '8',
      '--batches',
      '1',
      '--dense-math',
      'wasm',
    ]);
    expect(r.status).toBe(0);
    expect(r.packages.has('@tensorflow/tfjs')).toBe(true);
    expect(['koffi', 'elkjs', 'ws'].filter((p) => r.packages.has(p))).toEqual([]);
  });

  it('the hooks see CommonJS loads too: BLAS dense math loads koffi', () => {
    const r = loaded([
      'train',
      '--ranks',
      '1',
      '--batch-size',
      '8',
      '--batches',
      '1',
      '--dense-math',
      'blas',
    ]);
    expect(r.status).toBe(0);
    expect(r.packages.has('koffi')).toBe(true);
  });
});
