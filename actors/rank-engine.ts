/**
 * The side effects of one pipeline on one rank: what the coordinator's actor slots do.
 * The facade (`src/pipeline`) creates one engine per pipeline and provides the
 * coordinator machine with {@link RankEngine.actorImplementations}.
 *
 * Depth: `none` keeps 1 batch in flight, `base` 2 (copy next while computing this one),
 * `sparseDist` 3 (copy i+2, input dist i+1, compute i).
 *
 * Cross-stream order (the seed's): copy(i) on `memcpy`; dist(i+1) on `dataDist` waits for
 * copy(i+1) and for an event recorded on `default` just before forward(i); forward(i) waits
 * for dist(i) (its pooled outputs are the op's `after` inputs); backward and optimizer follow
 * on `default`.
 *
 * @example
 * const engine = new RankEngine({ rank: 0, kind: 'sparseDist', model, optimizer, device, bus, gradAccum: 1, planModules });
 * engine.setSource(batches, () => toPullSource(batches));
 * const live = coordinatorMachine.provide({ actions: engine.effectImplementations() });
 */
import type { InspectionEvent, Observer } from 'xstate';
import {
  isPrefetchable,
  type Device,
  type DeviceEvent,
  type ModulePlan,
  type PooledOutput,
  type ProcessGroup,
  type Rank,
  type ShardedModuleContract,
  type StreamName,
} from '../src/protocol/index.ts';
import type {
  AwaitBatchOutput,
  BatchInput,
  PipelineKind,
  StepInput,
} from '../machines/coordinator-types.ts';
import { lossScaleFor } from '../machines/accumulation-schedule.ts';
import type { Model } from '../src/modules/module.ts';
import { Batch } from '../src/tensors/index.ts';
import { DataloaderError } from '../src/data/dataloader-error.ts';
import { InvalidDataloaderError } from '../src/data/dataloader.ts';
import type { EventBus } from '../src/trace/event-bus.ts';
import type { GradScaler } from '../src/optim/grad-scaler.ts';
import {
  BatchContext,
  callIndexOf,
  callKey,
  newModuleCall,
  type CallId,
  type DenseResult,
  type ModuleCall,
} from './batch-context.ts';
import { BatchSource } from './batch-source.ts';
import { runDenseStep, type ResolvedCall } from './dense-step.ts';
import { ModuleCallActors } from './module-call-actors.ts';
import { accumulateDense, type PipelineOptimizer } from './pipeline-optimizer.ts';
import { BASE_STAGES, StageRunner } from './stage-runner.ts';
import { splitOptimizer } from './split-step.ts';
import { effect, RejectedInput } from './effect.ts';
import type { Interpreter } from './compiled-machine.ts';

/** The output of one trained (or evaluated) batch, as `progress` returns it. */
export interface IterationOutput {
  batch: number;
  /** Mean loss of the batch (unscaled). */
  loss: number;
  /** The model's `output` (e.g. logits), copied off the device. */
  output: Float32Array;
}

export interface RankEngineOptions {
  rank: Rank;
  kind: PipelineKind;
  model: Model<Batch>;
  optimizer: PipelineOptimizer;
  device: Device;
  bus: EventBus;
  gradAccum: number;
  /** Data-parallel group: ranks agree on skipping a step when any saw inf/NaN. */
  pg?: ProcessGroup;
  gradScaler?: GradScaler;
  amp?: boolean;
  /** Index of the first batch fetched (continues the numbering of a resumed run). */
  firstBatchIndex?: number;
  /** false: stop when the dataloader runs dry, like the seed (batches in flight are dropped). Default true. */
  executeAllBatches?: boolean;
  /** Finds the module plan on the first batch (the model rewrite). */
  planModules(model: Model<Batch>, firstBatch: Batch): ModulePlan<Batch>;
  /** Validate a fetched item; throws a (recoverable) error for a bad batch. */
  validate?(item: unknown, index: number): Batch;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** The statechart interpreter of the stage and module actors (default XState's own). */
  interpreter?: Interpreter;
  /** Told when a stage or module actor stops with an error (see TrainPipeline.progress). */
  onActorError?: (actor: string, error: unknown) => void;
  /** Fused / semi-sync: the stream of the look-ahead lookup (default `dataDist`, as TorchRec). */
  lookupStream?: StreamName;
  /** Semi-sync: the first batch whose successor is looked up early (default 0). */
  startBatch?: number;
  /** Semi-sync: apply batch i−1's dense gradients at step i (TorchRec's `stash_gradients`). */
  stashGradients?: boolean;
}

const DEPTH: Record<PipelineKind, number> = {
  none: 1,
  base: 2,
  sparseDist: 3,
  fusedSparseDist: 3,
  semiSync: 3,
  eval: 3,
  prefetchSparseDist: 4,
};

export class RankEngine {
  readonly depth: number;
  private source: BatchSource<unknown> | null = null;
  /** The dataloader object the current source was made from (a fresh symbol before any). */
  private sourceToken: unknown = Symbol('no dataloader yet');
  private readonly queue: BatchContext[] = [];
  private plan: ModulePlan<Batch> | null = null;
  private fetched = 0;
  private lastForwardEvent: DeviceEvent | null = null;
  private readonly stages: StageRunner;
  private readonly moduleActors: ModuleCallActors;
  private readonly byIndex = new Map<number, BatchContext>();
  /** The embedding step's decision, for the dense step that follows it. */
  private stepDivisor: number | null = 1;
  /** Semi-sync with stashed gradients: batch i−1's synchronized dense gradients. */
  private stash: Float32Array | null = null;

