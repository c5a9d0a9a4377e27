/**
 * The BCE-with-logits kernels of the BLAS engine against the tfjs-op formula on the `cpu`
 * backend: loss and the gradients of logits and labels on random logits (large magnitudes
 * included, where a naive formula overflows) and shapes; a counter proves the kernels ran,
 * and off the BLAS engine the tfjs ops run instead.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/runtime/tfjs-backend.ts';
import { initDenseMath } from '../../../src/runtime/dense-math/dense-math.ts';
import { bceKernelCalls, bceKernelsActive } from '../../../src/runtime/dense-math/bce-kernels.ts';
import { bceWithLogits } from '../../../src/modules/dense/loss.ts';
import { blasSkipReason } from './blas-available.ts';

const skip = blasSkipReason();

/** Loss, d loss/d logits, d loss/d labels (each scaled by `dy`) on the active backend. */
function lossAndGrads(
  logits: number[],
  labels: number[],
  shape: number[],
  dy: number,
): Float32Array[] {
  const x = tf.tensor(logits, shape);
  const y = tf.tensor(labels, shape);
  const out = tf.tidy(() => {
    const loss = bceWithLogits(x, y);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => bceWithLogits(a, b))(
      [x, y],
      tf.scalar(dy),
    );
    return [loss, ...grads];
  });
  const data = out.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose([x, y, ...out]);
  return data;
}

describe.skipIf(skip !== null)(
  `BCE-with-logits kernels on the BLAS engine${skip ? ` — SKIPPED: ${skip}` : ''}`,
  () => {
    beforeAll(async () => {
      tf.env().set('IS_TEST', true);
      await import('@tensorflow/tfjs-backend-wasm');
      await initBackend('wasm', { denseMath: 'blas' });
    });

    it('equal the tfjs-op formula on cpu: loss, logits and labels gradients', () => {
      fc.assert(
        fc.property(
          fc.constantFrom<number[]>([1, 1], [7, 1], [512, 1], [5], [2, 3]),
          fc.integer(),
          fc.double({ min: 0.1, max: 4, noNaN: true }),
          (shape, seed, dy) => {
            const n = shape.reduce((p, d) => p * d, 1);
            let s = seed >>> 0;
            const next = () => {
              s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
              return s / 2 ** 32;
            };
            const logits = Array.from({ length: n }, (_, i) =>
              i % 7 === 3 ? (next() - 0.5) * 200 : (next() - 0.5) * 8,
            );
            const labels = Array.from({ length: n }, () => (next() < 0.5 ? 0 : next()));
            tf.setBackend('cpu');
            const want = lossAndGrads(logits, labels, shape, dy);
            tf.setBackend('wasm');
            expect(bceKernelsActive()).toBe(true);
            const before = bceKernelCalls();
            const got = lossAndGrads(logits, labels, shape, dy);
            expect(bceKernelCalls() - before).toBe(3); // loss, loss under the tape, its gradient
            got.forEach((g, i) => {
              expect(g.length).toBe(want[i].length);
              for (let j = 0; j < g.length; j++) {
                const w = want[i][j];
                expect(Number.isFinite(g[j])).toBe(true);
                if (Math.abs(g[j] - w) > 2e-6 * Math.max(1, Math.abs(w)) + 1e-7)
                  expect.fail(`output ${i}[${j}] of [${shape}]: got ${g[j]}, want ${w}`);
              }
            });
          },
        ),
        { numRuns: 40 },
      );
    });

    it('record one tape node: no exp, log1p, abs or mean kernel runs', async () => {
      tf.setBackend('wasm');
      const x = tf.randomNormal([512, 1]);
      const y = tf.randomUniform([512, 1]);
      const { kernelNames } = await tf.profile(() =>
        tf.grads((a: tf.Tensor) => bceWithLogits(a, y))([x]),
      );
      for (const gone of ['Exp', 'Log1p', 'Abs', 'Mean', 'Relu'])
        expect(kernelNames).not.toContain(gone);
      expect(kernelNames).toContain('SparsepipeBceWithLogits');
      expect(kernelNames).toContain('SparsepipeBceWithLogitsGrad');
      tf.dispose([x, y]);
    });

    it('are not used off the BLAS engine, and shape errors still name both shapes', () => {
      tf.setBackend('wasm');
      initDenseMath('wasm');
      expect(bceKernelsActive()).toBe(false);
      const before = bceKernelCalls();
      const loss = bceWithLogits(tf.tensor2d([[0]]), tf.tensor2d([[1]]));
      expect(loss.dataSync()[0]).toBeCloseTo(Math.log(2), 6);
      expect(bceKernelCalls()).toBe(before);
      initDenseMath('blas');
      expect(() => bceWithLogits(tf.zeros([2, 1]), tf.zeros([2]))).toThrow(/\[2,1\].*\[2\]/);
    });
  },
);
