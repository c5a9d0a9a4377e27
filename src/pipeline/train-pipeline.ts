/**
 * The pipeline facade: one coordinator actor (machines/coordinator.ts) provided with a
 * {@link RankEngine}, exposed as TorchRec's `progress(dataloaderIter)` plus `run()`,
 * `events$` and `metrics$`. Subclasses fix the depth: {@link TrainPipelineSparseDist},
 * {@link TrainPipelineBase}, {@link NonPipelinedTrainer}.
 *
 * `progress` trains one batch and resolves `{ done: false, value }`; when the data has
 * run out and every batch in flight has been trained it resolves `{ done: true }` (pass a
 * new dataloader to continue — the same object again keeps answering done, as an exhausted
 * iterator would; for another epoch over an array pass `array.values()`). A rejected batch (validation) rejects that call and leaves
 * the pipeline usable: the bad batch is dropped and the next call continues with the next
 * one. Any other error fails the pipeline (every later call rejects with it); so does an
 * actor that stops with an error (an {@link ActorFailedError} naming it, the original as
 * its cause), even while a call is pending: `progress` never hangs on a dead actor.
 */
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import type { coordinatorMachine } from '../../machines/coordinator.ts';
import {
  coordinatorActorName,
  coordinatorMachineFor,
  isDetached,
} from '../../machines/pipeline-kinds.ts';
import { GRAD_ACCUM_SCHEDULES } from '../../machines/accumulation-schedule.ts';
import type { PipelineKind, ProgressResult } from '../../machines/coordinator-types.ts';
import { RankEngine, type IterationOutput } from '../../actors/rank-engine.ts';
import { reportStates } from '../../actors/actor-state-events.ts';
import { liveLogic } from '../../actors/compiled-machine.ts';
import { isCacheFillSource, type PipelineEvent } from '../protocol/index.ts';
import { EventBus } from '../trace/event-bus.ts';
import { GradScaler } from '../optim/grad-scaler.ts';
import { Batch, validateBatch } from '../tensors/index.ts';
import { toPullSource, type DataloaderInput } from '../data/dataloader.ts';
import type { Model } from '../modules/module.ts';
import type { StreamName } from '../protocol/index.ts';
import type { PipelineState, TrainPipelineOptions } from './options.ts';
import { planModules } from './module-plan.ts';
import { ActorFailedError } from './actor-failure.ts';
import { defaultBatchSpec } from './default-batch-spec.ts';

export { ActorFailedError } from './actor-failure.ts';

export type { IterationOutput } from '../../actors/rank-engine.ts';

/** What `progress` resolves with when the data is exhausted. */
export interface ExhaustedResult {
  batchesTrained: number;
}

/** One sample of `metrics$`: emitted after every iteration. */
export interface IterationMetrics {
  rank: number;
  batch: number;
  loss: number;
  /** Time since the previous iteration ended (ms; virtual on the sim backend). */
  iterationMs: number;
  examples: number;
  t: number;
}

/** Which pipeline last ran on a model (for sync between pipelines sharing one model). */
const lastUser = new WeakMap<object, TrainPipeline>();

export abstract class TrainPipeline {
  /** Every event of this pipeline (docs/design.md "Events"). */
  readonly events$: Observable<PipelineEvent>;
  /** One sample per iteration. */
  readonly metrics$: Observable<IterationMetrics>;
  /** The coordinator actor (for inspectors and controls). */
  readonly coordinator: Actor<typeof coordinatorMachine>;
  readonly bus: EventBus;
  private readonly unsubscribers: Array<() => void> = [];
  readonly engine: RankEngine;
  readonly gradScaler: GradScaler | undefined;
  private readonly metrics = new Subject<IterationMetrics>();
  private readonly running = new BehaviorSubject(false);
  private lastIterationEnd: number | null = null;
  /** The first batch not yet trained: where a resumed run restarts its dataloader. */
  private nextBatch: number;
  /** Set once an actor stopped with an error: every call rejects with it from then on. */
  private failure: ActorFailedError | null = null;
  private readonly failureWaiters = new Set<(error: ActorFailedError) => void>();

