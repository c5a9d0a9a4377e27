import { describe, expect, it } from 'vitest';
import { SyntheticClickLog, ZipfSampler } from '../../src/data/index.ts';
import { Batch, validateBatch } from '../../src/tensors/index.ts';

const features = [
  { key: 'C1', rows: 1000 },
  { key: 'C2', rows: 50 },
  { key: 'C3', rows: 100_000 },
];
// small calibration keeps the tests fast; the model is still fully deterministic
const options = { seed: 11, features, calibrationExamples: 1024 };
const log = new SyntheticClickLog(options);

function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from(scores, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  let pos = 0;
  idx.forEach((i, r) => {
    if (labels[i] === 1) {
      rankSum += r + 1;
      pos++;
    }
  });
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * (labels.length - pos));
}

describe('SyntheticClickLog determinism', () => {
  it('the same seed and options give the same examples; another seed does not', () => {
    const again = new SyntheticClickLog(options);
    expect(again.examples(100, 5)).toEqual(log.examples(100, 5));
    const other = new SyntheticClickLog({ ...options, seed: 12 });
    expect(other.examples(0, 5)).not.toEqual(log.examples(0, 5));
  });

  it('example n does not depend on what was generated before', () => {
    const direct = log.example(777);
    log.examples(0, 50);
    expect(log.example(777)).toEqual(direct);
  });

  it('batch size only groups the stream: 8 × 32 hold the same 256 examples as 2 × 128', () => {
    const small = [...log.batches(32, { count: 8 })];
    const large = [...log.batches(128, { count: 2 })];
    expect(Batch.concatSamples(small).equals(Batch.concatSamples(large))).toBe(true);
    // and batches equal packing the examples themselves
    expect(large[1].equals(log.batchOf(log.examples(128, 128)))).toBe(true);
  });

  it('start offsets the stream by examples, so a resumed run sees the continuation', () => {
    const [, second] = log.batches(64, { count: 2 });
    const [resumed] = log.batches(64, { start: 64, count: 1 });
    expect(resumed.equals(second)).toBe(true);
  });

  it('the held-out stream shares the planted model but not the examples', () => {
    const held = log.heldOut();
    expect(held.stream).toBe(1);
    const e = held.example(0);
    expect(e).not.toEqual(log.example(0));
    // probability recomputed from the features by the training log equals the held-out one
    const batch = held.batchOf(held.examples(0, 16));
    const p = log.plantedProbabilities(batch);
    held.examples(0, 16).forEach((ex, i) => expect(p[i]).toBeCloseTo(ex.probability, 12));
  });
});

