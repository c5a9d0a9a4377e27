/**
 * The `mpi` process-group backend: one process per rank under `mpirun`, collectives by Open
 * MPI through koffi (`libmpi.ts`), run off the JS thread so the event loop keeps going.
 *
 * Every call is two MPI collectives on the channel's own communicator, in call order (a
 * per-channel queue, since MPI pairs collectives by order): an `MPI_Allgather` of a small
 * header (see `call-header.ts`: every rank checks the calls match and the arguments are
 * consistent, rejecting like the sim backend does), then the data movement:
 * - `barrier`, `allToAllSplits`: the header round is all they need;
 * - `allToAllV`: `MPI_Alltoallv` (MPI_INT / MPI_FLOAT);
 * - `allReduce`: **`MPI_Allgather` of every rank's input, then the sim's `reduceInRankOrder`
 *   in JS**, so the result is bitwise equal to the sim and threads backends (MPI's own
 *   reduction order is unspecified). `allReduce: 'native'` uses `MPI_Allreduce(MPI_SUM)`
 *   instead: less traffic, not reproducible bit for bit.
 *
 * **Channels.** `createMpiProcessGroup({ channel })` / `group.channel(name)` give each name
 * its own duplicated communicator, so the pipeline's `dataDist` and `default` streams can
 * issue collectives concurrently. Creating a channel is collective: every rank must create
 * the same channels in the same order (checked).
 *
 * **Timeouts** (real ms from the call, including time queued behind earlier calls of the
 * channel; default 30 s, per call `timeoutMs`): the call rejects with
 * `MpiCollectiveTimeoutError` (a `CollectiveTimeoutError`) naming the ranks whose arrival
 * notice had not come (best effort); since MPI calls cannot be cancelled, every other pending
 * and later call rejects with `MpiGroupBrokenError` and `abortDelayMs` later (default 1 s)
 * the rank calls `MPI_Abort`, ending the job.
 *
 * Close every group when done: the last close runs `MPI_Finalize`.
 *
 * @example
 * // node --import tsx rank.ts, launched by: mpirun -np 4 --oversubscribe …
 * const pg = await createMpiProcessGroup({ timeoutMs: 10_000 });
 * const dist = await pg.channel('dataDist');
 * const grads = await pg.allReduce(local, 'avg');
 * await Promise.all([dist.close(), pg.close()]);
 */
import type {
  Clock,
  AllReduceOptions,
  CollectiveOptions,
  ProcessGroup,
  Rank,
  ReduceOp,
} from '../../../protocol/index.ts';
import { ProcessGroupClosedError } from '../collective-errors.ts';
import {
  copyCallInputs,
  describeCall,
  exchangeSplits,
  reduceInRankOrder,
  validateCall,
  type CollectiveCall,
} from '../collective-math.ts';
import { wallClock } from '../../wall-clock.ts';
import { decodeHeader, encodeHeader, headerLength, judgeHeaders } from './call-header.ts';
import { MpiCollectiveTimeoutError, MpiGroupBrokenError } from './mpi-errors.ts';
import { MpiRuntime, type MpiChannel, type RuntimeGroup } from './mpi-runtime.ts';

/** Default collective timeout of the mpi backend, real ms. */
export const MPI_DEFAULT_TIMEOUT_MS = 30_000;
/** Default delay between a timeout and `MPI_Abort`, ms. */
export const MPI_DEFAULT_ABORT_DELAY_MS = 1_000;

/** Options of {@link createMpiProcessGroup}. */
export interface MpiProcessGroupOptions {
  /** Channel name (default `"default"`); each has its own communicator. */
  channel?: string;
  /** Default per-call timeout, real ms (default {@link MPI_DEFAULT_TIMEOUT_MS}; `Infinity`: none). */
  timeoutMs?: number;
  /** After a timeout, wait this long before `MPI_Abort` (default {@link MPI_DEFAULT_ABORT_DELAY_MS}). */
  abortDelayMs?: number;
  /** `'rankOrder'` (default): bitwise equal to sim. `'native'`: MPI_Allreduce. */
  allReduce?: 'rankOrder' | 'native';
  /** Time source for timeouts (default the wall clock). */
  clock?: Clock;
  /** The Open MPI library (default `libmpi.so.40`). */
  libraryPath?: string;
}

type Settings = Required<Omit<MpiProcessGroupOptions, 'channel' | 'libraryPath'>>;

