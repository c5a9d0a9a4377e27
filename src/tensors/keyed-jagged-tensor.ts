/**
 * KeyedJaggedTensor: sparse features of a batch, one jagged list of ids per (key, sample).
 *
 * Layout (TorchRec's): `lengths` is key-major, `lengths[k * stride + b]` ids for key `k`
 * of sample `b`; `values` holds the ids in the same order; optional `weights` align with
 * `values` (per-sample / per-id weights).
 *
 * Every operation returns a new tensor and never modifies its inputs. Results own fresh
 * buffers, except the `*ForKey` accessors, which return views (no copy).
 *
 * @example
 * const kjt = new KeyedJaggedTensor({
 *   keys: ['f1', 'f2'],
 *   values: Int32Array.from([1, 2, 3, 4]),
 *   lengths: Int32Array.from([2, 0, 1, 1]), // f1: [1,2], [] ; f2: [3], [4]
 * });
 * kjt.stride; // 2
 */
import { packedCopies } from './packed-copy.ts';
import { concatFloat32, concatInt32 } from './concat-typed.ts';

export interface KeyedJaggedTensorInit {
  keys: readonly string[];
  values: Int32Array;
  lengths: Int32Array;
  weights?: Float32Array;
  /** Samples per key; defaults to `lengths.length / keys.length` (0 when there are no keys). */
  stride?: number;
}

/**
 * Plain-JSON form of a {@link KeyedJaggedTensor} (`JSON.stringify`-safe).
 *
 * @example
 * const json: KeyedJaggedTensorJSON = { keys: ['f'], stride: 1, values: [7], lengths: [1] };
 */
export interface KeyedJaggedTensorJSON {
  keys: string[];
  stride: number;
  values: number[];
  lengths: number[];
  weights?: number[];
}

export class KeyedJaggedTensor {
  readonly keys: readonly string[];
  readonly values: Int32Array;
  readonly lengths: Int32Array;
  readonly weights: Float32Array | undefined;
  readonly stride: number;
  private offsetsCache: Int32Array | undefined;
  private lengthPerKeyCache: number[] | undefined;
  private offsetPerKeyCache: number[] | undefined;

  constructor(init: KeyedJaggedTensorInit) {
    this.keys = [...init.keys];
    this.values = init.values;
    this.lengths = init.lengths;
    this.weights = init.weights;
    this.stride =
      init.stride ??
      (init.keys.length === 0 ? 0 : Math.floor(init.lengths.length / init.keys.length));
  }

  /**
   * An empty tensor with the given keys and stride (every length 0).
   *
   * @example
   * KeyedJaggedTensor.empty(['f1', 'f2'], 3).lengths; // Int32Array [0,0,0,0,0,0]
   */
  static empty(keys: readonly string[], stride: number, withWeights = false): KeyedJaggedTensor {
    return new KeyedJaggedTensor({
      keys,
      stride,
      values: new Int32Array(0),
      lengths: new Int32Array(keys.length * stride),
      weights: withWeights ? new Float32Array(0) : undefined,
    });
  }

  /** Exclusive prefix sum of `lengths` (length `lengths.length + 1`). */
  offsets(): Int32Array {
    if (!this.offsetsCache) {
      const o = new Int32Array(this.lengths.length + 1);
      for (let i = 0; i < this.lengths.length; i++) o[i + 1] = o[i] + this.lengths[i];
      this.offsetsCache = o;
    }
    return this.offsetsCache;
  }

  /**
   * Number of ids of each key over the whole batch (TorchRec `length_per_key`).
   *
   * @example
   * kjt.lengthPerKey(); // [2, 2] for the class example
   */
  lengthPerKey(): number[] {
    if (!this.lengthPerKeyCache) {
      const out = new Array<number>(this.keys.length).fill(0);
      for (let k = 0; k < this.keys.length; k++) {
        let sum = 0;
        const base = k * this.stride;
        for (let b = 0; b < this.stride; b++) sum += this.lengths[base + b];
        out[k] = sum;
      }
      this.lengthPerKeyCache = out;
    }
    return [...this.lengthPerKeyCache];
  }

  /**
   * Where each key's ids start in `values`; length `keys.length + 1`, the last entry is
   * `values.length` (TorchRec `offset_per_key`).
   *
   * @example
   * kjt.offsetPerKey(); // [0, 2, 4] for the class example
   */
  offsetPerKey(): number[] {
    return [...this.offsetPerKeyCached()];
  }

