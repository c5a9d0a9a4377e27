/**
 * The reliability corpus (docs/design.md "Reliability"): bad input given to the public API, each with the
 * error it must raise and what must work afterwards. `bad-inputs.test.ts` runs every case
 * against a fresh single-rank `TrainPipelineSparseDist` on a small sharded DLRM (features
 * C1, C2, C3 with 50 rows each, 13 dense features, batches of 4 with 2 ids per feature).
 *
 * How a case reaches the pipeline (`input`):
 * - `batch`: the dataloader yields good batches with the bad item at position `at`
 *   (default 3: fetched while batch 1 trains, so the parameters have already moved);
 * - `dataloader`: the bad value is the dataloader itself (`make` builds it);
 * - `criteo`: a Criteo TSV file (8 good lines, the bad line replacing line `line`) read
 *   with batch size 4;
 * - `options`: the pipeline constructor gets these options on top of valid ones;
 * - `concurrent`: `progress` is called again before the previous call settled.
 *
 * What must work afterwards (`continuation`), with the parameters and the pipeline's
 * counters unchanged by the failed call:
 * - `next-batch`: the same call again on the same pipeline and dataloader trains the next
 *   valid batch (the bad one is dropped) and, in the end, every good batch trains once;
 * - `new-dataloader`: the same pipeline trains from a valid dataloader;
 * - `new-pipeline`: the pipeline has failed (every later call rejects with the same error);
 *   a new pipeline on the same model and optimizer, resumed from `exportState()`, trains;
 * - `fix-options`: nothing was built; valid options build a pipeline that trains.
 *
 * `knownGap` marks a case the library does not pass yet (it runs as an expected failure,
 * so fixing the library flags it for promotion); `hangs` says the gap shows as a hang.
 */
import { throwError, concat, from } from 'rxjs';
import type { Batch } from '../../src/tensors/index.ts';

export type Continuation = 'next-batch' | 'new-dataloader' | 'new-pipeline' | 'fix-options';

export interface ExpectedError {
  /** The error's `name` (class). */
  name: string;
  /** The whole message, or a pattern for messages holding a temporary file's path. */
  message: string | RegExp;
  /** `InvalidBatchError.field`. */
  field?: string;
  /** `DataloaderError.position` / `InvalidBatchError.batchIndex`. */
  batch?: number;
  /** For a DataloaderError: the name of its cause. */
  cause?: string;
}

interface CaseBase {
  id: string;
  title: string;
  expected: ExpectedError;
  continuation: Continuation;
  knownGap?: string;
  /** The known gap shows as a hang: the expected failure is a (short) test timeout. */
  hangs?: boolean;
}

export type BadInputCase =
  | (CaseBase & { input: 'batch'; at?: number; make(good: Batch): unknown })
  | (CaseBase & {
      input: 'dataloader';
      make(good: readonly Batch[]): unknown;
      afterBatches?: number;
    })
  | (CaseBase & { input: 'criteo'; line: number; badLine(valid: string): string })
  | (CaseBase & { input: 'options'; options: Record<string, unknown> })
  | (CaseBase & { input: 'concurrent' });

/** Batch-shaped plain data copied from `b`, with fields replaced (`sparse` fields merged). */
export function batchData(
  b: Batch,
  patch: { sparse?: Record<string, unknown> } & Record<string, unknown> = {},
): Record<string, unknown> {
  const { sparse, ...rest } = patch;
  return {
    dense: b.dense.slice(),
    denseDim: b.denseDim,
    labels: b.labels.slice(),
    batchSize: b.batchSize,
    ...rest,
    sparse: {
      keys: [...b.sparse.keys],
      values: b.sparse.values.slice(),
      lengths: b.sparse.lengths.slice(),
      stride: b.sparse.stride,
      ...sparse,
    },
  };
}

const withArray = <T extends Float32Array | Int32Array>(a: T, edit: (copy: T) => void): T => {
  const copy = a.slice() as T;
  edit(copy);
  return copy;
};

const invalid = (field: string, reason: string, batch = 3): ExpectedError => ({
  name: 'InvalidBatchError',
  field,
  batch,
  message: `batch ${batch}: ${field}: ${reason}`,
});

