/**
 * Where one training iteration's time goes: the reference DLRM (world 1, global batch 512,
 * the actor pipeline, as P5 runs it), timed, then sampled by V8's CPU profiler and every
 * sample put in one category by its stack (matMuls on OpenBLAS, embedding kernels,
 * interaction, tfjs tape, GC, actors, …).
 *
 * Two numbers per run, because the profiler slows JavaScript more than native code:
 * - `median iteration` and `sgemm`: measured without the profiler (sgemm is timed per call);
 * - the category table: shares of the profiled samples, scaled to the unprofiled median, so
 *   the rows add up to the real iteration time.
 *
 * Run: npx tsx bench/profile-step.ts [--engine blas|wasm] [--iterations 30] [--save p.cpuprofile]
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { referenceDlrmConfig } from '../src/models/dlrm-config.ts';
import { initDenseMath } from '../src/runtime/dense-math/dense-math.ts';
import { loadOpenBlas, type OpenBlas } from '../src/runtime/dense-math/openblas.ts';
import { RealSession } from './lib/real-run.ts';
import { median } from './lib/report.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const engine = arg('engine') === 'wasm' ? 'wasm' : 'blas';
const iterations = Number(arg('iterations') ?? 30);
const savePath = arg('save');

/** Categories, first match wins: `leaf` tests the sampled frame, `any` any frame of its stack. */
/** The inspector's own sampling work: left out of the shares. */
const PROFILER = 'profiler itself';

const CATEGORIES: ReadonlyArray<{
  name: string;
  leaf?: RegExp;
  any?: RegExp;
  also?: RegExp;
}> = [
  { name: 'idle', leaf: /^\(idle\)/ },
  { name: PROFILER, leaf: /^dispatch@$/ },
  { name: 'GC', leaf: /garbage collector/ },
  { name: 'matMul: OpenBLAS sgemm', any: /openblas\.ts/ },
  {
    name: 'dense layers: bias, ReLU, SGD, loss kernels',
    any: /blas-kernels|linear-kernels|simd-kernels|sgd-in-place|bce-kernels/,
  },
  { name: 'matMul: wasm (XNNPACK)', any: /^(batchMatMul|fusedBatchMatMul)@/ },
  { name: 'transposes (wasm)', any: /^transpose@.*wasm/ },
  { name: 'interaction', any: /pairwise-dots|interaction\.ts/ },
  {
    name: 'embedding: fused optimizer',
    any: /sparse-grad-accumulator|fused-optimizers|table-shard\.ts|sgdApply/,
    also: /^step@/,
  },
  { name: 'embedding: lookup', any: /pooledLookup|localLookup|touch-rows/ },
  { name: 'embedding: backward', any: /accumulatePooledGrad|^backward@.*sharded-embedding/ },
  { name: 'tensor copies in and out of the heap', any: /tensor-floats/ },
  {
    name: 'KJT / input dist',
    any: /bucketize|received-input|kjt|keyed-jagged|exchange|collective/,
  },
  { name: 'embedding: other (sharded EBC)', any: /sharded-embedding-bag-collection/ },
  { name: 'dense optimizer', any: /dense-optimizer|combined-optimizer/ },
  { name: 'loss', any: /loss\.ts/ },
  { name: 'other wasm kernels', any: /wasm-function|tf-backend-wasm/ },
  { name: 'tfjs engine (tape, tidy, dispatch)', any: /tf-core|tf\.node|@tensorflow/ },
  {
    name: 'pipeline, actors, scheduler',
    any: /xstate|machines\/|actors\/|rxjs|src\/pipeline|sim-scheduler|timer-queue/,
  },
];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function categorize(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const classify = (id: number): string => {
    const hit = memo.get(id);
    if (hit) return hit;
    const frames: string[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const f = byId.get(x)?.callFrame;
      if (f) frames.push(`${f.functionName}@${f.url}`);
    }
    const rule = CATEGORIES.find(
      (c) =>
        (!c.leaf || c.leaf.test(frames[0] ?? '')) &&
        (!c.any || frames.some((f) => c.any?.test(f))) &&
        (!c.also || frames.some((f) => c.also?.test(f))),
    );
    const name = rule?.name ?? `other: ${frames[0]?.replace(/file:\/\/\S*\//, '') ?? '?'}`;
    memo.set(id, name);
    return name;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const c = classify(id);
    totals.set(c, (totals.get(c) ?? 0) + profile.timeDeltas[i] / 1000);
  });
  return totals;
}

/** Wrap `blas.sgemm` to sum its wall time while `on`. */
function timeSgemm(blas: OpenBlas): { ms: () => number; calls: () => number; reset(): void } {
  const sgemm = blas.sgemm.bind(blas);
  let ms = 0;
  let calls = 0;
  blas.sgemm = (...args) => {
    const t = performance.now();
    sgemm(...args);
    ms += performance.now() - t;
    calls++;
  };
  return {
    ms: () => ms,
    calls: () => calls,
    reset() {
      ms = 0;
      calls = 0;
    },
  };
}

const session = await RealSession.create({ config: referenceDlrmConfig(), globalBatch: 512 });
const sgemm = engine === 'blas' ? timeSgemm(loadOpenBlas()) : null;
initDenseMath(engine, { threads: 1 });
await session.run('actor', { warmup: 3, measured: 10 });

sgemm?.reset();
const plain = await session.run('actor', { warmup: 2, measured: iterations });
const batches = iterations + 4;
const iterationMs = median(plain.iterationMs);
const sgemmMs = sgemm ? sgemm.ms() / batches : 0;

const inspector = new Session();
inspector.connect();
await inspector.post('Profiler.enable');
await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
await inspector.post('Profiler.start');
const profiled = await session.run('actor', { warmup: 2, measured: iterations });
const { profile } = (await inspector.post('Profiler.stop')) as { profile: Profile };
inspector.disconnect();
if (savePath) writeFileSync(savePath, JSON.stringify(profile));

const totals = categorize(profile);
totals.delete(PROFILER);
const sampled = [...totals.values()].reduce((a, b) => a + b, 0);
const scale = iterationMs / (sampled / batches);
console.log(
  `engine ${engine}; median iteration ${iterationMs.toFixed(2)} ms (${Math.round((512 * 1000) / iterationMs)} examples/s), ` +
    `CPU/wall ${(plain.cpuMs / plain.wallMs).toFixed(2)}` +
    (sgemm
      ? `; sgemm ${sgemmMs.toFixed(2)} ms in ${(sgemm.calls() / batches).toFixed(0)} calls`
      : ''),
);
console.log(
  `profiled median ${median(profiled.iterationMs).toFixed(2)} ms; rows scaled by ${scale.toFixed(2)} to the unprofiled median\n`,
);
console.log('| where | ms / iteration | share |');
console.log('|---|---:|---:|');
for (const [name, ms] of [...totals].sort((a, b) => b[1] - a[1])) {
  const perIt = (ms / batches) * scale;
  if (perIt < 0.05) continue;
  console.log(`| ${name} | ${perIt.toFixed(2)} | ${((100 * ms) / sampled).toFixed(1)} % |`);
}
session.rank.model.dispose?.();
process.exit(0);
