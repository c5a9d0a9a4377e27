import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fusedLinear,
  installFusedLinearGrad,
  isFusedLinearGradInstalled,
} from '../../../src/modules/dense/fused-linear.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { Linear } from '../../../src/modules/dense/mlp.ts';
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

/** Value and gradients of sum(f(x, w, b) * m) w.r.t. x, w, b, read back as arrays. */
function valueAndGrads(
  f: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor,
  x: tf.Tensor,
  w: tf.Tensor,
  b: tf.Tensor,
  m: tf.Tensor,
): Float32Array[] {
  const { value, grads } = tf.valueAndGrads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(f(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D), m)),
  )([x, w, b]);
  const out = [value, ...grads].map((g) => g.dataSync() as Float32Array);
  tf.dispose([value, ...grads]);
  return out;
}

describe('fusedLinear', () => {
  beforeAll(async () => {
    await useWasm();
    installFusedLinearGrad();
  });

  it('installs idempotently', () => {
    installFusedLinearGrad();
    expect(isFusedLinearGradInstalled()).toBe(true);
  });

  it('matches matMul + bias + activation in value and in every gradient (both weight-gradient orientations)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom<[number, number]>([2, 40], [40, 2], [7, 7], [1, 30], [30, 1]),
        fc.constantFrom<'relu' | 'linear'>('relu', 'linear'),
        fc.integer(),
        (batch, [inF, outF], activation, seed) => {
          const rng = new SeededRandom(seed);
          const x = randomTensor([batch, inF], rng);
          const w = randomTensor([inF, outF], rng);
          const b = randomTensor([outF], rng);
          const m = randomTensor([batch, outF], rng);
          const before = tf.memory().numTensors;
          const got = valueAndGrads(
            (xx, ww, bb) => fusedLinear(xx, ww, bb, activation),
            x,
            w,
            b,
            m,
          );
          const want = valueAndGrads(
            (xx, ww, bb) => {
              const z = tf.add(tf.matMul(xx, ww), bb);
              return activation === 'relu' ? tf.relu(z) : z;
            },
            x,
            w,
            b,
            m,
          );
          expect(tf.memory().numTensors).toBe(before);
          got.forEach((g, i) => {
            expect(g.length).toBe(want[i].length);
            for (let j = 0; j < g.length; j++) expect(g[j]).toBeCloseTo(want[i][j], 4);
          });
          tf.dispose([x, w, b, m]);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('differentiates a Linear layer w.r.t. its variables only (no input gradient needed)', () => {
    const fcLayer = new Linear({ inFeatures: 3, outFeatures: 5, seed: 4 });
    const x = tf.tensor2d([
      [1, -2, 3],
      [0.5, 0.25, -1],
    ]);
    const { value, grads } = tf.variableGrads(() => tf.sum(fcLayer.forward(x, 'relu')));
    expect(Object.keys(grads).length).toBe(2);
    expect(grads[fcLayer.weight.name].shape).toEqual([3, 5]);
    expect(grads[fcLayer.bias!.name].shape).toEqual([5]);
    tf.dispose([value, x, ...Object.values(grads)]);
    fcLayer.dispose();
  });
});
