/**
 * TorchRec's newer pipelines, each a configuration of the coordinator
 * (machines/pipeline-kinds.ts) driving the same rank engine: the fused sparse-dist and
 * semi-synchronous pipelines (which look batch i+1's embeddings up during iteration i) and
 * the eval pipeline. See docs/pipelines.md for each kind's decisions.
 *
 * @example
 * const pipeline = createPipeline('fusedSparseDist', { model, optimizer, device, pg });
 * for await (const out of pipeline.run(loader)) console.log(out.batch, out.loss);
 */
import { TrainPipelinePrefetchSparseDist } from './prefetch-pipeline.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import type { StreamName } from '../protocol/index.ts';
import {
  EMB_LOOKUP_STREAMS,
  type EmbLookupStream,
  type FusedSparseDistOptions,
  type SemiSyncOptions,
  type TrainPipelineOptions,
} from './options.ts';
import {
  NonPipelinedTrainer,
  TrainPipeline,
  TrainPipelineBase,
  TrainPipelineSparseDist,
} from './train-pipeline.ts';

const STREAM_OF: Record<EmbLookupStream, StreamName> = {
  'data-dist': 'dataDist',
  new: 'embLookup',
  current: 'default',
};

function lookupStreamOf(o: FusedSparseDistOptions): StreamName {
  const choice = o.embLookupStream ?? 'data-dist';
  if (!EMB_LOOKUP_STREAMS.includes(choice))
    throw new RangeError(
      `embLookupStream must be one of ${EMB_LOOKUP_STREAMS.join(', ')}; got ${JSON.stringify(o.embLookupStream)}`,
    );
  return STREAM_OF[choice];
}

/**
 * TorchRec's `TrainPipelineFusedSparseDist`: batch i+1's embedding lookup and output dist
 * start on the lookup stream as soon as batch i's embedding backward and embedding step have
 * updated the tables, overlapping the rest of batch i's backward and its dense optimizer
 * step; batch i+1's forward then runs without them.
 * Trains exactly like {@link TrainPipelineSparseDist} (same parameters, bit for bit): the
 * lookup still sees the updated tables, and the feature processors too, since they are
 * stepped with the tables (in the embedding step), not by the dense optimizer.
 *
 * ```
 *               iteration i
 * memcpy     │ copy(i+2)
 * dataDist   │      dist(i+1)
 * lookup     │                                   lookup(i+1) → outputDist(i+1)
 * default    │ fwd(i) ─ embBwd(i) ─ embeddingStep(i) ─ denseBwd(i) ─ denseStep(i) │ fwd(i+1) …
 * ```
 * `lookup` is the `dataDist` stream by default (`embLookupStream: 'data-dist'`), its own
 * `embLookup` stream with `'new'`, or `default` with `'current'`.
 *
 * @example
 * const pipeline = new TrainPipelineFusedSparseDist({ model, optimizer, device, embLookupStream: 'new' });
 */
export class TrainPipelineFusedSparseDist extends TrainPipeline {
  constructor(options: FusedSparseDistOptions) {
    super('fusedSparseDist', options, { lookupStream: lookupStreamOf(options) });
  }
}

/**
 * TorchRec's `TrainPipelineSemiSync`: from `startBatch` on, batch i+1's lookup is issued
 * right after batch i's forward, before batch i's backward and step — so batch i+1 is
 * predicted with embeddings last updated at step i−1, and its lookup and all-to-all hide
 * behind batch i's backward. Before `startBatch` it trains exactly like sparse-dist.
 * `stashGradients`: the dense step of iteration i applies batch i−1's gradients (none at
 * `startBatch`, so that step is skipped; the last batch's are applied when the data ends).
 * Training is *defined* by this staleness: `staleReferenceTrain` (src/testing) trains the
 * same way without a pipeline, and the two agree bit for bit.
 *
 * ```
 *               iteration i (≥ startBatch)
 * dataDist   │ dist(i+1)
 * lookup     │      lookup(i+1) → outputDist(i+1)      (tables as of step i−1)
 * default    │ fwd(i) ─ bwd(i) ─ (wait lookup(i+1)) embeddingStep(i) ─ denseStep(i)
 * ```
 *
 * @example
 * const pipeline = new TrainPipelineSemiSync({ model, optimizer, device, startBatch: 100, stashGradients: true });
 */
export class TrainPipelineSemiSync extends TrainPipeline {
  constructor(options: SemiSyncOptions) {
    const startBatch = options.startBatch ?? 0;
    if (!Number.isInteger(startBatch) || startBatch < 0)
      throw new RangeError(`startBatch must be an integer ≥ 0, got ${String(options.startBatch)}`);
    if ((options.gradAccum ?? 1) !== 1)
      throw new RangeError(
        `the semi-sync pipeline steps after every batch (its staleness is one step): gradAccum must be 1, got ${options.gradAccum}`,
      );
    if (options.gradScaling)
      throw new RangeError(
        'the semi-sync pipeline does not support gradScaling: a skipped step would leave the early lookup of the next batch one step staler than the definition',
      );
    super('semiSync', options, {
      lookupStream: lookupStreamOf(options),
      startBatch,
      stashGradients: options.stashGradients ?? false,
    });
  }
}

/**
 * TorchRec's `EvalPipelineSparseDist`: no backward; batch i+1's input dist overlaps batch
 * i's forward, and batches are loaded and copied by the copy stage's own actor. Evaluates
 * whatever the model's mode (`progress` answers each batch's loss and output). The
 * optimizer is not used (pass the training one, or any).
 *
 * ```
 * memcpy     │ copy(i+2)
 * dataDist   │      dist(i+1)
 * default    │ fwd(i)          │ fwd(i+1) …
 * ```
 *
 * @example
 * const evaluator = new EvalPipelineSparseDist({ model, optimizer, device });
 * for await (const out of evaluator.run(heldOut)) logits.push(out.output);
 */
export class EvalPipelineSparseDist extends TrainPipeline {
  constructor(options: TrainPipelineOptions) {
    super('eval', options);
  }
}

/** The pipeline class of each kind. */
export const PIPELINE_CLASSES: Readonly<
  Record<PipelineKind, new (options: SemiSyncOptions) => TrainPipeline>
> = {
  none: NonPipelinedTrainer,
  base: TrainPipelineBase,
  sparseDist: TrainPipelineSparseDist,
  fusedSparseDist: TrainPipelineFusedSparseDist,
  semiSync: TrainPipelineSemiSync,
  eval: EvalPipelineSparseDist,
  prefetchSparseDist: TrainPipelinePrefetchSparseDist,
};

/**
 * A pipeline of the given kind (options a kind does not use are ignored).
 *
 * @example
 * const p = createPipeline('semiSync', { model, optimizer, device, startBatch: 4 });
 */
export function createPipeline(kind: PipelineKind, options: SemiSyncOptions): TrainPipeline {
  const Pipeline = PIPELINE_CLASSES[kind];
  if (!Pipeline) throw new RangeError(`unknown pipeline kind ${JSON.stringify(kind)}`);
  return new Pipeline(options);
}
