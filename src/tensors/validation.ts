/**
 * Batch validation (docs/design.md "Reliability"): every batch is checked before it touches a device, and a bad
 * one is reported as an {@link InvalidBatchError} that names the batch index, the field and
 * the reason — e.g. `batch 3: sparse.lengths[f2][5]: length -1 is negative`.
 *
 * Checks, in order (the first failure is reported): the batch is an object; `batchSize` is an
 * integer ≥ 1 (and ≤ `maxBatchSize`); `denseDim` matches the spec; `dense` is a Float32Array
 * of `batchSize × denseDim` finite values; `labels` is a Float32Array of `batchSize` finite
 * values in [0, 1]; `sparse` has the configured keys in the configured order, `stride ==
 * batchSize`, Int32Array `lengths` of `keys × stride` non-negative entries, Int32Array
 * `values` with `sum(lengths)` ids each in `[0, rows)` of its key, and optional finite
 * Float32Array `weights` aligned with `values`.
 *
 * Validation reads only: it never modifies the batch (nor fills a tensor's caches).
 *
 * @example
 * const spec: BatchSpec = { denseDim: 13, keys: ['f1', 'f2'], rowsPerKey: { f1: 1000, f2: 50 } };
 * validateBatch(batch, spec, 3); // throws InvalidBatchError or returns
 */
import type { BatchData } from './batch.ts';

/**
 * What a valid batch looks like for a given model.
 *
 * @example
 * const spec: BatchSpec = { denseDim: 13, keys: ['C1'], rowsPerKey: { C1: 100_000 }, maxBatchSize: 4096 };
 */
export interface BatchSpec {
  denseDim: number;
  /** The configured sparse features, in order. */
  keys: readonly string[];
  /** Table size (number of embedding rows) of each key; ids must be in `[0, rows)`. */
  rowsPerKey: Readonly<Record<string, number>>;
  maxBatchSize?: number;
}

/**
 * A batch failed validation. `field` is a path such as `sparse.values[f1][4][0]` (key,
 * sample, position) or `dense[2][7]` (row, column); `reason` says what is wrong.
 *
 * @example
 * try { validateBatch(b, spec, 3); } catch (e) { if (e instanceof InvalidBatchError) console.error(e.field, e.reason); }
 */
export class InvalidBatchError extends Error {
  override readonly name = 'InvalidBatchError';
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly batchIndex?: number,
  ) {
    super(`${batchIndex === undefined ? 'batch' : `batch ${batchIndex}`}: ${field}: ${reason}`);
  }
}

/**
 * Throws {@link InvalidBatchError} when `batch` does not satisfy `spec`; otherwise returns
 * and `batch` is known to be {@link BatchData}. A malformed `spec` throws a `TypeError`.
 *
 * @example
 * validateBatch(next.value, spec, batchIndex);
 * const b = Batch.from(next.value);
 */
export function validateBatch(
  batch: unknown,
  spec: BatchSpec,
  batchIndex?: number,
): asserts batch is BatchData {
  checkSpec(spec);
  // Every training batch goes through here: one tight pass that can only say "valid".
  // On any doubt the field-by-field checks below run and name the first problem.
  if (isPlainlyValid(batch, spec)) {
    validationCounters.fast++;
    return;
  }
  validationCounters.exact++;
  validateExactly(batch, spec, batchIndex);
}

/**
 * How often each path of {@link validateBatch} ran: `fast` (a valid batch answered by one
 * tight pass) and `exact` (the field-by-field checks, which name the problem).
 *
 * @example
 * const before = validationCounters.fast;
 * validateBatch(batch, spec, 0);
 * validationCounters.fast === before + 1; // a valid batch took the fast pass
 */
export const validationCounters = { fast: 0, exact: 0 };

/**
 * The field-by-field checks: throws the first problem, in the order of the module doc.
 * {@link validateBatch} runs them whenever its fast pass has any doubt; they are also the
 * reference that pass is tested against.
 *
 * @example
 * validateExactly(batch, spec, 3); // same result and error text as validateBatch, always slower
 */
