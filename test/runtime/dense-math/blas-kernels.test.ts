/**
 * The OpenBLAS kernels against tfjs's `cpu` backend (the reference implementation) on
 * random shapes: transposes, batch dims (equal and broadcast), bias shapes, every fused
 * activation, and the cases that must fall back to the stock wasm kernel. Each case also
 * checks which path ran (call counters), so a covered case cannot pass on the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/runtime/tfjs-backend.ts';
import {
  MIN_BLAS_VOLUME,
  blasKernelCalls,
  planMatMul,
  type BlasKernelName,
} from '../../../src/runtime/dense-math/blas-kernels.ts';
import { initDenseMath, isBlasInstalled } from '../../../src/runtime/dense-math/dense-math.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { blasSkipReason } from './blas-available.ts';

const skip = blasSkipReason();

const values = (shape: number[], rng: SeededRandom) =>
  uniformArray(
    shape.reduce((p, d) => p * d, 1),
    1,
    rng,
  );

/** Run `f` on `backend` with fresh inputs from the same seed; the result as an array. */
function on(
  backend: 'cpu' | 'wasm',
  shapes: number[][],
  seed: number,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): { shape: number[]; data: Float32Array } {
  tf.setBackend(backend);
  const rng = new SeededRandom(seed);
  const xs = shapes.map((s) => tf.tensor(values(s, rng), s));
  const y = f(...xs);
  const out = { shape: y.shape, data: y.dataSync() as Float32Array };
  tf.dispose([...xs, y]);
  return out;
}

/** `got ≈ want` to float32 rounding of a sum of `k` products of values in [-1, 1]. */
function expectClose(
  got: { shape: number[]; data: Float32Array },
  want: { shape: number[]; data: Float32Array },
  k: number,
): void {
  expect(got.shape).toEqual(want.shape);
  const tol = 1e-6 * Math.max(1, k) + 1e-6;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i];
    const w = want.data[i];
    if (Number.isNaN(w)) expect(g).toBeNaN();
    else if (Math.abs(g - w) > tol * Math.max(1, Math.abs(w)))
      expect.fail(`element ${i}: got ${g}, want ${w} (tolerance ${tol})`);
  }
}

/** Shapes of `op(a) · op(b)` for an m×k by k×n product with the given batch dims. */
function shapesOf(
  m: number,
  n: number,
  k: number,
  outerA: number[],
  outerB: number[],
  transposeA: boolean,
  transposeB: boolean,
): [number[], number[]] {
  return [
    [...outerA, ...(transposeA ? [k, m] : [m, k])],
    [...outerB, ...(transposeB ? [n, k] : [k, n])],
  ];
}

/** Runs of `name` on each path during `f`. */
function pathOf(name: BlasKernelName, f: () => void): { blas: number; stock: number } {
  const before = blasKernelCalls()[name];
  f();
  const after = blasKernelCalls()[name];
  return { blas: after.blas - before.blas, stock: after.stock - before.stock };
}

/** m, n, k with m·n·k ≥ MIN_BLAS_VOLUME, so the product is OpenBLAS's. */
const coveredDims = fc
  .tuple(
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 70 }),
  )
  .filter(([m, n, k]) => m * n * k >= MIN_BLAS_VOLUME);

/** Batch dims: none, equal on both sides, or one side broadcast (absent or all 1). */
const batchDims = fc.oneof(
  fc.constant<[number[], number[]]>([[], []]),
  fc.integer({ min: 2, max: 3 }).map((d): [number[], number[]] => [[d], [d]]),
  fc
    .tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 2 }))
    .map(([d, e]): [number[], number[]] => [
      [d, e],
      [d, e],
    ]),
  fc.integer({ min: 2, max: 3 }).map((d): [number[], number[]] => [[d], []]),
  fc.integer({ min: 2, max: 3 }).map((d): [number[], number[]] => [[], [d]]),
  fc.integer({ min: 2, max: 3 }).map((d): [number[], number[]] => [[1, d], [1]]),
);

