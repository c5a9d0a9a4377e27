import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reduceInRankOrder } from '../../../src/runtime/collectives/collective-math.ts';

/** The definition, written plainly: accumulate rank by rank in float32, then divide. */
function reference(datas: readonly Float32Array[], op: 'sum' | 'avg'): Float32Array {
  const acc = Float32Array.from(datas[0]);
  for (let r = 1; r < datas.length; r++) for (let k = 0; k < acc.length; k++) acc[k] += datas[r][k];
  if (op === 'avg') for (let k = 0; k < acc.length; k++) acc[k] /= datas.length;
  return acc;
}

/** Bit patterns, so -0 / NaN / rounding differences all show. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe('reduceInRankOrder (allReduce of every backend)', () => {
  it('is bitwise equal to rank-by-rank float32 accumulation for any world size, op and values', () => {
    const special = fc.constantFrom(
      0,
      -0,
      1e38,
      -1e38,
      Infinity,
      -Infinity,
      NaN,
      1e-45,
      0.1,
      1 / 3,
    );
    const rankInputs = fc.integer({ min: 0, max: 40 }).chain((length) =>
      fc.array(
        fc
          .array(fc.oneof(fc.float(), special), { minLength: length, maxLength: length })
          .map((xs) => Float32Array.from(xs)),
        { minLength: 1, maxLength: 5 },
      ),
    );
    fc.assert(
      fc.property(rankInputs, fc.constantFrom<'sum' | 'avg'>('sum', 'avg'), (datas, op) => {
        expect(bits(reduceInRankOrder(datas, op))).toEqual(bits(reference(datas, op)));
      }),
      { numRuns: 300 },
    );
  });

  it('into an output, even one of its inputs: the same bits, returned as that output', () => {
    const inputs = fc.integer({ min: 1, max: 30 }).chain((length) =>
      fc.array(
        fc
          .array(fc.float(), { minLength: length, maxLength: length })
          .map((xs) => Float32Array.from(xs)),
        { minLength: 1, maxLength: 4 },
      ),
    );
    fc.assert(
      fc.property(
        inputs,
        fc.nat(),
        fc.constantFrom<'sum' | 'avg'>('sum', 'avg'),
        (datas, pick, op) => {
          const want = bits(reference(datas, op));
          const fresh = new Float32Array(datas[0].length);
          expect(reduceInRankOrder(datas, op, fresh)).toBe(fresh);
          expect(bits(fresh)).toEqual(want);
          const aliased = datas[pick % datas.length];
          expect(reduceInRankOrder(datas, op, aliased)).toBe(aliased);
          expect(bits(aliased)).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
    expect(() => reduceInRankOrder([Float32Array.of(1, 2)], 'sum', new Float32Array(3))).toThrow(
      /output has 3 elements, the inputs 2/,
    );
  });

  it('does not modify its inputs', () => {
    const a = Float32Array.of(0.1, 0.2);
    const b = Float32Array.of(0.3, 0.4);
    reduceInRankOrder([a, b], 'avg');
    expect(Array.from(a)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    expect(Array.from(b)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });
});
