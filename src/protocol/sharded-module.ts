/**
 * The contract between the pipeline and a sharded module (TorchRec's
 * `ShardedModule`: `create_context`, `input_dist`, `compute_and_output_dist`), extended with
 * an explicit `backward` because sparse gradients are computed outside tfjs (docs/design.md "Numerics").
 *
 * Lifecycle of one batch through a sharded module (each step is a state of the module actor):
 *
 * ```
 * createContext(batch) → inputDist(ctx, input)            awaitingBatch → distInFlight:
 *   → (await splits awaitable) → (await data awaitable)     waitingForSplits → dataInFlight → ready
 *   → computeAndOutputDist(ctx)                           computing → outputDist
 *   … dense forward / backward on tfjs …
 *   → backward(ctx, gradOfOutput)                         (reverse all-to-all, row-gradient scatter-add)
 * ```
 *
 * Collectives are issued on the `dataDist` stream (input dist) and the `default` stream
 * (compute, output dist, backward) of the module's device.
 *
 * @example
 * const ctx = ebc.createContext(7);
 * const splits = ebc.inputDist(ctx, batch.sparse);   // issues the splits all-to-all
 * const data = await splits.wait();                   // issues lengths/values all-to-all
 * await data.wait();
 * const pooled = await ebc.computeAndOutputDist(ctx); // [B_local, sum of dims]
 */
import type { BatchIndex, StreamName } from './ids.ts';

/** A result that is being produced; `wait()` resolves when it is ready (TorchRec `Awaitable`). */
export interface Awaitable<T> {
  wait(): Promise<T>;
}

/** Pooled embeddings of one module for the local batch: row-major `[batchSize, dim]`. */
export interface PooledOutput {
  readonly keys: readonly string[];
  /** Width of each key's slice, in `keys` order. */
  readonly lengthPerKey: readonly number[];
  readonly batchSize: number;
  readonly values: Float32Array;
}

/** Optional progress callbacks of `computeAndOutputDist` (drive the module actor's states). */
export interface ComputeHooks {
  /** Called when the local lookup is done and the output dist is issued. */
  onOutputDist?(): void;
  /**
   * The stream the lookup and the output dist run on (default `'default'`). The fused and
   * semi-synchronous pipelines look batch i+1 up on the `embLookup` (or `dataDist`) stream
   * while batch i finishes on `default`.
   */
  readonly stream?: StreamName;
}

export interface ShardedModuleContract<In = unknown, Ctx = unknown> {
  /** Marks the object for the model tracer. */
  readonly isShardedModule: true;
  /** Width of the pooled output per sample (sum of the output dims of every feature). */
  readonly outputWidth: number;
  /** New per-batch context (one per in-flight batch). */
  createContext(batch: BatchIndex): Ctx;
  /** Two-phase input distribution: the outer awaitable is the splits exchange, the inner the data. */
  inputDist(ctx: Ctx, input: In): Awaitable<Awaitable<void>>;
  /** Local lookup on the distributed input, then output distribution back to the batch owners. */
  computeAndOutputDist(ctx: Ctx, hooks?: ComputeHooks): Promise<PooledOutput>;
  /** Gradient of the loss w.r.t. the pooled output (same layout); accumulates row gradients. */
  backward(ctx: Ctx, gradOutput: Float32Array): Promise<void>;
  /**
   * Optional: the caller will not read `output` again (its values were copied), so the
   * module may reuse its memory; a module that does detaches `output.values` first, so a
   * stale read finds an empty array, never another batch's rows.
   */
  releaseOutput?(output: PooledOutput): void;
}

/** Type guard used by the tracer. */
export function isShardedModule(x: unknown): x is ShardedModuleContract {
  return (
    typeof x === 'object' &&
    x !== null &&
    (x as { isShardedModule?: unknown }).isShardedModule === true
  );
}

/** One batch's cache fill in a module with cached tables (counts over its local table blocks). */
export interface CacheFillReport {
  batch: BatchIndex;
  hits: number;
  misses: number;
  evictions: number;
  writeBacks: number;
}

/** A module that reports cache fills (cached embedding tables); the pipeline publishes them as `cache.fill` events. */
export interface CacheFillSource {
  readonly name: string;
  /** Call `listener` after every cache fill; returns the unsubscribe function. */
  onCacheFill(listener: (fill: CacheFillReport) => void): () => void;
}

/** Type guard for {@link CacheFillSource}. */
export function isCacheFillSource(x: unknown): x is CacheFillSource {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { onCacheFill?: unknown }).onCacheFill === 'function' &&
    typeof (x as { name?: unknown }).name === 'string'
  );
}

/**
 * A sharded module with cached tables: `prefetch(ctx, stream)` makes the rows of batch
 * `ctx` resident ahead of its lookup (once its input dist is done), on `stream`.
 */
export interface PrefetchableModule<Ctx = unknown> {
  prefetch(ctx: Ctx, stream: StreamName): Promise<void>;
}

/** Type guard for {@link PrefetchableModule}. */
export function isPrefetchable(x: unknown): x is PrefetchableModule {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { prefetch?: unknown }).prefetch === 'function'
  );
}