  /**
   * Index of `key` in `keys`; throws a `RangeError` naming the known keys when absent.
   *
   * @example
   * kjt.keyIndex('f2'); // 1
   */
  keyIndex(key: string): number {
    const k = this.keys.indexOf(key);
    if (k < 0)
      throw new RangeError(
        `KeyedJaggedTensor has no key "${key}" (keys: ${this.keys.join(', ') || 'none'})`,
      );
    return k;
  }

  /**
   * The ids of `key` for all samples, concatenated (a view, not a copy).
   *
   * @example
   * kjt.valuesForKey('f1'); // Int32Array [1, 2]
   */
  valuesForKey(key: string): Int32Array {
    const k = this.keyIndex(key);
    const opk = this.offsetPerKeyCached();
    return this.values.subarray(opk[k], opk[k + 1]);
  }

  /**
   * Per-sample id counts of `key` (a view, length `stride`).
   *
   * @example
   * kjt.lengthsForKey('f1'); // Int32Array [2, 0]
   */
  lengthsForKey(key: string): Int32Array {
    const k = this.keyIndex(key);
    return this.lengths.subarray(k * this.stride, (k + 1) * this.stride);
  }

  /**
   * The weights of `key`'s ids (a view), or `undefined` when the tensor has no weights.
   *
   * @example
   * weighted.weightsForKey('f1'); // Float32Array [0.5, 1]
   */
  weightsForKey(key: string): Float32Array | undefined {
    const k = this.keyIndex(key);
    if (!this.weights) return undefined;
    const opk = this.offsetPerKeyCached();
    return this.weights.subarray(opk[k], opk[k + 1]);
  }

  /**
   * Split into consecutive key groups of the given sizes (TorchRec `KeyedJaggedTensor.split`).
   * The sizes must add up to `keys.length`; a size of 0 gives a tensor with no keys.
   *
   * @example
   * const [a, b] = kjt.split([1, 1]); // a.keys = ['f1'], b.keys = ['f2']
   */
  split(groupSizes: readonly number[]): KeyedJaggedTensor[] {
    const total = groupSizes.reduce((s, n) => s + n, 0);
    if (groupSizes.some((n) => !Number.isInteger(n) || n < 0) || total !== this.keys.length) {
      throw new RangeError(
        `split sizes [${groupSizes.join(', ')}] must be non-negative integers adding up to the ${this.keys.length} keys`,
      );
    }
    const opk = this.offsetPerKeyCached();
    const out: KeyedJaggedTensor[] = [];
    let k0 = 0;
    for (const n of groupSizes) {
      const k1 = k0 + n;
      out.push(
        new KeyedJaggedTensor({
          keys: this.keys.slice(k0, k1),
          stride: this.stride,
          lengths: this.lengths.slice(k0 * this.stride, k1 * this.stride),
          values: this.values.slice(opk[k0], opk[k1]),
          weights: this.weights?.slice(opk[k0], opk[k1]),
        }),
      );
      k0 = k1;
    }
    return out;
  }

  /**
   * Reorder (or duplicate, or drop) keys: key `i` of the result is key `keyIndices[i]` of
   * this tensor; its lengths, values and weights follow it.
   *
   * @example
   * kjt.permute([1, 0]).keys; // ['f2', 'f1']
   */
  permute(keyIndices: readonly number[]): KeyedJaggedTensor {
    for (const k of keyIndices) {
      if (!Number.isInteger(k) || k < 0 || k >= this.keys.length) {
        throw new RangeError(`permute index ${k} is out of range [0, ${this.keys.length})`);
      }
    }
    const opk = this.offsetPerKeyCached();
    let nValues = 0;
    for (const k of keyIndices) nValues += opk[k + 1] - opk[k];
    const values = new Int32Array(nValues);
    const lengths = new Int32Array(keyIndices.length * this.stride);
    const weights = this.weights ? new Float32Array(nValues) : undefined;
    let at = 0;
    keyIndices.forEach((k, i) => {
      lengths.set(this.lengths.subarray(k * this.stride, (k + 1) * this.stride), i * this.stride);
      values.set(this.values.subarray(opk[k], opk[k + 1]), at);
      if (weights && this.weights) weights.set(this.weights.subarray(opk[k], opk[k + 1]), at);
      at += opk[k + 1] - opk[k];
    });
    return new KeyedJaggedTensor({
      keys: keyIndices.map((k) => this.keys[k]),
      stride: this.stride,
      values,
      lengths,
      weights,
    });
  }

