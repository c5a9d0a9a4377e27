/**
 * Micro-benchmark: tfjs's default `BatchMatMul` gradient (transposed-operand matMuls) vs
 * sparsepipe's explicit-transpose gradient, on the `wasm` backend, measured side by side in
 * one run. Prints times and the ratio default ÷ fast (> 1 means the registered gradient wins).
 *
 *   npx tsx bench/dense-matmul-grad.ts [--batch 512] [--reps 5] [--backend wasm|cpu]
 *
 * Cases: the gradient of one 512×512 by 512×256 matMul, and one forward+backward of the
 * reference DLRM's dense part (bottom 13-512-256-16, interaction of 8 features, top
 * 512-256-1) at the given batch size.
 *
 * @example
 * // $ npx tsx bench/dense-matmul-grad.ts --reps 3      (x64, 2 shared cores, wasm SIMD, 1 thread)
 * // matMul 512x512x256 grad        default    246.9 ms   fast     32.0 ms   ratio   7.73
 * // DLRM dense fwd+bwd B=512       default    962.2 ms   fast    166.1 ms   ratio   5.79
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { parseArgs } from 'node:util';
import {
  installFastBatchMatMulGrad,
  restoreDefaultBatchMatMulGrad,
} from '../src/modules/dense/batch-matmul-grad.ts';
import { SeededRandom, uniformArray } from '../src/modules/dense/init.ts';
import { DotInteraction } from '../src/modules/dense/interaction.ts';
import { bceWithLogits } from '../src/modules/dense/loss.ts';
import { MLP } from '../src/modules/dense/mlp.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '512' },
    reps: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const batch = Number(values.batch);
const reps = Number(values.reps);
tf.env().set('IS_TEST', true);
await tf.setBackend(values.backend ?? 'wasm');
await tf.ready();

const rng = new SeededRandom(1);
const rand = (shape: number[]) =>
  tf.tensor(
    uniformArray(
      shape.reduce((a, b) => a * b, 1),
      1,
      rng,
    ),
    shape,
  );

/** Median wall time of `reps` runs of `fn` (after one warm-up), in ms. */
function median(fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Run `fn` with the default and with the fast gradient; print both and the ratio. */
function compare(label: string, fn: () => void): void {
  restoreDefaultBatchMatMulGrad();
  const slow = median(fn);
  installFastBatchMatMulGrad();
  const fast = median(fn);
  console.log(
    `${label.padEnd(30)} default ${slow.toFixed(1).padStart(8)} ms   fast ${fast.toFixed(1).padStart(8)} ms   ratio ${(slow / fast).toFixed(2).padStart(6)}`,
  );
}

// 1. one matMul's gradient
const a = rand([512, 512]);
const b = rand([512, 256]);
const gradOfMatMul = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)));
compare('matMul 512x512x256 grad', () => {
  const gs = gradOfMatMul([a, b]);
  gs.forEach((g) => g.dataSync());
  tf.dispose(gs);
});

// 2. reference DLRM dense part, forward + backward
const features = 8;
const dim = 16;
const bottom = new MLP({ inFeatures: 13, layerSizes: [512, 256, dim], seed: 1 });
const interaction = new DotInteraction({ numSparse: features, dim });
const top = new MLP({
  inFeatures: interaction.outFeatures,
  layerSizes: [512, 256, 1],
  seed: 2,
  lastActivation: 'none',
});
const dense = rand([batch, 13]) as tf.Tensor2D;
const pooled = rand([batch, features * dim]) as tf.Tensor2D;
const labels = tf.tidy(() => tf.cast(tf.greater(rand([batch, 1]), 0), 'float32'));
const vars = [...bottom.namedParameters(), ...top.namedParameters()].map(([, v]) => v);
compare(`DLRM dense fwd+bwd B=${batch}`, () => {
  const { value, grads } = tf
    .engine()
    .gradients(
      () => bceWithLogits(top.forward(interaction.forward(bottom.forward(dense), pooled)), labels),
      [...vars, pooled],
    );
  grads.forEach((g) => g.dataSync());
  tf.dispose([value, ...grads]);
});

console.log(
  `backend ${tf.getBackend()}, reps ${reps} (median), machine: ${process.arch} ${(await import('node:os')).cpus().length} cpus`,
);
