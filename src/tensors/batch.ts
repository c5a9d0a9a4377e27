/**
 * Batch: one training batch of a recommendation model — dense features, sparse features
 * (a {@link KeyedJaggedTensor}) and click labels — and the unit the pipeline moves between
 * streams (it implements `Pipelineable`).
 *
 * `dense` is row-major `[batchSize, denseDim]`; `labels` is `[batchSize]` in `[0, 1]`;
 * `sparse.stride === batchSize`. Construction does not validate (use `validateBatch`).
 *
 * @example
 * const batch = new Batch({
 *   dense: Float32Array.from([0.1, 0.2, 0.3, 0.4]), denseDim: 2,
 *   sparse: new KeyedJaggedTensor({ keys: ['f1'], values: Int32Array.from([3, 5]), lengths: Int32Array.from([1, 1]) }),
 *   labels: Float32Array.from([0, 1]),
 * });
 * const onDevice = await batch.to(device, 'memcpy');
 * onDevice.recordStream(device, 'default');
 */
import type { Device, Pipelineable, StreamName, StreamTagged } from '../protocol/index.ts';
import { KeyedJaggedTensor } from './keyed-jagged-tensor.ts';
import { packedCopies } from './packed-copy.ts';

export interface BatchInit {
  /** Row-major `[batchSize, denseDim]`. */
  dense: Float32Array;
  denseDim: number;
  sparse: KeyedJaggedTensor;
  /** `[batchSize]`, each in `[0, 1]`. */
  labels: Float32Array;
  /** Defaults to `labels.length`. */
  batchSize?: number;
}

/**
 * The fields of a batch without its methods: what `validateBatch` checks and what
 * `Batch.from` accepts (e.g. a batch that crossed a worker boundary).
 *
 * @example
 * const data: BatchData = { dense, denseDim: 13, sparse, labels, batchSize: 128 };
 */
export interface BatchData {
  dense: Float32Array;
  denseDim: number;
  sparse: SparseData;
  labels: Float32Array;
  batchSize: number;
}

/**
 * The fields of a {@link KeyedJaggedTensor} (a `KeyedJaggedTensor` is one).
 *
 * @example
 * const sparse: SparseData = { keys: ['f'], values: Int32Array.of(4), lengths: Int32Array.of(1), stride: 1 };
 */
export interface SparseData {
  readonly keys: readonly string[];
  readonly values: Int32Array;
  readonly lengths: Int32Array;
  readonly weights?: Float32Array;
  /** Samples per key; when absent, `lengths.length / keys.length`. */
  readonly stride?: number;
}

export class Batch implements Pipelineable, StreamTagged, BatchData {
  readonly dense: Float32Array;
  readonly denseDim: number;
  readonly sparse: KeyedJaggedTensor;
  readonly labels: Float32Array;
  readonly batchSize: number;
  /** Set by the device that produced this copy (stream-hazard checker); undefined on the host. */
  producer?: { stream: StreamName; seq: number };

  constructor(init: BatchInit) {
    this.dense = init.dense;
    this.denseDim = init.denseDim;
    this.sparse = init.sparse;
    this.labels = init.labels;
    this.batchSize = init.batchSize ?? init.labels.length;
  }

  /**
   * A `Batch` from batch-shaped data; a `Batch` is returned as is, and a plain sparse
   * object (`{ keys, values, lengths, weights?, stride? }`) becomes a `KeyedJaggedTensor`.
   *
   * @example
   * const batch = Batch.from(validatedData);
   */
  static from(data: BatchData): Batch {
    if (data instanceof Batch) return data;
    const s = data.sparse;
    const sparse =
      s instanceof KeyedJaggedTensor
        ? s
        : new KeyedJaggedTensor({
            keys: s.keys,
            values: s.values,
            lengths: s.lengths,
            weights: s.weights,
            stride: s.stride,
          });
    return new Batch({
      dense: data.dense,
      denseDim: data.denseDim,
      sparse,
      labels: data.labels,
      batchSize: data.batchSize,
    });
  }

