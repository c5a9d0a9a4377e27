/**
 * `TrainPipelinePrefetchSparseDist` (TorchRec's `PrefetchTrainPipelineSparseDist`): four
 * batches in flight, one more stage than sparse-dist. While batch i computes, batch i+3 is
 * copied, batch i+2's input dist runs, and batch i+1's embedding rows are prefetched into
 * the cached tables' fast tier on the `prefetch` stream; batch i+1's lookup then finds its
 * rows resident, so slow-tier misses leave the compute stream.
 *
 * ```
 *               iteration i
 * memcpy     │ copy(i+3)
 * dataDist   │ dist(i+2)
 * prefetch   │       prefetch(i+1): cache fill of the rows i+1 looks up
 * default    │ fwd(i) ─ bwd(i) ─ opt(i) │ fwd(i+1): lookup hits …
 * ```
 *
 * The cache is transparent: lookups read the fast tier when they run, after the previous
 * step, and rows of in-flight batches or holding gradients are never evicted, so training
 * equals {@link TrainPipelineSparseDist} bit for bit, with or without cached tables.
 * Tables without a cache make the prefetch stage a no-op (the pipeline is then sparse-dist
 * with one more batch in flight). See docs/cached-embeddings.md.
 *
 * @example
 * const pipeline = new TrainPipelinePrefetchSparseDist({ model, optimizer, device });
 * for await (const out of pipeline.run(batches)) console.log(out.loss);
 */
import type { TrainPipelineOptions } from './options.ts';
import { TrainPipeline } from './train-pipeline.ts';

export class TrainPipelinePrefetchSparseDist extends TrainPipeline {
  constructor(options: TrainPipelineOptions) {
    super('prefetchSparseDist', options);
  }
}