  constructor(private readonly o: RankEngineOptions) {
    this.depth = DEPTH[o.kind];
    this.fetched = o.firstBatchIndex ?? 0;
    const actors = {
      clock: o.device.clock,
      inspect: o.inspect,
      interpreter: o.interpreter,
      onError: o.onActorError,
    };
    this.stages = new StageRunner(
      o.rank,
      o.bus,
      actors,
      o.kind === 'prefetchSparseDist' ? [...BASE_STAGES, 'prefetch'] : BASE_STAGES,
    );
    this.moduleActors = new ModuleCallActors(
      o.rank,
      o.bus,
      (batch, key) => {
        const call = this.byIndex.get(batch)?.calls.get(key);
        if (!call) throw new Error(`internal: no module call '${key}' for batch ${batch}`);
        return call;
      },
      actors,
    );
  }

  /** Stop the stage and module actors (the pipeline is disposed). */
  dispose(): void {
    this.stages.stop();
    this.moduleActors.stop();
  }

  /** The module plan found at connect (null before the first batch). */
  get modulePlan(): ModulePlan<Batch> | null {
    return this.plan;
  }

  /** Batches fetched from dataloaders so far (the next batch's index). */
  get batchesFetched(): number {
    return this.fetched;
  }

  /**
   * Use `pull` as the data source. Returns true when it differs from the current one (the
   * pipeline must then reconnect once the current source is drained).
   */
  setSource(token: unknown, makePull: () => BatchSource<unknown>['pull']): boolean {
    if (token === this.sourceToken) return false;
    // Make the source first: a value that is not a dataloader throws here and changes nothing.
    const source = new BatchSource(makePull());
    this.sourceToken = token;
    this.source = source;
    return true;
  }

  /** The implementations of the coordinator's effects. */
  effectImplementations() {
    return {
      connect: effect('connect', () => this.connect()),
      sync: effect('sync', () => this.sync()),
      awaitBatch: effect('awaitBatch', () => this.awaitBatch()),
      zeroGrad: effect('zeroGrad', () => this.zeroGrad()),
      forward: effect('forward', (p: BatchInput) => this.forward(p)),
      startNextDist: effect('startNextDist', (p: BatchInput) => this.startNextDist(p)),
      backward: effect('backward', (p: BatchInput) => this.backward(p)),
      optimizerStep: effect('optimizerStep', (p: StepInput) => this.optimizerStep(p)),
      complete: effect('complete', (p: BatchInput) => this.complete(p)),
      drain: effect('drain', () => this.drain()),
      embeddingStep: effect('embeddingStep', (p: StepInput) => this.embeddingStep(p)),
      lookupNext: effect('lookupNext', (p: BatchInput) => this.lookupNext(p)),
      denseStep: effect('denseStep', (p: StepInput) => this.denseStep(p)),
      prefetchNext: effect('prefetchNext', (p: BatchInput) => this.prefetchNext(p)),
    };
  }

  // ── coordinator slots ────────────────────────────────────────────────────────────────

