import { describe, expect, it } from 'vitest';
import { createFusedOptimizer } from '../../../src/modules/embedding/fused-optimizers.ts';
import { SparseGradAccumulator } from '../../../src/modules/embedding/sparse-grad-accumulator.ts';

function grads(width: number, rows: Record<number, number[]>): SparseGradAccumulator {
  const acc = new SparseGradAccumulator(width);
  for (const [r, g] of Object.entries(rows)) acc.addRow(Number(r), g, 0);
  return acc;
}

describe('fused SGD', () => {
  it('updates only touched rows: w -= lr · scale · g', () => {
    const opt = createFusedOptimizer({ kind: 'sgd', lr: 0.5 }, 3);
    const weights = Float32Array.from([1, 1, 2, 2, 3, 3]);
    opt.apply({ weights, nRows: 3, width: 2 }, grads(2, { 2: [1, -1], 0: [4, 0] }), {
      scale: 0.5,
      gradColStart: 0,
    });
    expect(Array.from(weights)).toEqual([0, 1, 2, 2, 2.75, 3.25]);
    expect(opt.needsFullRowGrad).toBe(false);
    expect(opt.exportState()).toEqual({ kind: 'sgd' });
  });

  it('rejects a bad lr and foreign state with a clear message', () => {
    expect(() => createFusedOptimizer({ kind: 'sgd', lr: -1 }, 1)).toThrow(
      /lr must be a finite number/,
    );
    expect(() =>
      createFusedOptimizer({ kind: 'sgd', lr: 1 }, 1).importState({
        kind: 'adagrad',
        momentum: new Float32Array(1),
      }),
    ).toThrow(/cannot import 'adagrad'/);
  });
});

describe('fused row-wise Adagrad (FBGEMM semantics)', () => {
  it('keeps one accumulator per row = Σ mean(g²) and divides by sqrt(acc) + eps', () => {
    const lr = 0.1;
    const eps = 1e-8;
    const opt = createFusedOptimizer({ kind: 'adagrad', lr, eps }, 2);
    const weights = Float32Array.from([0, 0, 1, 1]);
    opt.apply({ weights, nRows: 2, width: 2 }, grads(2, { 1: [3, 4] }), { gradColStart: 0 });
    const acc1 = (9 + 16) / 2;
    expect(weights[0]).toBe(0);
    expect(weights[2]).toBeCloseTo(1 - (lr * 3) / (Math.sqrt(acc1) + eps), 6);
    expect(weights[3]).toBeCloseTo(1 - (lr * 4) / (Math.sqrt(acc1) + eps), 6);
    opt.apply({ weights, nRows: 2, width: 2 }, grads(2, { 1: [1, 1] }), {
      gradColStart: 0,
      scale: 2,
    });
    const acc2 = acc1 + 4;
    expect(opt.exportState().momentum![1]).toBeCloseTo(acc2, 5);
    expect(weights[2]).toBeCloseTo(1 - (lr * 3) / Math.sqrt(acc1) - (lr * 2) / Math.sqrt(acc2), 5);
  });

  it('on a column block uses the whole row for the statistic and its own columns for the update', () => {
    const full = createFusedOptimizer({ kind: 'adagrad', lr: 1 }, 1);
    const wFull = Float32Array.from([1, 2, 3, 4]);
    full.apply({ weights: wFull, nRows: 1, width: 4 }, grads(4, { 0: [1, 2, 3, 4] }), {
      gradColStart: 0,
    });
    const right = createFusedOptimizer({ kind: 'adagrad', lr: 1 }, 1);
    const wRight = Float32Array.from([3, 4]);
    expect(right.needsFullRowGrad).toBe(true);
    right.apply({ weights: wRight, nRows: 1, width: 2 }, grads(4, { 0: [1, 2, 3, 4] }), {
      gradColStart: 2,
    });
    expect(Array.from(wRight)).toEqual(Array.from(wFull.subarray(2)));
    expect(right.exportState()).toEqual(full.exportState());
  });

  it('exports and imports its state (checkpoints)', () => {
    const a = createFusedOptimizer({ kind: 'adagrad', lr: 0.1, initialAccumulatorValue: 0.5 }, 3);
    expect(Array.from(a.exportState().momentum!)).toEqual([0.5, 0.5, 0.5]);
    const b = createFusedOptimizer({ kind: 'adagrad', lr: 0.1 }, 3);
    b.importState(a.exportState());
    expect(b.exportState()).toEqual(a.exportState());
    expect(() => b.importState({ kind: 'adagrad', momentum: new Float32Array(2) })).toThrow(
      /2 rows, expected 3/,
    );
  });
});