const notADataloader = (got: string): ExpectedError => ({
  name: 'TypeError',
  message: `dataloader must be an Iterable, AsyncIterable or Observable of batches; got ${got}`,
});

const dataloaderThrew = (batch: number, what: string, cause = 'Error'): ExpectedError => ({
  name: 'DataloaderError',
  batch,
  cause,
  message: `the dataloader threw while fetching batch ${batch}: ${what}`,
});

const criteoError = (batch: number, line: number, what: string): ExpectedError => ({
  name: 'DataloaderError',
  batch,
  cause: 'CriteoParseError',
  message: new RegExp(
    `^the dataloader threw while fetching batch ${batch}: .*\\.tsv:${line}: ${escapeRegExp(what)}$`,
  ),
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replace tab-separated column `col` (0 = label, 1-13 = I1-I13, 14-39 = C1-C26). */
const replaceColumn = (line: string, col: number, value: string) =>
  line
    .split('\t')
    .map((v, i) => (i === col ? value : v))
    .join('\t');

function* throwingAt<T>(items: readonly T[], at: number, error: Error): Generator<T> {
  for (let i = 0; i < items.length; i++) {
    if (i === at) throw error;
    yield items[i];
  }
}

async function* rejectingAt<T>(items: readonly T[], at: number, error: Error): AsyncGenerator<T> {
  for (let i = 0; i < items.length; i++) {
    await Promise.resolve();
    if (i === at) throw error;
    yield items[i];
  }
}

const B = 4; // batch size; lengths are key-major: lengths[k * B + sample], 2 ids each

export const BAD_INPUT_CASES: readonly BadInputCase[] = [
  // ── malformed KeyedJaggedTensor ─────────────────────────────────────────────────────
  {
    id: 'kjt-values-longer-than-lengths',
    title: 'KJT: one id more than the lengths add up to',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { values: Int32Array.from([...g.sparse.values, 1]) } }),
    expected: invalid('sparse.values', 'has 25 ids but the lengths add up to 24'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-values-shorter-than-lengths',
    title: 'KJT: one id fewer than the lengths add up to',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { values: g.sparse.values.slice(0, -1) } }),
    expected: invalid('sparse.values', 'has 23 ids but the lengths add up to 24'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-length-too-large',
    title: 'KJT: a length says 3 ids where 2 are given',
    input: 'batch',
    make: (g) =>
      batchData(g, { sparse: { lengths: withArray(g.sparse.lengths, (l) => (l[0] = 3)) } }),
    expected: invalid('sparse.values', 'has 24 ids but the lengths add up to 25'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-negative-length',
    title: 'KJT: negative length (feature C2, sample 1)',
    input: 'batch',
    make: (g) =>
      batchData(g, {
        sparse: { lengths: withArray(g.sparse.lengths, (l) => (l[1 * B + 1] = -1)) },
      }),
    expected: invalid('sparse.lengths[C2][1]', 'length -1 is negative'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-stride-mismatch',
    title: 'KJT: stride 3 for a batch of 4',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { stride: 3 } }),
    expected: invalid('sparse.stride', 'stride 3 does not equal batchSize 4'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-lengths-too-short',
    title: 'KJT: 11 lengths for 3 keys × 4 samples',
    input: 'batch',
    make: (g) =>
      batchData(g, {
        sparse: { lengths: g.sparse.lengths.slice(0, 11), values: g.sparse.values.slice(0, 22) },
      }),
    expected: invalid('sparse.lengths', 'length 11 does not match keys × batchSize = 3 × 4 = 12'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-lengths-too-long',
    title: 'KJT: 13 lengths for 3 keys × 4 samples',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { lengths: Int32Array.from([...g.sparse.lengths, 0]) } }),
    expected: invalid('sparse.lengths', 'length 13 does not match keys × batchSize = 3 × 4 = 12'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-lengths-float',
    title: 'KJT: lengths as a Float32Array',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { lengths: Float32Array.from(g.sparse.lengths) } }),
    expected: invalid('sparse.lengths', 'expected an Int32Array; got Float32Array(12)'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-values-plain-array',
    title: 'KJT: values as a plain array',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { values: [...g.sparse.values] } }),
    expected: invalid('sparse.values', 'expected an Int32Array; got Array(24)'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-sparse-missing',
    title: 'no sparse features at all',
    input: 'batch',
    make: (g) => ({ ...batchData(g), sparse: undefined }),
    expected: invalid('sparse', 'expected a KeyedJaggedTensor; got undefined'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-weights-wrong-length',
    title: 'KJT: 10 weights for 24 ids',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { weights: new Float32Array(10) } }),
    expected: invalid('sparse.weights', 'has 10 weights but there are 24 ids'),
    continuation: 'next-batch',
  },
  {
    id: 'kjt-weight-nan',
    title: 'KJT: a NaN per-id weight (C1, sample 1, position 0)',
    input: 'batch',
    make: (g) =>
      batchData(g, {
        sparse: { weights: withArray(new Float32Array(24).fill(1), (w) => (w[2] = NaN)) },
      }),
    expected: invalid('sparse.weights[C1][1][0]', 'weight NaN is not finite'),
    continuation: 'next-batch',
  },
  // ── wrong keys ──────────────────────────────────────────────────────────────────────
  {
    id: 'keys-missing',
    title: 'keys: C3 missing',
    input: 'batch',
    make: (g) =>
      batchData(g, {
        sparse: {
          keys: ['C1', 'C2'],
          lengths: g.sparse.lengths.slice(0, 8),
          values: g.sparse.values.slice(0, 16),
        },
      }),
    expected: invalid(
      'sparse.keys',
      'features do not match the configured ones: missing C3 (configured: C1, C2, C3)',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'keys-extra',
    title: 'keys: an unconfigured C4',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { keys: ['C1', 'C2', 'C3', 'C4'] } }),
    expected: invalid(
      'sparse.keys',
      'features do not match the configured ones: unexpected C4 (configured: C1, C2, C3)',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'keys-reordered',
    title: 'keys: C2 before C1',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { keys: ['C2', 'C1', 'C3'] } }),
    expected: invalid(
      'sparse.keys',
      'features are in the wrong order: got C2, C1, C3, expected C1, C2, C3',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'keys-duplicated',
    title: 'keys: C1 twice, C2 missing',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { keys: ['C1', 'C1', 'C3'] } }),
    expected: invalid(
      'sparse.keys',
      'features do not match the configured ones: missing C2; duplicated C1 (configured: C1, C2, C3)',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'keys-a-string',
    title: 'keys: one comma-separated string instead of an array',
    input: 'batch',
    make: (g) => batchData(g, { sparse: { keys: 'C1,C2,C3' } }),
    expected: invalid('sparse.keys', 'expected an array of feature names; got string "C1,C2,C3"'),
    continuation: 'next-batch',
  },
  // ── ids out of range ────────────────────────────────────────────────────────────────
  {
    id: 'id-equal-to-rows',
    title: 'id 50 in a table of 50 rows (C1, sample 0, position 0)',
    input: 'batch',
    make: (g) =>
      batchData(g, { sparse: { values: withArray(g.sparse.values, (v) => (v[0] = 50)) } }),
    expected: invalid(
      'sparse.values[C1][0][0]',
      'id 50 is out of range [0, 50) of feature C1 (sample 0, position 0)',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'id-negative',
    title: 'negative id (C3, sample 3, position 1)',
    input: 'batch',
    make: (g) =>
      batchData(g, {
        sparse: { values: withArray(g.sparse.values, (v) => (v[(2 * B + 3) * 2 + 1] = -7)) },
      }),
    expected: invalid(
      'sparse.values[C3][3][1]',
      'id -7 is out of range [0, 50) of feature C3 (sample 3, position 1)',
    ),
    continuation: 'next-batch',
  },
  // ── dense features ──────────────────────────────────────────────────────────────────
  {
    id: 'dense-nan',
    title: 'dense: NaN at row 1, column 2',
    input: 'batch',
    make: (g) => batchData(g, { dense: withArray(g.dense, (d) => (d[1 * 13 + 2] = NaN)) }),
    expected: invalid('dense[1][2]', 'value NaN is not finite (row 1, column 2)'),
    continuation: 'next-batch',
  },
  {
    id: 'dense-inf',
    title: 'dense: +Infinity at row 0, column 0',
    input: 'batch',
    make: (g) => batchData(g, { dense: withArray(g.dense, (d) => (d[0] = Infinity)) }),
    expected: invalid('dense[0][0]', 'value Infinity is not finite (row 0, column 0)'),
    continuation: 'next-batch',
  },
  {
    id: 'dense-minus-inf',
    title: 'dense: -Infinity at row 3, column 12',
    input: 'batch',
    make: (g) => batchData(g, { dense: withArray(g.dense, (d) => (d[3 * 13 + 12] = -Infinity)) }),
    expected: invalid('dense[3][12]', 'value -Infinity is not finite (row 3, column 12)'),
    continuation: 'next-batch',
  },
  {
    id: 'dense-wrong-shape',
    title: 'dense: 4 × 12 values for 13 features',
    input: 'batch',
    make: (g) => batchData(g, { dense: g.dense.slice(0, 48) }),
    expected: invalid('dense', 'length 48 does not match batchSize × denseDim = 4 × 13 = 52'),
    continuation: 'next-batch',
  },
  {
    id: 'dense-dim-wrong',
    title: 'denseDim 12 where the model takes 13',
    input: 'batch',
    make: (g) => batchData(g, { denseDim: 12, dense: g.dense.slice(0, 48) }),
    expected: invalid('denseDim', 'expected 13 dense features; got 12'),
    continuation: 'next-batch',
  },
  {
    id: 'dense-float64',
    title: 'dense as a Float64Array',
    input: 'batch',
    make: (g) => batchData(g, { dense: Float64Array.from(g.dense) }),
    expected: invalid('dense', 'expected a Float32Array; got Float64Array(52)'),
    continuation: 'next-batch',
  },
  // ── labels ──────────────────────────────────────────────────────────────────────────
  {
    id: 'label-nan',
    title: 'label NaN (sample 2)',
    input: 'batch',
    make: (g) => batchData(g, { labels: withArray(g.labels, (l) => (l[2] = NaN)) }),
    expected: invalid('labels[2]', 'label NaN is not finite'),
    continuation: 'next-batch',
  },
  {
    id: 'label-2',
    title: 'label 2 (sample 0)',
    input: 'batch',
    make: (g) => batchData(g, { labels: withArray(g.labels, (l) => (l[0] = 2)) }),
    expected: invalid('labels[0]', 'label 2 is outside [0, 1]'),
    continuation: 'next-batch',
  },
  {
    id: 'label-negative',
    title: 'label -1 (sample 3)',
    input: 'batch',
    make: (g) => batchData(g, { labels: withArray(g.labels, (l) => (l[3] = -1)) }),
    expected: invalid('labels[3]', 'label -1 is outside [0, 1]'),
    continuation: 'next-batch',
  },
  {
    id: 'labels-wrong-length',
    title: '3 labels for 4 samples',
    input: 'batch',
    make: (g) => batchData(g, { labels: g.labels.slice(0, 3) }),
    expected: invalid('labels', 'length 3 does not match batchSize 4'),
    continuation: 'next-batch',
  },
  // ── not a batch ─────────────────────────────────────────────────────────────────────
  {
    id: 'empty-batch',
    title: 'an empty batch (batchSize 0)',
    input: 'batch',
    make: () => ({
      dense: new Float32Array(0),
      denseDim: 13,
      labels: new Float32Array(0),
      batchSize: 0,
      sparse: {
        keys: ['C1', 'C2', 'C3'],
        values: new Int32Array(0),
        lengths: new Int32Array(0),
        stride: 0,
      },
    }),
    expected: invalid('batchSize', 'must be an integer ≥ 1; got 0'),
    continuation: 'next-batch',
  },
  {
    id: 'batch-size-fraction',
    title: 'batchSize 2.5',
    input: 'batch',
    make: (g) => batchData(g, { batchSize: 2.5 }),
    expected: invalid('batchSize', 'must be an integer ≥ 1; got 2.5'),
    continuation: 'next-batch',
  },
  {
    id: 'not-a-batch-object',
    title: 'an object that is not a batch',
    input: 'batch',
    make: () => ({ hello: 'world' }),
    expected: invalid('batchSize', 'must be an integer ≥ 1; got undefined'),
    continuation: 'next-batch',
  },
  {
    id: 'null-item',
    title: 'null yielded as a batch',
    input: 'batch',
    make: () => null,
    expected: invalid(
      'batch',
      'expected a Batch object with dense, denseDim, sparse, labels and batchSize; got null',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'number-item',
    title: 'a number yielded as a batch',
    input: 'batch',
    make: () => 42,
    expected: invalid(
      'batch',
      'expected a Batch object with dense, denseDim, sparse, labels and batchSize; got 42',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'array-item',
    title: 'an array of batches yielded as one batch',
    input: 'batch',
    make: (g) => [g],
    expected: invalid(
      'batch',
      'expected a Batch object with dense, denseDim, sparse, labels and batchSize; got Array(1)',
    ),
    continuation: 'next-batch',
  },
  {
    id: 'bad-first-batch',
    title: 'the very first batch is bad (rejected while connecting)',
    input: 'batch',
    at: 0,
    make: (g) => batchData(g, { labels: withArray(g.labels, (l) => (l[1] = 3)) }),
    expected: invalid('labels[1]', 'label 3 is outside [0, 1]', 0),
    continuation: 'next-batch',
  },
  {
    id: 'bad-second-batch',
    title:
      'the second batch is bad (rejected while connecting, after batch 0’s input dist started)',
    input: 'batch',
    at: 1,
    make: (g) => batchData(g, { labels: withArray(g.labels, (l) => (l[1] = 3)) }),
    expected: invalid('labels[1]', 'label 3 is outside [0, 1]', 1),
    continuation: 'next-batch',
    hangs: true,
  },
  // ── not a dataloader ────────────────────────────────────────────────────────────────
  {
    id: 'dataloader-number',
    title: 'a number as the dataloader',
    input: 'dataloader',
    make: () => 42,
    expected: notADataloader('number'),
    continuation: 'new-dataloader',
  },
  {
    id: 'dataloader-string',
    title: 'a string as the dataloader',
    input: 'dataloader',
    make: () => 'data.tsv',
    expected: notADataloader('string (a string is not a sequence of batches)'),
    continuation: 'new-dataloader',
  },
  {
    id: 'dataloader-null',
    title: 'null as the dataloader',
    input: 'dataloader',
    make: () => null,
    expected: notADataloader('null'),
    continuation: 'new-dataloader',
  },
  {
    id: 'dataloader-undefined',
    title: 'no dataloader',
    input: 'dataloader',
    make: () => undefined,
    expected: notADataloader('undefined'),
    continuation: 'new-dataloader',
  },
  {
    id: 'dataloader-plain-object',
    title: 'a plain object as the dataloader',
    input: 'dataloader',
    make: () => ({ batches: [] }),
    expected: notADataloader('an object that is neither iterable nor observable'),
    continuation: 'new-dataloader',
  },
  {
    id: 'dataloader-promise',
    title: 'a Promise of batches as the dataloader',
    input: 'dataloader',
    make: (good) => Promise.resolve(good),
    expected: notADataloader('a Promise (await it, or pass an AsyncIterable)'),
    continuation: 'new-dataloader',
  },
  {
    id: 'dataloader-number-mid-run',
    title: 'a number as the dataloader after 2 batches trained from an array; then the array again',
    input: 'dataloader',
    afterBatches: 2,
    make: () => 42,
    expected: notADataloader('number'),
    continuation: 'new-dataloader',
  },
  // ── dataloaders that throw ──────────────────────────────────────────────────────────
  {
    id: 'iterator-throws',
    title: 'a generator that throws at batch 3',
    input: 'dataloader',
    make: (good) => throwingAt(good, 3, new Error('disk read failed')),
    expected: dataloaderThrew(3, 'disk read failed'),
    continuation: 'new-pipeline',
  },
  {
    id: 'async-iterator-rejects',
    title: 'an async generator that rejects at batch 2',
    input: 'dataloader',
    make: (good) => rejectingAt(good, 2, new RangeError('shard 7 unavailable')),
    expected: dataloaderThrew(2, 'shard 7 unavailable', 'RangeError'),
    continuation: 'new-pipeline',
  },
  {
    id: 'observable-errors',
    title: 'an Observable that errors after 3 batches',
    input: 'dataloader',
    make: (good) =>
      concat(
        from(good.slice(0, 3)),
        throwError(() => new Error('stream reset')),
      ),
    expected: dataloaderThrew(3, 'stream reset'),
    continuation: 'new-pipeline',
  },
  {
    id: 'iterator-factory-throws',
    title: 'an iterable whose [Symbol.iterator]() throws',
    input: 'dataloader',
    make: () => ({
      [Symbol.iterator]() {
        throw new Error('cannot open dataset');
      },
    }),
    expected: dataloaderThrew(0, 'cannot open dataset'),
    continuation: 'new-pipeline',
  },
  // ── Criteo TSV ──────────────────────────────────────────────────────────────────────
  {
    id: 'criteo-truncated-line',
    title: 'Criteo: line 6 cut after 20 columns',
    input: 'criteo',
    line: 6,
    badLine: (valid) => valid.split('\t').slice(0, 20).join('\t'),
    expected: criteoError(
      1,
      6,
      'expected 40 tab-separated columns (label, I1-I13, C1-C26), got 20',
    ),
    continuation: 'new-pipeline',
  },
  {
    id: 'criteo-label-2',
    title: 'Criteo: label 2 on line 3',
    input: 'criteo',
    line: 3,
    badLine: (valid) => replaceColumn(valid, 0, '2'),
    expected: criteoError(0, 3, 'column label: "2" is not 0 or 1'),
    continuation: 'new-pipeline',
  },
  {
    id: 'criteo-dense-not-integer',
    title: 'Criteo: "abc" in I5 on line 7',
    input: 'criteo',
    line: 7,
    badLine: (valid) => replaceColumn(valid, 5, 'abc'),
    expected: criteoError(1, 7, 'column I5: "abc" is not an integer'),
    continuation: 'new-pipeline',
  },
  {
    id: 'criteo-dense-fraction',
    title: 'Criteo: "1.5" in I13 on line 1',
    input: 'criteo',
    line: 1,
    badLine: (valid) => replaceColumn(valid, 13, '1.5'),
    expected: criteoError(0, 1, 'column I13: "1.5" is not an integer'),
    continuation: 'new-pipeline',
  },
  {
    id: 'criteo-categorical-not-hex',
    title: 'Criteo: "xyz!" in C2 on line 8',
    input: 'criteo',
    line: 8,
    badLine: (valid) => replaceColumn(valid, 15, 'xyz!'),
    expected: criteoError(1, 8, 'column C2: "xyz!" is not a hexadecimal id'),
    continuation: 'new-pipeline',
  },
  // ── options ─────────────────────────────────────────────────────────────────────────
  {
    id: 'grad-accum-0',
    title: 'gradAccum 0',
    input: 'options',
    options: { gradAccum: 0 },
    expected: { name: 'RangeError', message: 'gradAccum must be an integer ≥ 1, got 0' },
    continuation: 'fix-options',
  },
  {
    id: 'grad-accum-fraction',
    title: 'gradAccum 1.5',
    input: 'options',
    options: { gradAccum: 1.5 },
    expected: { name: 'RangeError', message: 'gradAccum must be an integer ≥ 1, got 1.5' },
    continuation: 'fix-options',
  },
  {
    id: 'grad-accum-string',
    title: 'gradAccum "4" (a string)',
    input: 'options',
    options: { gradAccum: '4' },
    expected: { name: 'RangeError', message: 'gradAccum must be an integer ≥ 1, got 4' },
    continuation: 'fix-options',
  },
  {
    id: 'grad-accum-schedule-unknown',
    title: 'gradAccumSchedule "torchrec-0.4" (unknown)',
    input: 'options',
    options: { gradAccumSchedule: 'torchrec-0.4' },
    expected: {
      name: 'RangeError',
      message: 'gradAccumSchedule must be one of exact, torchrec-0.3.2; got "torchrec-0.4"',
    },
    continuation: 'fix-options',
  },
  // ── misuse ──────────────────────────────────────────────────────────────────────────
  {
    id: 'progress-while-running',
    title: 'progress() called again before the previous call settled',
    input: 'concurrent',
    expected: {
      name: 'Error',
      message: 'progress() is already running on this pipeline: await the previous call first',
    },
    continuation: 'next-batch',
  },
];

// ── the command line ──────────────────────────────────────────────────────────────────

/**
 * A bad command line: `sparsepipe <argv> --json {dir}/summary.json` must exit with `code`
 * and print exactly `line` (one line) on stderr, nothing on stdout, and write nothing.
 * `{dir}` stands for a fresh temporary directory holding `files`.
 */
export interface CliBadInputCase {
  id: string;
  title: string;
  argv: string[];
  files?: Record<string, string>;
  /** 2: bad command-line input; 1: a run that failed (bad data, unreadable checkpoint). */
  code: 1 | 2;
  line: string | RegExp;
}

const criteoLine = (n: number) =>
  [
    String(n % 2),
    ...Array.from({ length: 13 }, (_, j) => String((n * 7 + j) % 20)),
    ...Array.from({ length: 26 }, (_, j) => ((n * 31 + j * 17) % 4096).toString(16)),
  ].join('\t');

export const CLI_BAD_INPUT_CASES: readonly CliBadInputCase[] = [
  {
    id: 'cli-ranks-zero',
    title: '--ranks 0',
    argv: ['train', '--ranks', '0'],
    code: 2,
    line: 'sparsepipe: --ranks must be an integer in [1, 1024], got "0"',
  },
  {
    id: 'cli-grad-accum-fraction',
    title: '--grad-accum 1.5',
    argv: ['train', '--grad-accum', '1.5'],
    code: 2,
    line: 'sparsepipe: --grad-accum must be an integer in [1, 65536], got "1.5"',
  },
  {
    id: 'cli-batch-size-zero',
    title: '--batch-size 0',
    argv: ['train', '--batch-size', '0'],
    code: 2,
    line: 'sparsepipe: --batch-size must be an integer in [1, 16777216], got "0"',
  },
  {
    id: 'cli-cost-without-ms',
    title: '--cost fwd (no =ms)',
    argv: ['train', '--cost', 'fwd'],
    code: 2,
    line: 'sparsepipe: --cost: "fwd" is not key=ms (in "fwd")',
  },
  {
    id: 'cli-schedule-unknown',
    title: '--grad-accum-schedule bogus',
    argv: ['train', '--grad-accum-schedule', 'bogus'],
    code: 2,
    line: 'sparsepipe: --grad-accum-schedule must be one of exact, torchrec-0.3.2, got "bogus"',
  },
  {
    id: 'cli-resume-missing',
    title: '--resume of a directory that does not exist',
    argv: [
      'train',
      '--ranks',
      '2',
      '--batch-size',
      '32',
      '--batches',
      '2',
      '--resume',
      '{dir}/nope',
    ],
    code: 1,
    line: 'sparsepipe: --resume {dir}/nope: does not exist',
  },
  {
    id: 'cli-resume-not-a-checkpoint',
    title: '--resume of a directory without a manifest',
    argv: ['train', '--ranks', '2', '--batch-size', '32', '--batches', '2', '--resume', '{dir}/ck'],
    files: { 'ck/notes.txt': 'not a checkpoint\n' },
    code: 1,
    line: 'sparsepipe: --resume {dir}/ck: manifest.json is missing or unreadable',
  },
  {
    id: 'cli-resume-bad-manifest',
    title: '--resume of a checkpoint whose manifest is not JSON',
    argv: ['train', '--ranks', '2', '--batch-size', '32', '--batches', '2', '--resume', '{dir}/ck'],
    files: { 'ck/manifest.json': 'not json\n' },
    code: 1,
    line: /^sparsepipe: --resume .*\/ck: manifest\.json is not valid JSON/,
  },
  {
    id: 'cli-criteo-truncated-line',
    title: 'a Criteo file whose line 21 is cut after 20 columns',
    argv: [
      'train',
      '--data',
      '{dir}/day.tsv',
      '--ranks',
      '2',
      '--batch-size',
      '8',
      '--batches',
      '4',
    ],
    files: {
      'day.tsv': `${Array.from({ length: 40 }, (_, i) => (i === 20 ? criteoLine(i).split('\t').slice(0, 20).join('\t') : criteoLine(i))).join('\n')}\n`,
    },
    code: 1,
    line: 'sparsepipe: the dataloader threw while fetching batch 2: {dir}/day.tsv:21: expected 40 tab-separated columns (label, I1-I13, C1-C26), got 20',
  },
];