  /**
   * What another pipeline on the same model still has in flight (input dists, look-ahead
   * lookups): this pipeline's first dist must come after them on every rank, since they
   * share the device's streams and the process groups' channels.
   */
  private handover: Promise<void> | null = null;

  /** Wait for `previous` (the model's last pipeline) to settle before this one issues anything. */
  handOverFrom(previous: RankEngine): void {
    this.handover = previous.settled();
  }

  /** Resolves when every input dist and look-ahead lookup issued so far has completed. */
  settled(): Promise<void> {
    const pending: Array<Promise<unknown>> = [];
    for (const ctx of this.queue) {
      if (ctx.distStarted) pending.push(ctx.distDone.promise);
      if (ctx.lookAhead) pending.push(ctx.lookAhead);
    }
    return Promise.allSettled(pending).then(() => undefined);
  }

  private async takeOver(): Promise<void> {
    const handover = this.handover;
    this.handover = null;
    if (handover) await handover;
  }

  private async connect(): Promise<void> {
    await this.takeOver();
    this.o.bus.emit({ type: 'pipeline.connect' });
    // Fill: depth-1 batches ahead (sparseDist: copy b0, plan, dist b0, copy b1).
    await this.fetchAndCopy();
    const first = this.queue[0];
    if (first && !this.plan) {
      this.plan = this.o.planModules(this.o.model, first.host);
      for (const m of this.plan.notPipelined) {
        this.o.bus.emit({ type: 'module.notPipelined', module: m.name, reason: m.reason });
      }
      for (const p of this.plan.pipelinedPostprocs ?? []) {
        this.o.bus.emit({ type: 'module.postprocPipelined', module: p.name, feeds: p.feeds });
      }
    }
    // A connect retried after a rejected batch finds batch 0 already distributing.
    if (this.distAhead && first && !first.distStarted) this.startDist(first);
    while (this.queue.length < this.depth - 1 && !this.currentSource().done)
      await this.fetchAndCopy();
    // Prefetch: batch 1's dist starts now, and batch 0's rows are prefetched (b2 is copied).
    if (this.o.kind === 'prefetchSparseDist') {
      const second = this.queue[1];
      if (second && !second.distStarted) this.startDist(second);
      if (first) this.startPrefetch(first);
    }
  }

  private async sync(): Promise<void> {
    // Module calls are bound per batch context and the forward scope is installed per
    // forward, so nothing stale can remain from another pipeline; wait for what it still
    // has in flight, and record the hand-over.
    await this.takeOver();
    this.o.bus.emit({ type: 'pipeline.sync', pipeline: this.o.kind });
  }

  private async awaitBatch(): Promise<AwaitBatchOutput> {
    if (!this.source) throw new Error('progress() needs a dataloader');
    while (this.queue.length < this.depth && !this.source.done) await this.fetchAndCopy();
    // The seed (executeAllBatches: false) stops as soon as the dataloader runs dry, leaving
    // the batches still in flight untrained.
    if (this.o.executeAllBatches === false && this.source.done && this.queue.length < this.depth) {
      return { batch: null, isLast: true };
    }
    const head = this.queue[0];
    if (!head) return { batch: null, isLast: true };
    const source = this.source;
    const isLast =
      this.queue.length === 1 &&
      !(await source.hasNext().catch((e: unknown) => {
        throw dataloaderError(e, this.fetched);
      }));
    return { batch: head.index, isLast };
  }

  private zeroGrad(): void | Promise<void> {
    const done = this.o.optimizer.zeroGrad();
    if (done instanceof Promise) return done.then(this.reportZeroGrad);
    this.reportZeroGrad();
  }

  /** A method, not a per-call closure: the hot path creates no named function. */
  private readonly reportZeroGrad = (): void => {
    this.o.bus.emit({ type: 'optimizer.zeroGrad', batch: this.queue[0]?.index });
  };

  private async forward(input: BatchInput): Promise<void> {
    const ctx = this.head(input.batch);
    // An event before forward(i): dist(i+1) must not start before it (the seed's order).
    this.lastForwardEvent = this.o.device.record('default');
    if (!ctx.distStarted) this.startDist(ctx);
    // The module actors must reach `ready` before they can compute.
    await ctx.distDone.promise;
    ctx.forward = this.runForward(ctx, input.training);
    if (this.plan === null || this.plan.notPipelined.length > 0) await ctx.forward;
  }