export function validateExactly(
  batch: unknown,
  spec: BatchSpec,
  batchIndex?: number,
): asserts batch is BatchData {
  checkSpec(spec);
  const fail = (field: string, reason: string): never => {
    throw new InvalidBatchError(field, reason, batchIndex);
  };

  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) {
    fail(
      'batch',
      `expected a Batch object with dense, denseDim, sparse, labels and batchSize; got ${describe(batch)}`,
    );
  }
  const b = batch as Record<string, unknown>;

  // batchSize
  const B = b.batchSize;
  if (typeof B !== 'number' || !Number.isInteger(B) || B < 1) {
    fail('batchSize', `must be an integer ≥ 1; got ${describe(B)}`);
  }
  const batchSize = B as number;
  if (spec.maxBatchSize !== undefined && batchSize > spec.maxBatchSize) {
    fail('batchSize', `${batchSize} exceeds the maximum batch size ${spec.maxBatchSize}`);
  }

  // dense
  if (b.denseDim !== spec.denseDim) {
    fail('denseDim', `expected ${spec.denseDim} dense features; got ${describe(b.denseDim)}`);
  }
  const D = spec.denseDim;
  const dense = b.dense;
  if (!(dense instanceof Float32Array))
    fail('dense', `expected a Float32Array; got ${describe(dense)}`);
  const d = dense as Float32Array;
  if (d.length !== batchSize * D) {
    fail(
      'dense',
      `length ${d.length} does not match batchSize × denseDim = ${batchSize} × ${D} = ${batchSize * D}`,
    );
  }
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]))
      fail(
        `dense[${Math.floor(i / D)}][${i % D}]`,
        `value ${d[i]} is not finite (row ${Math.floor(i / D)}, column ${i % D})`,
      );
  }

  // labels
  const labels = b.labels;
  if (!(labels instanceof Float32Array))
    fail('labels', `expected a Float32Array; got ${describe(labels)}`);
  const l = labels as Float32Array;
  if (l.length !== batchSize)
    fail('labels', `length ${l.length} does not match batchSize ${batchSize}`);
  for (let i = 0; i < l.length; i++) {
    if (!Number.isFinite(l[i])) fail(`labels[${i}]`, `label ${l[i]} is not finite`);
    if (l[i] < 0 || l[i] > 1) fail(`labels[${i}]`, `label ${l[i]} is outside [0, 1]`);
  }

  // sparse
  const sparse = b.sparse;
  if (typeof sparse !== 'object' || sparse === null) {
    fail('sparse', `expected a KeyedJaggedTensor; got ${describe(sparse)}`);
  }
  const s = sparse as Record<string, unknown>;
  checkKeys(s.keys, spec.keys, fail);
  const K = spec.keys.length;

  const lengths = s.lengths;
  if (!(lengths instanceof Int32Array))
    fail('sparse.lengths', `expected an Int32Array; got ${describe(lengths)}`);
  const len = lengths as Int32Array;
  if (s.stride !== undefined && s.stride !== batchSize) {
    fail('sparse.stride', `stride ${describe(s.stride)} does not equal batchSize ${batchSize}`);
  }
  if (len.length !== K * batchSize) {
    fail(
      'sparse.lengths',
      `length ${len.length} does not match keys × batchSize = ${K} × ${batchSize} = ${K * batchSize}`,
    );
  }
  let total = 0;
  for (let i = 0; i < len.length; i++) {
    if (len[i] < 0)
      fail(
        `sparse.lengths[${spec.keys[Math.floor(i / batchSize)]}][${i % batchSize}]`,
        `length ${len[i]} is negative`,
      );
    total += len[i];
  }

  const values = s.values;
  if (!(values instanceof Int32Array))
    fail('sparse.values', `expected an Int32Array; got ${describe(values)}`);
  const v = values as Int32Array;
  if (v.length !== total)
    fail('sparse.values', `has ${v.length} ids but the lengths add up to ${total}`);

  const weights = s.weights;
  if (weights !== undefined) {
    if (!(weights instanceof Float32Array))
      fail('sparse.weights', `expected a Float32Array or undefined; got ${describe(weights)}`);
    if ((weights as Float32Array).length !== v.length) {
      fail(
        'sparse.weights',
        `has ${(weights as Float32Array).length} weights but there are ${v.length} ids`,
      );
    }
  }
  const w = weights as Float32Array | undefined;

  let at = 0;
  for (let k = 0; k < K; k++) {
    const key = spec.keys[k];
    const rows = spec.rowsPerKey[key];
    for (let sample = 0; sample < batchSize; sample++) {
      const n = len[k * batchSize + sample];
      for (let p = 0; p < n; p++, at++) {
        const id = v[at];
        if (id < 0 || id >= rows) {
          fail(
            `sparse.values[${key}][${sample}][${p}]`,
            `id ${id} is out of range [0, ${rows}) of feature ${key} (sample ${sample}, position ${p})`,
          );
        }
        if (w && !Number.isFinite(w[at]))
          fail(`sparse.weights[${key}][${sample}][${p}]`, `weight ${w[at]} is not finite`);
      }
    }
  }
}