interface PendingCall {
  readonly seq: number;
  readonly described: string;
  readonly label: string | undefined;
  readonly timeoutMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: unknown;
  settled: boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const groupsByRuntime = new WeakMap<MpiRuntime, Map<string, Promise<MpiProcessGroup>>>();

/**
 * This process's group on channel `options.channel` (initializing MPI on first use). The
 * same channel name gives the same group, with the settings it was first created with.
 * Collective on first use of a name: every rank creates its channels in the same order.
 *
 * @example
 * const pg = await createMpiProcessGroup({ timeoutMs: 5_000 });
 * const dist = await createMpiProcessGroup({ channel: 'dataDist' });
 */
export async function createMpiProcessGroup(
  options: MpiProcessGroupOptions = {},
): Promise<MpiProcessGroup> {
  const runtime = await MpiRuntime.init({ libraryPath: options.libraryPath });
  const settings: Settings = {
    timeoutMs: options.timeoutMs ?? MPI_DEFAULT_TIMEOUT_MS,
    abortDelayMs: options.abortDelayMs ?? MPI_DEFAULT_ABORT_DELAY_MS,
    allReduce: options.allReduce ?? 'rankOrder',
    clock: options.clock ?? wallClock,
  };
  if (!(settings.timeoutMs > 0))
    throw new RangeError(
      `mpi process group: timeoutMs must be > 0 ms (Infinity: none), got ${settings.timeoutMs}`,
    );
  if (!(settings.abortDelayMs >= 0))
    throw new RangeError(
      `mpi process group: abortDelayMs must be ≥ 0 ms, got ${settings.abortDelayMs}`,
    );
  return groupOn(runtime, options.channel ?? 'default', settings);
}

function groupOn(runtime: MpiRuntime, name: string, settings: Settings): Promise<MpiProcessGroup> {
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`mpi process group: channel name must be a non-empty string`);
  let byName = groupsByRuntime.get(runtime);
  if (!byName) {
    byName = new Map();
    groupsByRuntime.set(runtime, byName);
  }
  let group = byName.get(name);
  if (!group) {
    group = runtime
      .channel(name)
      .then((channel) => new MpiProcessGroup(runtime, channel, settings));
    byName.set(name, group);
  }
  return group;
}

/**
 * One channel of this rank's MPI group (see the module doc).
 *
 * @example
 * const recvCounts = await pg.allToAllSplits(sendCounts);
 * const ids = await pg.allToAllV(values, sendCounts, recvCounts);
 */
export class MpiProcessGroup implements ProcessGroup, RuntimeGroup {
  readonly backend = 'mpi' as const;
  readonly rank: Rank;
  readonly worldSize: number;
  readonly channelName: string;
  private readonly pending = new Set<PendingCall>();
  private tail: Promise<void> = Promise.resolve();
  private nextSeq = 0;
  private closed = false;

  /** Use {@link createMpiProcessGroup}. */
  constructor(
    private readonly runtime: MpiRuntime,
    private readonly comm: MpiChannel,
    private readonly settings: Settings,
  ) {
    this.rank = runtime.rank;
    this.worldSize = runtime.worldSize;
    this.channelName = comm.name;
    runtime.register(this);
  }

  /**
   * The group of channel `name` with this group's settings (collective on first use).
   *
   * @example
   * const dist = await pg.channel('dataDist');
   */
  channel(name: string): Promise<MpiProcessGroup> {
    return groupOn(this.runtime, name, this.settings);
  }

  allToAllSplits(send: Int32Array, opts?: CollectiveOptions): Promise<Int32Array> {
    return this.submit({ kind: 'allToAllSplits', send }, opts) as Promise<Int32Array>;
  }

  allToAllV<T extends Int32Array | Float32Array>(
    data: T,
    sendCounts: Int32Array,
    recvCounts: Int32Array,
    opts?: CollectiveOptions,
  ): Promise<T> {
    return this.submit({ kind: 'allToAllV', data, sendCounts, recvCounts }, opts) as Promise<T>;
  }

  async allReduce(
    data: Float32Array,
    op: ReduceOp,
    opts?: AllReduceOptions,
  ): Promise<Float32Array> {
    const out = (await this.submit({ kind: 'allReduce', data, op }, opts)) as Float32Array;
    if (!opts?.inPlace) return out;
    data.set(out); // MPI has read the input by the time the call settles
    return data;
  }

  barrier(opts?: CollectiveOptions): Promise<void> {
    return this.submit({ kind: 'barrier' }, opts) as Promise<void>;
  }

