import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedJaggedTensor } from '../../src/tensors/index.ts';
import { kjtArb } from './arbitraries.ts';

const example = () =>
  new KeyedJaggedTensor({
    keys: ['f1', 'f2', 'f3'],
    values: Int32Array.from([1, 2, 3, 4, 5, 6]),
    lengths: Int32Array.from([2, 0, 1, 1, 0, 2]), // f1: [1,2],[] f2: [3],[4] f3: [],[5,6]
    weights: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
  });

/** A uniformly shuffled permutation of 0..n-1. */
const permutationArb = (n: number) =>
  fc
    .array(fc.nat(), { minLength: n, maxLength: n })
    .map((r) => Array.from({ length: n }, (_, i) => i).sort((a, b) => r[a] - r[b] || a - b));

describe('KeyedJaggedTensor per-key views', () => {
  it('reports length and offset per key', () => {
    const kjt = example();
    expect(kjt.stride).toBe(2);
    expect(kjt.lengthPerKey()).toEqual([2, 2, 2]);
    expect(kjt.offsetPerKey()).toEqual([0, 2, 4, 6]);
    expect(Array.from(kjt.offsets())).toEqual([0, 2, 2, 3, 4, 4, 6]);
  });

  it('gives values, lengths and weights of one key', () => {
    const kjt = example();
    expect(Array.from(kjt.valuesForKey('f3'))).toEqual([5, 6]);
    expect(Array.from(kjt.lengthsForKey('f2'))).toEqual([1, 1]);
    expect(Array.from(kjt.weightsForKey('f1')!)).toEqual([0.1, 0.2].map(Math.fround));
    expect(
      new KeyedJaggedTensor({
        keys: ['a'],
        values: new Int32Array(0),
        lengths: new Int32Array(1),
      }).weightsForKey('a'),
    ).toBeUndefined();
  });

  it('names the known keys when asked for an unknown one', () => {
    expect(() => example().valuesForKey('nope')).toThrow(
      'KeyedJaggedTensor has no key "nope" (keys: f1, f2, f3)',
    );
  });

  it('permute reorders and duplicates keys with their values and weights', () => {
    const p = example().permute([2, 0, 2]);
    expect(p.keys).toEqual(['f3', 'f1', 'f3']);
    expect(Array.from(p.lengths)).toEqual([0, 2, 2, 0, 0, 2]);
    expect(Array.from(p.values)).toEqual([5, 6, 1, 2, 5, 6]);
    expect(Array.from(p.weights!)).toEqual([0.5, 0.6, 0.1, 0.2, 0.5, 0.6].map(Math.fround));
  });

  it('rejects bad split sizes, permute indices, concat inputs and slice ranges with clear messages', () => {
    const kjt = example();
    expect(() => kjt.split([1, 1])).toThrow(
      'split sizes [1, 1] must be non-negative integers adding up to the 3 keys',
    );
    expect(() => kjt.permute([3])).toThrow('permute index 3 is out of range [0, 3)');
    expect(() => KeyedJaggedTensor.concat([kjt, kjt])).toThrow(
      'key "f1" appears in more than one tensor',
    );
    expect(() =>
      KeyedJaggedTensor.concat([kjt.split([1, 2])[0], kjt.sliceSamples(0, 1).split([1, 2])[1]]),
    ).toThrow('concat: tensor 1 has stride 1, tensor 0 has 2');
    expect(() => kjt.sliceSamples(1, 3)).toThrow(
      'sliceSamples(1, 3) is not a valid range of the 2 samples',
    );
    expect(() => KeyedJaggedTensor.concatSamples([kjt, kjt.permute([1, 0, 2])])).toThrow(
      'concatSamples: tensor 1 has keys [f2, f1, f3]',
    );
  });

  it('sliceSamples takes rows of every key', () => {
    const s = example().sliceSamples(1, 2);
    expect(s.stride).toBe(1);
    expect(Array.from(s.lengths)).toEqual([0, 1, 2]);
    expect(Array.from(s.values)).toEqual([4, 5, 6]);
  });

  it('clone owns its buffers; byteSize counts every buffer', () => {
    const kjt = example();
    const c = kjt.clone();
    expect(c.equals(kjt)).toBe(true);
    expect(c.values).not.toBe(kjt.values);
    expect(kjt.byteSize()).toBe(6 * 4 + 6 * 4 + 6 * 4);
  });

  it('fromJSON names the bad field', () => {
    expect(() =>
      KeyedJaggedTensor.fromJSON({ keys: ['a'], stride: 1, values: ['x'], lengths: [1] }),
    ).toThrow('"values" must be an array of numbers');
    expect(() => KeyedJaggedTensor.fromJSON(3)).toThrow('expected an object, got number');
  });
});