/**
 * True only when `batch` certainly passes {@link validateExactly} (a valid `spec` given):
 * the same checks as whole-array passes with no message built — finiteness as a sum of
 * `x * 0` (NaN once any value is ±Infinity or NaN), ids and lengths by the sign bits of an OR.
 * False sends the batch to the exact checks, which find and name the problem.
 */
function isPlainlyValid(batch: unknown, spec: BatchSpec): boolean {
  if (typeof batch !== 'object' || batch === null || Array.isArray(batch)) return false;
  const b = batch as Record<string, unknown>;
  const B = b.batchSize;
  if (typeof B !== 'number' || !Number.isInteger(B) || B < 1) return false;
  if (spec.maxBatchSize !== undefined && B > spec.maxBatchSize) return false;
  const D = spec.denseDim;
  if (b.denseDim !== D) return false;
  const dense = b.dense;
  if (!(dense instanceof Float32Array) || dense.length !== B * D || !allFinite(dense)) return false;
  const labels = b.labels;
  if (!(labels instanceof Float32Array) || labels.length !== B) return false;
  for (let i = 0; i < B; i++) {
    const x = labels[i];
    if (!(x >= 0 && x <= 1)) return false; // NaN and ±Infinity fail too
  }
  const s = b.sparse;
  if (typeof s !== 'object' || s === null) return false;
  const sparse = s as Record<string, unknown>;
  const keys = sparse.keys;
  const expected = spec.keys;
  const K = expected.length;
  if (!Array.isArray(keys) || keys.length !== K) return false;
  for (let k = 0; k < K; k++) {
    if (keys[k] !== expected[k]) return false;
    for (let j = 0; j < k; j++) if (expected[j] === expected[k]) return false;
  }
  const len = sparse.lengths;
  if (!(len instanceof Int32Array) || len.length !== K * B) return false;
  if (sparse.stride !== undefined && sparse.stride !== B) return false;
  const values = sparse.values;
  if (!(values instanceof Int32Array)) return false;
  const weights = sparse.weights;
  if (weights !== undefined) {
    if (!(weights instanceof Float32Array) || weights.length !== values.length) return false;
    if (!allFinite(weights)) return false;
  }
  let at = 0;
  for (let k = 0; k < K; k++) {
    let ids = 0;
    let negative = 0;
    for (let i = k * B, end = i + B; i < end; i++) {
      ids += len[i];
      negative |= len[i];
    }
    if (negative < 0 || at + ids > values.length) return false;
    // id and last − id are both ≥ 0 exactly when 0 ≤ id ≤ last: OR-ing them keeps the sign
    // bit clear for valid ids (last ≤ 2³¹ − 1, so last − id of an int32 id ≥ 0 fits in int32).
    const last = Math.min(spec.rowsPerKey[expected[k]] - 1, 0x7fffffff);
    if (!idsWithin(values, at, at + ids, last)) return false;
    at += ids;
  }
  return at === values.length;
}

