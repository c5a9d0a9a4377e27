/** Test fixtures: a fixed sparse arch and tiny, separable DLRM data. */
import * as tf from '@tensorflow/tfjs';
import { DLRM, type DlrmBatch, type SparseArch } from '../../../src/modules/dlrm.ts';
import { SeededRandom, uniformArray } from '../../../src/modules/dense/init.ts';
import { KeyedJaggedTensor } from '../../../src/tensors/keyed-jagged-tensor.ts';

/** A sparse arch whose forward returns whatever tensor is in `pooled` (a gradient leaf, like the pipeline's). */
export class FixedSparseArch implements SparseArch {
  constructor(public pooled: tf.Tensor2D) {}
  forward(): tf.Tensor2D {
    return this.pooled;
  }
}

export const FEATURES = ['f0', 'f1', 'f2'];
export const DIM = 4;
export const DENSE_IN = 5;

export function emptyKjt(batchSize: number): KeyedJaggedTensor {
  return new KeyedJaggedTensor({
    keys: FEATURES,
    values: new Int32Array(0),
    lengths: new Int32Array(FEATURES.length * batchSize),
  });
}

export interface ToyData {
  dense: Float32Array;
  labels: Float32Array;
  pooled: Float32Array;
  size: number;
}

/** `size` examples; the label is 1 when dense[0] + pooled[0] > 0 (separable). */
export function toyData(size: number, seed: number): ToyData {
  const rng = new SeededRandom(seed);
  const dense = uniformArray(size * DENSE_IN, 1, rng);
  const pooled = uniformArray(size * FEATURES.length * DIM, 1, rng);
  const labels = new Float32Array(size);
  for (let b = 0; b < size; b++)
    labels[b] = dense[b * DENSE_IN] + pooled[b * FEATURES.length * DIM] > 0 ? 1 : 0;
  return { dense, labels, pooled, size };
}

/** Examples [start, start + count) as a batch plus the pooled tensor for its sparse arch. */
export function slice(
  data: ToyData,
  start: number,
  count: number,
): { batch: DlrmBatch; pooled: tf.Tensor2D } {
  const w = FEATURES.length * DIM;
  return {
    batch: {
      dense: data.dense.slice(start * DENSE_IN, (start + count) * DENSE_IN),
      labels: data.labels.slice(start, start + count),
      sparse: emptyKjt(count),
      batchSize: count,
    },
    pooled: tf.tensor2d(data.pooled.slice(start * w, (start + count) * w), [count, w]),
  };
}

export function toyModel(
  seed = 3,
  pooled: tf.Tensor2D = tf.zeros([1, FEATURES.length * DIM]),
): { model: DLRM; arch: FixedSparseArch } {
  const arch = new FixedSparseArch(pooled);
  const model = new DLRM({
    denseIn: DENSE_IN,
    bottom: [8, DIM],
    top: [8, 1],
    sparseArch: arch,
    featureNames: FEATURES,
    embeddingDim: DIM,
    seed,
  });
  return { model, arch };
}

/** All parameter values by name. */
export function snapshot(model: DLRM): Map<string, Float32Array> {
  return new Map(
    model.namedParameters().map(([n, v]) => [n, Float32Array.from(v.dataSync() as Float32Array)]),
  );
}

/** Largest |a − b| / max(1, |b|) over all parameters. */
export function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++)
      worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  }
  return worst;
}