describe('KeyedJaggedTensor properties', () => {
  it('offsets are monotone, start at 0 and end at values.length; per-key offsets agree', () => {
    fc.assert(
      fc.property(kjtArb(), (kjt) => {
        const o = kjt.offsets();
        expect(o.length).toBe(kjt.lengths.length + 1);
        expect(o[0]).toBe(0);
        expect(o[o.length - 1]).toBe(kjt.values.length);
        for (let i = 0; i < kjt.lengths.length; i++) expect(o[i + 1] - o[i]).toBe(kjt.lengths[i]);
        const opk = kjt.offsetPerKey();
        expect(opk[opk.length - 1]).toBe(kjt.values.length);
        kjt.keys.forEach((key, k) => {
          expect(opk[k]).toBe(o[k * kjt.stride]);
          expect(kjt.valuesForKey(key).length).toBe(kjt.lengthPerKey()[k]);
        });
      }),
    );
  });

  it('split then concat round-trips', () => {
    const arb = kjtArb().chain((kjt) =>
      fc.array(fc.integer({ min: 0, max: kjt.keys.length }), { maxLength: 4 }).map((cuts) => {
        const sorted = [0, ...cuts.sort((a, b) => a - b), kjt.keys.length];
        return { kjt, sizes: sorted.slice(1).map((c, i) => c - sorted[i]) };
      }),
    );
    fc.assert(
      fc.property(arb, ({ kjt, sizes }) => {
        const parts = kjt.split(sizes);
        expect(parts.map((p) => p.keys.length)).toEqual(sizes);
        parts.forEach((p) => expect(p.stride).toBe(kjt.stride));
        expect(KeyedJaggedTensor.concat(parts).equals(kjt)).toBe(true);
      }),
    );
  });

  it('permute by a permutation then by its inverse round-trips', () => {
    const arb = kjtArb().chain((kjt) =>
      permutationArb(kjt.keys.length).map((perm) => ({ kjt, perm })),
    );
    fc.assert(
      fc.property(arb, ({ kjt, perm }) => {
        const inverse = new Array<number>(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        const permuted = kjt.permute(perm);
        permuted.keys.forEach((key, i) =>
          expect(Array.from(permuted.valuesForKey(key))).toEqual(
            Array.from(kjt.valuesForKey(kjt.keys[perm[i]])),
          ),
        );
        expect(permuted.permute(inverse).equals(kjt)).toBe(true);
      }),
    );
  });

  it('sliceSamples then concatSamples round-trips', () => {
    const arb = kjtArb({ minKeys: 1 }).chain((kjt) =>
      fc.array(fc.integer({ min: 0, max: kjt.stride }), { maxLength: 4 }).map((cuts) => ({
        kjt,
        bounds: [0, ...cuts.sort((a, b) => a - b), kjt.stride],
      })),
    );
    fc.assert(
      fc.property(arb, ({ kjt, bounds }) => {
        const parts = bounds.slice(1).map((end, i) => kjt.sliceSamples(bounds[i], end));
        expect(parts.reduce((s, p) => s + p.stride, 0)).toBe(kjt.stride);
        expect(KeyedJaggedTensor.concatSamples(parts).equals(kjt)).toBe(true);
      }),
    );
  });

  it('JSON round-trips and clone is equal', () => {
    fc.assert(
      fc.property(kjtArb(), (kjt) => {
        const back = KeyedJaggedTensor.fromJSON(JSON.parse(JSON.stringify(kjt)));
        expect(back.equals(kjt)).toBe(true);
        expect(kjt.clone().equals(kjt)).toBe(true);
      }),
    );
  });

  it('operations leave their input untouched', () => {
    fc.assert(
      fc.property(kjtArb({ minKeys: 1, minStride: 1 }), (kjt) => {
        const before = kjt.clone();
        kjt.split([kjt.keys.length]);
        kjt.permute([0, 0]);
        kjt.sliceSamples(0, 1);
        KeyedJaggedTensor.concatSamples([kjt, kjt]);
        expect(kjt.equals(before)).toBe(true);
      }),
    );
  });
});
