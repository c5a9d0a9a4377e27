import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DotInteraction } from '../../../src/modules/dense/interaction.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { tensorFloatsCalls } from '../../../src/modules/dense/tensor-floats.ts';
import { pairCount } from '../../../src/modules/dense/pairwise-dots.ts';
import { wasmDotsCalls } from '../../../src/modules/dense/pairwise-dots-wasm.ts';
import { installAliasingIdentity } from '../../../src/runtime/tfjs-backend.ts';
import { useWasm } from './use-wasm.ts';
import { referenceDotsBackward, referenceDotsForward } from './pairwise-dots-reference.ts';

const bits = (a: Float32Array): number[] =>
  Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/**
 * Forward and gradients of `sum(interaction(dense, sparse) · weights)` through tfjs (so
 * `dy = weights` exactly), next to the reference loops on the same floats.
 */
function throughTfjs(batch: number, f: number, d: number, seed: number) {
  const rng = new SeededRandom(seed);
  const denseA = uniformArray(batch * d, 1, rng);
  const sparseA = uniformArray(batch * f * d, 1, rng);
  const width = d + pairCount(f);
  const weightsA = uniformArray(batch * width, 1, rng);
  const inter = new DotInteraction({ numSparse: f, dim: d });
  const dense = tf.tensor2d(denseA, [batch, d]);
  const sparse = tf.tensor2d(sparseA, [batch, f * d]);
  const weights = tf.tensor2d(weightsA, [batch, width]);
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => inter.forward(dense, sparse));
  const gs = tf.grads((a: tf.Tensor, s: tf.Tensor) =>
    tf.sum(tf.mul(inter.forward(a as tf.Tensor2D, s as tf.Tensor2D), weights)),
  )([dense, sparse]);
  const got = [out, ...gs].map((t) => Float32Array.from(t.dataSync()));
  tf.dispose([out, ...gs]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([dense, sparse, weights]);
  const want = [
    new Float32Array(batch * width),
    new Float32Array(batch * d),
    new Float32Array(batch * f * d),
  ];
  referenceDotsForward(denseA, sparseA, batch, f, d, want[0]);
  referenceDotsBackward(denseA, sparseA, weightsA, batch, f, d, want[1], want[2]);
  return { got, want, leaked };
}

const shapeArbs = [
  fc.integer({ min: 1, max: 6 }),
  fc.integer({ min: 1, max: 6 }),
  fc.constantFrom(1, 3, 8, 16, 24),
  fc.integer(),
] as const;

/** The interaction written as plain loops. */
function naiveInteraction(
  dense: Float32Array,
  sparse: Float32Array,
  batch: number,
  f: number,
  d: number,
): number[][] {
  const rows: number[][] = [];
  for (let b = 0; b < batch; b++) {
    const vec = (k: number) =>
      k === 0
        ? Array.from(dense.subarray(b * d, (b + 1) * d))
        : Array.from(sparse.subarray(b * f * d + (k - 1) * d, b * f * d + k * d));
    const row = vec(0);
    for (let i = 0; i <= f; i++) {
      for (let j = i + 1; j <= f; j++) {
        const vi = vec(i);
        const vj = vec(j);
        row.push(vi.reduce((s, x, t) => s + x * vj[t], 0));
      }
    }
    rows.push(row);
  }
  return rows;
}