/**
 * Every value finite: `x * 0` is ±0 for finite x and NaN otherwise, and NaN sticks in a
 * sum. Four sums, so the additions do not wait for each other.
 */
function allFinite(a: Float32Array): boolean {
  let z0 = 0;
  let z1 = 0;
  let z2 = 0;
  let z3 = 0;
  const n = a.length - (a.length % 4);
  let i = 0;
  for (; i < n; i += 4) {
    z0 += a[i] * 0;
    z1 += a[i + 1] * 0;
    z2 += a[i + 2] * 0;
    z3 += a[i + 3] * 0;
  }
  for (; i < a.length; i++) z0 += a[i] * 0;
  return z0 + z1 + z2 + z3 === 0;
}

/** Every id of `values[from, to)` in `[0, last]` (two ORs, so they do not wait for each other). */
function idsWithin(values: Int32Array, from: number, to: number, last: number): boolean {
  let o0 = 0;
  let o1 = 0;
  let i = from;
  for (const end = to - ((to - from) % 2); i < end; i += 2) {
    const a = values[i];
    const b = values[i + 1];
    o0 |= a | (last - a);
    o1 |= b | (last - b);
  }
  if (i < to) o0 |= values[i] | (last - values[i]);
  return (o0 | o1) >= 0;
}

function checkKeys(
  got: unknown,
  expected: readonly string[],
  fail: (field: string, reason: string) => never,
): void {
  if (!Array.isArray(got) || got.some((k) => typeof k !== 'string')) {
    fail('sparse.keys', `expected an array of feature names; got ${describe(got)}`);
  }
  const keys = got as string[];
  const missing = expected.filter((k) => !keys.includes(k));
  const unexpected = keys.filter((k) => !expected.includes(k));
  const duplicated = keys.filter((k, i) => keys.indexOf(k) !== i);
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.join(', ')}`);
  if (unexpected.length > 0) problems.push(`unexpected ${unexpected.join(', ')}`);
  if (duplicated.length > 0) problems.push(`duplicated ${[...new Set(duplicated)].join(', ')}`);
  if (problems.length > 0) {
    fail(
      'sparse.keys',
      `features do not match the configured ones: ${problems.join('; ')} (configured: ${expected.join(', ')})`,
    );
  }
  if (keys.some((k, i) => k !== expected[i])) {
    fail(
      'sparse.keys',
      `features are in the wrong order: got ${keys.join(', ')}, expected ${expected.join(', ')}`,
    );
  }
}

function checkSpec(spec: BatchSpec): void {
  if (!Number.isInteger(spec.denseDim) || spec.denseDim < 0) {
    throw new TypeError(
      `BatchSpec.denseDim must be a non-negative integer; got ${describe(spec.denseDim)}`,
    );
  }
  for (const key of spec.keys) {
    const rows = spec.rowsPerKey[key];
    if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 1) {
      throw new TypeError(
        `BatchSpec.rowsPerKey["${key}"] must be an integer ≥ 1; got ${describe(rows)}`,
      );
    }
  }
}

/** A short description of a value for error messages: `number 3`, `Array`, `Float64Array(12)`, `undefined`. */
function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'number') return Number.isNaN(x) ? 'NaN' : `${x}`;
  if (typeof x === 'string')
    return `string ${JSON.stringify(x.length > 20 ? `${x.slice(0, 20)}…` : x)}`;
  if (typeof x !== 'object') return typeof x;
  if (ArrayBuffer.isView(x))
    return `${x.constructor.name}(${(x as unknown as ArrayLike<unknown>).length})`;
  if (Array.isArray(x)) return `Array(${x.length})`;
  const name = (x as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== 'Object' ? name : 'object';
}