  /**
   * Wait for this channel's calls to finish, then release it; the last group of the process
   * to close finalizes MPI. Later calls reject with `ProcessGroupClosedError`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.runtime.broken) await this.tail;
    await this.runtime.release(this);
  }

  breakPending(cause: Error): void {
    for (const call of this.pending)
      this.settle(call, new MpiGroupBrokenError(this.rank, call.described, cause), undefined);
  }

  private submit(call: CollectiveCall, opts: CollectiveOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const described = describeCall(call);
      if (this.closed || this.runtime.isFinalized)
        return reject(new ProcessGroupClosedError(this.rank, described));
      const broken = this.runtime.broken;
      if (broken) return reject(new MpiGroupBrokenError(this.rank, described, broken));
      const timeoutMs = opts.timeoutMs ?? this.settings.timeoutMs;
      if (!(timeoutMs > 0))
        return reject(
          new RangeError(
            `${described} on rank ${this.rank}: timeoutMs must be > 0 ms, got ${timeoutMs}`,
          ),
        );
      const problem = validateCall(call, this.worldSize);
      const snapshot = problem ? call : copyCallInputs(call); // the caller may reuse its arrays while we wait in the queue
      const pending: PendingCall = {
        seq: this.nextSeq++,
        described,
        label: opts.label,
        timeoutMs,
        resolve,
        reject,
        timer: undefined,
        settled: false,
      };
      this.pending.add(pending);
      if (timeoutMs <= MAX_TIMER_MS)
        pending.timer = this.settings.clock.setTimeout(() => this.timedOut(pending), timeoutMs);
      this.tail = this.tail.then(async () => {
        if (pending.settled) return;
        try {
          this.settle(pending, undefined, await this.execute(pending.seq, snapshot, problem));
        } catch (e) {
          this.settle(pending, e as Error, undefined);
        }
      });
    });
  }

  private async execute(
    seq: number,
    call: CollectiveCall,
    problem: string | undefined,
  ): Promise<unknown> {
    const { lib } = this.runtime;
    const { int, float, sum } = lib.handles;
    const n = this.worldSize;
    const comm = this.comm.comm;
    this.runtime.announce(this.comm.id, seq);
    try {
      const size = headerLength(n);
      const all = new Int32Array(n * size);
      await lib.allgather(
        encodeHeader(this.comm.id, seq, call, problem, n),
        size,
        int,
        all,
        size,
        int,
        comm,
      );
      const headers = Array.from({ length: n }, (_, r) => decodeHeader(all, r, n));
      const verdict = judgeHeaders(seq, headers, this.rank);
      if (verdict) throw verdict;
      switch (call.kind) {
        case 'barrier':
          return undefined;
        case 'allToAllSplits':
          return exchangeSplits(headers.map((h) => h.vecA))[this.rank];
        case 'allToAllV': {
          const type = call.data instanceof Float32Array ? float : int;
          const recv =
            call.data instanceof Float32Array
              ? new Float32Array(total(call.recvCounts))
              : new Int32Array(total(call.recvCounts));
          await lib.alltoallv(
            call.data,
            call.sendCounts,
            displacements(call.sendCounts),
            type,
            recv,
            call.recvCounts,
            displacements(call.recvCounts),
            type,
            comm,
          );
          return recv;
        }
        case 'allReduce': {
          const len = call.data.length;
          if (this.settings.allReduce === 'native') {
            const out = new Float32Array(len);
            await lib.allreduce(call.data, out, len, float, sum, comm);
            if (call.op === 'avg') for (let k = 0; k < len; k++) out[k] /= n;
            return out;
          }
          const gathered = new Float32Array(n * len);
          await lib.allgather(call.data, len, float, gathered, len, float, comm);
          return reduceInRankOrder(
            Array.from({ length: n }, (_, r) => gathered.subarray(r * len, (r + 1) * len)),
            call.op,
          );
        }
      }
    } finally {
      this.runtime.drainNotices();
    }
  }

  private timedOut(call: PendingCall): void {
    if (call.settled) return;
    const missing = this.runtime.notArrived(this.comm.id, call.seq);
    const kind = call.described.replace(/\(.*$/, '');
    const name = `${kind} #${call.seq}${call.label ? ` "${call.label}"` : ''}${this.channelName === 'default' ? '' : ` on channel "${this.channelName}"`}`;
    const error = new MpiCollectiveTimeoutError(
      name,
      this.rank,
      missing,
      call.timeoutMs,
      this.settings.abortDelayMs,
    );
    this.settle(call, error, undefined);
    this.runtime.breakJob(error, this.settings.abortDelayMs, this.settings.clock);
  }

  private settle(call: PendingCall, error: Error | undefined, value: unknown): void {
    if (call.settled) return;
    call.settled = true;
    this.pending.delete(call);
    this.settings.clock.clearTimeout(call.timer);
    if (error) call.reject(error);
    else call.resolve(value);
  }
}

function total(counts: Int32Array): number {
  let s = 0;
  for (const c of counts) s += c;
  return s;
}

function displacements(counts: Int32Array): Int32Array {
  const d = new Int32Array(counts.length);
  for (let j = 1; j < counts.length; j++) d[j] = d[j - 1] + counts[j - 1];
  return d;
}
