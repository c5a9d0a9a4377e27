/**
 * A process group that injects per-call collective faults into one rank's channel: the
 * `index`-th call arrives `extraMs` late, or never arrives at all (dropped).
 *
 * Calls are numbered per channel from 0, in the order the rank makes them. A delayed call
 * holds back the rank's later calls on the channel (they keep their order, as on a real
 * link). A dropped call is never submitted: the peers wait in that collective and time
 * out naming this rank; on this rank the call rejects with {@link DroppedCollectiveError}
 * after the group's timeout, and every later call on the channel rejects at once (the
 * channel is out of step for good).
 *
 * @example
 * const pg = new FaultyProcessGroup(cluster.pgs[1], {
 *   scheduler: cluster.scheduler, timeoutMs: cluster.pgs.fabric.timeoutMs, channel: 'default',
 *   drop: { kind: 'dropCollective', rank: 1, index: 3 },
 * });
 */
import type {
  AllReduceOptions,
  CollectiveOptions,
  ProcessGroup,
  Rank,
  ReduceOp,
} from '../protocol/index.ts';
import type { SimScheduler } from '../runtime/sim/sim-scheduler.ts';
import {
  DroppedCollectiveError,
  type CollectiveChannel,
  type DelayCollectiveFault,
  type DropCollectiveFault,
} from './faults.ts';

/**
 * Options of {@link FaultyProcessGroup}.
 *
 * @example
 * const o: FaultyProcessGroupOptions = { scheduler, timeoutMs: 1_000, channel: 'dist', delays: [{ kind: 'delayCollective', rank: 0, extraMs: 5, index: 2, channel: 'dist' }] };
 */
export interface FaultyProcessGroupOptions {
  scheduler: SimScheduler;
  /** The group's default timeout (virtual ms): when a dropped call rejects on this rank. */
  timeoutMs: number;
  channel: CollectiveChannel;
  /** Delay only these calls (by index). */
  delays?: readonly DelayCollectiveFault[];
  drop?: DropCollectiveFault;
  /** Called when a fault takes effect (for the run's fault records). */
  onFired?: (fault: DelayCollectiveFault | DropCollectiveFault, t: number) => void;
}

/**
 * A {@link ProcessGroup} wrapping one rank's channel with per-call delays and a drop (see the module doc).
 *
 * @example
 * const pg = new FaultyProcessGroup(cluster.pgs[0], { scheduler: cluster.scheduler, timeoutMs: 1_000, channel: 'default', drop: { kind: 'dropCollective', rank: 0, index: 0 } });
 * await pg.barrier(); // rejects with DroppedCollectiveError after 1 000 virtual ms
 */
export class FaultyProcessGroup implements ProcessGroup {
  readonly rank: Rank;
  readonly worldSize: number;
  readonly backend: ProcessGroup['backend'];
  private calls = 0;
  /** Resolves when the last delayed call has been submitted (later calls queue behind it). */
  private queue: Promise<void> | null = null;
  private dropped: DroppedCollectiveError | null = null;

  constructor(
    readonly inner: ProcessGroup,
    private readonly o: FaultyProcessGroupOptions,
  ) {
    this.rank = inner.rank;
    this.worldSize = inner.worldSize;
    this.backend = inner.backend;
  }

  allToAllSplits(send: Int32Array, opts?: CollectiveOptions): Promise<Int32Array> {
    return this.through('allToAllSplits', opts, () => this.inner.allToAllSplits(send, opts));
  }

  allToAllV<T extends Int32Array | Float32Array>(
    data: T,
    sendCounts: Int32Array,
    recvCounts: Int32Array,
    opts?: CollectiveOptions,
  ): Promise<T> {
    return this.through('allToAllV', opts, () =>
      this.inner.allToAllV(data, sendCounts, recvCounts, opts),
    );
  }

  allReduce(data: Float32Array, op: ReduceOp, opts?: AllReduceOptions): Promise<Float32Array> {
    return this.through('allReduce', opts, () => this.inner.allReduce(data, op, opts));
  }

  barrier(opts?: CollectiveOptions): Promise<void> {
    return this.through('barrier', opts, () => this.inner.barrier(opts));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private through<R>(
    kind: string,
    opts: CollectiveOptions | undefined,
    submit: () => Promise<R>,
  ): Promise<R> {
    const index = this.calls++;
    if (this.dropped) return Promise.reject(this.dropped);
    const { drop, scheduler } = this.o;
    if (drop && drop.index === index) {
      const name = `${kind} #${index}${opts?.label ? ` "${opts.label}"` : ''}`;
      this.dropped = new DroppedCollectiveError(drop, name);
      this.o.onFired?.(drop, scheduler.now());
      const error = this.dropped;
      return new Promise<R>((_, reject) => {
        scheduler.setTimeout(() => reject(error), opts?.timeoutMs ?? this.o.timeoutMs);
      });
    }
    const delay = this.o.delays?.find((d) => d.index === index);
    if (!delay && !this.queue) return submit();
    const before = this.queue ?? Promise.resolve();
    const submitted = before.then(async () => {
      if (delay) {
        this.o.onFired?.(delay, scheduler.now());
        await scheduler.sleep(delay.extraMs);
      }
    });
    const mine: Promise<void> = submitted.then(() => {
      if (this.queue === mine) this.queue = null;
    });
    this.queue = mine;
    return submitted.then(submit);
  }
}
