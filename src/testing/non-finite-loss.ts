/**
 * Poison one batch's loss: wrap `model.forward` (on the instance) so that the loss of batch
 * `atBatch` is multiplied by `value` (`Infinity` by default). Every gradient of that batch
 * then holds inf or NaN — what a loss-scaler overflow looks like.
 *
 * The batch being computed is read from the pipeline's `forward.start` events (call
 * {@link NonFiniteLoss.watch} with the pipeline's `events$`); the model-rewrite trace and
 * any other forward call pass through untouched.
 *
 * What follows depends on the pipeline's `gradScaling`:
 * - `true`: the optimizer step holding that batch is skipped on every rank
 *   (`optimizer.skipped` event), gradients are zeroed, the scale is multiplied by the
 *   back-off factor (halved), and training continues with finite parameters;
 * - `false`: the step is applied and the parameters become NaN (nothing checks gradients).
 *
 * @example
 * const poison = new NonFiniteLoss(model, { atBatch: 3 });
 * const pipeline = new TrainPipelineSparseDist({ model, optimizer, device, gradScaling: true });
 * poison.watch(pipeline.events$);
 */
import * as tf from '@tensorflow/tfjs';
import type { Observable, Subscription } from 'rxjs';
import type { PipelineEvent } from '../protocol/index.ts';
import type { Model, ModelOutput } from '../modules/module.ts';
import type { Batch } from '../tensors/index.ts';

/**
 * Which batch to poison and with what.
 *
 * @example
 * const o: NonFiniteLossOptions = { atBatch: 3, value: NaN };
 */
export interface NonFiniteLossOptions {
  atBatch: number;
  /** Default `Infinity`. */
  value?: number;
  /** Called when the poisoned forward runs. */
  onFired?: () => void;
}

/**
 * Poisons the loss of one batch of a model (see the module doc).
 *
 * @example
 * new NonFiniteLoss(model, { atBatch: 2 }).watch(pipeline.events$);
 */
export class NonFiniteLoss {
  private current: number | undefined;
  private subscription: Subscription | undefined;

  constructor(
    readonly model: Model<Batch>,
    o: NonFiniteLossOptions,
  ) {
    const original = model.forward.bind(model) as (batch: unknown) => ModelOutput;
    const value = o.value ?? Infinity;
    (model as unknown as { forward: (batch: unknown) => ModelOutput }).forward = (
      batch: unknown,
    ) => {
      const out = original(batch);
      if (this.current !== o.atBatch) return out;
      this.current = undefined; // once
      o.onFired?.();
      // out.losses stays alive: the tape may need it; the pipeline's tidy scope releases it
      return { losses: tf.mul(out.losses, value), output: out.output };
    };
  }

  /** Follow `forward.start` events to know which batch the next forward computes. */
  watch(events$: Observable<PipelineEvent>): this {
    this.subscription?.unsubscribe();
    this.subscription = events$.subscribe((e) => {
      if (e.type === 'forward.start') this.current = e.batch;
    });
    return this;
  }

  dispose(): void {
    this.subscription?.unsubscribe();
  }
}
