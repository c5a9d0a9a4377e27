import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  pairCount,
  pairwiseDotsBackward,
  pairwiseDotsCalls,
  pairwiseDotsForward,
} from '../../../src/modules/dense/pairwise-dots.ts';
import { referenceDotsBackward, referenceDotsForward } from './pairwise-dots-reference.ts';

/** Bytes of a float array, so -0 and NaN payloads count as differences. */
const bits = (a: Float32Array): number[] =>
  Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Floats with exact zeros of both signs, tiny and huge values mixed in. */
const floats = (n: number) =>
  fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.float({ min: -4, max: 4, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e-30, -3e20) },
    ),
    { minLength: n, maxLength: n },
  );

/** A shape and inputs for it: widths around the blocks of 8 (16 is the reference DLRM's). */
const shapes = fc
  .record({
    batch: fc.integer({ min: 1, max: 5 }),
    numSparse: fc.integer({ min: 0, max: 6 }),
    dim: fc.constantFrom(1, 2, 3, 5, 7, 8, 15, 16, 17, 24, 32),
  })
  .chain(({ batch, numSparse, dim }) =>
    fc.record({
      batch: fc.constant(batch),
      numSparse: fc.constant(numSparse),
      dim: fc.constant(dim),
      dense: floats(batch * dim),
      sparse: floats(batch * numSparse * dim),
      dOut: floats(batch * (dim + pairCount(numSparse))),
    }),
  );

describe('pairwise dots', () => {
  it('forward equals the reference loops bit for bit, on every width', () => {
    fc.assert(
      fc.property(shapes, ({ batch, numSparse, dim, dense, sparse }) => {
        const d = Float32Array.from(dense);
        const s = Float32Array.from(sparse);
        const width = dim + pairCount(numSparse);
        const want = new Float32Array(batch * width).fill(Number.NaN);
        const got = new Float32Array(batch * width).fill(Number.NaN);
        referenceDotsForward(d, s, batch, numSparse, dim, want);
        pairwiseDotsForward(d, s, batch, numSparse, dim, got);
        expect(bits(got)).toEqual(bits(want));
      }),
      { numRuns: 300 },
    );
  });

  it('backward equals the reference loops bit for bit, on every width', () => {
    fc.assert(
      fc.property(shapes, ({ batch, numSparse, dim, dense, sparse, dOut }) => {
        const d = Float32Array.from(dense);
        const s = Float32Array.from(sparse);
        const g = Float32Array.from(dOut);
        const want = [new Float32Array(batch * dim), new Float32Array(batch * numSparse * dim)];
        // NaN-filled outputs: every entry must be written.
        const got = want.map((a) => new Float32Array(a.length).fill(Number.NaN));
        referenceDotsBackward(d, s, g, batch, numSparse, dim, want[0], want[1]);
        pairwiseDotsBackward(d, s, g, batch, numSparse, dim, got[0], got[1]);
        expect(bits(got[0])).toEqual(bits(want[0]));
        expect(bits(got[1])).toEqual(bits(want[1]));
      }),
      { numRuns: 300 },
    );
  });

  it('runs the blocks of 8 for multiples of 8 (16 among them) and the plain loop otherwise', () => {
    const run = (dim: number) => {
      const before = { ...pairwiseDotsCalls };
      const batch = 2;
      const numSparse = 3;
      const out = new Float32Array(batch * (dim + pairCount(numSparse)));
      const dense = new Float32Array(batch * dim).fill(1);
      const sparse = new Float32Array(batch * numSparse * dim).fill(2);
      pairwiseDotsForward(dense, sparse, batch, numSparse, dim, out);
      pairwiseDotsBackward(
        dense,
        sparse,
        out,
        batch,
        numSparse,
        dim,
        new Float32Array(dense.length),
        new Float32Array(sparse.length),
      );
      return Object.fromEntries(
        Object.entries(pairwiseDotsCalls).map(([k, v]) => [
          k,
          v - before[k as keyof typeof before],
        ]),
      );
    };
    expect(run(16)).toEqual({ forwardAny: 1, backward8: 1, backwardAny: 0 });
    expect(run(24)).toEqual({ forwardAny: 1, backward8: 1, backwardAny: 0 });
    expect(run(5)).toEqual({ forwardAny: 1, backward8: 0, backwardAny: 1 });
  });

  it('adds a dot from +0 in float64 and rounds once (worked example)', () => {
    // 1 + 2^-30 + (-1) in float32 steps would give 0; in float64, then rounded once: 2^-30.
    const dense = new Float32Array([1, 2 ** -15, 1]);
    const sparse = new Float32Array([1, 2 ** -15, -1]);
    const out = new Float32Array(4);
    pairwiseDotsForward(dense, sparse, 1, 1, 3, out);
    expect(out[3]).toBe(2 ** -30);
    // All-negative-zero products sum to +0, as the reference's `0 + …` does.
    const z = new Float32Array(16).fill(-0);
    const o16 = new Float32Array(17);
    pairwiseDotsForward(z, new Float32Array(16).fill(1), 1, 1, 16, o16);
    expect(Object.is(o16[16], 0)).toBe(true);
  });
});
