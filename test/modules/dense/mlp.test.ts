import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Linear, MLP } from '../../../src/modules/dense/mlp.ts';
import { SeededRandom, deriveSeed } from '../../../src/modules/dense/init.ts';
import { useWasm } from './use-wasm.ts';

function paramValues(m: MLP): Array<[string, number[], Float32Array]> {
  return m.namedParameters().map(([name, v]) => [name, v.shape, v.dataSync() as Float32Array]);
}

describe('SeededRandom', () => {
  it('is reproducible and seed-sensitive', () => {
    const draw = (s: number) =>
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.next()
        )(new SeededRandom(s)),
      );
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    for (const x of draw(3)) expect(x >= 0 && x < 1).toBe(true);
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(1, 'b'));
  });
});

describe('Linear and MLP', () => {
  beforeAll(useWasm);

  it('has the configured shapes and stable parameter names', () => {
    const mlp = new MLP({ inFeatures: 13, layerSizes: [32, 16, 4], seed: 1 });
    expect(paramValues(mlp).map(([n, s]) => [n, s])).toEqual([
      ['layers.0.weight', [13, 32]],
      ['layers.0.bias', [32]],
      ['layers.1.weight', [32, 16]],
      ['layers.1.bias', [16]],
      ['layers.2.weight', [16, 4]],
      ['layers.2.bias', [4]],
    ]);
    const y = mlp.forward(tf.ones([5, 13]));
    expect(y.shape).toEqual([5, 4]);
    expect(Math.min(...y.dataSync())).toBeGreaterThanOrEqual(0); // ReLU last by default
    tf.dispose(y);
    mlp.dispose();
  });

  it('initialises deterministically from the seed, within the nn.Linear bound', () => {
    const a = new MLP({ inFeatures: 8, layerSizes: [6, 3], seed: 42 });
    const b = new MLP({ inFeatures: 8, layerSizes: [6, 3], seed: 42 });
    const c = new MLP({ inFeatures: 8, layerSizes: [6, 3], seed: 43 });
    expect(paramValues(a)).toEqual(paramValues(b));
    expect(paramValues(a)[0][2]).not.toEqual(paramValues(c)[0][2]);
    const w0 = paramValues(a)[0][2];
    for (const x of w0) expect(Math.abs(x)).toBeLessThanOrEqual(1 / Math.sqrt(8));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('applies the configured last activation and ReLU between layers', () => {
    const mlp = new MLP({ inFeatures: 3, layerSizes: [4, 2], seed: 7, lastActivation: 'none' });
    const x = tf.tensor2d([[1, -2, 3]]);
    const [l0, l1] = mlp.layers;
    const manual = tf.tidy(() =>
      tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, l0.weight), l0.bias!)), l1.weight), l1.bias!),
    );
    const y = mlp.forward(x);
    expect(Array.from(y.dataSync())).toEqual(Array.from(manual.dataSync()));
    tf.dispose([x, y, manual]);
    mlp.dispose();
  });

  it('rejects bad sizes and inputs with a clear message', () => {
    expect(() => new MLP({ inFeatures: 3, layerSizes: [4, 0], seed: 1 })).toThrow(
      /layerSizes\[1\]/,
    );
    expect(() => new MLP({ inFeatures: 3, layerSizes: [], seed: 1 })).toThrow(/at least one layer/);
    const fc = new Linear({ inFeatures: 3, outFeatures: 2, seed: 1 });
    expect(() => fc.forward(tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(/\[batch, 3\].*2,4/);
    fc.dispose();
  });
});