  private startNextDist(input: BatchInput): void {
    if (!this.distAhead || input.batch !== this.queue[0]?.index) return;
    // Sparse-dist: batch i+1. Prefetch: i+2 (i+1's dist started an iteration earlier).
    for (let k = 1; k <= this.depth - 2; k++) {
      const next = this.queue[k];
      if (next && !next.distStarted) this.startDist(next);
    }
  }

  /**
   * Prefetch: fill batch i+1's rows into the cached tables' fast tier on the `prefetch`
   * stream (done when issued). Issued after forward(i), so it never delays i's lookup.
   */
  private prefetchNext(input: BatchInput): void {
    if (input.batch !== this.queue[0]?.index) return;
    const next = this.queue[1];
    if (next) this.startPrefetch(next);
  }

  /** The prefetch stage's job: once the batch's input dist is done, fill every pipelined module's rows. */
  private startPrefetch(ctx: BatchContext): void {
    if (ctx.prefetchStarted) return;
    ctx.prefetchStarted = true;
    const bus = this.o.bus;
    const work = async (): Promise<void> => {
      const fills: Promise<void>[] = [];
      for (const call of ctx.calls.values()) {
        const m = call.module;
        if (isPrefetchable(m)) fills.push(m.prefetch(call.moduleContext, 'prefetch'));
      }
      if (fills.length === 0) return;
      bus.emit({ type: 'prefetch.start', batch: ctx.index });
      await Promise.all(fills);
      bus.emit({ type: 'prefetch.end', batch: ctx.index });
    };
    this.stages
      .submit('prefetch', ctx.index, work, () => ctx.distDone.promise)
      .catch(() => undefined);
  }

  /** The batch's backward; answers with its output (the batch leaves the pipeline: the optimizer step needs only gradients). */
  private async backward(input: BatchInput): Promise<IterationOutput> {
    const ctx = this.head(input.batch);
    const result = await forwardOf(ctx);
    if (this.sparseFirst) {
      // Fused: the embedding backward now; the dense part after the look-ahead is issued.
      ctx.backward = this.runSparseBackward(ctx);
      this.pendingDense = { ctx, result };
    } else ctx.backward = this.runBackward(ctx, result);
    await ctx.backward;
    this.retire(ctx);
    return { batch: ctx.index, loss: result.loss, output: result.output };
  }

  /**
   * Fused sparse-dist, TorchRec's order: the embedding backward (and then the embedding
   * step) before the rest of the backward, so batch i+1's lookup also overlaps the dense
   * backward. Not with a loss scaler (its verdict needs the dense gradients before the
   * embedding step), nor with the lookup on the compute stream (its output dist would race
   * the dense all-reduce on the default channel).
   */
  private get sparseFirst(): boolean {
    return (
      this.o.kind === 'fusedSparseDist' &&
      !this.o.gradScaler?.enabled &&
      (this.o.lookupStream ?? 'dataDist') !== 'default'
    );
  }

  private pendingDense: { ctx: BatchContext; result: DenseResult } | null = null;

  /** Every module call's backward (reverse all-to-all, row-gradient scatter-add). */
  private async runSparseBackward(ctx: BatchContext): Promise<void> {
    this.o.bus.emit({ type: 'backward.start', batch: ctx.index });
    const sparse: Array<Promise<void>> = [];
    for (const call of ctx.calls.values())
      sparse.push(call.module.backward(call.moduleContext, gradOf(call)));
    await (sparse.length === 1 ? sparse[0] : Promise.all(sparse));
  }

  /** The dense part of a sparse-first backward: the backward op, accumulating the dense gradients. */
  private async runDenseBackward(): Promise<void> {
    const pending = this.pendingDense;
    if (!pending) return;
    this.pendingDense = null;
    const { ctx, result } = pending;
    const { device, bus, optimizer } = this.o;
    const cost = this.o.model.denseOpCost?.('backward');
    await device.run(
      'default',
      { kind: 'backward', ...cost, label: `backward b${ctx.index}` },
      () => {
        if (!result.denseGrads) return;
        accumulateDense(optimizer, result.denseGrads);
        for (const g of result.denseGrads.values()) g.dispose();
      },
    );
    bus.emit({ type: 'backward.end', batch: ctx.index });
  }

