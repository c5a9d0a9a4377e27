/**
 * The per-process MPI state behind every `mpi` process group: the library and
 * `MPI_Init_thread(MPI_THREAD_MULTIPLE)`, one duplicated communicator per channel, arrival
 * notices, and the job-wide failure path (break every group, then `MPI_Abort`).
 *
 * - **Channels.** Each channel name gets its own `MPI_Comm_dup(MPI_COMM_WORLD)`, made in
 *   creation order (`MPI_Comm_dup` is collective: every rank must create its channels in
 *   the same order — checked right after the dup by comparing name hashes, which rejects with
 *   `MpiChannelMismatchError` on every rank).
 * - **Arrival notices.** When a rank starts collective `seq` of channel `id` it sends every
 *   peer a tiny `[id, seq]` message on a private communicator (a synchronous, eagerly
 *   buffered `MPI_Send`); ranks drain them after each collective and on timeout, so a timed
 *   out rank can name the peers that never arrived (best effort).
 * - **Failure.** MPI collectives cannot be cancelled. After a timeout every pending and later
 *   call of every group rejects, and `abortDelayMs` later the rank calls `MPI_Abort`, which
 *   makes mpirun end the whole job: no process hangs. A rank process that dies makes mpirun
 *   kill the job and print which rank it was.
 * - **Finalize.** When every group of the process is closed, `MPI_Finalize` runs; if some
 *   group is left open, it runs when the event loop empties (`beforeExit`), since a process
 *   that exits without finalizing makes mpirun kill the whole job.
 *
 * @example
 * const runtime = await MpiRuntime.init();
 * const pg = await runtime.group('dataDist', { timeoutMs: 10_000 });
 */
import type { Clock, Rank } from '../../../protocol/index.ts';
import { wallClock } from '../../wall-clock.ts';
import {
  loadLibMpi,
  MPI_ANY_SOURCE,
  MPI_STATUS_INT32S,
  MPI_THREAD_MULTIPLE,
  type LibMpi,
  type MpiHandle,
} from './libmpi.ts';
import { MpiChannelMismatchError } from './mpi-errors.ts';

/** What the runtime needs from a group it made. */
export interface RuntimeGroup {
  /** Reject every pending call: the job is being aborted because of `cause`. */
  breakPending(cause: Error): void;
}

/** A channel's communicator and its id (creation index). */
export interface MpiChannel {
  readonly name: string;
  readonly id: number;
  readonly comm: MpiHandle;
}

const NOTICE_TAG = 0;
let current: Promise<MpiRuntime> | undefined;

/** The MPI state of this process (see the module doc). */
export class MpiRuntime {
  readonly rank: Rank;
  readonly worldSize: number;
  private readonly channels = new Map<string, Promise<MpiChannel>>();
  private readonly arrived = new Map<number, Int32Array>();
  private readonly groups = new Set<RuntimeGroup>();
  private readonly noticeBuf = new Int32Array(2);
  private readonly status = new Int32Array(MPI_STATUS_INT32S);
  private worldQueue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private finalizing: Promise<void> | undefined;
  private finalized = false;

  private constructor(
    readonly lib: LibMpi,
    private readonly notices: MpiHandle,
  ) {
    this.rank = lib.commRank(lib.handles.commWorld);
    this.worldSize = lib.commSize(lib.handles.commWorld);
  }

  /**
   * Initialize MPI once per process (later calls return the same runtime). Throws
   * `MpiUnavailableError` without Open MPI, and an error naming the thread level when the
   * library cannot provide `MPI_THREAD_MULTIPLE`.
   *
   * @example
   * const { rank, worldSize } = await MpiRuntime.init();
   */
  static init(options: { libraryPath?: string } = {}): Promise<MpiRuntime> {
    current ??= (async () => {
      const lib = loadLibMpi(options.libraryPath);
      if (!lib.initialized()) {
        const provided = lib.initThread(MPI_THREAD_MULTIPLE);
        if (provided < MPI_THREAD_MULTIPLE) {
          throw new Error(
            `Open MPI provides thread level ${provided}; the mpi process group needs MPI_THREAD_MULTIPLE (${MPI_THREAD_MULTIPLE})`,
          );
        }
      }
      const runtime = new MpiRuntime(lib, await lib.commDup(lib.handles.commWorld));
      process.once('beforeExit', () => runtime.finalizeNow());
      return runtime;
    })();
    current.catch(() => (current = undefined));
    return current;
  }

