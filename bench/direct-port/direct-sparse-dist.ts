/**
 * A direct, non-actor port of the seed's `TrainPipelineSparseDist.progress()` (torchrec
 * 0.3.2): plain `async` methods on the same devices, modules and optimizer as sparsepipe —
 * no XState, no stage actors, no event bus. It is the baseline the benches compare the
 * actor pipeline with (docs/design.md "Performance targets", P2 and P3).
 *
 * ```
 * connect:   copy b0 (memcpy) · plan modules · start dist b0 (host blocks on its splits) · copy b1
 * progress:  zero_grad (by the accumulation schedule)
 *            fetch b(i+2), copy it on memcpy
 *            default waits for dataDist (b(i)'s dist) and for b(i)'s copy
 *            record an event on default;  forward(i) on default (issued, not awaited)
 *            _start_sparse_data_dist(i+1) on dataDist: waits copy(i+1) and the event, issues the
 *              splits all-to-all and **the host blocks until the splits arrive** (the seed's
 *              `awaitable.wait()` on the splits), then issues the data all-to-all
 *            backward(i), optimizer(i) on default
 * ```
 *
 * The ops, their cost kinds and labels are the actor engine's (`actors/rank-engine.ts`), so
 * virtual times on the sim device are comparable: the only scheduling difference is the
 * host blocking on the splits. Unlike the seed it drains (every batch is trained, like
 * `executeAllBatches: true`), keeps one context per in-flight batch and uses sparsepipe's
 * exact accumulation schedule, so it trains exactly the parameters `TrainPipelineSparseDist`
 * trains. Only pipelined sharded modules are supported (a module the tracer cannot pipeline
 * is reported as an error); no AMP, no loss scaling.
 *
 * @example
 * const port = new DirectSparseDistPipeline({ model, optimizer, device });
 * for (;;) { const r = await port.progress(iterator); if (r.done) break; console.log(r.value.loss); }
 */
import type {
  DeviceEvent,
  Device,
  ShardedModuleContract,
  Awaitable,
} from '../../src/protocol/index.ts';
import type { Model } from '../../src/modules/module.ts';
import { Batch, validateBatch, type BatchSpec } from '../../src/tensors/index.ts';
import { planModules } from '../../src/pipeline/module-plan.ts';
import type { ModulePlan } from '../../src/protocol/index.ts';
import type { DenseResult } from '../../actors/batch-context.ts';
import { runDenseStep } from '../../actors/dense-step.ts';
import { accumulateDense, type PipelineOptimizer } from '../../actors/pipeline-optimizer.ts';
import {
  lossScaleFor,
  shouldResetOptimizer,
  shouldStepOptimizer,
  stepScaleFor,
} from '../../machines/accumulation-schedule.ts';

/** Options of {@link DirectSparseDistPipeline}. */
export interface DirectSparseDistOptions {
  model: Model<Batch>;
  optimizer: PipelineOptimizer;
  device: Device;
  /** Micro-batches per optimizer step (exact schedule; default 1). */
  gradAccum?: number;
  /** Validate every fetched batch (as the actor pipeline does with `batchSpec`). */
  batchSpec?: BatchSpec;
}

/** What one `progress` call returns (the actor pipeline's `IterationOutput` shape). */
export interface DirectIterationOutput {
  batch: number;
  loss: number;
  output: Float32Array;
}

/** A batch source the port pulls from: a sync or async iterator of batches. */
export type DirectBatchIterator = Iterator<Batch> | AsyncIterator<Batch>;

interface ModuleCallState {
  module: ShardedModuleContract;
  context: unknown;
  /** The data awaitable returned by the splits awaitable. */
  data: Awaitable<void>;
  grad: Float32Array | null;
}

/** Where the dense step puts a module call's gradient (made by a function: no per-batch named closure). */
function gradSetter(c: ModuleCallState): (grad: Float32Array) => void {
  return (grad) => {
    c.grad = grad;
  };
}

interface InFlight {
  index: number;
  copied: Promise<Batch>;
  copyEvent: DeviceEvent;
  calls: ModuleCallState[] | null;
}

export class DirectSparseDistPipeline {
  private readonly gradAccum: number;
  private plan: ModulePlan<Batch> | null = null;
  private connected = false;
  private exhausted = false;
  private iterator: DirectBatchIterator | null = null;
  private fetched = 0;
  /** Training calls so far (the accumulation schedule's position). */
  private calls = 0;
  private windowSize = 0;
  /** b(i), b(i+1), b(i+2): at most three in flight. */
  private readonly queue: InFlight[] = [];

  constructor(private readonly o: DirectSparseDistOptions) {
    this.gradAccum = o.gradAccum ?? 1;
    if (!Number.isInteger(this.gradAccum) || this.gradAccum < 1) {
      throw new RangeError(
        `DirectSparseDistPipeline: gradAccum must be an integer ≥ 1, got ${String(o.gradAccum)}`,
      );
    }
  }

  /** Batches trained so far. */
  get batchesTrained(): number {
    return this.calls;
  }