describe('DotInteraction', () => {
  beforeAll(useWasm);

  it('matches a naive loop over random shapes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        (batch, f, d, seed) => {
          const rng = new SeededRandom(seed);
          const dense = uniformArray(batch * d, 1, rng);
          const sparse = uniformArray(batch * f * d, 1, rng);
          const inter = new DotInteraction({ numSparse: f, dim: d });
          const before = tf.memory().numTensors;
          const out = tf.tidy(() =>
            inter.forward(tf.tensor2d(dense, [batch, d]), tf.tensor2d(sparse, [batch, f * d])),
          );
          expect(out.shape).toEqual([batch, d + ((f + 1) * f) / 2]);
          expect(inter.outFeatures).toBe(out.shape[1]);
          const got = out.arraySync();
          const want = naiveInteraction(dense, sparse, batch, f, d);
          for (let b = 0; b < batch; b++)
            for (let k = 0; k < want[b].length; k++) expect(got[b][k]).toBeCloseTo(want[b][k], 5);
          out.dispose();
          expect(tf.memory().numTensors).toBe(before);
          inter.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('has the gradients of the same interaction written with plain tfjs ops', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer(),
        (batch, f, d, seed) => {
          const rng = new SeededRandom(seed);
          const dense = tf.tensor2d(uniformArray(batch * d, 1, rng), [batch, d]);
          const sparse = tf.tensor2d(uniformArray(batch * f * d, 1, rng), [batch, f * d]);
          const weights = tf.tensor2d(uniformArray(batch * (d + ((f + 1) * f) / 2), 1, rng), [
            batch,
            d + ((f + 1) * f) / 2,
          ]);
          const inter = new DotInteraction({ numSparse: f, dim: d });
          /** Reference: every dot as slice · slice, summed (tfjs's own gradients). */
          const reference = (a: tf.Tensor2D, s: tf.Tensor2D): tf.Tensor2D => {
            const vecs = [
              a,
              ...Array.from({ length: f }, (_, k) => tf.slice(s, [0, k * d], [batch, d])),
            ];
            const dots: tf.Tensor[] = [];
            for (let i = 0; i <= f; i++)
              for (let j = i + 1; j <= f; j++) dots.push(tf.sum(tf.mul(vecs[i], vecs[j]), 1, true));
            return tf.concat([a, ...dots], 1) as tf.Tensor2D;
          };
          const grads = (fn: (a: tf.Tensor2D, s: tf.Tensor2D) => tf.Tensor2D): Float32Array[] => {
            const gs = tf.grads((a: tf.Tensor, s: tf.Tensor) =>
              tf.sum(tf.mul(fn(a as tf.Tensor2D, s as tf.Tensor2D), weights)),
            )([dense, sparse]);
            const out = gs.map((g) => g.dataSync() as Float32Array);
            tf.dispose(gs);
            return out;
          };
          const got = grads((a, s) => inter.forward(a, s));
          const want = grads(reference);
          got.forEach((g, i) => {
            for (let j = 0; j < g.length; j++) expect(g[j]).toBeCloseTo(want[i][j], 5);
          });
          tf.dispose([dense, sparse, weights]);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('has gradients on wasm (no gather) and names bad shapes', () => {
    const inter = new DotInteraction({ numSparse: 2, dim: 3 });
    const dense = tf.ones([2, 3]) as tf.Tensor2D;
    const sparse = tf.ones([2, 6]) as tf.Tensor2D;
    const [gd, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(inter.forward(a as tf.Tensor2D, b as tf.Tensor2D)),
    )([dense, sparse]);
    // d/dv0 of (v0 + v0·v1 + v0·v2 + v1·v2) summed = 1 + v1 + v2 = 3 per entry
    expect(Array.from(gd.dataSync())).toEqual([3, 3, 3, 3, 3, 3]);
    expect(gs.shape).toEqual([2, 6]);
    expect(() => inter.forward(dense, tf.ones([2, 5]) as tf.Tensor2D)).toThrow(
      /sparse embeddings must be \[2, 2·3=6\], got \[2,5\]/,
    );
    tf.dispose([dense, sparse, gd, gs]);
    inter.dispose();
  });

  it('without an aliasing Identity, keeps copies and gives the reference bits', () => {
    fc.assert(
      fc.property(...shapeArbs, (batch, f, d, seed) => {
        const { got, want, leaked } = throughTfjs(batch, f, d, seed);
        got.forEach((g, i) => expect(bits(g)).toEqual(bits(want[i])));
        expect(leaked).toBe(0);
      }),
      { numRuns: 20 },
    );
  });
});

describe('DotInteraction on wasm as initBackend sets it up', () => {
  beforeAll(async () => {
    await useWasm();
    installAliasingIdentity();
  });

  it('reads and writes the wasm heap in place, bit for bit as the reference loops', () => {
    fc.assert(
      fc.property(...shapeArbs, (batch, f, d, seed) => {
        const before = { ...tensorFloatsCalls };
        const simdBefore = { ...wasmDotsCalls };
        const { got, want, leaked } = throughTfjs(batch, f, d, seed);
        // forward for `out` (2 inputs), forward (2) and backward (dense, sparse, dy) in tf.grads
        expect(tensorFloatsCalls.views - before.views).toBe(7);
        // widths that are multiples of 8 take the SIMD backward, width 16 the SIMD forward
        expect(wasmDotsCalls.backward - simdBefore.backward).toBe(d % 8 === 0 ? 1 : 0);
        expect(wasmDotsCalls.forward - simdBefore.forward).toBe(d === 16 ? 2 : 0);
        expect(tensorFloatsCalls.copies - before.copies).toBe(0);
        got.forEach((g, i) => expect(bits(g)).toEqual(bits(want[i])));
        expect(leaked).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('DotInteraction on the cpu backend', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(useWasm);

  it('runs on copies and gives the same bits', () => {
    fc.assert(
      fc.property(...shapeArbs, (batch, f, d, seed) => {
        const before = { ...tensorFloatsCalls };
        const { got, want, leaked } = throughTfjs(batch, f, d, seed);
        // forward for `out` (2 inputs), forward (2) and backward (dy) in tf.grads
        expect(tensorFloatsCalls.copies - before.copies).toBe(5);
        expect(tensorFloatsCalls.views - before.views).toBe(0);
        got.forEach((g, i) => expect(bits(g)).toEqual(bits(want[i])));
        expect(leaked).toBe(0);
      }),
      { numRuns: 20 },
    );
  });
});
