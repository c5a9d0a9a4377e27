/**
 * The layer kernels and SIMD passes of the BLAS engine against their references:
 * - the SIMD passes (relu, bias + activation, ReLU gradient with column sums, column sums,
 *   SGD) against plain
 *   float32 loops on random data with NaN, ±0, ±∞ and subnormals, every tail length;
 * - `fusedLinear` on the layer kernels against tfjs's `cpu` backend and against the previous
 *   implementation (`_FusedMatMul` and its gradient), in value and every gradient, including
 *   edge shapes (one row, one column, one input feature, no bias); counters prove the layer
 *   kernels ran;
 * - `sgdInPlace` bit for bit against `tf.sub(p, tf.mul(g, lr))`, and its refusal when
 *   another tensor shares the parameter's data.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/runtime/tfjs-backend.ts';
import { initDenseMath } from '../../../src/runtime/dense-math/dense-math.ts';
import {
  linearKernelCalls,
  linearKernelsActive,
  uninstallLinearKernels,
  installLinearKernels,
} from '../../../src/runtime/dense-math/linear-kernels.ts';
import { loadOpenBlas } from '../../../src/runtime/dense-math/openblas.ts';
import {
  adagradInPlace,
  adagradInPlaceCalls,
  sgdInPlace,
  sgdInPlaceCalls,
} from '../../../src/runtime/dense-math/sgd-in-place.ts';
import { simdKernels } from '../../../src/runtime/dense-math/simd-kernels.ts';
import { fusedLinear, installFusedLinearGrad } from '../../../src/modules/dense/fused-linear.ts';
import { Linear } from '../../../src/modules/dense/mlp.ts';
import { Adagrad, SGD } from '../../../src/optim/dense-optimizer.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { blasSkipReason } from './blas-available.ts';

const skip = blasSkipReason();

const SPECIAL = [Number.NaN, 0, -0, Infinity, -Infinity, 1e-40, -1e-40, 3.5, -2.25];
/** float32 values, a fifth of them special. */
const floats = (min: number, max: number) =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.float({ noNaN: true, min: -8, max: 8 }) },
      { weight: 1, arbitrary: fc.constantFrom(...SPECIAL) },
    ),
    { minLength: min, maxLength: max },
  );

/** Bitwise equality of float32 arrays (any NaN equals any NaN). */
function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (!Object.is(g, w)) expect.fail(`${what}[${i}]: got ${g}, want ${w}`);
  }
}

