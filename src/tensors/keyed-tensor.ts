/**
 * KeyedTensor: pooled embeddings keyed by feature (TorchRec's `KeyedTensor`).
 *
 * `values` is a `[batchSize, sum(lengthPerKey)]` tfjs tensor; the columns of key `k` start
 * at `offsetPerKey()[k]` and span `lengthPerKey[k]` columns (the embedding width).
 *
 * The KeyedTensor owns `values`; call `dispose()` when done. Tensors returned by `toDict()`
 * are new and owned by the caller.
 *
 * @example
 * const kt = KeyedTensor.fromTensorList(['f1', 'f2'], [tf.ones([2, 3]), tf.zeros([2, 4])]);
 * kt.lengthPerKey;            // [3, 4]
 * kt.toDict().f2.shape;       // [2, 4]
 */
import * as tf from '@tensorflow/tfjs';
import type { PooledOutput } from '../protocol/index.ts';

export interface KeyedTensorInit {
  keys: readonly string[];
  /** Width of each key's column block, in `keys` order. */
  lengthPerKey: readonly number[];
  values: tf.Tensor2D;
}

export class KeyedTensor {
  readonly keys: readonly string[];
  readonly lengthPerKey: readonly number[];
  readonly values: tf.Tensor2D;

  constructor(init: KeyedTensorInit) {
    if (init.keys.length !== init.lengthPerKey.length) {
      throw new RangeError(
        `KeyedTensor: ${init.keys.length} keys but ${init.lengthPerKey.length} widths in lengthPerKey`,
      );
    }
    const width = init.lengthPerKey.reduce((s, w) => s + w, 0);
    if (init.values.rank !== 2 || init.values.shape[1] !== width) {
      throw new RangeError(
        `KeyedTensor: values has shape [${init.values.shape.join(', ')}], expected [batchSize, ${width}] (sum of lengthPerKey)`,
      );
    }
    this.keys = [...init.keys];
    this.lengthPerKey = [...init.lengthPerKey];
    this.values = init.values;
  }

  /**
   * Wrap a sharded module's pooled output (`PooledOutput`, row-major `[batchSize, width]`).
   *
   * @example
   * const kt = KeyedTensor.fromPooled(await ebc.computeAndOutputDist(ctx));
   */
  static fromPooled(pooled: PooledOutput): KeyedTensor {
    const width = pooled.lengthPerKey.reduce((s, w) => s + w, 0);
    if (pooled.values.length !== pooled.batchSize * width) {
      throw new RangeError(
        `KeyedTensor.fromPooled: ${pooled.values.length} values, expected batchSize ${pooled.batchSize} × width ${width}`,
      );
    }
    return new KeyedTensor({
      keys: pooled.keys,
      lengthPerKey: pooled.lengthPerKey,
      values: tf.tensor2d(pooled.values, [pooled.batchSize, width]),
    });
  }

  /**
   * Concatenate per-key `[batchSize, width_k]` tensors column-wise. The inputs are not disposed.
   *
   * @example
   * KeyedTensor.fromTensorList(['a'], [tf.ones([4, 8])]).values.shape; // [4, 8]
   */
  static fromTensorList(keys: readonly string[], tensors: readonly tf.Tensor2D[]): KeyedTensor {
    if (keys.length !== tensors.length) {
      throw new RangeError(
        `KeyedTensor.fromTensorList: ${keys.length} keys but ${tensors.length} tensors`,
      );
    }
    if (tensors.length === 0)
      throw new RangeError('KeyedTensor.fromTensorList needs at least one tensor');
    const rows = tensors[0].shape[0];
    tensors.forEach((t, i) => {
      if (t.rank !== 2 || t.shape[0] !== rows) {
        throw new RangeError(
          `KeyedTensor.fromTensorList: tensor for "${keys[i]}" has shape [${t.shape.join(', ')}], expected [${rows}, width]`,
        );
      }
    });
    const values = tensors.length === 1 ? tensors[0].clone() : tf.concat2d([...tensors], 1);
    return new KeyedTensor({ keys, lengthPerKey: tensors.map((t) => t.shape[1]), values });
  }

  /**
   * First column of each key's block; length `keys.length + 1` (last = total width).
   *
   * @example
   * kt.offsetPerKey(); // [0, 3, 7]
   */
  offsetPerKey(): number[] {
    const out = [0];
    for (const w of this.lengthPerKey) out.push(out[out.length - 1] + w);
    return out;
  }

  /**
   * Column slice of one key, `[batchSize, width]` (a new tensor the caller disposes).
   *
   * @example
   * const f1 = kt.get('f1');
   */
  get(key: string): tf.Tensor2D {
    const k = this.keys.indexOf(key);
    if (k < 0)
      throw new RangeError(`KeyedTensor has no key "${key}" (keys: ${this.keys.join(', ')})`);
    const offsets = this.offsetPerKey();
    return tf.slice(this.values, [0, offsets[k]], [this.values.shape[0], this.lengthPerKey[k]]);
  }

  /**
   * Every key's column slice by key (new tensors the caller disposes).
   *
   * @example
   * const { f1, f2 } = kt.toDict();
   */
  toDict(): Record<string, tf.Tensor2D> {
    const out: Record<string, tf.Tensor2D> = {};
    for (const key of this.keys) out[key] = this.get(key);
    return out;
  }

  /** Release `values`. */
  dispose(): void {
    this.values.dispose();
  }
}
