/**
 * DLRM (TorchRec's `DLRM`): a bottom MLP over the dense features, a sparse arch giving one
 * pooled embedding per sparse feature, the pairwise dot interaction, and a top MLP giving
 * one logit; the loss is the mean binary cross-entropy with logits.
 *
 * ```
 * dense [B, denseIn] ─ bottom MLP (ReLU) ─ [B, D] ─┐
 * sparse (KJT) ─ sparseArch ─ [B, F·D] ────────────┴─ DotInteraction ─ [B, D + F(F+1)/2] ─ top MLP ─ logits [B, 1]
 * ```
 *
 * The sparse arch is an ordinary property: usually a sharded EmbeddingBagCollection whose
 * synchronous `forward(kjt)` returns the pooled embeddings the pipeline precomputed. Its
 * result must be `[B, F·D]`: F = `featureNames.length` blocks of width D = `embeddingDim`.
 *
 * `forward` runs in a `tf.tidy`: only `losses` and `output` survive it, so a sparse arch that
 * creates its output tensor *inside* `forward` must `tf.keep` it if it needs it afterwards.
 *
 * @example
 * const model = new DLRM({
 *   denseIn: 13, bottom: [512, 256, 16], top: [512, 256, 1],
 *   sparseArch: ebc, featureNames: ['f0', …, 'f7'], embeddingDim: 16, seed: 0,
 * });
 * const { losses, output } = model.forward(batch); // scalar loss, logits [B, 1]
 */
import * as tf from '@tensorflow/tfjs';
import type { KeyedJaggedTensor } from '../tensors/keyed-jagged-tensor.ts';
import type { Batch } from '../tensors/batch.ts';
import { Model, type ModelOutput } from './module.ts';
import { deriveSeed } from './dense/init.ts';
import { DotInteraction } from './dense/interaction.ts';
import { bceWithLogits } from './dense/loss.ts';
import { MLP } from './dense/mlp.ts';

/** The fields of a batch DLRM reads (a `Batch` is one). */
export type DlrmBatch = Pick<Batch, 'dense' | 'labels' | 'sparse' | 'batchSize'>;

/** A sparse arch: pooled embeddings of the batch's sparse features, `[B, F·D]`, synchronously. */
export interface SparseArch {
  forward(features: KeyedJaggedTensor): tf.Tensor2D;
}

export interface DLRMOptions {
  /** Number of dense features. */
  denseIn: number;
  /** Bottom MLP layer sizes; the last must equal `embeddingDim` (e.g. `[512, 256, 16]`). */
  bottom: readonly number[];
  /** Top MLP layer sizes; the last must be 1 (e.g. `[512, 256, 1]`). */
  top: readonly number[];
  sparseArch: SparseArch;
  /** The sparse features, in the order of the sparse arch's output blocks. */
  featureNames: readonly string[];
  /** Width D of every pooled embedding. */
  embeddingDim: number;
  /** Seed of the dense parameters' init. */
  seed: number;
}

/**
 * The DLRM model.
 *
 * @example
 * const model = new DLRM({ denseIn: 4, bottom: [8, 2], top: [8, 1], sparseArch, featureNames: ['a', 'b'], embeddingDim: 2, seed: 1 });
 * model.namedParameters().map(([n]) => n); // ['bottom.layers.0.weight', …, 'top.layers.1.bias']
 */
export class DLRM extends Model<DlrmBatch> {
  readonly denseIn: number;
  readonly featureNames: readonly string[];
  readonly embeddingDim: number;
  bottom: MLP;
  sparseArch: SparseArch;
  interaction: DotInteraction;
  top: MLP;

  constructor(options: DLRMOptions) {
    super();
    const { denseIn, bottom, top, sparseArch, featureNames, embeddingDim, seed } = options;
    if (!Number.isInteger(denseIn) || denseIn <= 0)
      throw new Error(`DLRM: denseIn must be a positive integer, got ${denseIn}`);
    if (!Number.isInteger(embeddingDim) || embeddingDim <= 0)
      throw new Error(`DLRM: embeddingDim must be a positive integer, got ${embeddingDim}`);
    if (bottom.at(-1) !== embeddingDim) {
      throw new Error(
        `DLRM: the bottom MLP must end in embeddingDim (${embeddingDim}), got bottom [${bottom.join(', ')}]`,
      );
    }
    if (top.at(-1) !== 1)
      throw new Error(`DLRM: the top MLP must end in 1 (one logit), got top [${top.join(', ')}]`);
    if (new Set(featureNames).size !== featureNames.length)
      throw new Error(`DLRM: featureNames has duplicates: [${featureNames.join(', ')}]`);
    if (typeof sparseArch?.forward !== 'function')
      throw new Error('DLRM: sparseArch must have a forward(features) method');
    this.denseIn = denseIn;
    this.featureNames = [...featureNames];
    this.embeddingDim = embeddingDim;
    this.bottom = new MLP({
      inFeatures: denseIn,
      layerSizes: bottom,
      seed: deriveSeed(seed, 'bottom'),
      lastActivation: 'relu',
    });
    this.sparseArch = sparseArch;
    this.interaction = new DotInteraction({ numSparse: featureNames.length, dim: embeddingDim });
    this.top = new MLP({
      inFeatures: this.interaction.outFeatures,
      layerSizes: top,
      seed: deriveSeed(seed, 'top'),
      lastActivation: 'none',
    });
  }

  /** Scalar mean BCE loss and logits `[B, 1]`. */
  forward(batch: DlrmBatch): ModelOutput {
    const { batchSize, dense, labels } = batch;
    if (dense.length !== batchSize * this.denseIn) {
      throw new Error(
        `DLRM.forward: batch.dense has ${dense.length} values, expected batchSize ${batchSize} × denseIn ${this.denseIn}`,
      );
    }
    if (labels.length !== batchSize)
      throw new Error(
        `DLRM.forward: batch.labels has ${labels.length} values, expected batchSize ${batchSize}`,
      );
    const { losses, output } = tf.tidy(() => {
      const embedded = this.bottom.forward(tf.tensor2d(dense, [batchSize, this.denseIn]));
      const pooled = this.sparseArch.forward(batch.sparse);
      const width = this.featureNames.length * this.embeddingDim;
      if (pooled.rank !== 2 || pooled.shape[0] !== batchSize || pooled.shape[1] !== width) {
        throw new Error(
          `DLRM.forward: sparseArch returned [${pooled.shape}], expected [${batchSize}, ${width}] (${this.featureNames.length} features × dim ${this.embeddingDim})`,
        );
      }
      const logits = this.top.forward(this.interaction.forward(embedded, pooled));
      return { losses: bceWithLogits(logits, tf.tensor2d(labels, [batchSize, 1])), output: logits };
    });
    return { losses, output };
  }

  /** Free the dense parameters and constants (not the sparse arch). */
  dispose(): void {
    this.bottom.dispose();
    this.interaction.dispose();
    this.top.dispose();
  }
}