  /** The backward op on `default`: dense gradients into the accumulators, then every module call's (sparse) backward. */
  private async runBackward(ctx: BatchContext, result: DenseResult): Promise<void> {
    const { device, bus, optimizer } = this.o;
    const sparse: Array<Promise<void>> = [];
    const cost = this.o.model.denseOpCost?.('backward');
    await device.run(
      'default',
      { kind: 'backward', ...cost, label: `backward b${ctx.index}` },
      () => {
        bus.emit({ type: 'backward.start', batch: ctx.index });
        if (result.denseGrads) {
          accumulateDense(optimizer, result.denseGrads);
          for (const g of result.denseGrads.values()) g.dispose();
        }
        for (const call of ctx.calls.values())
          sparse.push(call.module.backward(call.moduleContext, gradOf(call)));
      },
    );
    await (sparse.length === 1 ? sparse[0] : Promise.all(sparse));
    bus.emit({ type: 'backward.end', batch: ctx.index });
  }

  private async optimizerStep(input: StepInput): Promise<void> {
    const { optimizer, bus, device } = this.o;
    await device.run(
      'default',
      {
        kind: 'optimizer',
        ...this.o.model.denseOpCost?.('optimizer'),
        label: `optimizer b${input.batch}`,
      },
      async () => {
        bus.emit({ type: 'optimizer.start', batch: input.batch });
        await optimizer.synchronize?.();
        const divisor = await this.scalerDivisor(input.batch);
        if (divisor === null) return;
        await optimizer.step(input.scale / divisor);
        bus.emit({ type: 'optimizer.step', batch: input.batch, microBatches: input.microBatches });
      },
    );
    // After the op completed (its duration included), like forward.end and backward.end.
    bus.emit({ type: 'optimizer.end', batch: input.batch });
  }

  /**
   * The loss scaler's verdict on the accumulated gradients (ranks agree through `pg`): the
   * divisor to unscale them by, or null when the step is skipped (gradients dropped, scale
   * lowered). 1 without a scaler.
   */
  private async scalerDivisor(batch: number): Promise<number | null> {
    const { optimizer, gradScaler, bus } = this.o;
    if (!gradScaler?.enabled) return 1;
    let found = (await optimizer.hasNonFiniteGrads?.()) ?? false;
    if (this.o.pg && this.o.pg.worldSize > 1) {
      const any = await this.o.pg.allReduce(Float32Array.of(found ? 1 : 0), 'sum', {
        label: 'found-inf',
      });
      found = any[0] > 0;
    }
    const scale = gradScaler.scale;
    const update = gradScaler.update(found);
    if (!update.skipped) return scale;
    await optimizer.zeroGrad();
    bus.emit({ type: 'optimizer.skipped', batch, scale: update.scale });
    return null;
  }

  // ── look-ahead kinds (fused sparse-dist, semi-sync): the step in two parts ─────────

  /**
   * The embedding step of batch i: all-reduce the dense gradients, decide on the scaler,
   * step the fused sparse optimizers (tables and feature processors). Semi-sync: waits
   * first for batch i+1's early lookup, which must read the tables before this writes them.
   */
  private async embeddingStep(input: StepInput): Promise<void> {
    const { optimizer, bus, device } = this.o;
    const next = this.byIndex.get(input.batch + 1);
    if (next?.lookAhead) {
      await next.lookAhead.catch(() => undefined);
      if (next.lookupEvent) device.wait('default', next.lookupEvent);
    }
    await device.run(
      'default',
      { kind: 'other', label: `embedding step b${input.batch}` },
      async () => {
        bus.emit({ type: 'optimizer.start', batch: input.batch });
        const { sparse } = splitOptimizer(optimizer);
        // Sparse-first (fused): the dense gradients are not accumulated yet; the dense step
        // all-reduces them. Otherwise every collective of the step runs here.
        if (this.sparseFirst) for (const part of sparse) await part.synchronize?.();
        else await optimizer.synchronize?.();
        this.stepDivisor = await this.scalerDivisor(input.batch);
        if (this.stepDivisor === null) return;
        for (const part of sparse) await part.step(input.scale / this.stepDivisor);
      },
    );
  }

