import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, installAliasingIdentity } from '../../../src/runtime/tfjs-backend.ts';
import { fusedLinear, installFusedLinearGrad } from '../../../src/modules/dense/fused-linear.ts';

describe('aliasing Identity on wasm', () => {
  beforeAll(async () => {
    tf.env().set('IS_TEST', true);
    await initBackend('wasm');
    installAliasingIdentity(); // idempotent
    installFusedLinearGrad();
  });

  it('clones share the buffer by reference count: values equal, each handle disposes on its own', () => {
    const before = tf.memory();
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const y = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1); // one buffer for both handles
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
    const s = tf.clone(tf.tensor1d(['a', 'b'], 'string'));
    expect(s.dataSync()).toEqual(['a', 'b']);
    s.dispose();
  });

  it('gradients through saved tensors are unchanged and leak nothing', () => {
    const x = tf.tensor2d([
      [1, -2, 3],
      [0.5, 0.25, -1],
    ]);
    const w = tf.tensor2d([
      [0.1, -0.2],
      [0.3, 0.4],
      [-0.5, 0.6],
    ]);
    const b = tf.tensor1d([0.05, -0.05]);
    const before = tf.memory().numTensors;
    const grads = tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(fusedLinear(a as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, 'relu')),
    )([x, w, b]);
    const want = tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.relu(tf.add(tf.matMul(a, ww), bb))),
    )([x, w, b]);
    grads.forEach((g, i) =>
      expect(Array.from(g.dataSync())).toEqual(Array.from(want[i].dataSync())),
    );
    tf.dispose([...grads, ...want]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });
});
