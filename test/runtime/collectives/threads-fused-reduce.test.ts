import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reduceInRankOrder } from '../../../src/runtime/collectives/collective-math.ts';
import { reduceInRankOrderFused } from '../../../src/runtime/collectives/threads/fused-reduce.ts';

/** Bit patterns, so -0 / NaN / rounding differences all show. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe('reduceInRankOrderFused (threads allReduce)', () => {
  it('is bitwise equal to collective-math reduceInRankOrder for any world size, op and values', () => {
    const special = fc.constantFrom(0, -0, 1e38, -1e38, Infinity, -Infinity, NaN, 1e-45, 0.1, 1 / 3);
    const rankInputs = fc
      .integer({ min: 0, max: 40 })
      .chain((length) =>
        fc.array(fc.array(fc.oneof(fc.float(), special), { minLength: length, maxLength: length }).map((xs) => Float32Array.from(xs)), { minLength: 1, maxLength: 5 }),
      );
    fc.assert(
      fc.property(rankInputs, fc.constantFrom<'sum' | 'avg'>('sum', 'avg'), (datas, op) => {
        expect(bits(reduceInRankOrderFused(datas, op))).toEqual(bits(reduceInRankOrder(datas, op)));
      }),
      { numRuns: 300 },
    );
  });

  it('does not modify its inputs', () => {
    const a = Float32Array.of(0.1, 0.2);
    const b = Float32Array.of(0.3, 0.4);
    reduceInRankOrderFused([a, b], 'avg');
    expect(Array.from(a)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(Array.from(b)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