  /** The dense optimizer step of batch i (overlaps batch i+1's look-ahead lookup). */
  private async denseStep(input: StepInput): Promise<void> {
    const { optimizer, bus, device } = this.o;
    const cost = {
      kind: 'optimizer' as const,
      ...this.o.model.denseOpCost?.('optimizer'),
      label: `optimizer b${input.batch}`,
    };
    const sparseFirst = this.sparseFirst;
    await device.run('default', cost, async () => {
      const divisor = this.stepDivisor;
      if (divisor === null) return;
      const dense = splitOptimizer(optimizer).dense;
      if (sparseFirst) await dense?.synchronize?.();
      const stashed = this.stashing(input.batch) ? this.swapStash(dense) : 'none';
      bus.emit({ type: 'optimizer.step', batch: input.batch, microBatches: input.microBatches });
      // TorchRec skips the dense step at startBatch: nothing was stashed yet.
      if (stashed === 'empty') return dense?.zeroGrad();
      return dense?.step(input.scale / divisor);
    });
    bus.emit({ type: 'optimizer.end', batch: input.batch });
  }

  private stashing(batch: number): boolean {
    return (
      this.o.kind === 'semiSync' &&
      this.o.stashGradients === true &&
      batch >= (this.o.startBatch ?? 0)
    );
  }

  /** Keep this batch's dense gradients and load the previous batch's (`'empty'`: none yet). */
  private swapStash(dense: PipelineOptimizer | undefined): 'swapped' | 'empty' {
    if (!hasFlatGradients(dense))
      throw new TypeError(
        'stashGradients needs a dense optimizer with flattenGradients() / loadFlatGradients() (SGD, Adagrad)',
      );
    const current = dense.flattenGradients();
    const previous = this.stash;
    this.stash = current;
    if (!previous) return 'empty';
    dense.loadFlatGradients(previous);
    return 'swapped';
  }

  /**
   * Start batch i+1's lookup and output dist on the lookup stream (does not wait for it).
   * Fused: after batch i's embedding step, so the lookup sees the updated tables (and
   * processors). Semi-sync: right after batch i's forward was issued, so it sees the tables
   * as of step i−1 (it waits only for what preceded forward i on `default`).
   */
  private lookupNext(input: BatchInput): void | Promise<void> {
    this.startLookAhead(input);
    // Sparse-first (fused): the rest of the backward runs under the look-ahead.
    if (this.pendingDense) return this.runDenseBackward();
  }

  private startLookAhead(input: BatchInput): void {
    const next = this.byIndex.get(input.batch + 1);
    if (!next || next.lookAhead || !this.plan || this.plan.pipelined.length === 0) return;
    if (!next.distStarted) this.startDist(next);
    const stream = this.o.lookupStream ?? 'dataDist';
    const early = this.o.kind === 'semiSync' && input.batch >= (this.o.startBatch ?? 0);
    const tables = early ? this.lastForwardEvent : this.o.device.record('default');
    next.lookAhead = this.lookUp(next, stream, tables);
    next.lookAhead.catch(() => undefined);
  }

  private async lookUp(ctx: BatchContext, stream: StreamName, tables: DeviceEvent | null) {
    await ctx.distDone.promise;
    const { device, bus } = this.o;
    if (tables && stream !== 'default') device.wait(stream, tables);
    bus.emit({ type: 'lookup.start', batch: ctx.index, stream });
    const calls = [...ctx.calls.values()];
    for (const call of calls) {
      call.computeStream = stream;
      if (call.actor?.getSnapshot().value === 'ready') ModuleCallActors.send(call, 'COMPUTE');
    }
    await Promise.all(calls.map((c) => c.computed.promise));
    ctx.lookupEvent = device.record(stream);
    bus.emit({ type: 'lookup.end', batch: ctx.index, stream });
  }

  /** Semi-sync with stashed gradients: the last batch's dense gradients, applied when the data ends. */
  private async flushStash(): Promise<void> {
    const dense = splitOptimizer(this.o.optimizer).dense;
    const previous = this.stash;
    if (!previous || !hasFlatGradients(dense)) return;
    this.stash = null;
    await this.o.device.run('default', { kind: 'optimizer', label: 'optimizer (stash)' }, () => {
      dense.loadFlatGradients(previous);
      return dense.step(1 / (this.stepDivisor ?? 1));
    });
  }

  /** Eval: waits for the forward's output (the module actors are done once computed). */
  private async complete(input: BatchInput): Promise<IterationOutput> {
    const ctx = this.head(input.batch);
    try {
      const result = await forwardOf(ctx);
      return { batch: ctx.index, loss: result.loss, output: result.output };
    } finally {
      this.retire(ctx);
    }
  }

