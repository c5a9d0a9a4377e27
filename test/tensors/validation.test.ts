import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Batch,
  InvalidBatchError,
  KeyedJaggedTensor,
  validateBatch,
  type BatchSpec,
} from '../../src/tensors/index.ts';

const spec: BatchSpec = {
  denseDim: 2,
  keys: ['f1', 'f2'],
  rowsPerKey: { f1: 10, f2: 5 },
  maxBatchSize: 8,
};

interface Parts {
  batchSize?: unknown;
  denseDim?: unknown;
  dense?: unknown;
  labels?: unknown;
  keys?: unknown;
  values?: unknown;
  lengths?: unknown;
  weights?: unknown;
  stride?: unknown;
}

/** A valid 3-sample batch as plain data; `over` replaces fields (to make it malformed). */
function batchData(over: Parts = {}): Record<string, unknown> {
  const base: Parts = {
    batchSize: 3,
    denseDim: 2,
    dense: Float32Array.from([0, 1, 2, 3, 4, 5]),
    labels: Float32Array.from([0, 1, 0.5]),
    keys: ['f1', 'f2'],
    // f1: [1,2] [] [9] ; f2: [0] [4] [3,3]
    lengths: Int32Array.from([2, 0, 1, 1, 1, 2]),
    values: Int32Array.from([1, 2, 9, 0, 4, 3, 3]),
    weights: Float32Array.from([1, 1, 1, 1, 1, 1, 1]),
    stride: 3,
  };
  const p = { ...base, ...over };
  return {
    batchSize: p.batchSize,
    denseDim: p.denseDim,
    dense: p.dense,
    labels: p.labels,
    sparse: {
      keys: p.keys,
      values: p.values,
      lengths: p.lengths,
      weights: p.weights,
      stride: p.stride,
    },
  };
}

function errorOf(batch: unknown, index?: number): InvalidBatchError {
  try {
    validateBatch(batch, spec, index);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidBatchError);
    return e as InvalidBatchError;
  }
  throw new Error('expected validateBatch to throw');
}

describe('validateBatch accepts valid batches', () => {
  it('accepts plain data and Batch instances', () => {
    expect(() => validateBatch(batchData(), spec, 0)).not.toThrow();
    expect(() => validateBatch(batchData({ weights: undefined }), spec)).not.toThrow();
    expect(() => validateBatch(Batch.from(batchData() as never), spec)).not.toThrow();
  });

  it('accepts random valid batches and never modifies them', () => {
    const arb = fc.integer({ min: 1, max: 8 }).chain((B) =>
      fc
        .array(fc.integer({ min: 0, max: 3 }), { minLength: 2 * B, maxLength: 2 * B })
        .chain((lengths) => {
          const n1 = lengths.slice(0, B).reduce((s, x) => s + x, 0);
          const n2 = lengths.slice(B).reduce((s, x) => s + x, 0);
          return fc
            .record({
              v1: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n1, maxLength: n1 }),
              v2: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n2, maxLength: n2 }),
              dense: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
                minLength: 2 * B,
                maxLength: 2 * B,
              }),
              labels: fc.array(fc.float({ min: 0, max: 1, noNaN: true }), {
                minLength: B,
                maxLength: B,
              }),
            })
            .map(
              ({ v1, v2, dense, labels }) =>
                new Batch({
                  dense: Float32Array.from(dense),
                  denseDim: 2,
                  labels: Float32Array.from(labels),
                  sparse: new KeyedJaggedTensor({
                    keys: ['f1', 'f2'],
                    lengths: Int32Array.from(lengths),
                    values: Int32Array.from([...v1, ...v2]),
                  }),
                }),
            );
        }),
    );
    fc.assert(
      fc.property(arb, (batch) => {
        const before = batch.clone();
        validateBatch(batch, spec, 1);
        expect(batch.equals(before)).toBe(true);
        // validation does not fill the tensor's caches either
        expect(
          (batch.sparse as unknown as { offsetsCache?: unknown }).offsetsCache,
        ).toBeUndefined();
      }),
    );
  });
});

