import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DLRM, DlrmBatch } from '../../src/modules/dlrm.ts';
import { Adagrad, SGD, type DenseOptimizer } from '../../src/optim/dense-optimizer.ts';
import { tensorFloatsCalls } from '../../src/modules/dense/tensor-floats.ts';
import {
  maxRelDiff,
  slice,
  snapshot,
  toyData,
  toyModel,
  type FixedSparseArch,
} from '../modules/dense/fixtures.ts';
import { useWasm } from '../modules/dense/use-wasm.ts';

type MakeOptimizer = (
  model: DLRM,
  allReduce?: (flat: Float32Array) => Promise<Float32Array>,
) => DenseOptimizer;

const optimizers: Array<[string, MakeOptimizer]> = [
  ['SGD', (m, allReduce) => new SGD(m, { lr: 0.3, allReduce })],
  ['Adagrad', (m, allReduce) => new Adagrad(m, { lr: 0.05, allReduce })],
];

/** One forward/backward on `batch` with loss × `lossScale`, accumulated into `opt`. */
function backward(
  model: DLRM,
  arch: FixedSparseArch,
  opt: DenseOptimizer,
  batch: DlrmBatch,
  pooled: tf.Tensor2D,
  lossScale = 1,
): void {
  arch.pooled = pooled;
  const { value, grads } = tf
    .engine()
    .gradients(() => tf.mul(model.forward(batch).losses, lossScale) as tf.Scalar, opt.variables);
  opt.accumulateOrdered(grads);
  tf.dispose([value, ...grads]);
}

/** A fake collective: `replicas` callers each pass a flat array; all get the element-wise mean. */
function fakeAllReduce(replicas: number): (flat: Float32Array) => Promise<Float32Array> {
  let pending: Array<{ flat: Float32Array; resolve: (r: Float32Array) => void }> = [];
  return (flat) =>
    new Promise((resolve) => {
      pending.push({ flat, resolve });
      if (pending.length < replicas) return;
      const mean = new Float32Array(flat.length);
      for (const p of pending) for (let i = 0; i < mean.length; i++) mean[i] += p.flat[i];
      for (let i = 0; i < mean.length; i++) mean[i] /= replicas;
      const done = pending;
      pending = [];
      for (const p of done) p.resolve(Float32Array.from(mean));
    });
}