describe('SIMD passes on a wasm memory', () => {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const simd = simdKernels(memory);
  const heap = new Float32Array(memory.buffer);
  const f = Math.fround;

  it('relu: max(x, 0) per element (NaN stays NaN, −0 becomes +0), every tail length', () => {
    fc.assert(
      fc.property(floats(0, 37), fc.integer({ min: 0, max: 3 }), (xs, shift) => {
        const at = 16 + shift; // unaligned starts too
        heap.set(xs, at);
        heap[at + xs.length] = -7; // the element after must stay
        simd.relu(at * 4, xs.length);
        expectSameBits(
          heap.subarray(at, at + xs.length),
          xs.map((x) => (Number.isNaN(x) ? x : x > 0 ? f(x) : 0)),
          'relu',
        );
        expect(heap[at + xs.length]).toBe(-7);
      }),
      { numRuns: 200 },
    );
  });

  it('reluGradColumnSums and columnSums: dy·step(y) and its column sums, row 0 first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 11 }),
        fc.integer(),
        (rows, cols, seed) => {
          const n = rows * cols;
          const rng = new SeededRandom(seed);
          const dy = Float32Array.from(uniformArray(n, 4, rng));
          const y = Float32Array.from(uniformArray(n, 1, rng));
          for (let i = 0; i < n; i += 5) y[i] = SPECIAL[(i / 5) % SPECIAL.length];
          const [pdy, py, pdz, pdb] = [64, 64 + 1024, 64 + 2048, 64 + 3072];
          heap.set(dy, pdy);
          heap.set(y, py);
          heap.fill(99, pdb, pdb + cols + 1);
          simd.reluGradColumnSums(pdy * 4, py * 4, pdz * 4, pdb * 4, rows, cols);
          const step = (v: number) => (v > 0 ? 1 : Number.isNaN(v) ? Number.NaN : 0);
          const dz = Float32Array.from(dy, (d, i) => d * step(y[i]));
          const sums = (m: Float32Array) => {
            const out = new Float32Array(cols);
            for (let r = 0; r < rows; r++)
              for (let c = 0; c < cols; c++) out[c] = f(out[c] + m[r * cols + c]);
            return out;
          };
          expectSameBits(heap.subarray(pdz, pdz + n), dz, 'dz');
          expectSameBits(heap.subarray(pdb, pdb + cols), sums(dz), 'db');
          expect(heap[pdb + cols]).toBe(99);
          simd.columnSums(pdy * 4, pdb * 4, rows, cols);
          expectSameBits(heap.subarray(pdb, pdb + cols), sums(dy), 'column sums');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('biasRelu and biasAdd: act(x + bias[column]) in f32, every row width', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 13 }),
        floats(13, 13),
        fc.integer(),
        (rows, cols, biasValues, seed) => {
          const n = rows * cols;
          const x = Float32Array.from(uniformArray(n, 4, new SeededRandom(seed)));
          for (let i = 0; i < n; i += 4) x[i] = SPECIAL[(i / 4) % SPECIAL.length];
          const bias = Float32Array.from(biasValues.slice(0, cols));
          const sum = Float32Array.from(x, (v, i) => v + bias[i % cols]);
          for (const [relu, name] of [
            [true, 'biasRelu'],
            [false, 'biasAdd'],
          ] as const) {
            heap.set(x, 64);
            heap.set(bias, 32);
            heap[64 + n] = -7;
            simd[name](64 * 4, 32 * 4, rows, cols);
            const want = relu ? sum.map((v) => (Number.isNaN(v) ? v : v > 0 ? v : 0)) : sum;
            expectSameBits(heap.subarray(64, 64 + n), want, name);
            expect(heap[64 + n]).toBe(-7);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('adagrad: s + g·g, then p − (g·lr)/(√s + eps), in f32, every tail length', () => {
    fc.assert(
      fc.property(
        floats(0, 37),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(1e-10, 1e-3, 0),
        (ps, lr, eps) => {
          const gs = ps.map((p, i) => (i % 2 === 0 ? p / 5 : -p));
          const ss = ps.map((_, i) => (i % 3) * 0.25);
          heap.set(ps, 100);
          heap.set(gs, 200);
          heap.set(ss, 300);
          simd.adagrad(400, 800, 1200, ps.length, f(lr), f(eps));
          const s2 = ss.map((v, i) => f(v + f(f(gs[i]) * f(gs[i]))));
          const p2 = ps.map((p, i) =>
            f(f(p) - f(f(f(gs[i]) * f(lr)) / f(f(Math.sqrt(s2[i])) + f(eps)))),
          );
          expectSameBits(heap.subarray(300, 300 + ps.length), s2, 'sum');
          expectSameBits(heap.subarray(100, 100 + ps.length), p2, 'param');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sgd: p − g·lr in f32, every tail length', () => {
    fc.assert(
      fc.property(floats(0, 37), fc.double({ min: 0, max: 2, noNaN: true }), (ps, lr) => {
        const gs = ps.map((p, i) => (i % 3 === 0 ? -p : p / 3));
        heap.set(ps, 100);
        heap.set(gs, 200);
        simd.sgd(400, 800, ps.length, f(lr));
        const lr32 = f(lr);
        expectSameBits(
          heap.subarray(100, 100 + ps.length),
          ps.map((p, i) => f(f(p) - f(f(gs[i]) * lr32))),
          'sgd',
        );
      }),
      { numRuns: 200 },
    );
  });
});

/** Value and gradients (x, weight, bias) of `sum(fusedLinear(x, w, b) · m)` on `backend`. */
function run(
  backend: 'cpu' | 'wasm',
  [batch, inF, outF]: [number, number, number],
  withBias: boolean,
  seed: number,
  layer: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined) => tf.Tensor,
): Float32Array[] {
  tf.setBackend(backend);
  const rng = new SeededRandom(seed);
  const x = tf.tensor(uniformArray(batch * inF, 1, rng), [batch, inF]) as tf.Tensor2D;
  const w = tf.tensor(uniformArray(inF * outF, 1, rng), [inF, outF]) as tf.Tensor2D;
  const b = withBias ? (tf.tensor(uniformArray(outF, 1, rng), [outF]) as tf.Tensor1D) : undefined;
  const m = tf.tensor(uniformArray(batch * outF, 1, rng), [batch, outF]);
  const xs = b ? [x, w, b] : [x, w];
  const out = tf.tidy(() => {
    const f = (...ys: tf.Tensor[]) =>
      tf.sum(tf.mul(layer(ys[0] as tf.Tensor2D, ys[1] as tf.Tensor2D, ys[2] as tf.Tensor1D), m));
    const y = layer(x, w, b);
    return [y, ...tf.grads(f)(xs)];
  });
  const data = out.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose([...xs, m, ...out]);
  return data;
}

describe.skipIf(skip !== null)(
  `layer kernels on OpenBLAS${skip ? ` — SKIPPED: ${skip}` : ''}`,
  () => {
    beforeAll(async () => {
      tf.env().set('IS_TEST', true);
      await import('@tensorflow/tfjs-backend-wasm');
      await tf.setBackend('cpu');
      installFusedLinearGrad();
      await initBackend('wasm', { denseMath: 'blas' });
    });

    const shapes = fc.oneof(
      fc.tuple(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
      ),
      fc.constantFrom<[number, number, number]>(
        [1, 1, 1],
        [1, 13, 7],
        [33, 1, 5],
        [17, 9, 1],
        [64, 13, 512],
      ),
    );

    it('fusedLinear equals cpu and the previous _FusedMatMul implementation, value and gradients', () => {
      const blas = loadOpenBlas();
      fc.assert(
        fc.property(
          shapes,
          fc.boolean(),
          fc.constantFrom<'relu' | 'linear'>('relu', 'linear'),
          fc.integer(),
          (shape, withBias, activation, seed) => {
            const layer = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined) =>
              fusedLinear(x, w, b, activation);
            const want = run('cpu', shape, withBias, seed, (x, w, b) => {
              const z = b ? tf.add(tf.matMul(x, w), b) : tf.matMul(x, w);
              return activation === 'relu' ? tf.relu(z) : z;
            });
            uninstallLinearKernels();
            const previous = run('wasm', shape, withBias, seed, layer);
            installLinearKernels(blas);
            const before = linearKernelCalls();
            const got = run('wasm', shape, withBias, seed, layer);
            const after = linearKernelCalls();
            expect(after.forward - before.forward).toBeGreaterThanOrEqual(2);
            expect(after.backward - before.backward).toBe(1);
            const tol = 2e-6 * Math.max(...shape) * 3 + 1e-6;
            for (const reference of [want, previous]) {
              expect(got.length).toBe(reference.length);
              got.forEach((g, i) => {
                for (let j = 0; j < g.length; j++) {
                  const r = reference[i][j];
                  if (Math.abs(g[j] - r) > tol * Math.max(1, Math.abs(r)))
                    expect.fail(`output ${i}[${j}] of [${shape}]: got ${g[j]}, want ${r}`);
                }
              });
            }
          },
        ),
        { numRuns: 60 },
      );
    });

    it('records one tape node per layer: no step, multiply, reshape, fill or transpose', async () => {
      tf.setBackend('wasm');
      expect(linearKernelsActive()).toBe(true);
      const x = tf.randomUniform([512, 13]) as tf.Tensor2D;
      const w = tf.randomUniform([13, 512]);
      const b = tf.randomUniform([512]);
      const dy = tf.randomUniform([512, 512]);
      const { kernels } = await tf.profile(() =>
        tf.grads((ww: tf.Tensor, bb: tf.Tensor) =>
          fusedLinear(x, ww as tf.Tensor2D, bb as tf.Tensor1D, 'relu'),
        )([w, b], dy),
      );
      // forward: the layer kernel, clones of what its gradient keeps; backward: the mask
      // and bias-sum kernel, one product (x needs no gradient here)
      const count = (name: string) => kernels.filter((k) => k.name === name).length;
      expect(count('SparsepipeLinear')).toBe(1);
      expect(count('SparsepipeLinearGrad')).toBe(1);
      expect(count('BatchMatMul')).toBe(1);
      expect(kernels.length - count('Identity')).toBe(3);
      tf.dispose([x, w, b, dy]);
    });

    it('a layer with a zero-row batch gives empty outputs and zero bias gradients', () => {
      tf.setBackend('wasm');
      const layer = new Linear({ inFeatures: 3, outFeatures: 4, seed: 2 });
      const x = tf.zeros([0, 3]) as tf.Tensor2D;
      const { grads, value } = tf.variableGrads(() => {
        const y = layer.forward(x, 'relu');
        expect(y.shape).toEqual([0, 4]);
        return tf.sum(tf.concat([tf.reshape(y, [-1]), tf.zeros([1])]));
      });
      expect(value.dataSync()[0]).toBe(0);
      expect([...grads[layer.bias!.name].dataSync()]).toEqual([0, 0, 0, 0]);
      expect([...grads[layer.weight.name].dataSync()]).toEqual(new Array(12).fill(0));
      tf.dispose([x, value, ...Object.values(grads)]);
      layer.dispose();
    });

    it('sgdInPlace equals tf.sub(p, tf.mul(g, lr)) bit for bit, and leaves shared data alone', () => {
      tf.setBackend('wasm');
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer(),
          (n, lr, seed) => {
            const rng = new SeededRandom(seed);
            const p0 = uniformArray(n, 1, rng);
            const g = tf.tensor(uniformArray(n, 3, rng));
            const initial = tf.tensor(p0);
            const p = tf.variable(initial);
            initial.dispose(); // else it shares the variable's data
            const want = tf.tidy(() => tf.sub(p, tf.mul(g, lr)).dataSync());
            const before = sgdInPlaceCalls();
            expect(sgdInPlace(p, g, lr)).toBe(true);
            expect(sgdInPlaceCalls()).toBe(before + 1);
            expectSameBits(p.dataSync(), want, 'param');
            // a clone shares the data: the update must not write through it
            const kept = tf.clone(p);
            const seen = Float32Array.from(kept.dataSync());
            expect(sgdInPlace(p, g, lr)).toBe(false);
            expectSameBits(kept.dataSync(), seen, 'clone');
            tf.dispose([g, p, kept]);
          },
        ),
        { numRuns: 50 },
      );
    });

    it('adagradInPlace equals the tfjs-op update bit for bit, and leaves shared data alone', () => {
      tf.setBackend('wasm');
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer(),
          (n, lr, seed) => {
            const rng = new SeededRandom(seed);
            const eps = 1e-10;
            const [p0, s0] = [uniformArray(n, 1, rng), uniformArray(n, 1, rng).map(Math.abs)];
            const g = tf.tensor(uniformArray(n, 3, rng));
            const vars = [p0, s0].map((values) => {
              const initial = tf.tensor(values);
              const v = tf.variable(initial);
              initial.dispose();
              return v;
            });
            const [p, sum] = vars;
            const [wantSum, wantP] = tf.tidy(() => {
              const s1 = tf.add(sum, tf.square(g));
              const p1 = tf.sub(p, tf.div(tf.mul(g, lr), tf.add(tf.sqrt(s1), eps)));
              return [s1.dataSync(), p1.dataSync()];
            });
            const before = adagradInPlaceCalls();
            expect(adagradInPlace(p, g, sum, lr, eps)).toBe(true);
            expect(adagradInPlaceCalls()).toBe(before + 1);
            expectSameBits(sum.dataSync(), wantSum, 'sum');
            expectSameBits(p.dataSync(), wantP, 'param');
            const kept = tf.clone(sum);
            const seen = Float32Array.from(kept.dataSync());
            const pBefore = Float32Array.from(p.dataSync());
            expect(adagradInPlace(p, g, sum, lr, eps)).toBe(false);
            expectSameBits(kept.dataSync(), seen, 'clone of the sum');
            expectSameBits(p.dataSync(), pBefore, 'param left alone');
            tf.dispose([g, p, sum, kept]);
          },
        ),
        { numRuns: 50 },
      );
    });

    it('sgdInPlace declines off the BLAS engine', () => {
      tf.setBackend('wasm');
      const ones = tf.ones([8]);
      const p = tf.variable(ones);
      ones.dispose();
      const g = tf.ones([8]);
      initDenseMath('wasm');
      expect(sgdInPlace(p, g, 0.5)).toBe(false);
      initDenseMath('blas');
      expect(sgdInPlace(p, g, 0.5)).toBe(true);
      expect([...p.dataSync()]).toEqual(new Array(8).fill(0.5));
      tf.dispose([p, g]);
    });

    it('the SGD and Adagrad optimizers take the in-place path on the BLAS engine', async () => {
      tf.setBackend('wasm');
      const ones = tf.ones([3, 4]);
      const w = tf.variable(ones);
      ones.dispose();
      const [sgdBefore, adaBefore] = [sgdInPlaceCalls(), adagradInPlaceCalls()];
      for (const opt of [
        new SGD([['w', w]], { lr: 0.5 }),
        new Adagrad([['w', w]], { lr: 0.5, eps: 0 }),
      ]) {
        const g = tf.fill([3, 4], 2);
        opt.accumulate({ w: g });
        g.dispose();
        await opt.step();
        opt.dispose();
      }
      expect(sgdInPlaceCalls()).toBe(sgdBefore + 1);
      expect(adagradInPlaceCalls()).toBe(adaBefore + 1);
      // SGD: 1 − 0.5·2 = 0; Adagrad: 0 − (2·0.5)/(√4 + 0) = −0.5
      expect([...w.dataSync()]).toEqual(new Array(12).fill(-0.5));
      w.dispose();
    });
  },
);