  /** The head batch is done: it leaves the queue. */
  private retire(ctx: BatchContext): void {
    if (this.queue[0] === ctx) this.queue.shift();
    this.byIndex.delete(ctx.index);
  }

  private async drain(): Promise<void> {
    this.o.bus.emit({ type: 'pipeline.drain' });
    if (this.stash) await this.flushStash();
    // The drained dataloader stays the current one: passing it again answers "done" (as an
    // exhausted iterator does); a different dataloader object starts a new pass.
    await this.source?.close();
  }

  // ── internals ───────────────────────────────────────────────────────────────────────

  /** Kinds that start a later batch's input dist during iteration i (depth ≥ 3). */
  private get distAhead(): boolean {
    return this.depth >= 3;
  }

  private head(batch: number): BatchContext {
    const ctx = this.queue[0];
    if (!ctx || ctx.index !== batch)
      throw new Error(`internal: batch ${batch} is not at the head of the pipeline`);
    return ctx;
  }

  /** The dataloader being read (set by `setSource` before the first `progress`). */
  private currentSource(): BatchSource<unknown> {
    if (!this.source) throw new Error('progress() needs a dataloader');
    return this.source;
  }

  /** Pull one item, validate it, queue it and issue its copy on the memcpy stream. */
  private async fetchAndCopy(): Promise<void> {
    const source = this.currentSource();
    const r = await source.next().catch((e: unknown) => {
      throw dataloaderError(e, this.fetched);
    });
    if (r.done) return;
    const index = this.fetched++;
    let host: Batch;
    try {
      host = this.o.validate ? this.o.validate(r.value, index) : Batch.from(r.value as Batch);
    } catch (e) {
      throw new RejectedInput(e); // a bad batch leaves the pipeline usable
    }
    this.o.bus.emit({ type: 'batch.fetched', batch: index });
    const ctx = new BatchContext(index, host);
    this.queue.push(ctx);
    this.byIndex.set(index, ctx);
    this.stages
      .submit('copy', index, () => this.copyToDevice(ctx))
      .then(
        (b) => {
          ctx.copiedBatch = b;
          ctx.copied.resolve(b);
        },
        (e) => ctx.copied.reject(e),
      );
  }

  /** The copy stage's work: the batch to the device on the memcpy stream. */
  private async copyToDevice(ctx: BatchContext): Promise<Batch> {
    const { device, bus } = this.o;
    const { host, index } = ctx;
    const copy = await device.run(
      'memcpy',
      { kind: 'copy', bytes: host.byteSize(), label: `copy b${index}` },
      () => {
        bus.emit({ type: 'copy.start', batch: index });
        return host.clone();
      },
    );
    ctx.copyEvent = device.record('memcpy');
    bus.emit({ type: 'copy.end', batch: index });
    return copy;
  }

  /** Start the input dist of every pipelined module for `ctx` (after its copy). */
  private startDist(ctx: BatchContext): void {
    ctx.distStarted = true;
    const gate = this.lastForwardEvent;
    // A finished copy leaves nothing to wait for: the stage goes straight to busy.
    const awaitInput = ctx.copiedBatch ? undefined : () => ctx.onDevice;
    this.stages
      .submit('dist', ctx.index, () => this.distribute(ctx, gate), awaitInput)
      .then(
        () => ctx.distDone.resolve(),
        (e) => ctx.distDone.reject(e),
      );
  }

  /** The dist stage's work: start every pipelined module's actor on the batch, wait until all have their data. */
  private async distribute(ctx: BatchContext, gate: DeviceEvent | null): Promise<void> {
    const device = this.o.device;
    const batch = ctx.copiedBatch ?? (await ctx.onDevice);
    // A look-ahead output dist shares the input-dist channel: every rank calls it before
    // the next input dist (collectives of a channel must come in the same order everywhere).
    const lookAhead = this.byIndex.get(ctx.index - 1)?.lookAhead;
    if (lookAhead) await lookAhead.catch(() => undefined);
    if (ctx.copyEvent) device.wait('dataDist', ctx.copyEvent);
    if (gate) device.wait('dataDist', gate);
    const pipelined = this.plan?.pipelined ?? [];
    const ready: Promise<void>[] = [];
    for (const p of pipelined) {
      const call = newModuleCall(
        { kind: 'pipelined', module: p.name },
        p.module,
        p.extract(batch),
        p.module.createContext(ctx.index),
      );
      ctx.calls.set(call.key, call);
      ready.push(call.ready.promise);
      this.moduleActors.start(ctx, call);
    }
    await (ready.length === 1 ? ready[0] : Promise.all(ready));
  }

