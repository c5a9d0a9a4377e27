/**
 * Held-out metrics: AUC by ranking equals the fraction of (positive, negative) pairs
 * ordered correctly (ties count ½); log-loss from logits matches the direct formula.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  logLossOfLogits as logLossFromLogits,
  rocAuc as aucByRanking,
} from '../../src/data/metrics.ts';

function pairwiseAuc(scores: number[], labels: number[]): number {
  let good = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((sn, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      good += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return good / pairs;
}

describe('aucByRanking', () => {
  it('examples', () => {
    expect(aucByRanking([0.1, 0.9], [0, 1])).toBe(1);
    expect(aucByRanking([0.9, 0.1], [0, 1])).toBe(0);
    expect(aucByRanking([0.2, 0.2, 0.7], [0, 1, 1])).toBe(0.75);
    expect(aucByRanking([1, 2], [1, 1])).toBeNaN();
  });

  it('equals the pairwise definition, ties included', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(fc.integer({ min: -3, max: 3 }), fc.boolean()), {
            minLength: 2,
            maxLength: 40,
          })
          .filter((xs) => xs.some((x) => x[1]) && xs.some((x) => !x[1])),
        (xs) => {
          const scores = xs.map((x) => x[0]);
          const labels = xs.map((x) => (x[1] ? 1 : 0));
          expect(aucByRanking(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
        },
      ),
    );
  });
});

describe('logLossFromLogits', () => {
  it('matches −[y log σ(z) + (1−y) log(1−σ(z))] and stays finite for large logits', () => {
    const z = [-3, -0.5, 0, 0.5, 3];
    const y = [0, 1, 1, 0, 1];
    const direct =
      z.reduce((s, zi, i) => {
        const p = 1 / (1 + Math.exp(-zi));
        return s - (y[i] * Math.log(p) + (1 - y[i]) * Math.log(1 - p));
      }, 0) / z.length;
    expect(logLossFromLogits(z, y)).toBeCloseTo(direct, 12);
    expect(logLossFromLogits([800], [0])).toBeCloseTo(800, 6);
    expect(logLossFromLogits([-800], [0])).toBeCloseTo(0, 12);
  });
});
