/**
 * The `threads` process-group backend: one worker thread per rank, a full mesh of
 * `MessagePort`s between them. A payload is copied once out of the caller's array into a
 * reused block of shared memory that every rank reads in place (`shared-blocks.ts`); the
 * messages carry views of it, and results are fresh arrays (never shared with the caller).
 *
 * `createThreadProcessGroup(meshPorts, { rank, worldSize })` runs inside a rank's thread
 * (normally the launcher's `thread-rank-main.ts` calls it and hands the group to your entry);
 * `meshPorts[j]` is the port to rank j, empty at the own rank.
 *
 * **Channels.** The returned group is channel `"default"`; `group.channel(name)` gives an
 * independent, separately ordered group over the same mesh (the pipeline issues
 * collectives from its `dataDist` and `default` streams concurrently: give each its own
 * channel). Channels need no coordination to create: each rank calls `channel(name)`
 * whenever it likes, and parts that arrive early are buffered.
 *
 * Results are bitwise equal to the sim backend (allReduce adds in rank order 0, 1, 2, …).
 * Timeouts are real ms from the injected clock (default 30 s, per-call `timeoutMs`); a dead
 * or throwing peer fails every pending and later call with `PeerFailedError` naming it.
 *
 * @example
 * // inside rank r's worker thread
 * const pg = createThreadProcessGroup(meshPorts, { rank: r, worldSize: 4 });
 * const dist = pg.channel('dataDist');
 * const [splits, grads] = await Promise.all([dist.allToAllSplits(counts), pg.allReduce(g, 'avg')]);
 */
import type { MessagePort } from 'node:worker_threads';
import type {
  AllReduceOptions,
  Clock,
  CollectiveOptions,
  ProcessGroup,
  Rank,
  ReduceOp,
} from '../../../protocol/index.ts';
import { wallClock } from '../../wall-clock.ts';
import { ThreadMesh } from './thread-mesh.ts';
import type { ThreadChannel } from './thread-channel.ts';

/** Default collective timeout of the threads backend, real ms. */
export const THREADS_DEFAULT_TIMEOUT_MS = 30_000;

/** The channel a group from {@link createThreadProcessGroup} starts on. */
export const DEFAULT_CHANNEL = 'default';

/** Options of {@link createThreadProcessGroup}. */
export interface ThreadProcessGroupOptions {
  rank: Rank;
  worldSize: number;
  /** Default per-call timeout, real ms (default {@link THREADS_DEFAULT_TIMEOUT_MS}; `Infinity`: none). */
  timeoutMs?: number;
  /** Time source for timeouts (default the wall clock). */
  clock?: Clock;
}

/**
 * One channel of one rank's threads group.
 *
 * @example
 * const recvCounts = await pg.allToAllSplits(sendCounts);
 * const ids = await pg.allToAllV(values, sendCounts, recvCounts, { label: 'ids' });
 */
export class ThreadProcessGroup implements ProcessGroup {
  readonly backend = 'threads' as const;
  readonly rank: Rank;
  readonly worldSize: number;
  private readonly lane: ThreadChannel;

  /** Use {@link createThreadProcessGroup} and {@link ThreadProcessGroup.channel}. */
  constructor(
    private readonly mesh: ThreadMesh,
    readonly channelName: string,
    private readonly views: Map<string, ThreadProcessGroup>,
  ) {
    this.rank = mesh.rank;
    this.worldSize = mesh.worldSize;
    this.lane = mesh.channel(channelName);
  }

  /**
   * The group of channel `name` over the same mesh (the same object for the same name).
   *
   * @example
   * const dist = pg.channel('dataDist');
   */
  channel(name: string): ThreadProcessGroup {
    if (typeof name !== 'string' || name === '')
      throw new TypeError(
        `threads process group on rank ${this.rank}: channel name must be a non-empty string`,
      );
    let view = this.views.get(name);
    if (!view) {
      view = new ThreadProcessGroup(this.mesh, name, this.views);
      this.views.set(name, view);
    }
    return view;
  }

  /** Collectives this rank entered on this channel that have not settled. */
  get pendingCollectives(): number {
    return this.lane.pending;
  }

  /**
   * Shared-memory blocks this rank has allocated for its payloads (every channel): they are
   * reused once every rank has read them, so a steady loop of collectives stops allocating.
   */
  get sharedBlockCount(): number {
    return this.mesh.pool.blockCount;
  }

  /** The first peer failure seen by this rank, if any. */
  get failure(): { readonly rank: Rank; readonly reason: string } | undefined {
    return this.mesh.failure;
  }

  allToAllSplits(send: Int32Array, opts?: CollectiveOptions): Promise<Int32Array> {
    return this.lane.submit({ kind: 'allToAllSplits', send }, opts) as Promise<Int32Array>;
  }

  allToAllV<T extends Int32Array | Float32Array>(
    data: T,
    sendCounts: Int32Array,
    recvCounts: Int32Array,
    opts?: CollectiveOptions,
  ): Promise<T> {
    return this.lane.submit(
      { kind: 'allToAllV', data, sendCounts, recvCounts },
      opts,
    ) as Promise<T>;
  }

  allReduce(data: Float32Array, op: ReduceOp, opts?: AllReduceOptions): Promise<Float32Array> {
    // in place: reduced straight into `data` (its contents went to a shared block at the call)
    return this.lane.submit(
      { kind: 'allReduce', data, op },
      opts,
      opts?.inPlace ? data : undefined,
    ) as Promise<Float32Array>;
  }

  barrier(opts?: CollectiveOptions): Promise<void> {
    return this.lane.submit({ kind: 'barrier' }, opts) as Promise<void>;
  }

  /**
   * Peer `rank` died: fail every pending and later call of every channel with
   * `PeerFailedError` naming it (the launcher calls this; the first failure is kept).
   *
   * @example
   * pg.failPeer(2, 'worker exited with code 1');
   */
  failPeer(rank: Rank, reason: string): void {
    this.mesh.fail(rank, reason);
  }

  /**
   * Close this rank's mesh — every channel: own pending and later calls reject with
   * `ProcessGroupClosedError`, peers' with `PeerFailedError`. Idempotent.
   */
  async close(): Promise<void> {
    this.mesh.close();
  }
}

/**
 * This rank's group (channel {@link DEFAULT_CHANNEL}) over its mesh ports.
 *
 * @example
 * const pg = createThreadProcessGroup(meshPorts, { rank, worldSize, timeoutMs: 5_000 });
 */
export function createThreadProcessGroup(
  meshPorts: readonly (MessagePort | null | undefined)[],
  options: ThreadProcessGroupOptions,
): ThreadProcessGroup {
  const mesh = new ThreadMesh(meshPorts, {
    rank: options.rank,
    worldSize: options.worldSize,
    timeoutMs: options.timeoutMs ?? THREADS_DEFAULT_TIMEOUT_MS,
    clock: options.clock ?? wallClock,
  });
  const views = new Map<string, ThreadProcessGroup>();
  const group = new ThreadProcessGroup(mesh, DEFAULT_CHANNEL, views);
  views.set(DEFAULT_CHANNEL, group);
  return group;
}