describe('dense optimizers', () => {
  beforeAll(useWasm);

  for (const [label, make] of optimizers) {
    it(`${label}: A=4 micro-batches of 8 (loss × 1/4) then step == one batch of 32`, async () => {
      const data = toyData(32, 7);
      const one = toyModel(5);
      const acc = toyModel(5);
      const optOne = make(one.model);
      const optAcc = make(acc.model);
      for (let step = 0; step < 3; step++) {
        const full = slice(data, 0, 32);
        backward(one.model, one.arch, optOne, full.batch, full.pooled);
        full.pooled.dispose();
        await optOne.step();
        for (let a = 0; a < 4; a++) {
          const micro = slice(data, a * 8, 8);
          backward(acc.model, acc.arch, optAcc, micro.batch, micro.pooled, 1 / 4);
          micro.pooled.dispose();
        }
        await optAcc.step();
      }
      expect(maxRelDiff(snapshot(acc.model), snapshot(one.model))).toBeLessThanOrEqual(1e-5);
      expect(maxRelDiff(snapshot(acc.model), snapshot(toyModel(5).model))).toBeGreaterThan(1e-3); // it did train
      [optOne, optAcc].forEach((o) => o.dispose());
      [one, acc].forEach((m) => m.model.dispose());
    });

    it(`${label}: 2 data-parallel replicas with allReduce == 1 replica on the whole batch`, async () => {
      const data = toyData(16, 8);
      const single = toyModel(6);
      const r0 = toyModel(6);
      const r1 = toyModel(6);
      const allReduce = fakeAllReduce(2);
      const optSingle = make(single.model);
      const opt0 = make(r0.model, allReduce);
      const opt1 = make(r1.model, allReduce);
      for (let step = 0; step < 2; step++) {
        const full = slice(data, 0, 16);
        backward(single.model, single.arch, optSingle, full.batch, full.pooled);
        full.pooled.dispose();
        await optSingle.step();
        const h0 = slice(data, 0, 8);
        const h1 = slice(data, 8, 8);
        backward(r0.model, r0.arch, opt0, h0.batch, h0.pooled);
        backward(r1.model, r1.arch, opt1, h1.batch, h1.pooled);
        tf.dispose([h0.pooled, h1.pooled]);
        await Promise.all([opt0.step(), opt1.step()]);
      }
      expect(snapshot(r0.model)).toEqual(snapshot(r1.model));
      expect(maxRelDiff(snapshot(r0.model), snapshot(single.model))).toBeLessThanOrEqual(1e-5);
      [optSingle, opt0, opt1].forEach((o) => o.dispose());
      [single, r0, r1].forEach((m) => m.model.dispose());
    });

    it(`${label}: tf.memory().numTensors stays flat over 50 steps`, async () => {
      const { model, arch } = toyModel(2);
      const opt = make(model);
      const { batch, pooled } = slice(toyData(8, 1), 0, 8);
      const counts: number[] = [];
      for (let step = 0; step < 50; step++) {
        backward(model, arch, opt, batch, pooled, 0.5);
        backward(model, arch, opt, batch, pooled, 0.5);
        opt.hasNonFiniteGrads();
        await opt.step();
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts.slice(1)).size).toBe(1);
      expect(counts[49]).toBe(counts[0]);
      opt.dispose();
      model.dispose();
      pooled.dispose();
    });

    it(`${label}: exported state resumes to the same parameters as uninterrupted training`, async () => {
      const data = toyData(8, 3);
      const run = async (
        model: DLRM,
        arch: FixedSparseArch,
        opt: DenseOptimizer,
        steps: number,
      ) => {
        for (let i = 0; i < steps; i++) {
          const { batch, pooled } = slice(data, 0, 8);
          backward(model, arch, opt, batch, pooled);
          pooled.dispose();
          await opt.step();
        }
      };
      const straight = toyModel(4);
      const optStraight = make(straight.model);
      await run(straight.model, straight.arch, optStraight, 4);

      const first = toyModel(4);
      const optFirst = make(first.model);
      await run(first.model, first.arch, optFirst, 2);
      const { batch, pooled } = slice(data, 0, 8);
      backward(first.model, first.arch, optFirst, batch, pooled, 0.5); // half-accumulated step in the checkpoint
      const state = optFirst.exportState();
      const params = snapshot(first.model);

      const resumed = toyModel(99);
      for (const [name, v] of resumed.model.namedParameters())
        v.assign(tf.tensor(params.get(name)!, v.shape));
      const optResumed = make(resumed.model);
      optResumed.importState(state);
      expect(optResumed.stepCount).toBe(2);
      backward(resumed.model, resumed.arch, optResumed, batch, pooled, 0.5);
      pooled.dispose();
      await optResumed.step();
      await run(resumed.model, resumed.arch, optResumed, 1);
      expect(snapshot(resumed.model)).toEqual(snapshot(straight.model));
      [optStraight, optFirst, optResumed].forEach((o) => o.dispose());
      [straight, first, resumed].forEach((m) => m.model.dispose());
    });
  }

  it('all-reduces from one reused array, read without dataSync copies on wasm', async () => {
    const w = tf.variable(tf.zeros([2, 3]));
    const b = tf.variable(tf.zeros([4]));
    const seen: Float32Array[] = [];
    const opt = new SGD(
      [
        ['w', w],
        ['b', b],
      ],
      {
        lr: 0.5,
        allReduce: async (f) => {
          seen.push(f);
          return Float32Array.from(f, (v) => v * 2); // as if a second replica sent the same
        },
      },
    );
    for (const step of [1, 2]) {
      const before = tensorFloatsCalls.views;
      opt.accumulate({ w: tf.fill([2, 3], step), ...(step === 1 ? { b: tf.ones([4]) } : {}) });
      await opt.synchronize();
      if (tf.getBackend() === 'wasm')
        expect(tensorFloatsCalls.views - before).toBe(step === 1 ? 2 : 1);
      // what was sent: this step's gradients, zeros where a parameter has none
      expect(Array.from(seen[step - 1])).toEqual([
        ...new Array(6).fill(step),
        ...new Array(4).fill(step === 1 ? 1 : 0),
      ]);
      await opt.step();
    }
    expect(seen[1]).toBe(seen[0]);
    expect(Array.from(w.dataSync())).toEqual(new Array(6).fill(-3)); // −0.5·2·1 − 0.5·2·2
    expect(Array.from(b.dataSync())).toEqual(new Array(4).fill(-1));
    expect(opt.flattenGradients()).not.toBe(seen[0]);
    opt.dispose();
    tf.dispose([w, b]);
  });

  it('names unknown parameters, bad shapes, bad states and accumulate-after-synchronize', async () => {
    const w = tf.variable(tf.zeros([2, 3]));
    const opt = new SGD([['w', w]], { lr: 0.1, allReduce: async (f) => f });
    expect(() => opt.accumulate({ v: tf.zeros([2, 3]) })).toThrow(
      /no parameter named 'v' \(known: w\)/,
    );
    expect(() => opt.accumulate({ w: tf.zeros([3, 2]) })).toThrow(
      /gradient of 'w' has shape \[3,2\], parameter has \[2,3\]/,
    );
    opt.accumulate({ w: tf.ones([2, 3]) });
    await opt.synchronize();
    expect(() => opt.accumulate({ w: tf.ones([2, 3]) })).toThrow(/already all-reduced/);
    await opt.step();
    expect(Array.from(w.dataSync())).toEqual(new Array(6).fill(-0.1).map(Math.fround));
    expect(() => opt.importState({ ...opt.exportState(), kind: 'adagrad' })).toThrow(
      /'adagrad' optimizer, this is 'sgd'/,
    );
    const ada = new Adagrad([['w', w]], { lr: 0.1 });
    const state = ada.exportState();
    expect(() => ada.importState({ ...state, slots: { sum: { w: new Float32Array(5) } } })).toThrow(
      /slots.sum\['w'\] must be a Float32Array of 6 values, got 5/,
    );
    expect(
      () =>
        new SGD(
          [
            ['w', w],
            ['w', w],
          ],
          { lr: 1 },
        ),
    ).toThrow(/'w' appears twice/);
    ada.dispose();
    opt.dispose();
    w.dispose();
  });

  it('detects non-finite gradients; accumulate takes tf.variableGrads keys', () => {
    const w = tf.variable(tf.ones([3]));
    const opt = new SGD([['w', w]], { lr: 1 });
    expect(opt.hasNonFiniteGrads()).toBe(false);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(w, w)), [w]);
    opt.accumulate(grads);
    expect(opt.hasNonFiniteGrads()).toBe(false);
    const bad = tf.tensor1d([0, NaN, 0]);
    opt.accumulate({ w: bad });
    expect(opt.hasNonFiniteGrads()).toBe(true);
    opt.zeroGrad();
    expect(opt.hasGradients).toBe(false);
    tf.dispose([value, bad, ...Object.values(grads)]);
    opt.dispose();
    w.dispose();
  });
});
