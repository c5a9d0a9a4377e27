/**
 * With the OpenBLAS kernels (transposes free), the dense gradients pass transpose flags
 * instead of transposing explicitly: `BatchMatMul`'s gradient for every transpose
 * combination and broadcast batch dims, and `fusedLinear`'s for x, weight and bias, equal
 * tfjs's own gradients on the `cpu` backend.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/runtime/tfjs-backend.ts';
import {
  fusedLinear,
  installFusedLinearGrad,
  matMulTransposesAreFree,
} from '../../../src/modules/dense/fused-linear.ts';
import { installFastBatchMatMulGrad } from '../../../src/modules/dense/batch-matmul-grad.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { blasSkipReason } from '../../runtime/dense-math/blas-available.ts';

const skip = blasSkipReason();

function grads(
  backend: 'cpu' | 'wasm',
  shapes: number[][],
  seed: number,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): Float32Array[] {
  tf.setBackend(backend);
  const rng = new SeededRandom(seed);
  const xs = shapes.map((s) =>
    tf.tensor(
      uniformArray(
        s.reduce((p, d) => p * d, 1),
        1,
        rng,
      ),
      s,
    ),
  );
  const out = tf.tidy(() => {
    const m = tf.tensor(uniformArray(f(...xs).size, 1, rng), f(...xs).shape);
    return tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), m)))(xs);
  });
  const data = out.map((g) => g.dataSync() as Float32Array);
  tf.dispose([...xs, ...out]);
  return data;
}

function expectClose(got: Float32Array[], want: Float32Array[], k: number): void {
  expect(got.length).toBe(want.length);
  const tol = 2e-6 * k + 1e-6;
  got.forEach((g, i) => {
    expect(g.length).toBe(want[i].length);
    for (let j = 0; j < g.length; j++)
      if (Math.abs(g[j] - want[i][j]) > tol * Math.max(1, Math.abs(want[i][j])))
        expect.fail(`gradient ${i}[${j}]: got ${g[j]}, want ${want[i][j]}`);
  });
}

describe.skipIf(skip !== null)(
  `transpose-flag gradients on OpenBLAS${skip ? ` — SKIPPED: ${skip}` : ''}`,
  () => {
    beforeAll(async () => {
      tf.env().set('IS_TEST', true);
      await import('@tensorflow/tfjs-backend-wasm');
      await tf.setBackend('cpu');
      installFastBatchMatMulGrad();
      installFusedLinearGrad();
      await initBackend('wasm', { denseMath: 'blas' });
      expect(matMulTransposesAreFree()).toBe(true);
    });

    it('BatchMatMul gradients, every transpose combination and broadcast batch, equal cpu — with no explicit transpose', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 8, max: 24 }),
          fc.integer({ min: 8, max: 24 }),
          fc.integer({ min: 16, max: 40 }),
          fc.constantFrom<[number[], number[]]>([[], []], [[2], [2]], [[3], []], [[], [2]]),
          fc.boolean(),
          fc.boolean(),
          fc.integer(),
          (m, n, k, [outerA, outerB], tA, tB, seed) => {
            const shapes = [
              [...outerA, ...(tA ? [k, m] : [m, k])],
              [...outerB, ...(tB ? [n, k] : [k, n])],
            ];
            const mm = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, tA, tB);
            const want = grads('cpu', shapes, seed, mm);
            const got = grads('wasm', shapes, seed, mm);
            expectClose(got, want, Math.max(m, n, k) * 3);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('fusedLinear gradients (x, weight, bias; relu and linear) equal cpu, all on OpenBLAS', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 8, max: 64 }),
          fc.integer({ min: 8, max: 40 }),
          fc.integer({ min: 8, max: 40 }),
          fc.constantFrom<'relu' | 'linear'>('relu', 'linear'),
          fc.integer(),
          (batch, inF, outF, activation, seed) => {
            const shapes = [[batch, inF], [inF, outF], [outF]];
            const want = grads('cpu', shapes, seed, (x, w, b) => {
              const z = tf.add(tf.matMul(x, w), b);
              return activation === 'relu' ? tf.relu(z) : z;
            });
            const got = grads('wasm', shapes, seed, (x, w, b) =>
              fusedLinear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, activation),
            );
            expectClose(got, want, Math.max(batch, inF, outF) * 3);
          },
        ),
        { numRuns: 30 },
      );
    });

    it('run no Transpose kernel and every product on OpenBLAS (reference-DLRM-sized layer)', async () => {
      tf.setBackend('wasm');
      const x = tf.randomUniform([512, 256]);
      const w = tf.randomUniform([256, 512]);
      const b = tf.randomUniform([512]);
      const { kernelNames } = await tf.profile(() => {
        const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(fusedLinear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, 'relu')),
        )([x, w, b]);
        const h = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.matMul(xx, ww, true, true)))(
          [tf.reshape(x, [256, 512]), tf.reshape(w, [512, 256])],
        );
        return [...g, ...h];
      });
      expect(kernelNames).toContain('BatchMatMul');
      expect(kernelNames).not.toContain('Transpose');
      tf.dispose([x, w, b]);
    });
  },
);