  /**
   * Copy to `device` as one `copy` op on `stream`; resolves with a deep copy when the op has
   * completed (the device tags the copy's `producer`).
   *
   * @example
   * const next = await batch.to(device, 'memcpy', 'copy batch 3');
   */
  to(device: Device, stream: StreamName, label = 'copy batch'): Promise<this> {
    return device.run(
      stream,
      { kind: 'copy', bytes: this.byteSize(), label },
      () => this.clone() as this,
    );
  }

  /**
   * Mark this batch's buffers as in use by `stream` of `device`.
   *
   * @example
   * batch.recordStream(device, 'default');
   */
  recordStream(device: Device, stream: StreamName): void {
    device.recordStream(this, stream);
  }

  /**
   * Bytes of dense, labels and the sparse tensor (what `to` moves).
   *
   * @example
   * batch.byteSize(); // 4 * (4 + 2) + kjt bytes
   */
  byteSize(): number {
    return this.dense.byteLength + this.labels.byteLength + this.sparse.byteSize();
  }

  /**
   * A deep copy and no `producer`: its arrays share no memory with this batch's (they
   * share one new buffer, see `packedCopies`).
   *
   * @example
   * const copy = batch.clone();
   */
  clone(): Batch {
    const s = this.sparse;
    const [dense, labels, values, lengths, weights] = packedCopies([
      this.dense,
      this.labels,
      s.values,
      s.lengths,
      s.weights,
    ]);
    return new Batch({
      dense,
      denseDim: this.denseDim,
      sparse: new KeyedJaggedTensor({ keys: s.keys, stride: s.stride, values, lengths, weights }),
      labels,
      batchSize: this.batchSize,
    });
  }

  /**
   * Samples `[start, end)` (used to split a global batch across ranks).
   *
   * @example
   * const mine = globalBatch.sliceSamples(rank * local, (rank + 1) * local);
   */
  sliceSamples(start: number, end: number): Batch {
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < 0 ||
      end < start ||
      end > this.batchSize
    ) {
      throw new RangeError(
        `sliceSamples(${start}, ${end}) is not a valid range of the ${this.batchSize} samples`,
      );
    }
    return new Batch({
      dense: this.dense.slice(start * this.denseDim, end * this.denseDim),
      denseDim: this.denseDim,
      sparse: this.sparse.sliceSamples(start, end),
      labels: this.labels.slice(start, end),
      batchSize: end - start,
    });
  }

  /**
   * Concatenate batches along the batch dimension (inverse of `sliceSamples`); all must
   * have the same `denseDim` and sparse keys.
   *
   * @example
   * const global = Batch.concatSamples(perRankBatches);
   */
  static concatSamples(batches: readonly Batch[]): Batch {
    if (batches.length === 0) throw new RangeError('Batch.concatSamples needs at least one batch');
    const denseDim = batches[0].denseDim;
    batches.forEach((b, i) => {
      if (b.denseDim !== denseDim)
        throw new RangeError(
          `concatSamples: batch ${i} has denseDim ${b.denseDim}, batch 0 has ${denseDim}`,
        );
    });
    const batchSize = batches.reduce((s, b) => s + b.batchSize, 0);
    const dense = new Float32Array(batchSize * denseDim);
    const labels = new Float32Array(batchSize);
    let at = 0;
    for (const b of batches) {
      dense.set(b.dense.subarray(0, b.batchSize * denseDim), at * denseDim);
      labels.set(b.labels.subarray(0, b.batchSize), at);
      at += b.batchSize;
    }
    return new Batch({
      dense,
      denseDim,
      sparse: KeyedJaggedTensor.concatSamples(batches.map((b) => b.sparse)),
      labels,
      batchSize,
    });
  }

  /**
   * Same shape and contents (the `producer` tag is ignored).
   *
   * @example
   * Batch.concatSamples([b.sliceSamples(0, 2), b.sliceSamples(2, 4)]).equals(b); // true
   */
  equals(other: Batch): boolean {
    return (
      this.batchSize === other.batchSize &&
      this.denseDim === other.denseDim &&
      sameFloats(this.dense, other.dense) &&
      sameFloats(this.labels, other.labels) &&
      this.sparse.equals(other.sparse)
    );
  }
}

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}
