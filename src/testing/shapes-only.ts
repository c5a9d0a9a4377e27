/**
 * A shapes-only model for measuring the simulator and the pipeline themselves (docs/design.md "Architecture"
 * "shapes-only … for fast schedule sweeps"; the P6 / P7 benches).
 *
 * - {@link ShapesOnlyEmbeddingCollection} is a sharded module that does the *real*
 *   collectives of a table-wise sharded embedding collection — the splits exchange, the
 *   lengths / ids all-to-all, the pooled output dist, the gradient dist — with messages of
 *   the correct sizes, on the same streams and with the same op kinds as
 *   `ShardedEmbeddingBagCollection`, but skips every embedding computation (lookups,
 *   scatter-adds, optimizer updates). Features are owned in contiguous blocks
 *   (feature k → rank ⌊k·W/F⌋), so the batch's own lengths and ids are already in
 *   destination order and are sent as they are.
 * - {@link ShapesOnlyModel} is a trivial dense part. `dense: 'tiny'` (default): one scalar
 *   weight times the row sums of the pooled embeddings (three tiny tfjs ops, so the tape
 *   carries a real gradient to the sharded module). `dense: 'constant'`: a stand-in whose
 *   loss and output are constants (no op depends on the pooled leaf; the pipeline still
 *   creates the leaf, runs the tape and sends a zero gradient back) — the lightest dense part
 *   the pipeline accepts on tfjs. `dense: 'none'`: no tfjs at all — the model declares
 *   `shapesOnlyDense` and the pipeline's dense step skips the tape (loss 0, zero gradients
 *   of the right sizes) — for measuring the simulator and the pipeline alone (P6).
 *
 * Pooled values are whatever the output dist delivered (zeros): numbers mean nothing here,
 * only shapes, ordering and timing do.
 *
 * @example
 * const rank = buildShapesOnlyRank({ pg, distPg, device, features: 8, dim: 16 });
 * const pipeline = new TrainPipelineSparseDist({ model: rank.model, optimizer: rank.optimizer, device, pg });
 * for await (const _ of pipeline.run(shapesOnlyBatches({ features: 8, batchSize: 64, idsPerFeature: 4, count: 100 }))) {}
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
} from '../protocol/index.ts';
import { resolveShardedForward } from '../modules/forward-scope.ts';
import { Model, Module, type ModelOutput } from '../modules/module.ts';
import type { StepOptimizer } from '../optim/combined-optimizer.ts';
import { Batch } from '../tensors/batch.ts';
import { KeyedJaggedTensor } from '../tensors/keyed-jagged-tensor.ts';

/** Where the module runs (as `ShardedEnv` of the real collection). */
export interface ShapesOnlyEnv {
  rank: number;
  worldSize: number;
  /** Output dist and gradient dist. */
  pg: ProcessGroup;
  /** Input dist channel (default `pg`). */
  distPg?: ProcessGroup;
  device: Device;
}

export interface ShapesOnlyEmbeddingOptions {
  /** Feature keys, in batch order; one table of width `dim` each. */
  features: readonly string[];
  dim: number;
  env: ShapesOnlyEnv;
  name?: string;
}

/** Per-batch state of {@link ShapesOnlyEmbeddingCollection}. */
export interface ShapesOnlyContext {
  readonly batch: BatchIndex;
  input?: KeyedJaggedTensor;
  batchSizes?: Int32Array;
  /** Ids received for my features. */
  received?: number;
  dataDone?: Promise<void>;
}

