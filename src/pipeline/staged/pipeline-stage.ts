/**
 * One stage of a {@link StagedTrainPipeline} (TorchRec's `PipelineStage`): a named function
 * from the previous stage's output (the dataloader's batch for the first stage) to this
 * stage's output, run as one op on a device stream.
 *
 * @example
 * const normalize: PipelineStage<Batch, Batch> = {
 *   name: 'normalize', stream: 'memcpy', run: (b) => b.mapDense((x) => x / 255),
 * };
 */
import type { StreamName } from '../../protocol/index.ts';

export interface PipelineStage<In = unknown, Out = unknown> {
  /** Unique within the pipeline: names the stage's actor, its ops and its timeline spans. */
  readonly name: string;
  /** The stream the stage's op runs on (stages of one stream run one op at a time, in order). */
  readonly stream: StreamName;
  /** The stage's work on one batch; may return a promise (e.g. awaiting a collective). */
  run(batch: In): Out | Promise<Out>;
  /** Simulated devices: the op's duration in ms (default: by the cost model, 0 for `other` ops without flops). */
  readonly costMs?: number;
  /** Called once the pipeline is filled (every stage has a batch in flight or the data ended). */
  onFill?(): void;
  /** Called once when the dataloader runs dry. */
  onDataExhausted?(): void;
}
