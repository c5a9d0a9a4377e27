import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installFastBatchMatMulGrad,
  isFastBatchMatMulGradInstalled,
  restoreDefaultBatchMatMulGrad,
} from '../../../src/modules/dense/batch-matmul-grad.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { useWasm } from './use-wasm.ts';

function randomTensor(shape: number[], rng: SeededRandom): tf.Tensor {
  return tf.tensor(
    uniformArray(
      shape.reduce((a, b) => a * b, 1),
      1,
      rng,
    ),
    shape,
  );
}

/** Gradients of sum(matMul(a, b, ta, tb) * w) w.r.t. a and b, read back as arrays. */
function matMulGrads(
  a: tf.Tensor,
  b: tf.Tensor,
  w: tf.Tensor,
  ta: boolean,
  tb: boolean,
): Float32Array[] {
  const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)),
  )([a, b]);
  const out = grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose(grads);
  return out;
}

describe('explicit-transpose BatchMatMul gradient', () => {
  beforeAll(useWasm);
  afterAll(restoreDefaultBatchMatMulGrad);

  it('installs idempotently and can be restored', () => {
    restoreDefaultBatchMatMulGrad();
    expect(isFastBatchMatMulGradInstalled()).toBe(false);
    installFastBatchMatMulGrad();
    installFastBatchMatMulGrad();
    expect(isFastBatchMatMulGradInstalled()).toBe(true);
    restoreDefaultBatchMatMulGrad();
    expect(isFastBatchMatMulGradInstalled()).toBe(false);
    expect(tf.getGradient('BatchMatMul')).toBeDefined();
  });

  const combos: Array<[boolean, boolean]> = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];
  for (const batch of [[], [3]]) {
    for (const [ta, tb] of combos) {
      it(`equals tfjs's gradient (transposeA=${ta}, transposeB=${tb}, batch dims [${batch}])`, () => {
        const rng = new SeededRandom(11 + Number(ta) * 2 + Number(tb) + batch.length * 4);
        const [m, k, n] = [5, 7, 4];
        const a = randomTensor([...batch, ...(ta ? [k, m] : [m, k])], rng);
        const b = randomTensor([...batch, ...(tb ? [n, k] : [k, n])], rng);
        const w = randomTensor([...batch, m, n], rng);
        const before = tf.memory().numTensors;

        restoreDefaultBatchMatMulGrad();
        const reference = matMulGrads(a, b, w, ta, tb);
        installFastBatchMatMulGrad();
        const fast = matMulGrads(a, b, w, ta, tb);

        expect(tf.memory().numTensors).toBe(before);
        for (let i = 0; i < 2; i++) {
          expect(fast[i].length).toBe(reference[i].length);
          for (let j = 0; j < fast[i].length; j++)
            expect(fast[i][j]).toBeCloseTo(reference[i][j], 5);
        }
        tf.dispose([a, b, w]);
      });
    }
  }

  it('sums the gradient over broadcast batch dimensions', () => {
    installFastBatchMatMulGrad();
    const rng = new SeededRandom(5);
    const a = randomTensor([3, 2, 4], rng);
    const b = randomTensor([1, 4, 2], rng);
    const [, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b]);
    expect(gb.shape).toEqual([1, 4, 2]);
    // d/dB sum(A_i B) = sum_i A_iᵀ 1
    const expected = tf.tidy(() => tf.sum(tf.matMul(a, tf.ones([3, 2, 2]), true, false), 0, true));
    const got = gb.dataSync();
    const want = expected.dataSync();
    for (let j = 0; j < got.length; j++) expect(got[j]).toBeCloseTo(want[j], 5);
    tf.dispose([a, b, gb, expected]);
  });
});
