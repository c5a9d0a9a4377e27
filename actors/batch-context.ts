/**
 * Everything the pipeline keeps about one in-flight batch (sparsepipe keeps one context per
 * in-flight batch; the seed shared one for all). Created when the batch is fetched,
 * released when its iteration completes.
 *
 * @example
 * const ctx = new BatchContext(4, hostBatch);
 * ctx.copied.promise.then((onDevice) => onDevice.byteSize());
 */
import type { AnyActorRef } from 'xstate';
import type {
  BatchIndex,
  DeviceEvent,
  PooledOutput,
  ShardedModuleContract,
  StreamName,
} from '../src/protocol/index.ts';
import type { Batch } from '../src/tensors/index.ts';
import { deferred, type Deferred } from './deferred.ts';

/**
 * Which call of which sharded module: a pipelined module is called once per batch (its
 * input dist started ahead); a non-pipelined one is resolved during the forward, once per
 * call (`callIndex`: its k-th call in the forward).
 */
export type CallId =
  | { readonly kind: 'pipelined'; readonly module: string }
  | { readonly kind: 'resolved'; readonly module: string; readonly callIndex: number };

/**
 * The key of a call in its batch, in events and in the module actors' pools: the module's
 * name for a pipelined call, `name#k` for a resolved one. Made from the id, never parsed.
 *
 * @example
 * callKey({ kind: 'resolved', module: 'sparseArch', callIndex: 1 }); // 'sparseArch#1'
 */
export function callKey(id: CallId): string {
  return id.kind === 'pipelined' ? id.module : `${id.module}#${id.callIndex}`;
}

/** The index of a call among its module's calls in one forward (a pipelined module has one). */
export function callIndexOf(id: CallId): number {
  return id.kind === 'pipelined' ? 0 : id.callIndex;
}

/** One sharded module's work on this batch (one call of it, for non-pipelined modules). */
export interface ModuleCall {
  readonly id: CallId;
  /** `callKey(id)`. */
  readonly key: string;
  module: ShardedModuleContract;
  input: unknown;
  moduleContext: unknown;
  actor: AnyActorRef | null;
  /** Awaitables of the two-phase input dist. */
  splits: { wait(): Promise<{ wait(): Promise<void> }> } | null;
  data: { wait(): Promise<void> } | null;
  ready: Deferred<void>;
  computed: Deferred<PooledOutput>;
  /** Gradient of the loss w.r.t. the pooled output, set by the dense step. */
  grad: Float32Array | null;
  /** Where the lookup and output dist run (a look-ahead lookup's stream; default `default`). */
  computeStream?: StreamName;
}

/** What the dense forward (+ tape) of a batch produced. */
export interface DenseResult {
  loss: number;
  output: Float32Array;
  /** Calls the forward needed that were not computed yet (non-pipelined modules). */
  missing: Array<{ module: ShardedModuleContract; input: unknown; callIndex: number }>;
  /** Dense gradients by parameter name (training only); released by the backward. */
  denseGrads: Map<string, import('@tensorflow/tfjs').Tensor> | null;
}

export class BatchContext {
  readonly copied = deferred<Batch>();
  /** The on-device batch once the copy completed (null before). */
  copiedBatch: Batch | null = null;
  copyEvent: DeviceEvent | null = null;
  distStarted = false;
  /** Prefetch pipeline: the batch's cache fill was submitted to the prefetch stage. */
  prefetchStarted = false;
  readonly distDone = deferred<void>();
  readonly calls = new Map<string, ModuleCall>();
  forward: Promise<DenseResult> | null = null;
  backward: Promise<void> | null = null;
  /** Fused / semi-sync: the look-ahead lookup of this batch (started by the previous iteration). */
  lookAhead: Promise<void> | null = null;
  /** Recorded on the lookup stream when the look-ahead lookup completed. */
  lookupEvent: DeviceEvent | null = null;

  constructor(
    readonly index: BatchIndex,
    readonly host: Batch,
  ) {}

  /** The on-device batch (after the copy completed). */
  get onDevice(): Promise<Batch> {
    return this.copied.promise;
  }
}

export function newModuleCall(
  id: CallId,
  module: ShardedModuleContract,
  input: unknown,
  moduleContext: unknown,
): ModuleCall {
  return {
    id,
    key: callKey(id),
    module,
    input,
    moduleContext,
    actor: null,
    splits: null,
    data: null,
    ready: deferred<void>(),
    computed: deferred<PooledOutput>(),
    grad: null,
  };
}
