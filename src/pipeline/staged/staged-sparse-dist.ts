/**
 * `StagedSparseDistTrainer`: the sparse-dist iteration assembled from stages — `copy`, the
 * user's own stages (preprocessing, id remapping …), `startSparseDataDist`,
 * `waitSparseDataDist` — with {@link SparseDataDistUtil.trainStep} as the compute, behind
 * the same `progress` / `run` / `events$` / `dispose` face as the other pipelines. What
 * `simulateCluster({ staged })` runs; with no user stages it trains exactly like
 * `TrainPipelineSparseDist`.
 *
 * ```
 * memcpy     │ copy(i+3) ─ userStage(i+2)      (a user stage on memcpy)
 * dataDist   │ startDist(i+1) ─ waitDist(i+1)
 * default    │ trainStep(i): lookup, fwd, bwd, opt
 * ```
 *
 * @example
 * const trainer = new StagedSparseDistTrainer({ model, optimizer, device, stages: [normalize] });
 * for await (const out of trainer.run(loader)) console.log(out.loss);
 */
import type { Observable } from 'rxjs';
import type { PipelineOptimizer } from '../../../actors/pipeline-optimizer.ts';
import type { Interpreter } from '../../../actors/compiled-machine.ts';
import type { DataloaderInput } from '../../data/dataloader.ts';
import type { Model } from '../../modules/module.ts';
import type { Device, PipelineEvent } from '../../protocol/index.ts';
import type { Batch } from '../../tensors/index.ts';
import type { PipelineStage } from './pipeline-stage.ts';
import { copyStage, SparseDataDistUtil, type DistributedBatch } from './sparse-data-dist-util.ts';
import { StagedTrainPipeline } from './staged-train-pipeline.ts';

export interface StagedSparseDistOptions {
  model: Model<Batch>;
  optimizer: PipelineOptimizer;
  device: Device;
  /** User stages between the copy and the input dist (each maps a batch to a batch). */
  stages?: readonly PipelineStage<Batch, Batch>[];
  interpreter?: Interpreter;
}

export interface StagedIterationOutput {
  batch: number;
  loss: number;
  output: Float32Array;
}

export class StagedSparseDistTrainer {
  readonly pipeline: StagedTrainPipeline<DistributedBatch>;
  readonly sparseDataDist: SparseDataDistUtil;
  readonly events$: Observable<PipelineEvent>;
  private readonly optimizer: PipelineOptimizer;
  private trained = 0;

  /** Batches trained so far. */
  get batchesTrained(): number {
    return this.trained;
  }

  constructor(o: StagedSparseDistOptions) {
    this.sparseDataDist = new SparseDataDistUtil({ model: o.model, device: o.device });
    this.optimizer = o.optimizer;
    this.pipeline = new StagedTrainPipeline<DistributedBatch>({
      device: o.device,
      interpreter: o.interpreter,
      stages: [copyStage(), ...(o.stages ?? []), ...this.sparseDataDist.stages()],
    });
    this.events$ = this.pipeline.events$;
  }

  /** Train the next batch; `{ done: true }` when the dataloader is drained. */
  async progress(
    dataloader: DataloaderInput<unknown>,
  ): Promise<IteratorResult<StagedIterationOutput, undefined>> {
    const r = await this.pipeline.progress(dataloader);
    if (r.done) return r;
    const out = await this.sparseDataDist.trainStep(r.value, this.optimizer, this.pipeline);
    this.trained++;
    return { done: false, value: { batch: r.value.index, ...out } };
  }

  /** `progress` as an async iterable. */
  async *run(dataloader: DataloaderInput<unknown>): AsyncGenerator<StagedIterationOutput> {
    for (;;) {
      const r = await this.progress(dataloader);
      if (r.done) return;
      yield r.value;
    }
  }

  dispose(): void {
    this.pipeline.dispose();
  }
}
