/**
 * KeyedJaggedTensor: sparse features of a batch, one jagged list of ids per (key, sample).
 *
 * Layout (TorchRec's): `lengths` is key-major, `lengths[k * stride + b]` ids for key `k`
 * of sample `b`; `values` holds the ids in the same order; optional `weights` align with
 * `values` (per-sample / per-id weights).
 *
 * @example
 * const kjt = new KeyedJaggedTensor({
 *   keys: ['f1', 'f2'],
 *   values: Int32Array.from([1, 2, 3, 4]),
 *   lengths: Int32Array.from([2, 0, 1, 1]), // f1: [1,2], [] ; f2: [3], [4]
 * });
 * kjt.stride; // 2
 */
export interface KeyedJaggedTensorInit {
  keys: readonly string[];
  values: Int32Array;
  lengths: Int32Array;
  weights?: Float32Array;
  /** Samples per key; defaults to `lengths.length / keys.length` (0 when there are no keys). */
  stride?: number;
}

export class KeyedJaggedTensor {
  readonly keys: readonly string[];
  readonly values: Int32Array;
  readonly lengths: Int32Array;
  readonly weights: Float32Array | undefined;
  readonly stride: number;
  private offsetsCache: Int32Array | undefined;

  constructor(init: KeyedJaggedTensorInit) {
    this.keys = [...init.keys];
    this.values = init.values;
    this.lengths = init.lengths;
    this.weights = init.weights;
    this.stride = init.stride ?? (init.keys.length === 0 ? 0 : Math.floor(init.lengths.length / init.keys.length));
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
}