  /** Issue the module computes and the dense forward; resolve non-pipelined calls on demand. */
  private async runForward(ctx: BatchContext, training: boolean): Promise<DenseResult> {
    const batch = await ctx.onDevice;
    for (;;) {
      const calls = [...ctx.calls.values()];
      for (const call of calls) {
        if (call.actor?.getSnapshot().value === 'ready') ModuleCallActors.send(call, 'COMPUTE');
      }
      // Module computes are on the default stream too: wait for them on the host before
      // issuing the dense op, so the op never sits in the stream ahead of them.
      const outputs = await Promise.all(calls.map((c) => c.computed.promise));
      // A look-ahead lookup ran on its own stream: the dense op waits for it.
      if (ctx.lookupEvent && ctx.lookupEvent.stream !== 'default')
        this.o.device.wait('default', ctx.lookupEvent);
      const resolved: ResolvedCall[] = calls.map((call, j) => new ComputedCall(call, outputs[j]));
      if (ctx.copyEvent) this.o.device.wait('default', ctx.copyEvent);
      const scale = training ? lossScaleFor(this.o.gradAccum) * (this.o.gradScaler?.scale ?? 1) : 1;
      const result = await this.o.device.run(
        'default',
        {
          kind: 'forward',
          ...this.o.model.denseOpCost?.('forward'),
          label: `forward b${ctx.index}`,
        },
        () => {
          this.o.bus.emit({ type: 'forward.start', batch: ctx.index });
          return runDenseStep({
            model: this.o.model,
            batch,
            calls: resolved,
            training,
            lossScale: scale,
            amp: this.o.amp ?? false,
          });
        },
        { uses: [batch] },
      );
      if (result.missing.length === 0) {
        this.o.bus.emit({ type: 'forward.end', batch: ctx.index });
        return result;
      }
      // Non-pipelined module calls: run their dist and compute now, then forward again.
      for (const m of result.missing) {
        const name = this.plan?.notPipelined.find((n) => n.module === m.module)?.name ?? 'unnamed';
        const id: CallId = { kind: 'resolved', module: name, callIndex: m.callIndex };
        if (ctx.calls.has(callKey(id))) continue;
        const call = newModuleCall(id, m.module, m.input, m.module.createContext(ctx.index));
        ctx.calls.set(call.key, call);
        this.moduleActors.start(ctx, call);
        await call.ready.promise;
      }
    }
  }
}

/** A module call whose output is computed, as the dense step sees it; its gradient lands on the call. */
class ComputedCall implements ResolvedCall {
  readonly module: ShardedModuleContract;
  readonly callIndex: number;
  constructor(
    private readonly call: ModuleCall,
    readonly output: PooledOutput,
  ) {
    this.module = call.module;
    this.callIndex = callIndexOf(call.id);
  }

  setGrad(grad: Float32Array): void {
    this.call.grad = grad;
  }
}

interface FlatGradients {
  flattenGradients(): Float32Array;
  loadFlatGradients(flat: Float32Array): void;
  step(scale: number): void | Promise<void>;
}

function hasFlatGradients(o: unknown): o is FlatGradients {
  return (
    typeof (o as Partial<FlatGradients> | undefined)?.flattenGradients === 'function' &&
    typeof (o as Partial<FlatGradients>).loadFlatGradients === 'function'
  );
}

/** The batch's forward, issued by the `forward` effect before `backward` / `complete` run. */
function forwardOf(ctx: BatchContext): Promise<DenseResult> {
  if (!ctx.forward) throw new Error(`internal: batch ${ctx.index} has no forward`);
  return ctx.forward;
}

/** The gradient the dense step set on a module call (every call of a trained batch has one). */
function gradOf(call: ModuleCall): Float32Array {
  if (!call.grad) throw new Error(`internal: module call '${call.key}' has no gradient`);
  return call.grad;
}

/** What the dataloader threw while fetching batch `position`, named as such (a wrong kind of dataloader as it is). */
function dataloaderError(e: unknown, position: number): unknown {
  if (e instanceof InvalidDataloaderError || e instanceof DataloaderError) return e;
  return new DataloaderError(position, e);
}
