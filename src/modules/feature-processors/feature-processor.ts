/**
 * Feature processors (TorchRec `FeatureProcessor`): per-feature modules that turn a
 * feature's ids into per-id weights before the embedding lookup, with learned parameters.
 *
 * A processor sees one feature's bags (its lengths), returns one weight per id, and later
 * receives the gradient of the loss w.r.t. those weights (computed by the embedding
 * backward: d pooled / d weightᵢ = row(idᵢ)). Parameters are trained by plain SGD with the
 * embedding optimizer's learning rate (see `sgdStepFeatureProcessor`).
 *
 * The embedding collections apply processors to the local batch *before* input
 * distribution, so the weights travel with the ids (docs/design.md "The seed pipeline and what sparsepipe fixes": the seed silently skipped
 * them for pipelined modules).
 *
 * @example
 * const processors = { item_hist: new PositionWeightedModule({ maxLength: 20 }) };
 * const weighted = applyFeatureProcessors(kjt, processors); // kjt with weights
 */
import { KeyedJaggedTensor } from '../../tensors/keyed-jagged-tensor.ts';

export interface FeatureProcessor {
  /** Learned parameters (updated in place by the step). */
  readonly param: Float32Array;
  /** Accumulated gradient of `param` (float64, summed until `zeroGrad`). */
  readonly grad: Float64Array;
  /**
   * Per-id weights for `nBags` bags whose sizes are `lengths[lengthsStart ..]`; writes
   * `Σ lengths` weights into `out` from `outOffset`. `feature` names the feature in errors.
   */
  computeWeights(
    lengths: Int32Array,
    lengthsStart: number,
    nBags: number,
    out: Float32Array,
    outOffset: number,
    feature: string,
  ): void;
  /** Add the gradient of `param` given `dLoss/dWeight` per id (`weightGrad[gradOffset ..]`, same order as `computeWeights`). */
  accumulateGrad(
    lengths: Int32Array,
    lengthsStart: number,
    nBags: number,
    weightGrad: Float32Array,
    gradOffset: number,
  ): void;
  zeroGrad(): void;
  /**
   * Positional form, used by the sharded collection: the weight of the id at `position` of
   * its bag, and the gradient of that weight. Positions travel with the ids through the
   * input dist and weights are computed where the lookup happens, with the parameters
   * current at compute time — so a batch whose input was distributed before the previous
   * step still sees the stepped parameters, and pipelined training equals unpipelined.
   */
  weightAt(position: number): number;
  accumulateAt(position: number, grad: number): void;
  /** Longest bag accepted (longer bags are an error naming the feature). */
  readonly maxLength: number;
}

/** Processors by feature name. */
export type FeatureProcessorMap = Readonly<Record<string, FeatureProcessor>>;

function keyIndex(kjt: KeyedJaggedTensor, feature: string): number {
  const k = kjt.keys.indexOf(feature);
  if (k < 0)
    throw new Error(
      `feature processor for '${feature}': the batch has no such key (keys: ${kjt.keys.join(', ')})`,
    );
  return k;
}

/**
 * A copy of `kjt` whose weights for each processed feature come from its processor
 * (replacing any weights it had, as TorchRec does); other features keep their weights
 * (or 1 when the batch had none). Returns `kjt` itself when `processors` is empty.
 *
 * @example
 * const weighted = applyFeatureProcessors(kjt, { f: new PositionWeightedModule({ maxLength: 8 }) });
 */
export function applyFeatureProcessors(
  kjt: KeyedJaggedTensor,
  processors: FeatureProcessorMap | undefined,
): KeyedJaggedTensor {
  return rewriteWeights(kjt, processors, (f, k, weights, offsets) => {
    processors![f].computeWeights(
      kjt.lengths,
      k * kjt.stride,
      kjt.stride,
      weights,
      offsets[k * kjt.stride],
      f,
    );
  });
}

/**
 * Feed `dLoss/dWeight` per id of `kjt` (indexed like `kjt.values`) to every processor.
 *
 * @example
 * backwardFeatureProcessors(kjt, processors, weightGrad);
 */
export function backwardFeatureProcessors(
  kjt: KeyedJaggedTensor,
  processors: FeatureProcessorMap | undefined,
  weightGrad: Float32Array,
): void {
  if (!processors) return;
  const offsets = kjt.offsets();
  for (const f of Object.keys(processors)) {
    const k = keyIndex(kjt, f);
    processors[f].accumulateGrad(
      kjt.lengths,
      k * kjt.stride,
      kjt.stride,
      weightGrad,
      offsets[k * kjt.stride],
    );
  }
}

/**
 * Plain SGD on a processor: `param -= lr · scale · grad`, then clears the gradient.
 *
 * @example
 * sgdStepFeatureProcessor(p, 0.1, 1);
 */
export function sgdStepFeatureProcessor(p: FeatureProcessor, lr: number, scale = 1): void {
  const step = lr * scale;
  for (let i = 0; i < p.param.length; i++) p.param[i] = p.param[i] - step * p.grad[i];
  p.zeroGrad();
}

/** True when any processor gradient is NaN or ±Infinity. */
export function featureProcessorsHaveNonFiniteGrad(
  processors: FeatureProcessorMap | undefined,
): boolean {
  if (!processors) return false;
  return Object.values(processors).some((p) => p.grad.some((v) => !Number.isFinite(v)));
}

/**
 * A copy of `kjt` whose weights carry, for each processed feature, the **position** of each
 * id in its bag (0, 1, …) — what the sharded collection sends through the input dist so the
 * owner can apply the processor at compute time. Other features keep their weights (1 when
 * the batch had none). Bags longer than a processor's `maxLength` throw, naming feature and bag.
 *
 * @example
 * positionsFor(kjt, { f: pw }).weights; // e.g. [0, 1, 0, 0, 1, 2]
 */
export function positionsFor(
  kjt: KeyedJaggedTensor,
  processors: FeatureProcessorMap | undefined,
): KeyedJaggedTensor {
  return rewriteWeights(kjt, processors, (f, k, weights, offsets) => {
    const max = processors![f].maxLength;
    for (let b = 0; b < kjt.stride; b++) {
      const bag = k * kjt.stride + b;
      const n = kjt.lengths[bag];
      if (n > max)
        throw new RangeError(
          `feature processor for '${f}': bag ${b} has ${n} ids, more than maxLength ${max}`,
        );
      for (let i = 0; i < n; i++) weights[offsets[bag] + i] = i;
    }
  });
}

/**
 * `kjt` with new weights: a copy of its weights (1 where it had none) in which `rewrite`
 * fills the entries of every processed feature (feature name, key index, weights, offsets).
 * Returns `kjt` itself when there are no processors.
 */
function rewriteWeights(
  kjt: KeyedJaggedTensor,
  processors: FeatureProcessorMap | undefined,
  rewrite: (feature: string, keyIndex: number, weights: Float32Array, offsets: Int32Array) => void,
): KeyedJaggedTensor {
  const names = processors ? Object.keys(processors) : [];
  if (names.length === 0) return kjt;
  const weights = kjt.weights ? kjt.weights.slice() : new Float32Array(kjt.values.length).fill(1);
  const offsets = kjt.offsets();
  for (const f of names) rewrite(f, keyIndex(kjt, f), weights, offsets);
  return new KeyedJaggedTensor({
    keys: kjt.keys,
    values: kjt.values,
    lengths: kjt.lengths,
    weights,
    stride: kjt.stride,
  });
}