  /**
   * Train one batch; `{ done: true }` once every batch of the iterator has been trained.
   *
   * @example
   * const r = await port.progress(batches[Symbol.iterator]());
   */
  async progress(
    iterator: DirectBatchIterator,
  ): Promise<IteratorResult<DirectIterationOutput, { batchesTrained: number }>> {
    if (this.iterator !== iterator) {
      if (this.queue.length > 0)
        throw new Error(
          'DirectSparseDistPipeline: a new iterator was passed before the previous one was drained',
        );
      this.iterator = iterator;
      this.exhausted = false;
      this.connected = false;
    }
    if (!this.connected) await this.connect();
    const { model, optimizer, device } = this.o;
    const training = model.training;
    const head = this.queue[0];
    if (!head) return { done: true, value: { batchesTrained: this.calls } };

    // zero_grad (exact schedule: reset at the start of every window)
    if (training && shouldResetOptimizer('exact', this.calls, this.gradAccum)) {
      await optimizer.zeroGrad();
      this.windowSize = 0;
    }
    // copy_batch_to_gpu: fetch b(i+2) and issue its copy
    await this.fetchAndCopy();
    const isLast = this.queue.length === 1 && this.exhausted;

    // wait_for_batch(b(i), dataDist): default follows b(i)'s dist and its copy
    device.waitStream('default', 'dataDist');
    device.wait('default', head.copyEvent);
    // forward(i), after an event on default that dist(i+1) waits for
    const event = device.record('default');
    const forward = this.forward(head, training);

    // sparse_data_dist(i+1): the host blocks on the splits exchange
    const next = this.queue[1];
    if (next) await this.startSparseDataDist(next, event);

    const result = await forward.issued.then(() => forward.result);
    if (training) {
      await this.backward(head, result);
      this.windowSize++;
      if (shouldStepOptimizer('exact', this.calls, this.gradAccum, isLast)) {
        const scale = stepScaleFor('exact', this.gradAccum, this.windowSize);
        await device.run(
          'default',
          { kind: 'optimizer', label: `optimizer b${head.index}` },
          async () => {
            await optimizer.synchronize?.();
            await optimizer.step(scale);
          },
        );
        this.windowSize = 0;
      }
      this.calls++;
    }
    this.queue.shift();
    return { done: false, value: { batch: head.index, loss: result.loss, output: result.output } };
  }

  /** Copy b0, plan the modules, start dist b0, copy b1. */
  private async connect(): Promise<void> {
    await this.fetchAndCopy();
    const first = this.queue[0];
    if (first) {
      if (!this.plan) {
        this.plan = planModules(this.o.model, await first.copied);
        if (this.plan.notPipelined.length > 0) {
          const names = this.plan.notPipelined.map((m) => `${m.name} (${m.reason})`).join(', ');
          throw new Error(
            `DirectSparseDistPipeline supports pipelined sharded modules only; not pipelined: ${names}`,
          );
        }
      }
      await this.startSparseDataDist(first, null);
    }
    await this.fetchAndCopy();
    this.connected = true;
  }

  private async fetchAndCopy(): Promise<void> {
    if (this.exhausted) return;
    const r = await this.iterator!.next();
    if (r.done) {
      this.exhausted = true;
      return;
    }
    const index = this.fetched++;
    if (this.o.batchSpec) validateBatch(r.value, this.o.batchSpec, index);
    const host = Batch.from(r.value);
    const device = this.o.device;
    const copied = device.run(
      'memcpy',
      { kind: 'copy', bytes: host.byteSize(), label: `copy b${index}` },
      () => host.clone(),
    );
    const copyEvent = device.record('memcpy');
    this.queue.push({ index, copied, copyEvent, calls: null });
  }

  /** `_start_sparse_data_dist`: issue every pipelined module's input dist and wait for its splits. */
  private async startSparseDataDist(b: InFlight, event: DeviceEvent | null): Promise<void> {
    const device = this.o.device;
    const batch = await b.copied;
    device.wait('dataDist', b.copyEvent);
    if (event) device.wait('dataDist', event);
    const started = this.plan!.pipelined.map((p) => {
      const context = p.module.createContext(b.index);
      return { module: p.module, context, splits: p.module.inputDist(context, p.extract(batch)) };
    });
    // The seed: `context.input_dist_requests[key] = awaitable.wait()` — a host sync on the splits.
    const calls: ModuleCallState[] = [];
    for (const s of started)
      calls.push({ module: s.module, context: s.context, data: await s.splits.wait(), grad: null });
    b.calls = calls;
  }

  /** The pipelined forwards (wait for data, compute + output dist), then the dense forward op. */
  private forward(
    b: InFlight,
    training: boolean,
  ): { issued: Promise<void>; result: Promise<DenseResult> } {
    const device = this.o.device;
    let markIssued!: () => void;
    const issued = new Promise<void>((resolve) => (markIssued = resolve));
    const result = (async () => {
      try {
        const batch = await b.copied;
        const calls = b.calls!;
        const outputs = await Promise.all(
          calls.map(async (c) => {
            await c.data.wait();
            return c.module.computeAndOutputDist(c.context);
          }),
        );
        const scale = training ? lossScaleFor(this.gradAccum) : 1;
        const op = device.run(
          'default',
          { kind: 'forward', label: `forward b${b.index}` },
          () =>
            runDenseStep({
              model: this.o.model,
              batch,
              calls: calls.map((c, j) => ({
                module: c.module,
                callIndex: 0,
                output: outputs[j],
                setGrad: gradSetter(c),
              })),
              training,
              lossScale: scale,
              amp: false,
            }),
          { uses: [batch] },
        );
        markIssued();
        return await op;
      } finally {
        markIssued();
      }
    })();
    return { issued, result };
  }

  /** Dense gradients into the optimizer's buffers, then each module's sparse backward. */
  private async backward(b: InFlight, result: DenseResult): Promise<void> {
    const { device, optimizer } = this.o;
    const calls = b.calls!;
    const sparse: Promise<void>[] = [];
    await device.run('default', { kind: 'backward', label: `backward b${b.index}` }, () => {
      if (result.denseGrads) {
        accumulateDense(optimizer, result.denseGrads);
        for (const g of result.denseGrads.values()) g.dispose();
      }
      for (const c of calls) sparse.push(c.module.backward(c.context, c.grad!));
    });
    await Promise.all(sparse);
  }
}