  protected constructor(
    readonly kind: PipelineKind,
    readonly options: TrainPipelineOptions,
    lookAhead: { lookupStream?: StreamName; startBatch?: number; stashGradients?: boolean } = {},
  ) {
    const { device } = options;
    const gradAccum = options.gradAccum ?? 1;
    const schedule = options.gradAccumSchedule ?? 'exact';
    if (!GRAD_ACCUM_SCHEDULES.includes(schedule)) {
      throw new RangeError(
        `gradAccumSchedule must be one of ${GRAD_ACCUM_SCHEDULES.join(', ')}; got ${JSON.stringify(options.gradAccumSchedule)}`,
      );
    }
    if (!Number.isInteger(gradAccum) || gradAccum < 1) {
      throw new RangeError(`gradAccum must be an integer ≥ 1, got ${String(options.gradAccum)}`);
    }
    this.gradScaler =
      options.gradScaling instanceof GradScaler
        ? options.gradScaling
        : options.gradScaling
          ? new GradScaler()
          : undefined;
    if (options.resumeState?.gradScaler && this.gradScaler)
      this.gradScaler.importState(options.resumeState.gradScaler);
    this.nextBatch = options.resumeState?.nextBatch ?? 0;
    this.bus = new EventBus(device.rank, device.clock);
    this.events$ = this.bus.events$;
    this.metrics$ = this.metrics.asObservable();
    // No spec given: one derived from the model (its sharded modules and dense input).
    const spec =
      options.batchSpec === false
        ? undefined
        : (options.batchSpec ?? defaultBatchSpec(options.model));
    this.engine = new RankEngine({
      rank: device.rank,
      kind,
      model: options.model,
      optimizer: options.optimizer,
      device,
      bus: this.bus,
      gradAccum,
      pg: options.pg,
      gradScaler: this.gradScaler,
      amp: options.amp,
      executeAllBatches: options.executeAllBatches,
      firstBatchIndex: options.resumeState?.nextBatch,
      planModules,
      validate: (item, index) => {
        if (spec) validateBatch(item, spec, index);
        return Batch.from(item as Batch);
      },
      inspect: options.inspect,
      interpreter: options.interpreter,
      onActorError: (actor, error) => this.actorFailed(actor, error),
      ...lookAhead,
    });
    const live = coordinatorMachineFor(kind).provide({
      actions: this.engine.effectImplementations(),
    });
    this.coordinator = createActor(liveLogic(live, options), {
      input: {
        rank: device.rank,
        kind,
        gradAccum,
        gradAccumSchedule: schedule,
        resume: options.resumeState,
        startBatch: lookAhead.startBatch,
      },
      clock: device.clock,
      inspect: options.inspect,
      id: `rank${device.rank}.${options.name ?? kind}`,
    });
    reportStates(this.coordinator, coordinatorActorName(kind), this.bus);
    this.coordinator.subscribe({
      error: (e) => this.actorFailed(coordinatorActorName(kind), e),
    });
    // Cached embedding tables report each batch's fill; publish them as `cache.fill` events.
    for (const [, m] of options.model.namedModules()) {
      if (isCacheFillSource(m))
        this.unsubscribers.push(
          m.onCacheFill((fill) => this.bus.emit({ type: 'cache.fill', module: m.name, ...fill })),
        );
    }
    this.coordinator.start();
  }

  /**
   * Train (or, with `model.training === false`, evaluate) one batch.
   *
   * @example
   * for (;;) { const r = await pipeline.progress(loader); if (r.done) break; console.log(r.value.loss); }
   */
  async progress(
    dataloader: DataloaderInput<unknown>,
  ): Promise<IteratorResult<IterationOutput, ExhaustedResult>> {
    if (this.running.value)
      throw new Error(
        'progress() is already running on this pipeline: await the previous call first',
      );
    if (this.failure) throw this.failure;
    this.running.next(true);
    try {
      const newSource = this.engine.setSource(dataloader, () => toPullSource(dataloader));
      const model = this.options.model;
      const previous = lastUser.get(model);
      lastUser.set(model, this);
      if (previous && previous !== this) this.engine.handOverFrom(previous.engine);
      // progress() attaches a detached pipeline again (the coordinator leaves `detached`).
      if (this.detached) this.bus.emit({ type: 'pipeline.attach', batchesInFlight: this.inFlight });
      const seq = this.coordinator.getSnapshot().context.resultSeq;
      const answer = this.nextAnswer(seq);
      this.coordinator.send({
        type: 'PROGRESS',
        // The eval pipeline never trains, whatever the model's mode.
        training: this.kind !== 'eval' && model.training,
        syncRequired: previous !== undefined && previous !== this,
        newSource,
      });
      const result = await answer;
      return this.toIteratorResult(result);
    } finally {
      this.running.next(false);
    }
  }

  /**
   * Every remaining batch of `dataloader`, as an async iterable of outputs.
   *
   * @example
   * for await (const out of pipeline.run(loader)) losses.push(out.loss);
   */
  async *run(
    dataloader: DataloaderInput<unknown>,
  ): AsyncGenerator<IterationOutput, ExhaustedResult> {
    for (;;) {
      const r = await this.progress(dataloader);
      if (r.done) return r.value;
      yield r.value;
    }
  }