  /** MPI has been finalized: no more calls. */
  get isFinalized(): boolean {
    return this.finalized;
  }

  /** The error that broke the job (a timeout), if any. */
  get broken(): Error | undefined {
    return this.failure;
  }

  /**
   * The communicator of channel `name`, duplicated on first use (collective: same order on
   * every rank, see the module doc).
   */
  channel(name: string): Promise<MpiChannel> {
    let made = this.channels.get(name);
    if (!made) {
      const id = this.channels.size;
      made = this.onWorld(async () => {
        const comm = await this.lib.commDup(this.lib.handles.commWorld);
        const mine = Int32Array.of(hashName(name));
        const all = new Int32Array(this.worldSize);
        await this.lib.allgather(mine, 1, this.lib.handles.int, all, 1, this.lib.handles.int, comm);
        const other = all.findIndex((h) => h !== mine[0]);
        if (other >= 0) throw new MpiChannelMismatchError(this.rank, name, other);
        this.arrived.set(id, new Int32Array(this.worldSize).fill(-1));
        return { name, id, comm };
      });
      this.channels.set(name, made);
    }
    return made;
  }

  /** Keep `group` informed of a job failure; it counts as open until {@link release}. */
  register(group: RuntimeGroup): void {
    this.groups.add(group);
  }

  /** Tell every peer that this rank entered collective `seq` of channel `id`. */
  announce(id: number, seq: number): void {
    const msg = Int32Array.of(id, seq);
    for (let peer = 0; peer < this.worldSize; peer++) {
      if (peer !== this.rank)
        this.lib.send(msg, 2, this.lib.handles.int, peer, NOTICE_TAG, this.notices);
    }
  }

  /** Receive every arrival notice that is already here. */
  drainNotices(): void {
    while (this.lib.iprobe(MPI_ANY_SOURCE, NOTICE_TAG, this.notices, this.status)) {
      const source = this.status[0];
      this.lib.recv(this.noticeBuf, 2, this.lib.handles.int, source, NOTICE_TAG, this.notices);
      const seen = this.arrived.get(this.noticeBuf[0]);
      if (seen && this.noticeBuf[1] > seen[source]) seen[source] = this.noticeBuf[1];
    }
  }

  /** Peers (not this rank) whose notice for collective `seq` of channel `id` has not come. */
  notArrived(id: number, seq: number): Rank[] {
    this.drainNotices();
    const seen = this.arrived.get(id);
    const missing: Rank[] = [];
    for (let peer = 0; peer < this.worldSize; peer++) {
      if (peer !== this.rank && (!seen || seen[peer] < seq)) missing.push(peer);
    }
    return missing;
  }

  /**
   * The job is broken by `cause`: every group's pending calls reject, and `abortDelayMs`
   * later this rank calls `MPI_Abort` (the reason goes to stderr at once). First cause wins.
   */
  breakJob(cause: Error, abortDelayMs: number, clock: Clock = wallClock): void {
    if (this.failure) return;
    this.failure = cause;
    for (const g of this.groups) g.breakPending(cause);
    // said now, not at abort time: mpirun forwards it before the job is torn down
    process.stderr.write(
      `[sparsepipe mpi] rank ${this.rank}: ${cause.message}; calling MPI_Abort in ${abortDelayMs} ms\n`,
    );
    clock.setTimeout(() => this.lib.abort(this.lib.handles.commWorld, 1), abortDelayMs);
  }

  /**
   * `group` is closed; when no group is left, finalize MPI (not after a failure: the
   * abort is on its way). Resolves when finalized.
   */
  release(group: RuntimeGroup): Promise<void> {
    this.groups.delete(group);
    if (this.groups.size > 0 || this.failure) return Promise.resolve();
    this.finalizing ??= this.onWorld(async () => this.finalizeNow());
    return this.finalizing;
  }

  /** `MPI_Finalize` now (once; not after a failure), even with groups still open. */
  finalizeNow(): void {
    if (this.failure || this.finalized) return;
    this.finalized = true;
    this.drainNotices();
    this.lib.finalize();
  }

  private onWorld<T>(job: () => Promise<T>): Promise<T> {
    const run = this.worldQueue.then(job);
    this.worldQueue = run.catch(() => undefined);
    return run;
  }
}

/** FNV-1a hash of a channel name, as an int32. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
