/**
 * `validateBatch` answers a valid batch from one tight pass and sends everything else to
 * the field-by-field checks (`validateExactly`). These tests prove the two agree: on random
 * batches, valid and broken in every field the checks know, `validateBatch` passes exactly
 * when `validateExactly` does and throws the same error text; the counters prove which
 * path ran.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  validateBatch,
  validateExactly,
  validationCounters,
  type BatchSpec,
} from '../../src/tensors/index.ts';

type Outcome = { ok: true } | { ok: false; name: string; message: string };

function outcome(check: () => void): Outcome {
  try {
    check();
    return { ok: true };
  } catch (e) {
    const err = e as Error;
    return { ok: false, name: err.name, message: err.message };
  }
}

interface Draft {
  spec: BatchSpec;
  batch: Record<string, unknown>;
}

/** A valid batch for a random spec (2–4 keys, rows 1–6, dense width 0–3, 1–5 samples). */
const draftArb: fc.Arbitrary<Draft> = fc
  .record({
    keys: fc.integer({ min: 1, max: 4 }),
    B: fc.integer({ min: 1, max: 5 }),
    D: fc.integer({ min: 0, max: 3 }),
    weighted: fc.boolean(),
    rows: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 4, maxLength: 4 }),
  })
  .chain(({ keys, B, D, weighted, rows }) => {
    const names = Array.from({ length: keys }, (_, k) => `f${k}`);
    return fc
      .record({
        lengths: fc.array(fc.integer({ min: 0, max: 3 }), {
          minLength: keys * B,
          maxLength: keys * B,
        }),
        dense: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), {
          minLength: B * D,
          maxLength: B * D,
        }),
        labels: fc.array(fc.constantFrom(0, 1, 0.5, -0), { minLength: B, maxLength: B }),
        seed: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
      })
      .map(({ lengths, dense, labels, seed }): Draft => {
        const values: number[] = [];
        lengths.forEach((n, i) => {
          const k = Math.floor(i / B);
          for (let p = 0; p < n; p++) values.push(seed[values.length % 64] % rows[k]);
        });
        return {
          spec: {
            denseDim: D,
            keys: names,
            rowsPerKey: Object.fromEntries(names.map((n, k) => [n, rows[k]])),
            maxBatchSize: 6,
          },
          batch: {
            batchSize: B,
            denseDim: D,
            dense: Float32Array.from(dense),
            labels: Float32Array.from(labels),
            sparse: {
              keys: [...names],
              stride: B,
              lengths: Int32Array.from(lengths),
              values: Int32Array.from(values),
              weights: weighted ? Float32Array.from(values, (v) => v / 2) : undefined,
            },
          },
        };
      });
  });

const odd = [NaN, Infinity, -Infinity, -1, 1.5, 2, 7, 1e9, -0];

/** One way to break (or nearly break) a draft; `at` picks the position. */
type Mutation = (d: Draft, at: number, x: number) => void;
const sparseOf = (d: Draft) => d.batch.sparse as Record<string, unknown>;
const setIn = (a: unknown, at: number, x: number) => {
  const arr = a as Float32Array | Int32Array | undefined;
  if (arr && arr.length > 0) arr[at % arr.length] = x;
};
const MUTATIONS: Record<string, Mutation> = {
  none: () => undefined,
  dense: (d, at, x) => setIn(d.batch.dense, at, x),
  label: (d, at, x) => setIn(d.batch.labels, at, x),
  length: (d, at, x) => setIn(sparseOf(d).lengths, at, x),
  /** A negative length whose ids moved to another sample: the total still matches. */
  lengthNegativeBalanced: (d, at) => {
    const len = sparseOf(d).lengths as Int32Array;
    const i = at % len.length;
    const j = (i + 1) % len.length;
    if (i === j) return;
    len[j] += len[i] + 1;
    len[i] = -1;
  },
  id: (d, at, x) => setIn(sparseOf(d).values, at, x),
  weight: (d, at, x) => setIn(sparseOf(d).weights, at, x),
  batchSize: (d, _at, x) => (d.batch.batchSize = x),
  denseDim: (d, _at, x) => (d.batch.denseDim = x),
  stride: (d, _at, x) => (sparseOf(d).stride = x),
  strideUnset: (d) => (sparseOf(d).stride = undefined),
  denseType: (d) => (d.batch.dense = Array.from(d.batch.dense as Float32Array)),
  labelsShort: (d) => (d.batch.labels = (d.batch.labels as Float32Array).subarray(1)),
  valuesExtra: (d, _at, x) => {
    const s = sparseOf(d);
    s.values = Int32Array.from([...(s.values as Int32Array), x]);
  },
  valuesType: (d) => (sparseOf(d).values = Float32Array.from(sparseOf(d).values as Int32Array)),
  weightsShort: (d) => {
    const w = sparseOf(d).weights as Float32Array | undefined;
    if (w) sparseOf(d).weights = w.subarray(1);
  },
  keysSwapped: (d) => (sparseOf(d).keys = [...(sparseOf(d).keys as string[])].reverse()),
  keyMissing: (d) => (sparseOf(d).keys = (sparseOf(d).keys as string[]).slice(1)),
  keyDuplicated: (d) => {
    const keys = sparseOf(d).keys as string[];
    keys[keys.length - 1] = keys[0];
  },
  specDuplicateKeys: (d) => {
    d.spec = { ...d.spec, keys: d.spec.keys.map(() => d.spec.keys[0]) };
  },
  sparseMissing: (d) => (d.batch.sparse = null),
  notAnObject: (d) => (d.batch = [d.batch] as unknown as Record<string, unknown>),
  rowsZero: (d) => {
    d.spec = { ...d.spec, rowsPerKey: { ...d.spec.rowsPerKey, f0: 0 } };
  },
};