  /**
   * Key-wise concatenation of tensors with disjoint keys and the same stride (inverse of
   * {@link KeyedJaggedTensor.split}). Either all inputs have weights or none.
   *
   * @example
   * KeyedJaggedTensor.concat(kjt.split([1, 1])); // equal to kjt
   */
  static concat(kjts: readonly KeyedJaggedTensor[]): KeyedJaggedTensor {
    if (kjts.length === 0)
      throw new RangeError('KeyedJaggedTensor.concat needs at least one tensor');
    const stride = kjts[0].stride;
    const weighted = kjts[0].weights !== undefined;
    const seen = new Set<string>();
    kjts.forEach((t, i) => {
      if (t.stride !== stride)
        throw new RangeError(`concat: tensor ${i} has stride ${t.stride}, tensor 0 has ${stride}`);
      if ((t.weights !== undefined) !== weighted) {
        throw new RangeError(
          `concat: tensor ${i} ${weighted ? 'has no' : 'has'} weights, tensor 0 ${weighted ? 'has' : 'has none'}`,
        );
      }
      for (const key of t.keys) {
        if (seen.has(key))
          throw new RangeError(
            `concat: key "${key}" appears in more than one tensor (keys must be disjoint)`,
          );
        seen.add(key);
      }
    });
    return new KeyedJaggedTensor({
      keys: kjts.flatMap((t) => t.keys),
      stride,
      values: concatInt32(kjts.map((t) => t.values)),
      lengths: concatInt32(kjts.map((t) => t.lengths)),
      weights: weighted
        ? concatFloat32(kjts.flatMap((t) => (t.weights ? [t.weights] : [])))
        : undefined,
    });
  }