describe('SyntheticClickLog content', () => {
  it('produces valid batches for its spec', () => {
    const spec = {
      denseDim: 13,
      keys: ['C1', 'C2', 'C3'],
      rowsPerKey: { C1: 1000, C2: 50, C3: 100_000 },
    };
    for (const b of log.batches(50, { count: 4 })) validateBatch(b, spec);
  });

  it('supports jagged bags, including empty ones', () => {
    const jagged = new SyntheticClickLog({ ...options, idsPerFeature: { min: 0, max: 3 } });
    const [b] = jagged.batches(200, { count: 1 });
    const lengths = Array.from(b.sparse.lengths);
    expect(Math.min(...lengths)).toBe(0);
    expect(Math.max(...lengths)).toBe(3);
    expect(b.sparse.values.length).toBe(lengths.reduce((s, n) => s + n, 0));
  });

  it('ids are skewed (Zipf): the most popular row of a table is far above uniform', () => {
    const ids = log.examples(0, 2000).flatMap((e) => Array.from(e.ids[0]));
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const top = Math.max(...counts.values());
    expect(top / ids.length).toBeGreaterThan(20 / 1000);
  });

  it('ZipfSampler covers its range and ranks map to distinct rows', () => {
    const z = new ZipfSampler(97, 1.1, 5);
    const rows = new Set(Array.from({ length: 97 }, (_, r) => z.rowOfRank(r)));
    expect(rows.size).toBe(97);
    for (const u of [0, 0.5, 0.999999]) expect(z.sample(u)).toBeGreaterThanOrEqual(0);
    expect(z.sample(0)).toBe(z.rowOfRank(0));
    expect(z.sample(0.9999999999)).toBeLessThan(97);
  });

  it('the planted model is informative but noisy: AUC ≈ 0.78, click rate ≈ 0.25', () => {
    const ex = log.heldOut().examples(0, 6000);
    const labels = ex.map((e) => e.label);
    const rate = labels.reduce((s, y) => s + y, 0) / labels.length;
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(0.3);
    const a = auc(
      ex.map((e) => e.probability),
      labels,
    );
    expect(a).toBeGreaterThan(0.73);
    expect(a).toBeLessThan(0.83);
  });

  it('the Bayes-optimal loss is below the loss of predicting the base rate (examples and batches agree)', () => {
    const held = log.heldOut();
    const ex = held.examples(0, 4000);
    const rate = ex.reduce((s, e) => s + e.label, 0) / ex.length;
    const baseRateLoss = -(rate * Math.log(rate) + (1 - rate) * Math.log(1 - rate));
    const bayes = log.bayesOptimalLogLoss(ex);
    expect(bayes).toBeLessThan(baseRateLoss - 0.05);
    expect(log.bayesOptimalLogLoss(held.batches(500, { count: 8 }))).toBeCloseTo(bayes, 9);
  });

  it('is learnable: a wide logistic model trained on 300 batches of 128 closes a good part of the gap', () => {
    // per-row weights + dense weights, plain SGD — a much weaker learner than a DLRM
    const K = log.features.length;
    const D = log.denseDim;
    const w = log.features.map((f) => new Float64Array(f.rows));
    const wd = new Float64Array(D);
    let bias = 0;
    const logit = (dense: ArrayLike<number>, at: number, bag: (k: number) => ArrayLike<number>) => {
      let z = bias;
      for (let j = 0; j < D; j++) z += wd[j] * dense[at + j];
      for (let k = 0; k < K; k++) {
        const ids = bag(k);
        for (let p = 0; p < ids.length; p++) z += w[k][ids[p]] / ids.length;
      }
      return z;
    };
    for (const b of log.batches(128, { count: 300 })) {
      const B = b.batchSize;
      const off = b.sparse.offsets();
      const bag = (i: number) => (k: number) =>
        b.sparse.values.subarray(off[k * B + i], off[k * B + i + 1]);
      for (let i = 0; i < B; i++) {
        const g = 1 / (1 + Math.exp(-logit(b.dense, i * D, bag(i)))) - b.labels[i];
        bias -= 0.005 * g;
        for (let j = 0; j < D; j++) wd[j] -= 0.005 * g * b.dense[i * D + j];
        for (let k = 0; k < K; k++) {
          const ids = bag(i)(k);
          for (let p = 0; p < ids.length; p++) w[k][ids[p]] -= (0.05 * g) / ids.length;
        }
      }
    }
    const test = log.heldOut().examples(0, 4000);
    let loss = 0;
    for (const e of test) {
      const q = 1 / (1 + Math.exp(-logit(e.dense, 0, (k) => e.ids[k])));
      loss -= e.label ? Math.log(q) : Math.log(1 - q);
    }
    loss /= test.length;
    const rate = test.reduce((s, e) => s + e.label, 0) / test.length;
    const baseRateLoss = -(rate * Math.log(rate) + (1 - rate) * Math.log(1 - rate));
    const bayes = log.bayesOptimalLogLoss(test);
    expect((baseRateLoss - loss) / (baseRateLoss - bayes)).toBeGreaterThan(0.3);
  });

  it('rejects bad options naming the option', () => {
    expect(() => new SyntheticClickLog({ seed: 1.5 })).toThrow(
      'seed must be a safe integer; got 1.5',
    );
    expect(() => new SyntheticClickLog({ seed: 1, features: [{ key: 'a', rows: 0 }] })).toThrow(
      'feature a must have an integer rows ≥ 1; got 0',
    );
    expect(() => new SyntheticClickLog({ seed: 1, idsPerFeature: { min: 3, max: 1 } })).toThrow(
      'idsPerFeature of C1 must be',
    );
    expect(
      () =>
        new SyntheticClickLog({ seed: 1, termShares: { dense: -1, firstOrder: 1, pairwise: 1 } }),
    ).toThrow('termShares must be finite numbers ≥ 0');
    expect(() => log.batches(0)).toThrow('batchSize must be an integer ≥ 1; got 0');
    expect(() => log.example(-1)).toThrow(
      'example index must be a non-negative safe integer; got -1',
    );
  });
});
