/**
 * One rank of a {@link ScaleModelSpec} in shapes only, for simulating thousands of ranks:
 * a sharded module whose ops take the times {@link planCosts} priced from the plan and the
 * topology, and whose collectives are real rendezvous of every rank (so stragglers,
 * queueing and the pipeline's overlap come from the schedule, not from a formula) that
 * carry no data.
 *
 * - {@link ScaleShardedCollection}: input dist = a `distSplits` op (splits all-to-all) and a
 *   `distData` op (ids all-to-all) on `dataDist`, each around a barrier of the input-dist
 *   process group; compute = the rank's lookup forward (`lookup` op on `default`, or the look-ahead stream the pipeline names) then the
 *   output dist (`outputDist` op around a barrier); backward = gradient dist (`collective`
 *   op around a barrier) then the rank's lookup backward. Rows never exist: memory per rank
 *   is computed, not allocated.
 * - {@link ScaleModel}: a shapes-only dense part (no tfjs math in the pipeline) whose dense
 *   ops cost what the cost model says ({@link Model.denseOpCost}): forward, backward (2 ×
 *   forward) and the optimizer op with the dense all-reduce inside.
 * - {@link ScaleBatch}: a batch that declares its production size (the copy costs
 *   `batchBytes(spec)`) but holds one zero per example; the pooled output handed to the
 *   dense part is one proxy column per example.
 *
 * @example
 * const costs = planCosts(spec, plan, topology);
 * const rank0 = buildScaleRank({ rank: 0, pg, distPg, device, costs });
 * const batches = scaleBatches(spec, 20);
 */
import * as tf from '@tensorflow/tfjs';
import type {
  Awaitable,
  BatchIndex,
  ComputeHooks,
  Device,
  PooledOutput,
  ProcessGroup,
  ShardedModuleContract,
  StreamName,
} from '../protocol/index.ts';
import { resolveShardedForward } from '../modules/forward-scope.ts';
import {
  Model,
  Module,
  type DenseOp,
  type DenseOpCost,
  type ModelOutput,
} from '../modules/module.ts';
import type { PlanCosts } from '../modules/scale/plan-costs.ts';
import { batchBytes, type ScaleModelSpec } from '../modules/scale/model-spec.ts';
import { Batch } from '../tensors/batch.ts';
import { KeyedJaggedTensor } from '../tensors/keyed-jagged-tensor.ts';
import type { StepOptimizer } from '../optim/combined-optimizer.ts';

const PROXY_KEY = 'pooled';

/** A batch of `batchSize` examples that declares `bytes` as its size on the wire. */
export class ScaleBatch extends Batch {
  constructor(
    batchSize: number,
    private readonly bytes: number,
  ) {
    super({
      dense: new Float32Array(batchSize),
      denseDim: 1,
      sparse: new KeyedJaggedTensor({
        keys: [PROXY_KEY],
        values: new Int32Array(0),
        lengths: new Int32Array(batchSize),
        stride: batchSize,
      }),
      labels: new Float32Array(batchSize),
    });
  }

  override byteSize(): number {
    return this.bytes;
  }

  /** Shapes only: nothing to copy, the same object stands for the device copy. */
  override clone(): Batch {
    return this;
  }
}

/**
 * `count` batches of `spec` (one shared object: nothing is allocated per batch or rank).
 *
 * @example
 * for (const b of scaleBatches(scaleModel('small'), 3)) b.byteSize();
 */
export function* scaleBatches(spec: ScaleModelSpec, count: number): Generator<Batch> {
  const batch = new ScaleBatch(spec.batchSize, batchBytes(spec));
  for (let i = 0; i < count; i++) yield batch;
}

interface ScaleContext {
  readonly batch: BatchIndex;
  batchSize: number;
  dataDone?: Promise<void>;
  /** The batch's cache fill (see {@link ScaleEnv.cacheFillMs}). */
  filled?: Promise<void>;
}

/** Where a rank's module runs. */
export interface ScaleEnv {
  rank: number;
  pg: ProcessGroup;
  distPg: ProcessGroup;
  device: Device;
  costs: PlanCosts;
  /**
   * Cached tables: the time one batch's cache fill (its missed rows from the slow tier)
   * takes; 0 or absent: no cache. Filled ahead by the prefetch pipeline, else on demand
   * before the lookup, on the lookup's stream.
   */
  cacheFillMs?: number;
}

