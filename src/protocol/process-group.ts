/**
 * The collective-communication contract (docs/design.md "Collectives"). Every backend
 * (`sim`, `threads`, `mpi`) implements it and passes the same conformance suite.
 *
 * All calls are collective: every rank of the group must make the same call in the same
 * order. Each rejects with {@link CollectiveTimeoutError} naming the ranks that never
 * arrived when `timeoutMs` passes (virtual ms on the sim backend).
 *
 * @example
 * // every rank sends `counts[j]` ints to rank j
 * const recvCounts = await pg.allToAllSplits(counts);
 * const recv = await pg.allToAllV(values, counts, recvCounts);
 */
import type { Rank } from './ids.ts';

export type ReduceOp = 'sum' | 'avg';

export interface CollectiveOptions {
  /** Override the group's default timeout for this call. */
  timeoutMs?: number;
  /** A label for traces and errors. */
  label?: string;
  /**
   * `allToAllV` only: the caller gives `data` up — it will not write to it again, nor while
   * the call is pending. The result may then share `data`'s memory (the sim backend returns
   * `data` itself at world 1, and keeps no private copy of an early arrival's data); readers
   * of the result see exactly what was sent. Default `false`: the result never aliases `data`.
   */
  donate?: boolean;
}

/**
 * Options of {@link ProcessGroup.allReduce}.
 *
 * @example
 * await pg.allReduce(grads, 'avg', { label: 'dense grads', inPlace: true }); // grads now hold the average
 */
export interface AllReduceOptions extends CollectiveOptions {
  /**
   * Write the result into `data` and resolve with `data` itself (no new array), like
   * `torch.distributed.all_reduce`. `data` must not be read or written until the call
   * settles; if the call rejects, `data` is left as it was.
   */
  inPlace?: boolean;
}

export interface ProcessGroup {
  readonly rank: Rank;
  readonly worldSize: number;
  readonly backend: 'sim' | 'threads' | 'mpi';
  /** Exchange one int per peer: `send[j]` goes to rank j; returns what each rank sent to us. */
  allToAllSplits(send: Int32Array, opts?: CollectiveOptions): Promise<Int32Array>;
  /**
   * Variable all-to-all: `sendCounts[j]` elements of `data` (contiguous, in rank order) go to
   * rank j; we receive `recvCounts[j]` elements from rank j, concatenated in rank order.
   */
  allToAllV<T extends Int32Array | Float32Array>(
    data: T,
    sendCounts: Int32Array,
    recvCounts: Int32Array,
    opts?: CollectiveOptions,
  ): Promise<T>;
  /**
   * Elementwise reduce across ranks; every rank gets the result, a new array — or `data`
   * itself, overwritten, with `opts.inPlace`. Without `inPlace`, does not modify `data`.
   */
  allReduce(data: Float32Array, op: ReduceOp, opts?: AllReduceOptions): Promise<Float32Array>;
  barrier(opts?: CollectiveOptions): Promise<void>;
  /** Release resources (workers, MPI). Pending collectives reject. */
  close?(): Promise<void>;
}

/** A collective did not complete in time; `missingRanks` never arrived. */
export class CollectiveTimeoutError extends Error {
  override readonly name = 'CollectiveTimeoutError';
  constructor(
    readonly collective: string,
    readonly rank: Rank,
    readonly missingRanks: readonly Rank[],
    readonly timeoutMs: number,
  ) {
    super(
      `${collective} on rank ${rank} timed out after ${timeoutMs} ms: rank(s) ${missingRanks.join(', ')} never arrived`,
    );
  }
}

/** A peer died (worker exited, process lost); every pending and later collective rejects with it. */
export class PeerFailedError extends Error {
  override readonly name = 'PeerFailedError';
  constructor(
    readonly rank: Rank,
    readonly failedRank: Rank,
    readonly reason: string,
  ) {
    super(`rank ${failedRank} failed: ${reason} (seen by rank ${rank})`);
  }
}
