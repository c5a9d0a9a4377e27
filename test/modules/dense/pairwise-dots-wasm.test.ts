import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  pairCount,
  pairwiseDotsBackward,
  pairwiseDotsForward,
} from '../../../src/modules/dense/pairwise-dots.ts';
import {
  dotsBackwardModuleBytes,
  wasmDotsBackward,
  wasmDotsCalls,
  wasmDotsForward,
} from '../../../src/modules/dense/pairwise-dots-wasm.ts';
import { referenceDotsBackward, referenceDotsForward } from './pairwise-dots-reference.ts';

const bits = (a: Float32Array): number[] =>
  Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Arrays laid out one after another in `memory`, at 4-byte (not 16-byte) aligned offsets. */
function placer(memory: WebAssembly.Memory) {
  let at = 4;
  return (values: ArrayLike<number> | number): Float32Array => {
    const n = typeof values === 'number' ? values : values.length;
    const view = new Float32Array(memory.buffer, at, n);
    if (typeof values !== 'number') view.set(values);
    else view.fill(Number.NaN); // outputs: every entry must be written
    at += 4 * n + 4;
    return view;
  };
}

const floats = (n: number) =>
  fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.float({ min: -4, max: 4, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(0, -0, 1e-30, -3e20) },
    ),
    { minLength: n, maxLength: n },
  );

const shapes = fc
  .record({
    batch: fc.integer({ min: 1, max: 6 }),
    numSparse: fc.integer({ min: 0, max: 7 }),
    dim: fc.constantFrom(8, 16, 24, 32, 48),
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

describe('pairwise dots backward in WebAssembly SIMD', () => {
  it('is a valid module', () => {
    expect(WebAssembly.validate(dotsBackwardModuleBytes())).toBe(true);
  });

  it('equals the reference loops bit for bit (widths that are multiples of 8)', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const run = wasmDotsBackward(memory);
    fc.assert(
      fc.property(shapes, ({ batch, numSparse, dim, dense, sparse, dOut }) => {
        const place = placer(memory);
        const d = place(dense);
        const s = place(sparse);
        const g = place(dOut);
        const gotDense = place(batch * dim);
        const gotSparse = place(batch * numSparse * dim);
        const before = wasmDotsCalls.backward;
        expect(run(d, s, g, batch, numSparse, dim, gotDense, gotSparse)).toBe(true);
        expect(wasmDotsCalls.backward).toBe(before + 1);
        const wantDense = new Float32Array(batch * dim);
        const wantSparse = new Float32Array(batch * numSparse * dim);
        referenceDotsBackward(
          Float32Array.from(dense),
          Float32Array.from(sparse),
          Float32Array.from(dOut),
          batch,
          numSparse,
          dim,
          wantDense,
          wantSparse,
        );
        expect(bits(gotDense)).toEqual(bits(wantDense));
        expect(bits(gotSparse)).toEqual(bits(wantSparse));
      }),
      { numRuns: 300 },
    );
  });

  it('declines widths that are not multiples of 8 and arrays outside its memory', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const run = wasmDotsBackward(memory);
    const place = placer(memory);
    const before = wasmDotsCalls.backward;
    const [b, f] = [2, 2];
    const in12 = [place(b * 12), place(b * f * 12), place(b * (12 + pairCount(f)))];
    expect(run(in12[0], in12[1], in12[2], b, f, 12, place(b * 12), place(b * f * 12))).toBe(false);
    const outside = new Float32Array(b * 16);
    const in16 = [place(b * 16), place(b * f * 16), place(b * (16 + pairCount(f)))];
    expect(run(in16[0], in16[1], in16[2], b, f, 16, outside, place(b * f * 16))).toBe(false);
    expect(wasmDotsCalls.backward).toBe(before);
    // The JavaScript loops it defers to give the same bits where both run.
    const dDense = place(b * 16);
    const dSparse = place(b * f * 16);
    for (const a of in16) a.forEach((_, i) => (a[i] = Math.sin(i + a.length)));
    expect(run(in16[0], in16[1], in16[2], b, f, 16, dDense, dSparse)).toBe(true);
    const js = [new Float32Array(b * 16), new Float32Array(b * f * 16)];
    pairwiseDotsBackward(in16[0], in16[1], in16[2], b, f, 16, js[0], js[1]);
    expect(bits(dDense)).toEqual(bits(js[0]));
    expect(bits(dSparse)).toEqual(bits(js[1]));
  });

  it('forward, width 16: equals the reference loops bit for bit', () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    const run = wasmDotsForward(memory);
    const width16 = fc
      .record({ batch: fc.integer({ min: 1, max: 6 }), numSparse: fc.integer({ min: 0, max: 9 }) })
      .chain(({ batch, numSparse }) =>
        fc.record({
          batch: fc.constant(batch),
          numSparse: fc.constant(numSparse),
          dense: floats(batch * 16),
          sparse: floats(batch * numSparse * 16),
        }),
      );
    fc.assert(
      fc.property(width16, ({ batch, numSparse, dense, sparse }) => {
        const place = placer(memory);
        const d = place(dense);
        const s = place(sparse);
        const got = place(batch * (16 + pairCount(numSparse)));
        const before = wasmDotsCalls.forward;
        expect(run(d, s, batch, numSparse, 16, got)).toBe(true);
        expect(wasmDotsCalls.forward).toBe(before + 1);
        const want = new Float32Array(got.length);
        referenceDotsForward(
          Float32Array.from(dense),
          Float32Array.from(sparse),
          batch,
          numSparse,
          16,
          want,
        );
        expect(bits(got)).toEqual(bits(want));
      }),
      { numRuns: 300 },
    );
  });

  it('forward declines other widths and arrays outside its memory', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const run = wasmDotsForward(memory);
    const place = placer(memory);
    const before = wasmDotsCalls.forward;
    const [b, f] = [2, 3];
    expect(run(place(b * 8), place(b * f * 8), b, f, 8, place(b * (8 + pairCount(f))))).toBe(false);
    const outside = new Float32Array(b * (16 + pairCount(f)));
    const d = place(b * 16);
    const s = place(b * f * 16);
    expect(run(d, s, b, f, 16, outside)).toBe(false);
    expect(wasmDotsCalls.forward).toBe(before);
    d.forEach((_, i) => {
      d[i] = Math.cos(i);
    });
    s.forEach((_, i) => {
      s[i] = Math.sin(i);
    });
    const got = place(outside.length);
    expect(run(d, s, b, f, 16, got)).toBe(true);
    pairwiseDotsForward(d, s, b, f, 16, outside);
    expect(bits(got)).toEqual(bits(outside));
  });
});