describe.skipIf(skip !== null)(
  `OpenBLAS matMul kernels equal tfjs cpu${skip ? ` — SKIPPED: ${skip}` : ''}`,
  () => {
    beforeAll(async () => {
      tf.env().set('IS_TEST', true);
      await import('@tensorflow/tfjs-backend-wasm');
      await tf.setBackend('cpu');
      await tf.ready();
      await initBackend('wasm', { denseMath: 'blas' });
      expect(isBlasInstalled()).toBe(true);
    });

    it('BatchMatMul: random shapes, transposes and batch dims, on OpenBLAS', () => {
      fc.assert(
        fc.property(
          coveredDims,
          batchDims,
          fc.boolean(),
          fc.boolean(),
          fc.integer(),
          ([m, n, k], [outerA, outerB], transposeA, transposeB, seed) => {
            const shapes = shapesOf(m, n, k, outerA, outerB, transposeA, transposeB);
            const mm = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, transposeA, transposeB);
            const want = on('cpu', shapes, seed, mm);
            let got!: { shape: number[]; data: Float32Array };
            const path = pathOf('BatchMatMul', () => {
              got = on('wasm', shapes, seed, mm);
            });
            expect(path).toEqual({ blas: 1, stock: 0 });
            expectClose(got, want, k);
          },
        ),
        { numRuns: 60 },
      );
    });

    const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;

    it('_FusedMatMul: bias (none, scalar, row) and every activation but prelu, on OpenBLAS', () => {
      fc.assert(
        fc.property(
          coveredDims,
          batchDims,
          fc.boolean(),
          fc.boolean(),
          fc.constantFrom(...activations),
          fc.constantFrom<'none' | 'scalar' | 'row' | 'row2d'>('none', 'scalar', 'row', 'row2d'),
          fc.integer(),
          ([m, n, k], [outerA, outerB], transposeA, transposeB, activation, biasKind, seed) => {
            const [aShape, bShape] = shapesOf(m, n, k, outerA, outerB, transposeA, transposeB);
            const biasShape = { none: null, scalar: [1], row: [n], row2d: [1, n] }[biasKind];
            const shapes = biasShape ? [aShape, bShape, biasShape] : [aShape, bShape];
            const fused = (a: tf.Tensor, b: tf.Tensor, bias?: tf.Tensor) =>
              tf.fused.matMul({
                a,
                b,
                transposeA,
                transposeB,
                bias,
                activation,
                leakyreluAlpha: 0.3,
              });
            const want = on('cpu', shapes, seed, fused);
            let got!: { shape: number[]; data: Float32Array };
            const path = pathOf('_FusedMatMul', () => {
              got = on('wasm', shapes, seed, fused);
            });
            expect(path).toEqual({ blas: 1, stock: 0 });
            expectClose(got, want, k);
          },
        ),
        { numRuns: 60 },
      );
    });

    it('falls back to the stock kernel for tiny products, broadcasts across both sides, prelu and other bias shapes — with the same results', () => {
      const seed = 7;
      const cases: Array<{
        what: string;
        name: BlasKernelName;
        shapes: number[][];
        f: (...xs: tf.Tensor[]) => tf.Tensor;
        k: number;
      }> = [
        {
          what: 'tiny (m·n·k < MIN_BLAS_VOLUME)',
          name: 'BatchMatMul',
          shapes: [
            [3, 4],
            [4, 5],
          ],
          f: (a, b) => tf.matMul(a, b),
          k: 4,
        },
        {
          what: 'batch broadcast on both sides',
          name: 'BatchMatMul',
          shapes: [
            [3, 1, 16, 16],
            [1, 2, 16, 16],
          ],
          f: (a, b) => tf.matMul(a, b),
          k: 16,
        },
        {
          what: 'prelu activation',
          name: '_FusedMatMul',
          shapes: [[16, 32], [32, 16], [16]],
          f: (a, b, alpha) =>
            tf.fused.matMul({ a, b, activation: 'prelu', preluActivationWeights: alpha }),
          k: 32,
        },
        {
          what: 'a bias that is not one row',
          name: '_FusedMatMul',
          shapes: [
            [16, 32],
            [32, 16],
            [16, 1],
          ],
          f: (a, b, bias) => tf.fused.matMul({ a, b, bias }),
          k: 32,
        },
      ];
      for (const c of cases) {
        expect(planMatMul([3, 4], [4, 5], false, false), 'tiny is not planned').toBeNull();
        const want = on('cpu', c.shapes, seed, c.f);
        let got!: { shape: number[]; data: Float32Array };
        let path = { blas: 0, stock: 0 };
        try {
          path = pathOf(c.name, () => {
            got = on('wasm', c.shapes, seed, c.f);
          });
        } catch {
          // the stock wasm kernel may refuse a case outright (its own error): still its path
          expect(blasKernelCalls()[c.name].stock, c.what).toBeGreaterThan(0);
          continue;
        }
        expect(path, c.what).toEqual({ blas: 0, stock: 1 });
        expectClose(got, want, c.k);
      }
    });

    it('non-float32 operands go to the stock kernel, which names the problem', () => {
      tf.setBackend('wasm');
      const a = tf.ones([32, 32], 'int32');
      const b = tf.ones([32, 32], 'int32');
      const before = blasKernelCalls().BatchMatMul;
      expect(() => tf.matMul(a, b)).toThrow(/float32/);
      expect(blasKernelCalls().BatchMatMul.stock).toBe(before.stock + 1);
      expect(blasKernelCalls().BatchMatMul.blas).toBe(before.blas);
      tf.dispose([a, b]);
    });

    it('leaks no tensor and no heap block per call', () => {
      tf.setBackend('wasm');
      const a = tf.randomUniform([64, 48]);
      const b = tf.randomUniform([48, 32]);
      const bias = tf.randomUniform([32]);
      const tensors = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) {
        tf.dispose(tf.matMul(a, b, false, false));
        tf.dispose(tf.fused.matMul({ a, b, bias, activation: 'relu' }));
      }
      expect(tf.memory().numTensors).toBe(tensors);
      tf.dispose([a, b, bias]);
    });

    it('wasm puts the stock kernels back and auto installs OpenBLAS again', () => {
      tf.setBackend('wasm');
      expect(initDenseMath('wasm').engine).toBe('wasm');
      expect(isBlasInstalled()).toBe(false);
      const a = tf.randomUniform([32, 32]);
      const path = pathOf('BatchMatMul', () => tf.dispose(tf.matMul(a, a)));
      expect(path).toEqual({ blas: 0, stock: 0 }); // not even our kernel: the stock one is registered
      const info = initDenseMath('auto', { threads: 2 });
      expect(info).toMatchObject({ requested: 'auto', engine: 'blas', threads: 2 });
      expect(info.library).toMatch(/^OpenBLAS \d+\.\d+/);
      expect(initDenseMath('auto').threads).toBe(1);
      a.dispose();
    });
  },
);
