import { describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { EmbeddingBagCollection } from '../../../src/modules/embedding/embedding-bag-collection.ts';
import { applyFeatureProcessors } from '../../../src/modules/feature-processors/feature-processor.ts';
import { PositionWeightedModule } from '../../../src/modules/feature-processors/position-weighted.ts';
import { KeyedJaggedTensor } from '../../../src/tensors/keyed-jagged-tensor.ts';
import { randomBatch, rng } from '../sharding/sim-cluster.ts';

const TABLES: EmbeddingBagConfig[] = [
  { name: 't', rows: 20, dim: 3, pooling: 'sum', features: ['f'] },
  { name: 'm', rows: 15, dim: 2, pooling: 'mean', features: ['g'] },
];

describe('PositionWeightedModule', () => {
  it('weights the i-th id of every bag by param[i], leaving other features alone', () => {
    const pw = new PositionWeightedModule({
      maxLength: 3,
      initial: Float32Array.from([1, 0.5, 0.25]),
    });
    const kjt = new KeyedJaggedTensor({
      keys: ['f', 'g'],
      lengths: Int32Array.from([3, 1, 2, 0]),
      values: Int32Array.from([1, 2, 3, 4, 5, 6]),
    });
    const out = applyFeatureProcessors(kjt, { f: pw });
    expect(Array.from(out.weights!)).toEqual([1, 0.5, 0.25, 1, 1, 1]);
    expect(out.values).toBe(kjt.values);
    expect(applyFeatureProcessors(kjt, {})).toBe(kjt);
  });

  it('names the feature and bag when a bag is longer than maxLength', () => {
    const kjt = new KeyedJaggedTensor({
      keys: ['f'],
      lengths: Int32Array.from([1, 3]),
      values: Int32Array.from([1, 2, 3, 4]),
    });
    expect(() =>
      applyFeatureProcessors(kjt, { f: new PositionWeightedModule({ maxLength: 2 }) }),
    ).toThrow(/feature 'f': bag 1 has 3 ids, more than maxLength 2/);
    expect(() =>
      applyFeatureProcessors(kjt, { nope: new PositionWeightedModule({ maxLength: 2 }) }),
    ).toThrow(/'nope': the batch has no such key/);
  });

  it('gets the numerical gradient of the loss w.r.t. its position weights (sum and mean tables) and trains by SGD', () => {
    const pf = new PositionWeightedModule({
      maxLength: 4,
      initial: Float32Array.from([1, 0.8, 1.2, 0.9]),
    });
    const pg = new PositionWeightedModule({ maxLength: 4 });
    const ebc = new EmbeddingBagCollection({
      tables: TABLES,
      seed: 3,
      optimizer: { kind: 'sgd', lr: 0.1 },
      featureProcessors: { f: pf, g: pg },
    });
    const next = rng(12);
    const kjt = randomBatch(next, TABLES, 6, 4, false);
    const G = Float32Array.from({ length: 6 * ebc.layout.totalWidth }, () => next() - 0.5);
    const loss = (): number => ebc.lookup(kjt).values.reduce((a, v, i) => a + v * G[i], 0);
    ebc.backward(kjt, G);
    for (const p of [pf, pg]) {
      const analytic = Array.from(p.grad);
      for (let i = 0; i < 4; i++) {
        const keep = p.param[i];
        const h = 1e-2;
        p.param[i] = keep + h;
        const up = loss();
        p.param[i] = keep - h;
        const down = loss();
        p.param[i] = keep;
        expect(Math.abs(analytic[i] - (up - down) / (2 * h))).toBeLessThan(
          1e-4 * (1 + Math.abs(analytic[i])),
        );
      }
    }
    const before = pf.param.slice();
    const grad = Array.from(pf.grad);
    ebc.step(2);
    for (let i = 0; i < 4; i++) expect(pf.param[i]).toBeCloseTo(before[i] - 0.1 * 2 * grad[i], 6);
    expect(Array.from(pf.grad)).toEqual([0, 0, 0, 0]);
  });
});