/** The sharded embedding collection of one rank, in shapes only (see the module doc). */
export class ScaleShardedCollection
  extends Module
  implements ShardedModuleContract<KeyedJaggedTensor, ScaleContext>
{
  readonly isShardedModule = true as const;
  /** One proxy column per example (see the module doc). */
  readonly outputWidth = 1;
  private readonly widths = Object.freeze([1]);
  private readonly keys = Object.freeze([PROXY_KEY]);
  private readonly zeros = new Map<number, Float32Array>();

  constructor(private readonly env: ScaleEnv) {
    super();
  }

  forward(features: KeyedJaggedTensor): tf.Tensor2D {
    return resolveShardedForward(this, features);
  }

  createContext(batch: BatchIndex): ScaleContext {
    return { batch, batchSize: 0 };
  }

  inputDist(ctx: ScaleContext, input: KeyedJaggedTensor): Awaitable<Awaitable<void>> {
    const { device, distPg, costs } = this.env;
    ctx.batchSize = input.stride;
    const splits = device.run(
      'dataDist',
      { kind: 'distSplits', ms: costs.splitsMs, label: `b${ctx.batch} splits` },
      () => distPg.barrier({ timeoutMs: Infinity }),
    );
    splits.catch(() => undefined);
    return new Stage(splits, () => {
      const data = device.run(
        'dataDist',
        { kind: 'distData', ms: costs.inputDistMs, label: `b${ctx.batch} ids` },
        () => distPg.barrier({ timeoutMs: Infinity }),
      );
      data.catch(() => undefined);
      ctx.dataDone = data;
      return new Stage(data, undefined);
    });
  }

  async computeAndOutputDist(ctx: ScaleContext, hooks?: ComputeHooks): Promise<PooledOutput> {
    const { device, pg, costs, rank } = this.env;
    if (!ctx.dataDone)
      throw new Error(`scale module: batch ${ctx.batch} computed before its input dist`);
    // the fused and semi-sync pipelines look the next batch up on another stream
    const stream = hooks?.stream ?? 'default';
    // cached tables: a batch not prefetched pays its fill here, on the lookup's stream
    const filled = ctx.filled ?? this.prefetch(ctx, stream);
    await device.run(
      stream,
      { kind: 'lookup', ms: costs.lookupForwardMs[rank], label: `b${ctx.batch} lookup` },
      () => undefined,
      { after: [ctx.dataDone, filled] },
    );
    hooks?.onOutputDist?.();
    // a look-ahead lookup (off `default`) uses the input-dist channel, as the real collection does
    const channel = stream === 'default' ? pg : this.env.distPg;
    await device.run(
      stream,
      { kind: 'outputDist', ms: costs.outputDistMs, label: `b${ctx.batch} output dist` },
      () => channel.barrier({ timeoutMs: Infinity }),
    );
    return {
      keys: this.keys,
      lengthPerKey: this.widths,
      batchSize: ctx.batchSize,
      values: this.zerosOf(ctx.batchSize),
    };
  }

  /** The batch's cache fill on `stream` (the prefetch pipeline's stage); nothing without a cache. */
  prefetch(ctx: ScaleContext, stream: StreamName): Promise<void> {
    const ms = this.env.cacheFillMs ?? 0;
    if (ctx.filled) return ctx.filled;
    ctx.filled =
      ms > 0
        ? this.env.device.run(
            stream,
            { kind: 'cacheFill', ms, label: `b${ctx.batch} cache fill` },
            () => undefined,
            { after: ctx.dataDone ? [ctx.dataDone] : [] },
          )
        : Promise.resolve();
    return ctx.filled;
  }

  async backward(ctx: ScaleContext, _grad: Float32Array): Promise<void> {
    const { device, pg, costs, rank } = this.env;
    await device.run(
      'default',
      { kind: 'collective', ms: costs.gradDistMs, label: `b${ctx.batch} grad dist` },
      () => pg.barrier({ timeoutMs: Infinity }),
    );
    await device.run(
      'default',
      { kind: 'lookup', ms: costs.lookupBackwardMs[rank], label: `b${ctx.batch} lookup backward` },
      () => undefined,
    );
  }

  private zerosOf(n: number): Float32Array {
    let z = this.zeros.get(n);
    if (!z) {
      z = new Float32Array(n);
      this.zeros.set(n, z);
    }
    return z;
  }
}

/** The first (or second) stage of an input dist as an awaitable. */
class Stage<T> implements Awaitable<T> {
  private next: T | undefined;
  constructor(
    private readonly done: Promise<unknown>,
    private readonly then: (() => T) | undefined,
  ) {}

  async wait(): Promise<T> {
    await this.done;
    if (this.then === undefined) return undefined as T;
    this.next ??= this.then();
    return this.next;
  }
}

/** A shapes-only dense part whose ops cost what the plan's costs say. */
export class ScaleModel extends Model<Batch> {
  readonly shapesOnlyDense = true as const;

  constructor(
    readonly sparseArch: ScaleShardedCollection,
    private readonly costs: PlanCosts,
  ) {
    super();
  }

  forward(batch: Batch): ModelOutput {
    return tf.tidy(() => {
      this.sparseArch.forward(batch.sparse);
      return { losses: tf.scalar(0), output: tf.zeros([batch.batchSize, 1]) };
    });
  }

  override denseOpCost(op: DenseOp): DenseOpCost {
    switch (op) {
      case 'forward':
        return { ms: this.costs.denseForwardMs };
      case 'backward':
        return { ms: this.costs.denseBackwardMs };
      case 'optimizer':
        return { ms: this.costs.allReduceMs };
    }
  }
}

/**
 * The optimizer of a scale rank: at each step a rendezvous of every rank standing for the
 * dense gradients' all-reduce (its time is the optimizer op's priced `allReduceMs`); it
 * updates nothing.
 *
 * @example
 * const opt = new ScaleOptimizer(pg);
 * await opt.synchronize();
 */
export class ScaleOptimizer implements StepOptimizer {
  constructor(private readonly pg: ProcessGroup) {}

  zeroGrad(): void {}

  accumulate(): void {}

  async synchronize(): Promise<void> {
    if (this.pg.worldSize > 1) await this.pg.barrier({ timeoutMs: Infinity });
  }

  step(): void {}

  hasNonFiniteGrads(): boolean {
    return false;
  }
}

/**
 * One rank's model and optimizer.
 *
 * @example
 * const { model, optimizer } = buildScaleRank({ rank, pg, distPg, device, costs });
 */
export function buildScaleRank(env: ScaleEnv): {
  model: ScaleModel;
  optimizer: ScaleOptimizer;
} {
  const module = new ScaleShardedCollection(env);
  return {
    model: new ScaleModel(module, env.costs),
    optimizer: new ScaleOptimizer(env.pg),
  };
}
