import { describe, expect, it } from 'vitest';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { EmbeddingBagCollection } from '../../../src/modules/embedding/embedding-bag-collection.ts';
import { initTableSlice } from '../../../src/modules/embedding/init.ts';
import { KeyedJaggedTensor } from '../../../src/tensors/keyed-jagged-tensor.ts';
import { maxRelDiff, quadraticGrad, randomBatch, rng } from '../sharding/sim-cluster.ts';

const TABLES: EmbeddingBagConfig[] = [
  { name: 'u', rows: 40, dim: 3, pooling: 'sum', features: ['user'] },
  { name: 'i', rows: 60, dim: 2, pooling: 'mean', features: ['item', 'hist'] },
];

describe('EmbeddingBagCollection', () => {
  it('initialises deterministically: uniform ±sqrt(1/rows), same for the same seed, any block equal to the same slice', () => {
    const a = new EmbeddingBagCollection({ tables: TABLES, seed: 7 });
    const b = new EmbeddingBagCollection({ tables: TABLES, seed: 7 });
    const c = new EmbeddingBagCollection({ tables: TABLES, seed: 8 });
    expect(a.tableWeights('u')).toEqual(b.tableWeights('u'));
    expect(a.tableWeights('u')).not.toEqual(c.tableWeights('u'));
    const bound = Math.sqrt(1 / 40);
    for (const v of a.tableWeights('u')) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    const block = initTableSlice(TABLES[0], 7, { rowStart: 5, rowEnd: 9, colStart: 1, colEnd: 3 });
    for (let r = 5; r < 9; r++)
      for (let c2 = 1; c2 < 3; c2++)
        expect(block[(r - 5) * 2 + (c2 - 1)]).toBe(a.tableWeights('u')[r * 3 + c2]);
  });

  it('pools every feature in table order and checks its input', () => {
    const ebc = new EmbeddingBagCollection({ tables: TABLES, seed: 1 });
    const kjt = new KeyedJaggedTensor({
      keys: ['hist', 'item', 'user', 'extra'],
      lengths: Int32Array.from([2, 0, 1, 1, 1, 1, 0, 0]),
      values: Int32Array.from([3, 4, 5, 6, 7, 8]),
    });
    const out = ebc.lookup(kjt);
    expect(out.keys).toEqual(['user', 'item', 'hist']);
    expect(out.lengthPerKey).toEqual([3, 2, 2]);
    expect(out.batchSize).toBe(2);
    const u = ebc.tableWeights('u');
    const i = ebc.tableWeights('i');
    expect(Array.from(out.values.subarray(0, 3))).toEqual(Array.from(u.subarray(7 * 3, 8 * 3)));
    expect(out.values[5]).toBeCloseTo((i[3 * 2] + i[4 * 2]) / 2, 6); // hist of sample 0: mean of rows 3, 4
    expect(() =>
      ebc.lookup(
        new KeyedJaggedTensor({
          keys: ['user'],
          lengths: Int32Array.from([1]),
          values: Int32Array.from([0]),
        }),
      ),
    ).toThrow(/no key 'item'/);
    expect(() =>
      ebc.lookup(
        new KeyedJaggedTensor({
          keys: ['user', 'item', 'hist'],
          lengths: Int32Array.from([1, 0, 0]),
          values: Int32Array.from([40]),
        }),
      ),
    ).toThrow(/feature 'user' \(table 'u'\): id 40/);
  });

  it('backward only accumulates; step applies and clears; zeroGrad discards', () => {
    const ebc = new EmbeddingBagCollection({
      tables: TABLES,
      seed: 1,
      optimizer: { kind: 'sgd', lr: 1 },
    });
    const next = rng(3);
    const kjt = randomBatch(next, TABLES, 4, 3, false);
    const before = ebc.tableWeights('u').slice();
    const g = new Float32Array(4 * ebc.layout.totalWidth).fill(1);
    ebc.backward(kjt, g);
    expect(ebc.tableWeights('u')).toEqual(before);
    ebc.zeroGrad();
    ebc.step();
    expect(ebc.tableWeights('u')).toEqual(before);
    ebc.backward(kjt, g);
    expect(ebc.tableGrad('u').rows.length).toBeGreaterThan(0);
    ebc.step();
    expect(ebc.tableWeights('u')).not.toEqual(before);
    expect(ebc.tableGrad('u').rows.length).toBe(0);
    expect(() => ebc.backward(kjt, new Float32Array(3))).toThrow(
      /gradient has 3 values, expected batch 4 × width 7/,
    );
  });

  it('state dict round-trips weights and optimizer state', () => {
    const a = new EmbeddingBagCollection({
      tables: TABLES,
      seed: 1,
      optimizer: { kind: 'adagrad', lr: 0.1 },
    });
    const next = rng(5);
    const kjt = randomBatch(next, TABLES, 4, 3, false);
    a.backward(
      kjt,
      Float32Array.from({ length: 4 * 7 }, () => next() - 0.5),
    );
    a.step();
    const b = new EmbeddingBagCollection({
      tables: TABLES,
      seed: 2,
      optimizer: { kind: 'adagrad', lr: 0.1 },
    });
    b.loadStateDict(a.stateDict());
    expect(b.stateDict()).toEqual(a.stateDict());
    const s = a.paramsSummary();
    expect(s.u.shape).toEqual([40, 3]);
    expect(s.u.sum).toBeCloseTo(
      a.tableWeights('u').reduce((x, y) => x + y, 0),
      6,
    );
  });
});

describe('sparse gradient accumulation', () => {
  for (const optimizer of [
    { kind: 'sgd', lr: 0.5 },
    { kind: 'adagrad', lr: 0.05 },
  ] as const) {
    it(`${optimizer.kind}: A=4 micro-batches of 32 (loss × 1/4) train like one batch of 128`, () => {
      const big = new EmbeddingBagCollection({ tables: TABLES, seed: 11, optimizer });
      const micro = new EmbeddingBagCollection({ tables: TABLES, seed: 11, optimizer });
      const next = rng(21);
      const width = big.layout.totalWidth;
      for (let step = 0; step < 5; step++) {
        const batch = randomBatch(next, TABLES, 128, 4, true);
        const target = Float32Array.from({ length: 128 * width }, () => next() - 0.5);
        big.backward(batch, quadraticGrad(big.lookup(batch), target));
        big.step();
        micro.zeroGrad();
        for (let m = 0; m < 4; m++) {
          const mb = batch.sliceSamples(m * 32, (m + 1) * 32);
          micro.backward(
            mb,
            quadraticGrad(
              micro.lookup(mb),
              target.subarray(m * 32 * width, (m + 1) * 32 * width),
              1 / 4,
            ),
          );
        }
        micro.step();
      }
      for (const t of TABLES)
        expect(maxRelDiff(micro.tableWeights(t.name), big.tableWeights(t.name))).toBeLessThan(1e-5);
      expect(
        maxRelDiff(
          micro.tableWeights('i'),
          new EmbeddingBagCollection({ tables: TABLES, seed: 11 }).tableWeights('i'),
        ),
      ).toBeGreaterThan(1e-2);
    });
  }
});
