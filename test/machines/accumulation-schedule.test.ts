/**
 * The gradient-accumulation schedules of docs/design.md "The seed pipeline and what sparsepipe fixes", checked table by table for A = 1..5,
 * call by call for the raw guards, and as a property for the exact schedule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GRAD_ACCUM_SCHEDULES,
  lossScaleFor,
  microBatchesPerStep,
  shouldResetOptimizer,
  shouldStepOptimizer,
  stepScaleFor,
} from '../../machines/accumulation-schedule.ts';

const CALLS = 12;
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);
const callsWhere = (pred: (c: number) => boolean): number[] => range(0, CALLS).filter(pred);

describe("seed schedule 'torchrec-0.3.2' (defective, reproduced on purpose)", () => {
  const seedTables: Record<number, number[][]> = {
    1: range(1, CALLS).map((c) => [c]), // batch 0 never stepped
    2: [
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 9],
      [10, 11],
    ],
    3: [
      [1, 2],
      [4, 5],
      [7, 8],
      [10, 11],
    ],
    4: [
      [2, 3],
      [6, 7],
      [10, 11],
    ],
    5: [
      [3, 4],
      [8, 9],
    ],
  };

  for (const [a, expected] of Object.entries(seedTables)) {
    const A = Number(a);
    it(`A=${A}: micro-batches reaching each step over calls 0..11`, () => {
      expect(microBatchesPerStep('torchrec-0.3.2', A, CALLS)).toEqual(expected);
    });
  }

  it('A=1 never steps batch 0; A=3 and A=4 discard the batches the seed resets away', () => {
    const stepped = (A: number) => new Set(microBatchesPerStep('torchrec-0.3.2', A, CALLS).flat());
    expect(stepped(1).has(0)).toBe(false);
    expect(callsWhere((c) => !stepped(3).has(c))).toEqual([0, 3, 6, 9]);
    expect(callsWhere((c) => !stepped(4).has(c))).toEqual([0, 1, 4, 5, 8, 9]);
  });

  for (const A of [1, 2, 3, 4, 5]) {
    it(`A=${A}: raw guards per call follow 'calls>0 && (calls+2)%A==0' / 'calls>0 && (calls+1)%A==0'`, () => {
      const resets = callsWhere((c) => shouldResetOptimizer('torchrec-0.3.2', c, A));
      const steps = callsWhere((c) => shouldStepOptimizer('torchrec-0.3.2', c, A, false));
      expect(resets).toEqual(callsWhere((c) => c > 0 && (c + 2) % A === 0));
      expect(steps).toEqual(callsWhere((c) => c > 0 && (c + 1) % A === 0));
      // The seed has no flush: the last call steps only when the formula says so.
      expect(shouldStepOptimizer('torchrec-0.3.2', CALLS - 1, A, true)).toBe(
        shouldStepOptimizer('torchrec-0.3.2', CALLS - 1, A, false),
      );
    });
  }

  it('the seed step scale is always 1 (each step holds 2 micro-batches scaled by 1/A)', () => {
    for (const A of [1, 2, 3, 4, 5]) {
      for (const m of [1, 2, A]) expect(stepScaleFor('torchrec-0.3.2', A, m)).toBe(1);
    }
  });
});

describe('exact schedule (default)', () => {
  const exactTables: Record<number, number[][]> = {
    1: range(0, CALLS).map((c) => [c]),
    2: [
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 9],
      [10, 11],
    ],
    3: [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10, 11],
    ],
    4: [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ],
    5: [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [10, 11],
    ], // final partial window flushed
  };

  for (const [a, expected] of Object.entries(exactTables)) {
    const A = Number(a);
    it(`A=${A}: windows of A over calls 0..11, every call in exactly one step`, () => {
      expect(microBatchesPerStep('exact', A, CALLS)).toEqual(expected);
    });
  }

  for (const A of [1, 2, 3, 4, 5]) {
    it(`A=${A}: raw guards per call: reset at calls%A==0, step at calls%A==A-1 or on the last call`, () => {
      expect(callsWhere((c) => shouldResetOptimizer('exact', c, A))).toEqual(
        callsWhere((c) => c % A === 0),
      );
      expect(callsWhere((c) => shouldStepOptimizer('exact', c, A, false))).toEqual(
        callsWhere((c) => c % A === A - 1),
      );
      for (const c of range(0, CALLS)) expect(shouldStepOptimizer('exact', c, A, true)).toBe(true);
    });

    it(`A=${A}: loss scale 1/A, step scale A/m for a window of m micro-batches`, () => {
      expect(lossScaleFor(A)).toBe(1 / A);
      for (let m = 1; m <= A; m++) expect(stepScaleFor('exact', A, m)).toBe(A / m);
      expect(stepScaleFor('exact', A, A)).toBe(1);
    });
  }

  it('partial flush: 7 calls with A=3 end in a window of 1 rescaled by 3', () => {
    const steps = microBatchesPerStep('exact', 3, 7);
    expect(steps).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(stepScaleFor('exact', 3, steps[2].length)).toBe(3);
  });

  it('property: every micro-batch reaches exactly one step, windows are consecutive runs of A', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 200 }), (A, N) => {
        const steps = microBatchesPerStep('exact', A, N);
        const flat = steps.flat();
        if (flat.length !== N || flat.some((c, i) => c !== i)) return false;
        return steps.every((window, i) => {
          const expectedLength = i === steps.length - 1 ? N - A * (steps.length - 1) : A;
          // Loss 1/A per micro-batch, step scale A/m: each step averages its own micro-batches.
          const weight = lossScaleFor(A) * stepScaleFor('exact', A, window.length) * window.length;
          return (
            window.length === expectedLength && window[0] === i * A && Math.abs(weight - 1) < 1e-12
          );
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('invalid gradAccum', () => {
  const bad = [0, 1.5, -1, Number.NaN];
  for (const A of bad) {
    it(`A=${A} throws a RangeError naming gradAccum and the value`, () => {
      const calls: Array<() => unknown> = [
        () => shouldResetOptimizer('exact', 0, A),
        () => shouldStepOptimizer('exact', 0, A, false),
        () => lossScaleFor(A),
        () => microBatchesPerStep('exact', A, 4),
      ];
      for (const schedule of GRAD_ACCUM_SCHEDULES) {
        calls.push(
          () => shouldResetOptimizer(schedule, 3, A),
          () => stepScaleFor(schedule, A, 1),
        );
      }
      for (const call of calls) {
        expect(call).toThrow(RangeError);
        expect(call).toThrow(/gradAccum/);
        expect(call).toThrow(String(A));
      }
    });
  }
});