  /**
   * Inspector controls: the coordinator waits between iterations while paused. With
   * `atBatchesTrained`, iterations go on until that many batches are trained (see
   * {@link TrainPipeline.pauseTogether}).
   */
  pause(atBatchesTrained?: number): void {
    this.coordinator.send({ type: 'PAUSE', atBatchesTrained });
  }

  /**
   * Batches this pipeline has trained plus the one in progress: where it can stop without
   * leaving a peer waiting in a collective.
   */
  get batchesCommitted(): number {
    const s = this.coordinator.getSnapshot();
    const inIteration = s.matches('progressing') || s.matches('connecting') || s.matches('syncing');
    return s.context.batchesTrained + (inIteration ? 1 : 0);
  }

  /**
   * Pause the ranks of one job at the same iteration boundary. Pausing each rank at its own
   * next boundary could hold one rank while a peer is inside an iteration that needs it
   * (a collective), and the peer would never reach its pause; here every rank runs up to
   * the furthest rank's current iteration, then waits.
   *
   * @example
   * TrainPipeline.pauseTogether(pipelines); // … later: pipelines.forEach((p) => p.step())
   */
  static pauseTogether(pipelines: Iterable<TrainPipeline>): void {
    const list = [...pipelines];
    const at = Math.max(0, ...list.map((p) => p.batchesCommitted));
    for (const p of list) p.pause(at);
  }

  resume(): void {
    this.coordinator.send({ type: 'RESUME' });
  }

  /** While paused, let exactly one more iteration run. */
  step(): void {
    this.coordinator.send({ type: 'STEP' });
  }

  /**
   * TorchRec's `detach()`: give the model back for use outside this pipeline (directly, or
   * by another pipeline) between `progress` calls. Batches in flight are kept (fetched,
   * copied, distributed — and, for the look-ahead kinds, looked up), so a later `progress`
   * (which attaches again) or {@link TrainPipeline.attach} continues with the next batch:
   * no batch is lost or repeated. sparsepipe never rewrites the model's forwards in place
   * (the pipeline installs a forward scope for each forward), so the model returned is the
   * original one. The coordinator shows it in its `detached` state.
   *
   * @example
   * const model = pipeline.detach(); // … evaluate it through an EvalPipelineSparseDist …
   * pipeline.attach();               // or just call progress() again
   */
  detach(): Model<Batch> {
    if (this.running.value) throw new Error('detach() while progress() is running: await it first');
    const s = this.coordinator.getSnapshot();
    if (!isDetached(s)) {
      if (!(s.matches('idle') || s.matches('ready') || s.matches('exhausted')))
        throw new Error(
          `detach() needs the pipeline between iterations; its coordinator is in ${JSON.stringify(s.value)}`,
        );
      this.coordinator.send({ type: 'DETACH' });
      this.bus.emit({ type: 'pipeline.detach', batchesInFlight: this.inFlight });
    }
    return this.options.model;
  }

  /**
   * TorchRec's `attach(model?)`: take the model back after {@link TrainPipeline.detach}.
   * `model` may only be the pipeline's own model: its optimizer, module plan and in-flight
   * batches belong to it (build a new pipeline for another model).
   *
   * @example
   * pipeline.attach(pipeline.detach());
   */
  attach(model?: Model<Batch>): void {
    if (model !== undefined && model !== this.options.model)
      throw new Error(
        "attach(model): this pipeline's optimizer, module plan and in-flight batches belong to the model it was built with; pass that model (or none), or build a new pipeline for the other model",
      );
    if (!this.detached) return;
    this.coordinator.send({ type: 'ATTACH' });
    this.bus.emit({ type: 'pipeline.attach', batchesInFlight: this.inFlight });
  }

  /** True between {@link TrainPipeline.detach} and the next attach. */
  get detached(): boolean {
    return isDetached(this.coordinator.getSnapshot());
  }

  /** Batches fetched but not yet trained (kept across detach / attach). */
  private get inFlight(): number {
    return this.engine.batchesFetched - this.nextBatch;
  }

  /** Batches trained or evaluated so far. */
  get batchesTrained(): number {
    return this.coordinator.getSnapshot().context.batchesTrained;
  }

  /**
   * The pipeline's part of a checkpoint. Batches already fetched but not trained are not in
   * it: a resumed run fetches again from batch `nextBatch`.
   *
   * @example
   * const state = pipeline.exportState(); // { calls, windowSize, batchesTrained, nextBatch }
   */
  exportState(): PipelineState {
    if (this.running.value)
      throw new Error('exportState() while progress() is running: await it first');
    const c = this.coordinator.getSnapshot().context;
    return {
      calls: c.calls,
      windowSize: c.windowSize,
      batchesTrained: c.batchesTrained,
      nextBatch: this.nextBatch,
      gradScaler: this.gradScaler?.exportState(),
    };
  }

