import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorFloats, tensorFloatsCalls } from '../../../src/modules/dense/tensor-floats.ts';
import { useWasm } from './use-wasm.ts';

/** `out = a·2 + b`, and `sum(a)` in a second output of one element. */
function twiceAPlusB(a: tf.Tensor, b: tf.Tensor | Float32Array): tf.Tensor[] {
  const n = a.size;
  return tensorFloats.compute([a, b], [a.shape, [1]], ([x, y], [out, total]) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      out[i] = x[i] * 2 + y[i];
      s += x[i];
    }
    total[0] = s;
  });
}

const cases = fc
  .integer({ min: 1, max: 300 })
  .chain((n) =>
    fc.tuple(
      fc.float32Array({ minLength: n, maxLength: n, noNaN: true, min: -1e6, max: 1e6 }),
      fc.float32Array({ minLength: n, maxLength: n, noNaN: true, min: -1e6, max: 1e6 }),
    ),
  );

function checkAgainstPlainTfjs(a: Float32Array, b: Float32Array): void {
  const ta = tf.tensor1d(a);
  const tb = tf.tensor1d(b);
  const before = tf.memory().numTensors;
  const [out, total] = twiceAPlusB(ta, tb);
  expect(out.shape).toEqual([a.length]);
  expect(out.dtype).toBe('float32');
  const want = Float32Array.from(a, (x, i) => x * 2 + b[i]);
  expect(Array.from(out.dataSync())).toEqual(Array.from(want));
  expect(total.dataSync()[0]).toBe(Math.fround(a.reduce((s, x) => s + x, 0)));
  tf.dispose([out, total]);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([ta, tb]);
}

describe('tensorFloats on wasm', () => {
  beforeAll(useWasm);

  it('reads inputs and writes outputs in the heap (no copies), with the values of plain loops', () => {
    fc.assert(
      fc.property(cases, ([a, b]) => {
        const before = { ...tensorFloatsCalls };
        checkAgainstPlainTfjs(a, b);
        expect(tensorFloatsCalls.views - before.views).toBe(2);
        expect(tensorFloatsCalls.copies - before.copies).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it('passes arrays through, and copies tensors that are not float32', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const ints = tf.tensor1d([1, 2, 3], 'int32');
    const before = { ...tensorFloatsCalls };
    expect(tensorFloats.inPlace([a, ints])).toBe(false);
    const [out, total] = twiceAPlusB(ints, Float32Array.of(0.5, 0.5, 0.5));
    expect(Array.from(out.dataSync())).toEqual([2.5, 4.5, 6.5]);
    expect(total.dataSync()[0]).toBe(6);
    expect(tensorFloatsCalls.copies - before.copies).toBe(1);
    const [out2] = twiceAPlusB(a, Float32Array.of(1, 1, 1));
    expect(Array.from(out2.dataSync())).toEqual([3, 5, 7]);
    expect(tensorFloatsCalls.views - before.views).toBe(1);
    tf.dispose([a, ints, out, total, out2]);
  });

  it('owned() is one copy from the heap that nothing else shares', () => {
    const t = tf.tensor1d([1.5, -2, 3]);
    const before = { ...tensorFloatsCalls };
    const mine = tensorFloats.owned(t);
    expect(tensorFloatsCalls.views - before.views).toBe(1);
    expect(Array.from(mine)).toEqual([1.5, -2, 3]);
    mine[0] = 99;
    expect(Array.from(t.dataSync())).toEqual([1.5, -2, 3]);
    t.dispose();
    expect(Array.from(mine)).toEqual([99, -2, 3]);
  });
});

describe('tensorFloats on the cpu backend', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(useWasm);

  it('runs on dataSync arrays and gives the same values', () => {
    fc.assert(
      fc.property(cases, ([a, b]) => {
        const before = { ...tensorFloatsCalls };
        checkAgainstPlainTfjs(a, b);
        expect(tensorFloatsCalls.copies - before.copies).toBe(2);
        expect(tensorFloatsCalls.views - before.views).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it("owned() does not hand out the backend's own array", () => {
    const t = tf.tensor1d([4, 5]);
    const mine = tensorFloats.owned(t);
    mine[1] = -1;
    expect(Array.from(t.dataSync())).toEqual([4, 5]);
    t.dispose();
  });
});
