/**
 * `StagedTrainPipeline` (TorchRec's `StagedTrainPipeline`): a pipeline assembled from a list
 * of user stages. Each stage is a stage actor (idle → awaitingBatch → busy, see
 * machines/stage.ts) that runs its function on its stream; batch j enters stage k
 * once stage k−1 produced it and stage k finished batch j−1. `progress` returns the last
 * stage's output for the next batch, for the user's own forward / backward / step, while
 * the later batches advance through the earlier stages.
 *
 * ```
 * stages [copy: memcpy, dist: dataDist, prep: default]   progress() returns batch i's prep output
 *   memcpy     │ copy(i+2)
 *   dataDist   │ dist(i+1)
 *   default    │ prep(i) → (returned) user: forward/backward/step(i)
 * ```
 *
 * At most `stages.length` batches are pulled ahead of the one returned (back-pressure).
 * Every stage op emits `stage.start` / `stage.end` events (`stage`, `stream`, `batch`) on
 * `events$`, drawn on the timeline on the stage's stream.
 *
 * @example
 * const util = new SparseDataDistUtil({ model, device, pg });
 * const pipeline = new StagedTrainPipeline({ device, stages: [copyStage(), ...util.stages()] });
 * for (;;) {
 *   const r = await pipeline.progress(loader);
 *   if (r.done) break;
 *   await util.trainStep(r.value, optimizer);
 * }
 */
import type { InspectionEvent, Observer } from 'xstate';
import type { Observable } from 'rxjs';
import { BatchSource } from '../../../actors/batch-source.ts';
import type { Interpreter } from '../../../actors/compiled-machine.ts';
import { StageRunner } from '../../../actors/stage-runner.ts';
import { toPullSource, type DataloaderInput } from '../../data/dataloader.ts';
import type { Device, PipelineEvent, PipelineEventInput } from '../../protocol/index.ts';
import { EventBus } from '../../trace/event-bus.ts';
import type { PipelineStage } from './pipeline-stage.ts';

export interface StagedTrainPipelineOptions {
  /** The stages, first to last (at least one, names unique). */
  stages: readonly PipelineStage<never, unknown>[];
  device: Device;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  interpreter?: Interpreter;
}

interface InFlight {
  index: number;
  /** Each stage's output. */
  outputs: Promise<unknown>[];
}

export class StagedTrainPipeline<Out = unknown> {
  readonly events$: Observable<PipelineEvent>;
  private readonly bus: EventBus;
  private readonly stages: readonly PipelineStage<never, unknown>[];
  private readonly runner: StageRunner<string>;
  private readonly device: Device;
  private readonly queue: InFlight[] = [];
  private source: BatchSource<unknown> | null = null;
  private sourceToken: unknown = undefined;
  private fetched = 0;
  private filled = false;
  private exhaustedReported = false;

  constructor(o: StagedTrainPipelineOptions) {
    if (o.stages.length === 0) throw new RangeError('StagedTrainPipeline: give at least one stage');
    const names = new Set<string>();
    for (const s of o.stages) {
      if (typeof s.name !== 'string' || s.name === '')
        throw new TypeError('StagedTrainPipeline: every stage needs a non-empty name');
      if (names.has(s.name))
        throw new RangeError(`StagedTrainPipeline: two stages are named '${s.name}'`);
      if (typeof s.run !== 'function')
        throw new TypeError(`StagedTrainPipeline: stage '${s.name}' has no run(batch) function`);
      names.add(s.name);
    }
    this.stages = o.stages;
    this.device = o.device;
    this.bus = new EventBus(o.device.rank, o.device.clock);
    this.events$ = this.bus.events$;
    this.runner = new StageRunner(
      o.device.rank,
      this.bus,
      { clock: o.device.clock, inspect: o.inspect, interpreter: o.interpreter },
      o.stages.map((s) => s.name),
    );
  }

  /**
   * The last stage's output for the next batch, or `{ done: true }` once every batch pulled
   * from `dataloader` has come out. A different dataloader object starts a new pass.
   */
  async progress(dataloader: DataloaderInput<unknown>): Promise<IteratorResult<Out, undefined>> {
    if (dataloader !== this.sourceToken) {
      this.sourceToken = dataloader;
      this.source = new BatchSource(toPullSource(dataloader));
      this.exhaustedReported = false;
    }
    while (this.queue.length < this.stages.length && !this.source!.done) await this.fetch();
    if (!this.filled) {
      this.filled = true;
      for (const s of this.stages) s.onFill?.();
    }
    const head = this.queue.shift();
    if (!head) return { done: true, value: undefined };
    // The next batch enters the first stage while the user works on this one.
    if (!this.source!.done) await this.fetch();
    const value = (await head.outputs[head.outputs.length - 1]) as Out;
    return { done: false, value };
  }

  /** `progress` as an async iterable over one dataloader. */
  async *run(dataloader: DataloaderInput<unknown>): AsyncGenerator<Out> {
    for (;;) {
      const r = await this.progress(dataloader);
      if (r.done) return;
      yield r.value;
    }
  }

  /**
   * Put an event of the user's own work on `events$` (e.g. `forward.start` / `forward.end`
   * around the forward of the returned batch), so it is drawn on the same timeline.
   */
  emit(event: PipelineEventInput): void {
    this.bus.emit(event);
  }

  /** Stop the stage actors and complete `events$`. */
  dispose(): void {
    this.runner.stop();
    this.bus.complete();
  }

  private async fetch(): Promise<void> {
    const r = await this.source!.next();
    if (r.done) {
      if (!this.exhaustedReported) {
        this.exhaustedReported = true;
        for (const s of this.stages) s.onDataExhausted?.();
      }
      return;
    }
    const index = this.fetched++;
    this.bus.emit({ type: 'batch.fetched', batch: index });
    const outputs: Promise<unknown>[] = [];
    this.stages.forEach((stage, k) => {
      const input = k === 0 ? Promise.resolve(r.value) : outputs[k - 1];
      const out = this.runner.submit(
        stage.name,
        index,
        async () => this.runStage(stage, index, await input),
        k === 0 ? undefined : () => input,
      );
      out.catch(() => undefined);
      outputs.push(out);
    });
    this.queue.push({ index, outputs });
  }

  /**
   * The stage's op: a marker op on its stream (lasting `costMs` on a simulated device) that
   * starts when the stream reaches it, then the stage function on the host — as TorchRec
   * runs a stage under its stream: the ops the function issues (an input dist's
   * collectives) go to their streams themselves, so the function is not wrapped in an op.
   */
  private async runStage(stage: PipelineStage<never, unknown>, batch: number, input: unknown) {
    const { bus, device } = this;
    const span = { batch, module: stage.name, stage: stage.name, stream: stage.stream };
    await device.run(
      stage.stream,
      { kind: 'other', ms: stage.costMs, label: `${stage.name} b${batch}` },
      () => bus.emit({ type: 'stage.start', ...span }),
    );
    // The stage function receives the previous stage's output; its type is the user's.
    const out = await (stage.run as (b: unknown) => unknown)(input);
    bus.emit({ type: 'stage.end', ...span });
    return out;
  }
}