function sumInts(a: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** `counts[j] · scale` for every j. */
function scaled(counts: ArrayLike<number>, scale: number): Int32Array {
  const out = new Int32Array(counts.length);
  for (let j = 0; j < counts.length; j++) out[j] = counts[j] * scale;
  return out;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A table-wise sharded embedding collection that moves correctly sized messages and
 * computes nothing.
 *
 * @example
 * const ebc = new ShapesOnlyEmbeddingCollection({ features: ['f0', 'f1'], dim: 16, env: { rank, worldSize, pg, device } });
 * const ctx = ebc.createContext(0);
 * await (await ebc.inputDist(ctx, batch.sparse).wait()).wait();
 * const pooled = await ebc.computeAndOutputDist(ctx); // [B, 2·16] of zeros
 */
export class ShapesOnlyEmbeddingCollection
  extends Module
  implements ShardedModuleContract<KeyedJaggedTensor, ShapesOnlyContext>
{
  readonly isShardedModule = true as const;
  readonly features: readonly string[];
  readonly dim: number;
  readonly name: string;
  private readonly env: ShapesOnlyEnv;
  /** Features owned by each rank (contiguous blocks). */
  private readonly ownedBy: number[];
  /** The output dist's payload (zeros; collectives never modify their inputs), reused while its size holds. */
  private pooledZeros = new Float32Array(0);
  /** `dim` per feature (the pooled output's `lengthPerKey`). */
  private readonly widths: readonly number[];

  constructor(options: ShapesOnlyEmbeddingOptions) {
    super();
    const { features, dim, env } = options;
    if (features.length === 0)
      throw new Error('ShapesOnlyEmbeddingCollection: features must not be empty');
    if (!Number.isInteger(dim) || dim < 1)
      throw new Error(`ShapesOnlyEmbeddingCollection: dim must be a positive integer, got ${dim}`);
    if (env.pg.worldSize !== env.worldSize || env.pg.rank !== env.rank) {
      throw new Error(
        `ShapesOnlyEmbeddingCollection: env (rank ${env.rank} of ${env.worldSize}) disagrees with pg (rank ${env.pg.rank} of ${env.pg.worldSize})`,
      );
    }
    this.features = [...features];
    this.dim = dim;
    this.env = env;
    this.name = options.name ?? 'shapesOnly';
    this.ownedBy = new Array<number>(env.worldSize).fill(0);
    for (let k = 0; k < features.length; k++) this.ownedBy[this.ownerOf(k)]++;
    this.widths = Object.freeze(this.features.map(() => dim));
  }

  get outputWidth(): number {
    return this.features.length * this.dim;
  }

  /** Rank owning feature `k`. */
  ownerOf(k: number): number {
    return Math.floor((k * this.env.worldSize) / this.features.length);
  }

  forward(features: KeyedJaggedTensor): tf.Tensor2D {
    return resolveShardedForward(this, features);
  }

  createContext(batch: BatchIndex): ShapesOnlyContext {
    return { batch };
  }

  inputDist(ctx: ShapesOnlyContext, input: KeyedJaggedTensor): Awaitable<Awaitable<void>> {
    if (!sameKeys(input.keys, this.features)) {
      throw new Error(
        `${this.name}: batch ${ctx.batch} has keys [${input.keys.join(', ')}], expected [${this.features.join(', ')}]`,
      );
    }
    const W = this.env.worldSize;
    const B = input.stride;
    const valueCounts = new Int32Array(W);
    const lengthCounts = new Int32Array(W);
    for (let k = 0; k < this.features.length; k++) {
      const owner = this.ownerOf(k);
      lengthCounts[owner] += B;
      for (let b = 0; b < B; b++) valueCounts[owner] += input.lengths[k * B + b];
    }
    ctx.input = input;
    const meta = new Int32Array(W).fill(B * 2);
    const { device } = this.env;
    const distPg = this.env.distPg ?? this.env.pg;
    const label = `${this.name} b${ctx.batch}`;
    const splits = device.run(
      'dataDist',
      { kind: 'distSplits', bytes: 8 * W, label: `${label} splits` },
      async () => {
        const recvValueCounts = await distPg.allToAllSplits(valueCounts, {
          label: `${label} splits`,
        });
        const recvMeta = await distPg.allToAllSplits(meta, { label: `${label} batch sizes` });
        return { recvValueCounts, recvMeta };
      },
    );
    splits.catch(() => undefined);
    return new SplitsStage(splits, ({ recvValueCounts, recvMeta }) => {
      const batchSizes = recvMeta.map((m) => m >> 1);
      ctx.batchSizes = batchSizes;
      const mine = this.ownedBy[this.env.rank];
      const recvLengthCounts = batchSizes.map((b) => b * mine);
      const bytes = 4 * (input.lengths.length + input.values.length);
      const data = device.run(
        'dataDist',
        { kind: 'distData', bytes, label: `${label} data` },
        async () => {
          await distPg.allToAllV(input.lengths, lengthCounts, recvLengthCounts, {
            label: `${label} lengths`,
          });
          const values = await distPg.allToAllV(input.values, valueCounts, recvValueCounts, {
            label: `${label} values`,
          });
          ctx.received = values.length;
        },
      );
      data.catch(() => undefined);
      ctx.dataDone = data;
      return new Issued(data);
    });
  }

  async computeAndOutputDist(ctx: ShapesOnlyContext, hooks?: ComputeHooks): Promise<PooledOutput> {
    if (!ctx.dataDone || !ctx.batchSizes || !ctx.input)
      throw new Error(
        `${this.name}: computeAndOutputDist for batch ${ctx.batch} before its input dist`,
      );
    const { device, pg, rank } = this.env;
    const label = `${this.name} b${ctx.batch}`;
    const flops = 2 * (ctx.received ?? 0) * this.dim;
    const stream = hooks?.stream ?? 'default';
    await device.run(stream, { kind: 'lookup', flops, label: `${label} lookup` }, () => undefined, {
      after: [ctx.dataDone],
    });
    hooks?.onOutputDist?.();
    const B = ctx.input.stride;
    const sendCounts = scaled(ctx.batchSizes, this.ownedBy[rank] * this.dim);
    const recvCounts = scaled(this.ownedBy, B * this.dim);
    const values = await device.run(
      stream,
      { kind: 'outputDist', bytes: 4 * sumInts(sendCounts), label: `${label} output dist` },
      () =>
        // A look-ahead lookup (off `default`) uses the input-dist channel, as the real collection does.
        (stream === 'default' ? pg : (this.env.distPg ?? pg)).allToAllV(
          this.zeros(sumInts(sendCounts)),
          sendCounts,
          recvCounts,
          {
            label: `${label} output dist`,
          },
        ),
    );
    return { keys: this.features, lengthPerKey: this.widths, batchSize: B, values };
  }

  async backward(ctx: ShapesOnlyContext, gradOutput: Float32Array): Promise<void> {
    if (!ctx.batchSizes || !ctx.input)
      throw new Error(`${this.name}: backward for batch ${ctx.batch} before its input dist`);
    const B = ctx.input.stride;
    if (gradOutput.length !== B * this.outputWidth) {
      throw new Error(
        `${this.name}: backward for batch ${ctx.batch} got ${gradOutput.length} gradient values, expected ${B} × ${this.outputWidth}`,
      );
    }
    const { device, pg, rank } = this.env;
    const label = `${this.name} b${ctx.batch}`;
    const sendCounts = scaled(this.ownedBy, B * this.dim);
    const recvCounts = scaled(ctx.batchSizes, this.ownedBy[rank] * this.dim);
    await device.run(
      'default',
      { kind: 'collective', bytes: gradOutput.byteLength, label: `${label} grad dist` },
      () => pg.allToAllV(gradOutput, sendCounts, recvCounts, { label: `${label} grad dist` }),
    );
    const flops = 2 * (ctx.received ?? 0) * this.dim;
    await device.run(
      'default',
      { kind: 'other', flops, label: `${label} scatter` },
      () => undefined,
    );
    ctx.input = undefined;
  }

  private zeros(n: number): Float32Array {
    if (this.pooledZeros.length !== n) this.pooledZeros = new Float32Array(n);
    return this.pooledZeros;
  }

  /** A no-op optimizer face (nothing to update). */
  get optimizer(): StepOptimizer {
    return { zeroGrad: () => undefined, step: () => undefined, hasNonFiniteGrads: () => false };
  }
}

/** What the splits exchange of one input dist delivers. */
interface ReceivedSplits {
  recvValueCounts: Int32Array;
  recvMeta: Int32Array;
}

/**
 * The first stage of an input dist: `wait()` awaits the splits and issues the data stage,
 * once (later calls get the same stage). Classes rather than object literals, so no
 * closure is named per batch (tsx keeps function names with an `Object.defineProperty`).
 */
class SplitsStage implements Awaitable<Awaitable<void>> {
  private next: Awaitable<void> | undefined;

  constructor(
    private readonly splits: Promise<ReceivedSplits>,
    private readonly issueData: (splits: ReceivedSplits) => Awaitable<void>,
  ) {}

  async wait(): Promise<Awaitable<void>> {
    if (this.next) return this.next;
    const received = await this.splits;
    if (this.next) return this.next;
    this.next = this.issueData(received);
    return this.next;
  }
}

/** An issued op as an awaitable. */
class Issued implements Awaitable<void> {
  constructor(private readonly done: Promise<void>) {}

  wait(): Promise<void> {
    return this.done;
  }
}

/**
 * The trivial dense part: `logits = w · rowsum(pooled)`, loss = mean(logits).
 *
 * @example
 * const model = new ShapesOnlyModel(ebc);
 */
export class ShapesOnlyModel extends Model<Batch> {
  readonly w: tf.Variable;

  constructor(
    readonly sparseArch: ShapesOnlyEmbeddingCollection,
    readonly dense: ShapesOnlyDense = 'tiny',
  ) {
    super();
    const init = tf.ones([1]);
    this.w = tf.variable(init, true, `shapesOnly.w.${sparseArch.name}.${nextId++}`);
    init.dispose();
  }

  /** `dense: 'none'`: the pipeline runs no tfjs for the dense part (see actors/dense-step.ts). */
  get shapesOnlyDense(): boolean {
    return this.dense === 'none';
  }

  forward(batch: Batch): ModelOutput {
    return tf.tidy(() => {
      const pooled = this.sparseArch.forward(batch.sparse);
      if (this.dense !== 'tiny')
        return { losses: tf.scalar(0.5), output: tf.zeros([batch.batchSize, 1]) };
      const logits = tf.mul(tf.sum(pooled, 1, true), this.w);
      return { losses: tf.mean(logits) as tf.Scalar, output: logits };
    });
  }

  dispose(): void {
    this.w.dispose();
  }
}

let nextId = 0;

/** The dense part of {@link ShapesOnlyModel}: a few tiny tfjs ops, or constants. */
export type ShapesOnlyDense = 'tiny' | 'constant' | 'none';

/**
 * The optimizer of a shapes-only rank: takes dense gradients and discards them, and at each
 * step all-reduces a gradient buffer of `denseFloats` floats over `pg` (as a data-parallel
 * dense optimizer does once per step), updating nothing.
 *
 * @example
 * const opt = new ShapesOnlyOptimizer(pg, 1);
 * await opt.synchronize(); // one all-reduce of 1 float when worldSize > 1
 */
export class ShapesOnlyOptimizer implements StepOptimizer {
  private readonly buffer: Float32Array;

  constructor(
    private readonly pg: ProcessGroup,
    denseFloats = 1,
  ) {
    this.buffer = new Float32Array(denseFloats);
  }

  zeroGrad(): void {}

  /** Dense gradients arrive here (the pipeline disposes them afterwards). */
  accumulate(_grads: ReadonlyMap<string, tf.Tensor | undefined>): void {}

  async synchronize(): Promise<void> {
    if (this.pg.worldSize > 1)
      await this.pg.allReduce(this.buffer, 'avg', { label: 'dense grads' });
  }

  step(): void {}

  hasNonFiniteGrads(): boolean {
    return false;
  }
}

/** One rank of a shapes-only model. */
export interface ShapesOnlyRank {
  model: ShapesOnlyModel;
  ebc: ShapesOnlyEmbeddingCollection;
  optimizer: ShapesOnlyOptimizer;
}

/**
 * Build one rank's shapes-only model and optimizer (a {@link ShapesOnlyOptimizer}: one
 * all-reduce of the dense gradients per step when `worldSize > 1`, like the DLRM's).
 *
 * @example
 * const ranks = cluster.pgs.map((pg, r) => buildShapesOnlyRank({ pg, distPg: cluster.distPgs[r], device: cluster.devices[r], features: 8, dim: 16 }));
 */
export function buildShapesOnlyRank(options: {
  pg: ProcessGroup;
  distPg?: ProcessGroup;
  device: Device;
  features: number;
  dim: number;
  dense?: ShapesOnlyDense;
  /** Size of the dense gradient all-reduce per step (default 1 float). */
  denseFloats?: number;
}): ShapesOnlyRank {
  const { pg, device } = options;
  const ebc = new ShapesOnlyEmbeddingCollection({
    features: shapesOnlyFeatureKeys(options.features),
    dim: options.dim,
    env: { rank: pg.rank, worldSize: pg.worldSize, pg, distPg: options.distPg, device },
    name: 'sparseArch',
  });
  const model = new ShapesOnlyModel(ebc, options.dense);
  return { model, ebc, optimizer: new ShapesOnlyOptimizer(pg, options.denseFloats ?? 1) };
}

/** Feature keys `f0 … f(n-1)`. */
export function shapesOnlyFeatureKeys(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `f${i}`);
}

/**
 * `count` batches with `idsPerFeature` ids in every bag (ids 0…), 13 dense features; the
 * same `distinct` batch objects are cycled (default 8), so long runs allocate nothing.
 *
 * @example
 * for (const b of shapesOnlyBatches({ features: 8, batchSize: 64, idsPerFeature: 4, count: 1000 })) …
 */
export function* shapesOnlyBatches(o: {
  features: number;
  batchSize: number;
  idsPerFeature: number;
  count: number;
  distinct?: number;
}): Generator<Batch> {
  const keys = shapesOnlyFeatureKeys(o.features);
  const made: Batch[] = [];
  const distinct = Math.max(1, Math.min(o.distinct ?? 8, o.count));
  for (let i = 0; i < distinct; i++) {
    const n = o.features * o.batchSize;
    const lengths = new Int32Array(n).fill(o.idsPerFeature);
    const values = new Int32Array(n * o.idsPerFeature);
    for (let j = 0; j < values.length; j++) values[j] = (j * 7 + i) % 1000;
    const labels = new Float32Array(o.batchSize);
    for (let b = 0; b < o.batchSize; b++) labels[b] = (b + i) % 2;
    made.push(
      new Batch({
        dense: new Float32Array(o.batchSize * 13),
        denseDim: 13,
        sparse: new KeyedJaggedTensor({ keys, values, lengths, stride: o.batchSize }),
        labels,
      }),
    );
  }
  for (let i = 0; i < o.count; i++) yield made[i % distinct];
}