  /**
   * Samples `[start, end)` of every key (used to split a global batch across ranks).
   *
   * @example
   * kjt.sliceSamples(1, 2).lengths; // Int32Array [0, 1] for the class example
   */
  sliceSamples(start: number, end: number): KeyedJaggedTensor {
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < 0 ||
      end < start ||
      end > this.stride
    ) {
      throw new RangeError(
        `sliceSamples(${start}, ${end}) is not a valid range of the ${this.stride} samples`,
      );
    }
    const n = end - start;
    const offsets = this.offsets();
    const lengths = new Int32Array(this.keys.length * n);
    let nValues = 0;
    for (let k = 0; k < this.keys.length; k++) {
      const base = k * this.stride;
      nValues += offsets[base + end] - offsets[base + start];
      lengths.set(this.lengths.subarray(base + start, base + end), k * n);
    }
    const values = new Int32Array(nValues);
    const weights = this.weights ? new Float32Array(nValues) : undefined;
    let at = 0;
    for (let k = 0; k < this.keys.length; k++) {
      const base = k * this.stride;
      const from = offsets[base + start];
      const to = offsets[base + end];
      values.set(this.values.subarray(from, to), at);
      if (weights && this.weights) weights.set(this.weights.subarray(from, to), at);
      at += to - from;
    }
    return new KeyedJaggedTensor({ keys: this.keys, stride: n, values, lengths, weights });
  }

  /**
   * Concatenate along the batch dimension: same keys in the same order; samples of
   * `kjts[0]` first (inverse of {@link KeyedJaggedTensor.sliceSamples}).
   *
   * @example
   * KeyedJaggedTensor.concatSamples([kjt.sliceSamples(0, 1), kjt.sliceSamples(1, 2)]); // equal to kjt
   */
  static concatSamples(kjts: readonly KeyedJaggedTensor[]): KeyedJaggedTensor {
    if (kjts.length === 0)
      throw new RangeError('KeyedJaggedTensor.concatSamples needs at least one tensor');
    const keys = kjts[0].keys;
    const weighted = kjts[0].weights !== undefined;
    kjts.forEach((t, i) => {
      if (t.keys.length !== keys.length || t.keys.some((k, j) => k !== keys[j])) {
        throw new RangeError(
          `concatSamples: tensor ${i} has keys [${t.keys.join(', ')}], tensor 0 has [${keys.join(', ')}]`,
        );
      }
      if ((t.weights !== undefined) !== weighted) {
        throw new RangeError(
          `concatSamples: tensor ${i} ${weighted ? 'has no' : 'has'} weights, tensor 0 ${weighted ? 'has' : 'has none'}`,
        );
      }
    });
    const stride = kjts.reduce((s, t) => s + t.stride, 0);
    const nValues = kjts.reduce((s, t) => s + t.values.length, 0);
    const lengths = new Int32Array(keys.length * stride);
    const values = new Int32Array(nValues);
    const weights = weighted ? new Float32Array(nValues) : undefined;
    let lAt = 0;
    let vAt = 0;
    const opks = kjts.map((t) => t.offsetPerKeyCached());
    for (let k = 0; k < keys.length; k++) {
      kjts.forEach((t, i) => {
        lengths.set(t.lengths.subarray(k * t.stride, (k + 1) * t.stride), lAt);
        lAt += t.stride;
        const from = opks[i][k];
        const to = opks[i][k + 1];
        values.set(t.values.subarray(from, to), vAt);
        if (weights && t.weights) weights.set(t.weights.subarray(from, to), vAt);
        vAt += to - from;
      });
    }
    return new KeyedJaggedTensor({ keys, stride, values, lengths, weights });
  }

  /**
   * Plain-JSON form (numbers as arrays); `fromJSON(kjt.toJSON())` equals `kjt`.
   *
   * @example
   * JSON.stringify(kjt); // uses toJSON
   */
  toJSON(): KeyedJaggedTensorJSON {
    const json: KeyedJaggedTensorJSON = {
      keys: [...this.keys],
      stride: this.stride,
      values: Array.from(this.values),
      lengths: Array.from(this.lengths),
    };
    if (this.weights) json.weights = Array.from(this.weights);
    return json;
  }

  /**
   * Rebuild from {@link KeyedJaggedTensor.toJSON} output; throws a `TypeError` naming the bad field.
   *
   * @example
   * const copy = KeyedJaggedTensor.fromJSON(JSON.parse(JSON.stringify(kjt)));
   */
  static fromJSON(json: unknown): KeyedJaggedTensor {
    if (typeof json !== 'object' || json === null)
      throw new TypeError(`KeyedJaggedTensor.fromJSON: expected an object, got ${typeof json}`);
    const j = json as Partial<Record<keyof KeyedJaggedTensorJSON, unknown>>;
    const numbers = (name: string, v: unknown): number[] => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) {
        throw new TypeError(`KeyedJaggedTensor.fromJSON: "${name}" must be an array of numbers`);
      }
      return v as number[];
    };
    if (!Array.isArray(j.keys) || j.keys.some((k) => typeof k !== 'string')) {
      throw new TypeError('KeyedJaggedTensor.fromJSON: "keys" must be an array of strings');
    }
    if (typeof j.stride !== 'number' || !Number.isInteger(j.stride) || j.stride < 0) {
      throw new TypeError('KeyedJaggedTensor.fromJSON: "stride" must be a non-negative integer');
    }
    return new KeyedJaggedTensor({
      keys: j.keys as string[],
      stride: j.stride,
      values: Int32Array.from(numbers('values', j.values)),
      lengths: Int32Array.from(numbers('lengths', j.lengths)),
      weights:
        j.weights === undefined ? undefined : Float32Array.from(numbers('weights', j.weights)),
    });
  }

  /**
   * Bytes held by values, lengths and weights (what a host→device copy moves).
   *
   * @example
   * kjt.byteSize(); // 4 * (4 + 4) = 32 for the class example
   */
  byteSize(): number {
    return this.values.byteLength + this.lengths.byteLength + (this.weights?.byteLength ?? 0);
  }

  /**
   * A deep copy: its arrays share no memory with this tensor's (they share one new buffer).
   *
   * @example
   * const copy = kjt.clone(); // copy.values !== kjt.values
   */
  clone(): KeyedJaggedTensor {
    const [values, lengths, weights] = packedCopies([this.values, this.lengths, this.weights]);
    return new KeyedJaggedTensor({
      keys: this.keys,
      stride: this.stride,
      values,
      lengths,
      weights,
    });
  }

  /**
   * Same keys, stride, lengths, values and weights (weights compared exactly; NaN equals NaN).
   *
   * @example
   * kjt.equals(kjt.clone()); // true
   */
  equals(other: KeyedJaggedTensor): boolean {
    if (this.stride !== other.stride || this.keys.length !== other.keys.length) return false;
    if (this.keys.some((k, i) => k !== other.keys[i])) return false;
    if ((this.weights === undefined) !== (other.weights === undefined)) return false;
    return (
      sameArray(this.values, other.values) &&
      sameArray(this.lengths, other.lengths) &&
      (this.weights === undefined ||
        (other.weights !== undefined && sameArray(this.weights, other.weights)))
    );
  }

  /** {@link offsetPerKey}, computed once and shared (callers must not modify it). */
  private offsetPerKeyCached(): number[] {
    if (!this.offsetPerKeyCache) {
      const lpk = this.lengthPerKey();
      const out = new Array<number>(lpk.length + 1).fill(0);
      for (let k = 0; k < lpk.length; k++) out[k + 1] = out[k] + lpk[k];
      this.offsetPerKeyCache = out;
    }
    return this.offsetPerKeyCache;
  }
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && a[i] !== b[i]) return false;
  return true;
}
