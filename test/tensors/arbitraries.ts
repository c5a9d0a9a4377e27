/** fast-check arbitraries for tensors tests. */
import fc from 'fast-check';
import { Batch, KeyedJaggedTensor } from '../../src/tensors/index.ts';

export interface KjtArbOptions {
  minKeys?: number;
  maxKeys?: number;
  minStride?: number;
  maxStride?: number;
  /** undefined: sometimes weighted; true/false: always/never. */
  weighted?: boolean;
  keyPrefix?: string;
}

/** A KeyedJaggedTensor with distinct keys `k0..`, jagged lengths 0..4, optional weights. */
export function kjtArb(opts: KjtArbOptions = {}): fc.Arbitrary<KeyedJaggedTensor> {
  const { minKeys = 0, maxKeys = 5, minStride = 0, maxStride = 6, keyPrefix = 'k' } = opts;
  return fc
    .record({
      nKeys: fc.integer({ min: minKeys, max: maxKeys }),
      stride: fc.integer({ min: minStride, max: maxStride }),
      weighted: opts.weighted === undefined ? fc.boolean() : fc.constant(opts.weighted),
    })
    .chain(({ nKeys, stride, weighted }) =>
      fc
        .array(fc.integer({ min: 0, max: 4 }), {
          minLength: nKeys * stride,
          maxLength: nKeys * stride,
        })
        .chain((lengths) => {
          const total = lengths.reduce((s, n) => s + n, 0);
          return fc
            .record({
              values: fc.array(fc.integer({ min: 0, max: 1_000_000 }), {
                minLength: total,
                maxLength: total,
              }),
              weights: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
                minLength: total,
                maxLength: total,
              }),
            })
            .map(
              ({ values, weights }) =>
                new KeyedJaggedTensor({
                  keys: Array.from({ length: nKeys }, (_, i) => `${keyPrefix}${i}`),
                  stride,
                  values: Int32Array.from(values),
                  lengths: Int32Array.from(lengths),
                  weights: weighted ? Float32Array.from(weights) : undefined,
                }),
            );
        }),
    );
}

/** A Batch with the given stride range and dense width 0..4. */
export function batchArb(opts: KjtArbOptions = {}): fc.Arbitrary<Batch> {
  return kjtArb({ minStride: 1, ...opts }).chain((sparse) =>
    fc.integer({ min: 0, max: 4 }).chain((denseDim) =>
      fc
        .record({
          dense: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
            minLength: sparse.stride * denseDim,
            maxLength: sparse.stride * denseDim,
          }),
          labels: fc.array(fc.constantFrom(0, 1), {
            minLength: sparse.stride,
            maxLength: sparse.stride,
          }),
        })
        .map(
          ({ dense, labels }) =>
            new Batch({
              dense: Float32Array.from(dense),
              denseDim,
              sparse,
              labels: Float32Array.from(labels),
              batchSize: sparse.stride,
            }),
        ),
    ),
  );
}