  /** Stop every actor of this pipeline. */
  dispose(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.coordinator.stop();
    this.engine.dispose();
    this.bus.complete();
    this.metrics.complete();
  }

  private nextAnswer(seq: number): Promise<ProgressResult> {
    return new Promise((resolve, reject) => {
      const failed = (error: ActorFailedError) => {
        sub.unsubscribe();
        reject(error);
      };
      const sub = this.coordinator.subscribe({
        next: (snapshot) => {
          const c = snapshot.context;
          if (c.resultSeq > seq && c.lastResult) {
            sub.unsubscribe();
            this.failureWaiters.delete(failed);
            resolve(c.lastResult);
          }
        },
        error: () => undefined, // reported through actorFailed
      });
      this.failureWaiters.add(failed);
    });
  }

  /** An actor stopped with an error: the pipeline fails and the pending call rejects. */
  private actorFailed(actor: string, error: unknown): void {
    if (this.failure) return;
    this.failure = new ActorFailedError(actor, error);
    this.bus.emit({ type: 'pipeline.failed', error: this.failure.message });
    for (const reject of [...this.failureWaiters]) reject(this.failure);
    this.failureWaiters.clear();
  }

  private toIteratorResult(
    result: ProgressResult,
  ): IteratorResult<IterationOutput, ExhaustedResult> {
    if (result.kind === 'output') {
      const value = result.output as IterationOutput;
      const t = this.options.device.clock.now();
      this.metrics.next({
        rank: this.options.device.rank,
        batch: value.batch,
        loss: value.loss,
        iterationMs: this.lastIterationEnd === null ? NaN : t - this.lastIterationEnd,
        examples: value.output.length,
        t,
      });
      this.lastIterationEnd = t;
      this.nextBatch = value.batch + 1;
      return { done: false, value };
    }
    if (result.kind === 'exhausted') {
      this.bus.emit({ type: 'pipeline.exhausted', batchesTrained: result.batchesTrained });
      return { done: true, value: { batchesTrained: result.batchesTrained } };
    }
    const error = result.error instanceof Error ? result.error : new Error(String(result.error));
    // A rejected batch leaves the pipeline usable: only a real failure is `pipeline.failed`.
    if (!result.recoverable) this.bus.emit({ type: 'pipeline.failed', error: error.message });
    throw error;
  }
}

/**
 * TorchRec's `TrainPipelineSparseDist`: three stages on three streams.
 *
 * ```
 *            iteration i                      iteration i+1
 * memcpy   │ copy(i+2)                      │ copy(i+3)
 * dataDist │      dist(i+1): splits → data  │      dist(i+2): splits → data
 * default  │ fwd(i) ─ bwd(i) ─ opt(i)       │ fwd(i+1) ─ bwd(i+1) ─ opt(i+1)
 * ```
 * dist(i+1) waits for copy(i+1) and for an event recorded just before fwd(i); fwd(i) waits
 * for dist(i). The host never blocks on the splits exchange (the module actors await it).
 *
 * @example
 * const pipeline = new TrainPipelineSparseDist({ model, optimizer, device, gradAccum: 4 });
 * for await (const out of pipeline.run(loader)) console.log(out.batch, out.loss);
 */
export class TrainPipelineSparseDist extends TrainPipeline {
  constructor(options: TrainPipelineOptions) {
    super('sparseDist', options);
  }
}

/**
 * TorchRec's `TrainPipelineBase`: two stages — copy the next batch while this one computes;
 * sharded modules distribute their input inside the iteration.
 *
 * ```
 * memcpy   │ copy(i+1)                          │ copy(i+2)
 * default  │ dist(i) ─ fwd(i) ─ bwd(i) ─ opt(i) │ dist(i+1) ─ fwd(i+1) …
 * ```
 *
 * @example
 * const pipeline = new TrainPipelineBase({ model, optimizer, device });
 */
export class TrainPipelineBase extends TrainPipeline {
  constructor(options: TrainPipelineOptions) {
    super('base', options);
  }
}

/**
 * No pipelining (`--pipeline none`): fetch, copy, dist, forward, backward, step — one batch
 * at a time. The reference the pipelines are checked against.
 *
 * ```
 * memcpy   │ copy(i)                                │ copy(i+1)
 * default  │        dist(i) ─ fwd(i) ─ bwd(i) ─ opt(i)│          dist(i+1) …
 * ```
 *
 * @example
 * const trainer = new NonPipelinedTrainer({ model, optimizer, device });
 */
export class NonPipelinedTrainer extends TrainPipeline {
  constructor(options: TrainPipelineOptions) {
    super('none', options);
  }
}
