/**
 * The published package, as a user gets it: `npm pack` makes the tarball, which is unpacked
 * into `node_modules/sparsepipe` of a temporary ESM project (what `npm install TARBALL`
 * does with it); its dependencies are linked from this repository's `node_modules` so the
 * test needs no network and stays fast. Then, with no tsx and no TypeScript loader:
 *
 * - plain Node imports `sparsepipe` and `sparsepipe/testing` (resolved inside the installed
 *   package, to compiled JavaScript) and trains 3 batches, on wasm;
 * - CommonJS `require('sparsepipe')` works (Node ≥ 20.19 requires ES modules);
 * - the installed `sparsepipe` command answers `--help` and trains;
 * - a TypeScript consumer typechecks against the shipped `.d.ts` with `moduleResolution`
 *   `nodenext` and `bundler`, and a wrong argument type is an error (the types are real);
 * - the tarball holds the compiled package and its sources, no tests, benches or configs.
 *
 * `dist/` is fresh: the test run's global setup rebuilds it when a source is newer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TIMEOUT = 120_000;

let tmp = '';
let app = '';
let files: string[] = [];
let installed: { dependencies?: Record<string, string> } = {};

function node(args: string[], cwd = app) {
  return spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: TIMEOUT });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'sparsepipe-pack-'));
  // --ignore-scripts: prepack would rebuild dist/, which the global setup just did.
  const out = execFileSync(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp],
    { cwd: root, encoding: 'utf8' },
  );
  const [pack] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = pack.files.map((f) => f.path);

  app = join(tmp, 'app');
  const pkgDir = join(app, 'node_modules', 'sparsepipe');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['xzf', join(tmp, pack.filename), '-C', pkgDir, '--strip-components=1']);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  installed = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const link = (name: string) => {
    mkdirSync(join(app, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  };
  for (const dep of Object.keys(installed.dependencies ?? {})) link(dep);
  link('@types/node'); // the TypeScript consumer's own dev dependency
}, TIMEOUT);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const TRAIN_3 = `
import { initBackend, SyntheticClickLog, TrainPipelineSparseDist } from 'sparsepipe';
import { batchSpecFor, buildDlrmRank, createSimCluster, smallDlrmConfig } from 'sparsepipe/testing';
const backend = await initBackend('wasm');
const cluster = createSimCluster({ worldSize: 1 });
const config = smallDlrmConfig();
const { model, optimizer } = buildDlrmRank({
  pg: cluster.pgs[0], distPg: cluster.distPgs[0], device: cluster.devices[0], config,
});
const pipeline = new TrainPipelineSparseDist({
  model, optimizer, device: cluster.devices[0], batchSpec: batchSpecFor(config),
});
const log = new SyntheticClickLog({
  seed: 7, denseDim: config.denseIn,
  features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
});
const losses = [];
for await (const out of pipeline.run(log.batches(32, { count: 3 }))) losses.push(out.loss);
console.log(JSON.stringify({
  backend, trained: pipeline.batchesTrained, losses,
  index: import.meta.resolve('sparsepipe'), testing: import.meta.resolve('sparsepipe/testing'),
}));
pipeline.dispose();
`;

const CONSUMER = `
import { initBackend, SyntheticClickLog, TrainPipelineSparseDist, type PipelineEvent } from 'sparsepipe';
import { buildDlrmRank, createSimCluster, smallDlrmConfig, simulateCluster, type DlrmConfig } from 'sparsepipe/testing';

export async function train(): Promise<number> {
  await initBackend('wasm');
  const cluster = createSimCluster({ worldSize: 1 });
  const config: DlrmConfig = smallDlrmConfig({ lr: 0.05 });
  const { model, optimizer } = buildDlrmRank({
    pg: cluster.pgs[0], distPg: cluster.distPgs[0], device: cluster.devices[0], config,
  });
  const pipeline = new TrainPipelineSparseDist({ model, optimizer, device: cluster.devices[0], gradAccum: 2 });
  const types: PipelineEvent['type'][] = [];
  pipeline.events$.subscribe((e) => types.push(e.type));
  const log = new SyntheticClickLog({
    seed: 1, denseDim: config.denseIn,
    features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
  });
  let sum = 0;
  for await (const out of pipeline.run(log.batches(32, { count: 3 }))) sum += out.loss;
  const r = await simulateCluster({ worldSize: 2, batches: 3, globalBatchSize: 32 });
  // @ts-expect-error batches is a number: the shipped declarations are real types, not any
  await simulateCluster({ worldSize: 2, batches: 'three', globalBatchSize: 32 });
  return pipeline.batchesTrained + r.ranks.length + sum;
}
`;

describe('the npm package (npm pack, installed into a temporary project)', () => {
  it('holds the compiled package and its sources, and no tests, benches or configs', () => {
    for (const f of [
      'package.json',
      'README.md',
      'bin/sparsepipe.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/index.js.map',
      'dist/src/testing.js',
      'dist/src/testing.d.ts',
      'dist/src/cli/main.js',
      'dist/visualizations/inspector/page.html',
      'dist/src/runtime/collectives/threads/thread-rank-bootstrap.mjs',
      'docs/design.md',
    ])
      expect(files).toContain(f);
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|examples|scripts|\.ci|test-artifacts|node_modules)\//.test(f) ||
        /(^|\/)(tsconfig[^/]*\.json|vitest\.config\.ts|biome\.json|package-lock\.json)$/.test(f) ||
        /\.test\.[cm]?[jt]s$/.test(f) ||
        f.startsWith('visualizations/generated/'),
    );
    expect(unwanted).toEqual([]);
  });

  it(
    'plain Node (ESM, no tsx) imports sparsepipe and sparsepipe/testing and trains 3 batches',
    () => {
      const r = node(['--input-type=module', '-e', TRAIN_3]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/looks like you are running TensorFlow\.js/);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(out.backend).toBe('wasm');
      expect(out.trained).toBe(3);
      expect(out.losses).toHaveLength(3);
      for (const loss of out.losses) expect(loss).toBeGreaterThan(0);
      const base = `file://${join(app, 'node_modules/sparsepipe')}`;
      expect(out.index).toBe(`${base}/dist/src/index.js`);
      expect(out.testing).toBe(`${base}/dist/src/testing.js`);
    },
    TIMEOUT,
  );

  it(
    'CommonJS require() loads it',
    () => {
      const r = node([
        '-e',
        "const sp = require('sparsepipe'); const t = require('sparsepipe/testing');" +
          'console.log(typeof sp.TrainPipelineSparseDist, typeof t.simulateCluster)',
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('function function');
    },
    TIMEOUT,
  );

  it(
    'the installed sparsepipe command answers --help and trains on plain Node',
    () => {
      const bin = join(app, 'node_modules/sparsepipe/bin/sparsepipe.js');
      const help = node([bin, '--help']);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^Usage: sparsepipe <command>/);
      const json = join(tmp, 'run.json');
      const run = node([bin, 'train', '--batches', '2', '--batch-size', '32', '--json', json]);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(readFileSync(json, 'utf8')).batchesTrained).toBe(2);
    },
    TIMEOUT,
  );

  it.each(['nodenext', 'bundler'])(
    'a TypeScript consumer with moduleResolution %s typechecks against the shipped .d.ts',
    (resolution) => {
      writeFileSync(join(app, 'consumer.ts'), CONSUMER);
      const config = {
        compilerOptions: {
          module: resolution === 'nodenext' ? 'nodenext' : 'esnext',
          moduleResolution: resolution,
          target: 'es2022',
          strict: true,
          noEmit: true,
          // tfjs's own declarations do not pass a full library check; ours are checked by
          // use: the consumer's calls and the @ts-expect-error line.
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      };
      writeFileSync(join(app, `tsconfig.${resolution}.json`), JSON.stringify(config));
      const tsc = join(root, 'node_modules/typescript/bin/tsc');
      const r = node([tsc, '-p', `tsconfig.${resolution}.json`]);
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    },
    TIMEOUT,
  );
});