describe('validateBatch rejects malformed batches naming field and reason', () => {
  const cases: Array<{ name: string; batch: unknown; field: string; message: string }> = [
    {
      name: 'not an object',
      batch: 42,
      field: 'batch',
      message:
        'batch 3: batch: expected a Batch object with dense, denseDim, sparse, labels and batchSize; got 42',
    },
    {
      name: 'batch size 0',
      batch: batchData({ batchSize: 0 }),
      field: 'batchSize',
      message: 'batch 3: batchSize: must be an integer ≥ 1; got 0',
    },
    {
      name: 'fractional batch size',
      batch: batchData({ batchSize: 2.5 }),
      field: 'batchSize',
      message: 'batch 3: batchSize: must be an integer ≥ 1; got 2.5',
    },
    {
      name: 'batch too large',
      batch: batchData({ batchSize: 9 }),
      field: 'batchSize',
      message: 'batch 3: batchSize: 9 exceeds the maximum batch size 8',
    },
    {
      name: 'wrong dense width',
      batch: batchData({ denseDim: 3 }),
      field: 'denseDim',
      message: 'batch 3: denseDim: expected 2 dense features; got 3',
    },
    {
      name: 'dense is a plain array',
      batch: batchData({ dense: [0, 1, 2, 3, 4, 5] }),
      field: 'dense',
      message: 'batch 3: dense: expected a Float32Array; got Array(6)',
    },
    {
      name: 'dense too short',
      batch: batchData({ dense: new Float32Array(5) }),
      field: 'dense',
      message: 'batch 3: dense: length 5 does not match batchSize × denseDim = 3 × 2 = 6',
    },
    {
      name: 'NaN in dense',
      batch: batchData({ dense: Float32Array.from([0, 1, 2, NaN, 4, 5]) }),
      field: 'dense[1][1]',
      message: 'batch 3: dense[1][1]: value NaN is not finite (row 1, column 1)',
    },
    {
      name: 'labels wrong length',
      batch: batchData({ labels: new Float32Array(2) }),
      field: 'labels',
      message: 'batch 3: labels: length 2 does not match batchSize 3',
    },
    {
      name: 'label out of range',
      batch: batchData({ labels: Float32Array.from([0, 2, 1]) }),
      field: 'labels[1]',
      message: 'batch 3: labels[1]: label 2 is outside [0, 1]',
    },
    {
      name: 'infinite label',
      batch: batchData({ labels: Float32Array.from([0, 1, Infinity]) }),
      field: 'labels[2]',
      message: 'batch 3: labels[2]: label Infinity is not finite',
    },
    {
      name: 'missing sparse',
      batch: { ...batchData(), sparse: undefined },
      field: 'sparse',
      message: 'batch 3: sparse: expected a KeyedJaggedTensor; got undefined',
    },
    {
      name: 'missing and unexpected keys',
      batch: batchData({ keys: ['f1', 'x'] }),
      field: 'sparse.keys',
      message:
        'batch 3: sparse.keys: features do not match the configured ones: missing f2; unexpected x (configured: f1, f2)',
    },
    {
      name: 'keys in wrong order',
      batch: batchData({ keys: ['f2', 'f1'] }),
      field: 'sparse.keys',
      message: 'batch 3: sparse.keys: features are in the wrong order: got f2, f1, expected f1, f2',
    },
    {
      name: 'lengths as float',
      batch: batchData({ lengths: Float32Array.from([2, 0, 1, 1, 1, 2]) }),
      field: 'sparse.lengths',
      message: 'batch 3: sparse.lengths: expected an Int32Array; got Float32Array(6)',
    },
    {
      name: 'stride differs from batch size',
      batch: batchData({ stride: 2 }),
      field: 'sparse.stride',
      message: 'batch 3: sparse.stride: stride 2 does not equal batchSize 3',
    },
    {
      name: 'lengths wrong size',
      batch: batchData({ lengths: Int32Array.from([2, 0, 1, 1, 1]), stride: undefined }),
      field: 'sparse.lengths',
      message: 'batch 3: sparse.lengths: length 5 does not match keys × batchSize = 2 × 3 = 6',
    },
    {
      name: 'negative length',
      batch: batchData({ lengths: Int32Array.from([2, 0, 1, 1, 1, -1]) }),
      field: 'sparse.lengths[f2][2]',
      message: 'batch 3: sparse.lengths[f2][2]: length -1 is negative',
    },
    {
      name: 'lengths do not sum to values',
      batch: batchData({ lengths: Int32Array.from([2, 0, 1, 1, 1, 1]) }),
      field: 'sparse.values',
      message: 'batch 3: sparse.values: has 7 ids but the lengths add up to 6',
    },
    {
      name: 'values as a plain array',
      batch: batchData({ values: [1, 2, 9, 0, 4, 3, 3] }),
      field: 'sparse.values',
      message: 'batch 3: sparse.values: expected an Int32Array; got Array(7)',
    },
    {
      name: 'weights misaligned',
      batch: batchData({ weights: new Float32Array(6) }),
      field: 'sparse.weights',
      message: 'batch 3: sparse.weights: has 6 weights but there are 7 ids',
    },
    {
      name: 'id out of table range',
      batch: batchData({ values: Int32Array.from([1, 2, 9, 0, 4, 3, 5]) }),
      field: 'sparse.values[f2][2][1]',
      message:
        'batch 3: sparse.values[f2][2][1]: id 5 is out of range [0, 5) of feature f2 (sample 2, position 1)',
    },
    {
      name: 'negative id',
      batch: batchData({ values: Int32Array.from([1, -2, 9, 0, 4, 3, 3]) }),
      field: 'sparse.values[f1][0][1]',
      message:
        'batch 3: sparse.values[f1][0][1]: id -2 is out of range [0, 10) of feature f1 (sample 0, position 1)',
    },
    {
      name: 'NaN weight',
      batch: batchData({ weights: Float32Array.from([1, 1, 1, 1, NaN, 1, 1]) }),
      field: 'sparse.weights[f2][1][0]',
      message: 'batch 3: sparse.weights[f2][1][0]: weight NaN is not finite',
    },
  ];

  it.each(cases)('$name → $field', ({ batch, field, message }) => {
    const e = errorOf(batch, 3);
    expect(e.field).toBe(field);
    expect(e.batchIndex).toBe(3);
    expect(e.message).toBe(message);
    expect(e.name).toBe('InvalidBatchError');
  });

  it('omits the index when none is given', () => {
    expect(errorOf(batchData({ batchSize: -1 })).message).toBe(
      'batch: batchSize: must be an integer ≥ 1; got -1',
    );
  });

  it('reports a broken spec as a TypeError', () => {
    expect(() => validateBatch(batchData(), { ...spec, rowsPerKey: { f1: 10 } })).toThrow(
      new TypeError('BatchSpec.rowsPerKey["f2"] must be an integer ≥ 1; got undefined'),
    );
  });
});
