import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DLRM } from '../../src/modules/dlrm.ts';
import { Batch } from '../../src/tensors/batch.ts';
import { bceWithLogits } from '../../src/modules/dense/loss.ts';
import { SGD } from '../../src/optim/dense-optimizer.ts';
import {
  DENSE_IN,
  DIM,
  FEATURES,
  FixedSparseArch,
  slice,
  snapshot,
  toyData,
  toyModel,
} from './dense/fixtures.ts';
import { useWasm } from './dense/use-wasm.ts';

describe('DLRM', () => {
  beforeAll(useWasm);

  it('forward gives a finite scalar loss and logits [B, 1], without leaking', () => {
    const data = toyData(6, 1);
    const { batch, pooled } = slice(data, 0, 6);
    const { model, arch } = toyModel(1, pooled);
    const before = tf.memory().numTensors;
    const { losses, output } = model.forward(batch);
    expect(losses.shape).toEqual([]);
    expect(Number.isFinite(losses.dataSync()[0])).toBe(true);
    expect(output.shape).toEqual([6, 1]);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([losses, output]);
    expect(arch.pooled.isDisposed).toBe(false);
    expect(model.top.inFeatures).toBe(DIM + ((FEATURES.length + 1) * FEATURES.length) / 2);
    expect(model.namedParameters().map(([n]) => n)).toEqual([
      'bottom.layers.0.weight',
      'bottom.layers.0.bias',
      'bottom.layers.1.weight',
      'bottom.layers.1.bias',
      'top.layers.0.weight',
      'top.layers.0.bias',
      'top.layers.1.weight',
      'top.layers.1.bias',
    ]);
    model.dispose();
    pooled.dispose();
  });

  it('accepts a real Batch', () => {
    const data = toyData(3, 5);
    const { batch: b, pooled } = slice(data, 0, 3);
    const batch = new Batch({
      dense: b.dense,
      denseDim: DENSE_IN,
      sparse: b.sparse,
      labels: b.labels,
    });
    const { model } = toyModel(1, pooled);
    const { losses, output } = model.forward(batch);
    expect(output.shape).toEqual([3, 1]);
    tf.dispose([losses, output, pooled]);
    model.dispose();
  });

  it('same seed gives the same parameters', () => {
    const a = toyModel(9).model;
    const b = toyModel(9).model;
    expect(snapshot(a)).toEqual(snapshot(b));
    a.dispose();
    b.dispose();
  });

  it('gives gradients for the dense parameters and the pooled-embedding leaf', () => {
    const { batch, pooled } = slice(toyData(4, 2), 0, 4);
    const { model } = toyModel(2, pooled);
    const vars = model.namedParameters().map(([, v]) => v);
    const { value, grads } = tf
      .engine()
      .gradients(() => model.forward(batch).losses as tf.Scalar, [...vars, pooled]);
    expect(grads).toHaveLength(vars.length + 1);
    expect(grads.at(-1)!.shape).toEqual([4, FEATURES.length * DIM]);
    for (const g of grads) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([value, ...grads, pooled]);
    model.dispose();
  });

  it('names wrong configurations and wrong sparse-arch output shapes', () => {
    const arch = new FixedSparseArch(tf.zeros([2, 5]) as tf.Tensor2D);
    const base = {
      denseIn: DENSE_IN,
      top: [4, 1],
      sparseArch: arch,
      featureNames: FEATURES,
      embeddingDim: DIM,
      seed: 0,
    };
    expect(() => new DLRM({ ...base, bottom: [8, 3] })).toThrow(
      /bottom MLP must end in embeddingDim \(4\)/,
    );
    expect(() => new DLRM({ ...base, bottom: [8, 4], top: [4, 2] })).toThrow(
      /top MLP must end in 1/,
    );
    const model = new DLRM({ ...base, bottom: [8, 4] });
    const { batch } = slice(toyData(2, 3), 0, 2);
    expect(() => model.forward(batch)).toThrow(/sparseArch returned \[2,5\], expected \[2, 12\]/);
    expect(() => model.forward({ ...batch, batchSize: 3 })).toThrow(
      /batch.dense has 10 values, expected batchSize 3/,
    );
    model.dispose();
    arch.pooled.dispose();
  });

  it('BCE with logits is stable and matches the textbook formula', () => {
    const logits = tf.tensor2d([[-3], [0], [2.5], [-200], [200]]);
    const labels = tf.tensor2d([[0], [1], [1], [1], [0]]);
    const got = bceWithLogits(logits, labels).dataSync()[0];
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const naive = [-Math.log(1 - sig(-3)), -Math.log(sig(0)), -Math.log(sig(2.5)), 200, 200];
    expect(got).toBeCloseTo(naive.reduce((a, b) => a + b) / 5, 4);
    tf.dispose([logits, labels]);
  });

  it('trains: 50 SGD steps on a separable toy set reduce the loss', async () => {
    const { batch, pooled } = slice(toyData(64, 4), 0, 64);
    const { model } = toyModel(4, pooled);
    const opt = new SGD(model, { lr: 0.5 });
    const lossAt = () => {
      const { losses, output } = model.forward(batch);
      const v = losses.dataSync()[0];
      tf.dispose([losses, output]);
      return v;
    };
    const first = lossAt();
    for (let step = 0; step < 50; step++) {
      const { value, grads } = tf.variableGrads(() => model.forward(batch).losses as tf.Scalar);
      opt.accumulate(grads);
      tf.dispose([value, ...Object.values(grads)]);
      await opt.step();
    }
    const last = lossAt();
    expect(last).toBeLessThan(first * 0.6);
    opt.dispose();
    model.dispose();
    pooled.dispose();
  });
});