describe('validateBatch: fast pass agrees with the exact checks', () => {
  it('passes and throws exactly as validateExactly, with the same text, on random batches', () => {
    fc.assert(
      fc.property(
        draftArb,
        fc.constantFrom(...Object.keys(MUTATIONS)),
        fc.nat(),
        fc.constantFrom(...odd),
        fc.option(fc.nat({ max: 99 }), { nil: undefined }),
        (draft, mutation, at, x, index) => {
          MUTATIONS[mutation](draft, at, x);
          const exact = outcome(() => validateExactly(draft.batch, draft.spec, index));
          const fast = outcome(() => validateBatch(draft.batch, draft.spec, index));
          expect(fast).toEqual(exact);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('takes the fast pass for a valid batch and the exact checks for a broken one', () => {
    const [draft] = fc.sample(draftArb, { numRuns: 1, seed: 7 });
    const before = { ...validationCounters };
    validateBatch(draft.batch, draft.spec, 0);
    expect(validationCounters.fast).toBe(before.fast + 1);
    expect(validationCounters.exact).toBe(before.exact);

    (draft.batch.labels as Float32Array)[0] = 2;
    expect(() => validateBatch(draft.batch, draft.spec, 4)).toThrow(
      'batch 4: labels[0]: label 2 is outside [0, 1]',
    );
    expect(validationCounters.exact).toBe(before.exact + 1);
  });

  it('agrees at the int32 edges of ids and table sizes', () => {
    const batchWith = (ids: number[]) => ({
      batchSize: 1,
      denseDim: 0,
      dense: new Float32Array(0),
      labels: new Float32Array(1),
      sparse: { keys: ['a'], lengths: Int32Array.of(ids.length), values: Int32Array.from(ids) },
    });
    const max = 0x7fffffff;
    for (const rows of [1, 2, max - 1, max, max + 1, 2 ** 40]) {
      for (const ids of [[0], [max], [max - 1], [-1], [-max - 1], [rows - 1, 0], [0, rows]]) {
        const spec: BatchSpec = { denseDim: 0, keys: ['a'], rowsPerKey: { a: rows } };
        const b = batchWith(ids);
        expect(outcome(() => validateBatch(b, spec, 2))).toEqual(
          outcome(() => validateExactly(b, spec, 2)),
        );
      }
    }
  });

  it('finds a bad value in the last position of a large batch (no early exit hides it)', () => {
    const B = 512;
    const spec: BatchSpec = { denseDim: 13, keys: ['a', 'b'], rowsPerKey: { a: 100, b: 3 } };
    const make = () => ({
      batchSize: B,
      denseDim: 13,
      dense: new Float32Array(B * 13).fill(0.25),
      labels: new Float32Array(B),
      sparse: {
        keys: ['a', 'b'],
        lengths: new Int32Array(2 * B).fill(2),
        values: new Int32Array(4 * B).fill(1),
      },
    });
    expect(() => validateBatch(make(), spec, 1)).not.toThrow();
    const dense = make();
    dense.dense[B * 13 - 1] = -Infinity;
    expect(() => validateBatch(dense, spec, 1)).toThrow(
      'batch 1: dense[511][12]: value -Infinity is not finite (row 511, column 12)',
    );
    const ids = make();
    ids.sparse.values[4 * B - 1] = 3;
    expect(() => validateBatch(ids, spec, 1)).toThrow(
      'batch 1: sparse.values[b][511][1]: id 3 is out of range [0, 3) of feature b (sample 511, position 1)',
    );
  });
});
