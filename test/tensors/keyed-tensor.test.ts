import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { KeyedTensor } from '../../src/tensors/index.ts';

describe('KeyedTensor', () => {
  it('fromPooled keeps the row-major layout and toDict slices columns per key', () => {
    const before = tf.memory().numTensors;
    // batch 2, keys a (width 1) and b (width 2)
    const kt = KeyedTensor.fromPooled({
      keys: ['a', 'b'],
      lengthPerKey: [1, 2],
      batchSize: 2,
      values: Float32Array.from([1, 2, 3, 4, 5, 6]),
    });
    expect(kt.values.shape).toEqual([2, 3]);
    expect(kt.offsetPerKey()).toEqual([0, 1, 3]);
    const d = kt.toDict();
    expect(d.a.arraySync()).toEqual([[1], [4]]);
    expect(d.b.arraySync()).toEqual([
      [2, 3],
      [5, 6],
    ]);
    Object.values(d).forEach((t) => t.dispose());
    kt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fromTensorList concatenates columns and does not dispose its inputs', () => {
    const a = tf.tensor2d([[1], [2]]);
    const b = tf.tensor2d([
      [3, 4],
      [5, 6],
    ]);
    const kt = KeyedTensor.fromTensorList(['a', 'b'], [a, b]);
    expect(kt.lengthPerKey).toEqual([1, 2]);
    expect(kt.values.arraySync()).toEqual([
      [1, 3, 4],
      [2, 5, 6],
    ]);
    expect(a.isDisposed).toBe(false);
    const single = KeyedTensor.fromTensorList(['a'], [a]);
    single.dispose();
    expect(a.isDisposed).toBe(false);
    tf.dispose([a, b, kt.values]);
  });

  it('names what does not fit', () => {
    expect(() =>
      KeyedTensor.fromPooled({
        keys: ['a'],
        lengthPerKey: [2],
        batchSize: 2,
        values: new Float32Array(3),
      }),
    ).toThrow('KeyedTensor.fromPooled: 3 values, expected batchSize 2 × width 2');
    const t = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => new KeyedTensor({ keys: ['a'], lengthPerKey: [2], values: t })).toThrow(
      'values has shape [2, 3], expected [batchSize, 2]',
    );
    const kt = new KeyedTensor({ keys: ['a'], lengthPerKey: [3], values: t });
    expect(() => kt.get('z')).toThrow('KeyedTensor has no key "z" (keys: a)');
    t.dispose();
  });
});
