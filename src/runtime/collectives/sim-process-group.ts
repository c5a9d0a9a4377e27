/**
 * The `sim` process-group backend: every rank in one process, collectives completing in
 * virtual time on a shared {@link SimScheduler}.
 *
 * Ranks rendezvous per call position: the k-th collective of every rank meets in slot k.
 * When the last rank arrives, results are computed once (pure functions of
 * `collective-math.ts`, reductions in rank order, bitwise reproducible) and every rank's
 * promise resolves at `latest arrival + costModel.collectiveMs(bytes)` virtual ms.
 * Inputs are never modified; each rank gets its own result arrays. A rank that arrives
 * before its peers has its inputs copied (pooled copies, dropped once the results are
 * computed); the last rank's inputs are read at once, so they need no copy.
 *
 * Failure modes, all deterministic and all rejecting every waiting rank (nothing hangs):
 * - a rank does not arrive within `timeoutMs` of a rank's arrival → {@link CollectiveTimeoutError}
 *   naming the missing rank(s); the slot is abandoned (a late arrival rejects at once);
 * - different calls at the same position, or inconsistent allToAllV counts →
 *   {@link CollectiveMismatchError} naming both ranks and calls; invalid arguments →
 *   {@link InvalidCollectiveError};
 * - `fail(rank, reason)` (a crashed rank) → every pending and later collective of every rank
 *   rejects with {@link PeerFailedError} naming it;
 * - `close()` of one rank → its pending/later calls reject with {@link ProcessGroupClosedError},
 *   peers waiting with it in a collective get {@link PeerFailedError}.
 *
 * Injected slowness: `setDelay(rank, { extraMs, multiplier })` makes that rank arrive
 * `extraMs` later than it called, and multiplies the transfer time of every collective it
 * takes part in (the slowest participant's multiplier counts).
 *
 * @example
 * const scheduler = new SimScheduler();
 * const groups = createSimProcessGroups({ worldSize: 2, scheduler, costModel: new CostModel({ alphaMs: 1 }) });
 * const [a, b] = await Promise.all(groups.map((pg) => pg.allReduce(Float32Array.of(pg.rank + 1), 'sum')));
 * // a and b: Float32Array [3], at virtual t = 1 + 4 bytes / beta
 * groups.fail(1, 'simulated crash'); // later collectives reject with PeerFailedError naming rank 1
 */
import type {
  AllReduceOptions,
  CollectiveOptions,
  ProcessGroup,
  Rank,
  ReduceOp,
} from '../../protocol/index.ts';
import { CollectiveTimeoutError, PeerFailedError } from '../../protocol/index.ts';
import { CostModel } from '../sim/cost-model.ts';
import type { SimScheduler } from '../sim/sim-scheduler.ts';
import {
  CollectiveMismatchError,
  InvalidCollectiveError,
  ProcessGroupClosedError,
} from './collective-errors.ts';
import { ScratchPool } from './scratch-pool.ts';
import {
  allToAllVCountsError,
  collectiveBytes,
  compatibleCalls,
  copyCallInputs,
  describeCall,
  exchangeSplits,
  exchangeV,
  reduceInRankOrder,
  validateCall,
  type CollectiveCall,
} from './collective-math.ts';

/** Default collective timeout of the sim backend, virtual ms. */
export const SIM_DEFAULT_TIMEOUT_MS = 30_000;

/** Options of {@link createSimProcessGroups}. */
export interface SimProcessGroupsOptions {
  worldSize: number;
  scheduler: SimScheduler;
  /** Collective durations (`collectiveMs(bytes)`); default `new CostModel()`. */
  costModel?: CostModel;
  /** Default per-call timeout, virtual ms (default {@link SIM_DEFAULT_TIMEOUT_MS}; `Infinity`: none). */
  timeoutMs?: number;
}

/** Injected slowness of one rank (fault injection). */
export interface RankDelay {
  /** The rank arrives at each collective this many virtual ms after calling it (default 0). */
  extraMs?: number;
  /** Transfer time of its collectives is multiplied by this (default 1). */
  multiplier?: number;
}

type ResultOf<C extends CollectiveCall> = C extends { kind: 'barrier' }
  ? // biome-ignore lint/suspicious/noConfusingVoidType: a barrier resolves with nothing (Promise<void>)
    void
  : C extends { kind: 'allReduce' }
    ? Float32Array
    : C extends { kind: 'allToAllSplits' }
      ? Int32Array
      : C extends { kind: 'allToAllV'; data: infer T }
        ? T
        : never;

interface Arrival {
  readonly rank: Rank;
  readonly call: CollectiveCall;
  readonly at: number;
  readonly timeoutMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** `call` holds copies taken from the fabric's scratch pool, not yet given back. */
  pooled: boolean;
  /** An `allToAllV` whose caller gave its `data` up (`CollectiveOptions.donate`). */
  readonly donated: boolean;
  settled: boolean;
}

/** The one timeout timer of a slot: the earliest `arrival time + timeoutMs` of its arrivals. */
interface SlotTimeout {
  readonly timer: unknown;
  readonly deadline: number;
  /** The arrival whose timeout it is (named in the error). */
  readonly trigger: Arrival;
}

interface Slot {
  readonly index: number;
  readonly arrivals: (Arrival | undefined)[];
  /** Ranks that reached this slot (including late arrivals after an abort). */
  seen: number;
  first: Arrival | undefined;
  label: string | undefined;
  state: 'open' | 'delivering' | 'aborted';
  makeError: ((rank: Rank) => Error) | undefined;
  deliverTimer: unknown;
  timeout: SlotTimeout | undefined;
}

/**
 * The shared rendezvous of one simulated group; {@link SimProcessGroup}s are its per-rank views.
 *
 * @example
 * const fabric = new SimCollectiveFabric({ worldSize: 4, scheduler });
 * const pg2 = new SimProcessGroup(fabric, 2);
 */
export class SimCollectiveFabric {
  readonly worldSize: number;
  readonly scheduler: SimScheduler;
  readonly costModel: CostModel;
  readonly timeoutMs: number;
  private readonly slots = new Map<number, Slot>();
  private readonly nextIndex: number[];
  private readonly delays: Required<RankDelay>[];
  private readonly closed = new Set<Rank>();
  private readonly scratch = new ScratchPool();
  private failed: { rank: Rank; reason: string } | undefined;

  constructor(options: SimProcessGroupsOptions) {
    const { worldSize } = options;
    if (!Number.isInteger(worldSize) || worldSize < 1)
      throw new RangeError(`worldSize must be an integer ≥ 1, got ${worldSize}`);
    this.worldSize = worldSize;
    this.scheduler = options.scheduler;
    this.costModel = options.costModel ?? new CostModel();
    this.timeoutMs = checkTimeout(options.timeoutMs ?? SIM_DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.nextIndex = new Array<number>(worldSize).fill(0);
    this.delays = Array.from({ length: worldSize }, () => ({ extraMs: 0, multiplier: 1 }));
  }

  /** The first rank failed with `fail`, if any. */
  get failure(): { readonly rank: Rank; readonly reason: string } | undefined {
    return this.failed;
  }

  /** Collectives some rank is waiting in (not yet delivered, not aborted). */
  get pendingCollectives(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.state !== 'aborted') n++;
    return n;
  }

  /**
   * Simulate a crash of `rank`: every pending and later collective of every rank rejects
   * with {@link PeerFailedError} naming it. Only the first failure is kept.
   *
   * @example
   * groups.fabric.fail(2, 'OOM');
   */
  fail(rank: Rank, reason: string): void {
    this.checkRank(rank, 'fail');
    if (this.failed) return;
    this.failed = { rank, reason };
    for (const slot of this.slots.values()) {
      if (slot.state !== 'aborted') this.abort(slot, (r) => new PeerFailedError(r, rank, reason));
    }
    this.slots.clear(); // later calls reject before reaching a slot
  }

  /**
   * Inject slowness for `rank` (replaces any earlier setting; `{}` resets it).
   *
   * @example
   * groups.fabric.setDelay(1, { extraMs: 5, multiplier: 3 });
   */
  setDelay(rank: Rank, delay: RankDelay): void {
    this.checkRank(rank, 'setDelay');
    const extraMs = delay.extraMs ?? 0;
    const multiplier = delay.multiplier ?? 1;
    if (!Number.isFinite(extraMs) || extraMs < 0)
      throw new RangeError(`setDelay(${rank}): extraMs must be ≥ 0, got ${extraMs}`);
    if (!Number.isFinite(multiplier) || multiplier <= 0) {
      throw new RangeError(`setDelay(${rank}): multiplier must be > 0, got ${multiplier}`);
    }
    this.delays[rank] = { extraMs, multiplier };
  }

  /** Rank `rank` leaves the group (see the module doc). */
  close(rank: Rank): void {
    this.checkRank(rank, 'close');
    if (this.closed.has(rank)) return;
    this.closed.add(rank);
    for (const slot of this.slots.values()) {
      const mine = slot.arrivals[rank];
      if (slot.state === 'aborted' || !mine || mine.settled) continue;
      const call = describeCall(mine.call);
      this.abort(slot, (r) =>
        r === rank
          ? new ProcessGroupClosedError(rank, call)
          : new PeerFailedError(r, rank, 'its process group was closed'),
      );
    }
  }

  /** Enter the next collective of `rank` (called by {@link SimProcessGroup}). */
  submit<C extends CollectiveCall>(
    rank: Rank,
    call: C,
    opts: CollectiveOptions = {},
  ): Promise<ResultOf<C>> {
    return new Promise<ResultOf<C>>((resolve, reject) => {
      if (this.closed.has(rank))
        return reject(new ProcessGroupClosedError(rank, describeCall(call)));
      if (this.failed)
        return reject(new PeerFailedError(rank, this.failed.rank, this.failed.reason));
      const timeoutMs = checkTimeout(opts.timeoutMs ?? this.timeoutMs, 'timeoutMs');
      const index = this.nextIndex[rank]++;
      let slot = this.slots.get(index);
      if (!slot) {
        slot = {
          index,
          arrivals: new Array(this.worldSize),
          seen: 0,
          first: undefined,
          label: undefined,
          state: 'open',
          makeError: undefined,
          deliverTimer: undefined,
          timeout: undefined,
        };
        this.slots.set(index, slot);
      }
      slot.seen++;
      if (slot.state === 'aborted') {
        reject(slot.makeError!(rank));
        this.forgetIfDone(slot);
        return;
      }
      slot.label ??= opts.label;
      const problem = validateCall(call, this.worldSize);
      const donated = call.kind === 'allToAllV' && opts.donate === true && simDonation.enabled;
      // The last arrival completes the slot right now, before its caller can touch its arrays;
      // a donated array is never touched again by its caller.
      const copied = !problem && slot.seen < this.worldSize && !donated;
      const arrival: Arrival = {
        rank,
        call: copied ? copyCallInputs(call, this.copier) : call,
        at: this.scheduler.now(),
        timeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        pooled: copied,
        donated,
        settled: false,
      };
      slot.arrivals[rank] = arrival;
      if (problem) {
        const described = describeCall(call);
        return this.abort(
          slot,
          (r) => new InvalidCollectiveError(index, described, rank, problem, r),
        );
      }
      const first = slot.first;
      if (first && !compatibleCalls(first.call, call)) {
        const a = describeCall(first.call);
        const b = describeCall(call);
        return this.abort(
          slot,
          (r) => new CollectiveMismatchError(index, first.rank, a, rank, b, r),
        );
      }
      slot.first ??= arrival;
      if (slot.seen === this.worldSize) this.complete(slot);
      else this.armTimeout(slot, arrival);
    });
  }

  private readonly copier = <T extends Int32Array | Float32Array>(array: T): T =>
    this.scratch.copy(array);

  /**
   * Keep one timer per slot, at the earliest deadline of its arrivals (ties: the earlier
   * arrival). It fires exactly when, and as, the first of per-arrival timers would have.
   */
  private armTimeout(slot: Slot, arrival: Arrival): void {
    if (arrival.timeoutMs === Infinity) return;
    const deadline = this.scheduler.now() + arrival.timeoutMs;
    if (slot.timeout && slot.timeout.deadline <= deadline) return;
    this.scheduler.clearTimeout(slot.timeout?.timer);
    const timer = this.scheduler.setTimeout(() => this.timedOut(slot), arrival.timeoutMs);
    slot.timeout = { timer, deadline, trigger: arrival };
  }

  private timedOut(slot: Slot): void {
    if (slot.state !== 'open' || !slot.timeout) return;
    const trigger = slot.timeout.trigger;
    const missing: Rank[] = [];
    for (let r = 0; r < this.worldSize; r++) if (!slot.arrivals[r]) missing.push(r);
    const name = this.collectiveName(slot, trigger.call);
    this.abort(
      slot,
      (r) =>
        new CollectiveTimeoutError(
          name,
          r,
          missing,
          slot.arrivals[r]?.timeoutMs ?? trigger.timeoutMs,
        ),
    );
  }

  private complete(slot: Slot): void {
    const arrivals = slot.arrivals as Arrival[];
    const calls = arrivals.map((a) => a.call);
    this.scheduler.clearTimeout(slot.timeout?.timer);
    slot.timeout = undefined;
    if (calls[0].kind === 'allToAllV') {
      const vs = calls as Extract<CollectiveCall, { kind: 'allToAllV' }>[];
      const mismatch = allToAllVCountsError(
        slot.index,
        vs.map((c) => c.sendCounts),
        vs.map((c) => c.recvCounts),
      );
      if (mismatch) {
        this.abort(slot, mismatch);
        return;
      }
    }
    // One rank that gave its data up: the exchange is the identity, no copy
    const results =
      arrivals.length === 1 && arrivals[0].donated
        ? [ownBlock(calls[0] as Extract<CollectiveCall, { kind: 'allToAllV' }>)]
        : computeResults(calls);
    for (const a of arrivals) this.releaseCopies(a);
    let latest = -Infinity;
    let multiplier = 1;
    for (const a of arrivals) {
      latest = Math.max(latest, a.at + this.delays[a.rank].extraMs);
      multiplier = Math.max(multiplier, this.delays[a.rank].multiplier);
    }
    const doneAt = latest + this.costModel.collectiveMs(collectiveBytes(calls)) * multiplier;
    slot.state = 'delivering';
    slot.deliverTimer = this.scheduler.setTimeout(() => {
      this.slots.delete(slot.index);
      for (const a of arrivals) {
        a.settled = true;
        a.resolve(results[a.rank]);
      }
    }, doneAt - this.scheduler.now());
  }

  /** Give an arrival's pooled copies back, once (the pool ignores its small, unpooled ones). */
  private releaseCopies(arrival: Arrival): void {
    if (!arrival.pooled) return;
    arrival.pooled = false;
    const call = arrival.call;
    switch (call.kind) {
      case 'allToAllV':
        this.scratch.release(call.data);
        this.scratch.release(call.sendCounts);
        this.scratch.release(call.recvCounts);
        return;
      case 'allReduce':
        this.scratch.release(call.data);
        return;
      case 'allToAllSplits':
        this.scratch.release(call.send);
        return;
      case 'barrier':
        return;
    }
  }

  private abort(slot: Slot, makeError: (rank: Rank) => Error): void {
    slot.state = 'aborted';
    slot.makeError = makeError;
    this.scheduler.clearTimeout(slot.deliverTimer);
    this.scheduler.clearTimeout(slot.timeout?.timer);
    slot.timeout = undefined;
    for (const a of slot.arrivals) {
      if (a) this.releaseCopies(a);
      if (!a || a.settled) continue;
      a.settled = true;
      a.reject(makeError(a.rank));
    }
    this.forgetIfDone(slot);
  }

  private forgetIfDone(slot: Slot): void {
    if (slot.state === 'aborted' && slot.seen === this.worldSize) this.slots.delete(slot.index);
  }

  private collectiveName(slot: Slot, call: CollectiveCall): string {
    return `${call.kind} #${slot.index}${slot.label ? ` "${slot.label}"` : ''}`;
  }

  private checkRank(rank: Rank, what: string): void {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.worldSize) {
      throw new RangeError(`${what}: rank ${rank} is not in 0..${this.worldSize - 1}`);
    }
  }
}

/**
 * One rank's view of a simulated group.
 *
 * @example
 * const recvCounts = await pg.allToAllSplits(Int32Array.of(2, 0, 1));
 */
export class SimProcessGroup implements ProcessGroup {
  readonly backend = 'sim' as const;
  readonly worldSize: number;

  constructor(
    readonly fabric: SimCollectiveFabric,
    readonly rank: Rank,
  ) {
    this.worldSize = fabric.worldSize;
  }

  allToAllSplits(send: Int32Array, opts?: CollectiveOptions): Promise<Int32Array> {
    return this.fabric.submit(this.rank, { kind: 'allToAllSplits', send }, opts);
  }

  allToAllV<T extends Int32Array | Float32Array>(
    data: T,
    sendCounts: Int32Array,
    recvCounts: Int32Array,
    opts?: CollectiveOptions,
  ): Promise<T> {
    return this.fabric.submit(
      this.rank,
      { kind: 'allToAllV', data, sendCounts, recvCounts },
      opts,
    ) as Promise<T>;
  }

  async allReduce(
    data: Float32Array,
    op: ReduceOp,
    opts?: AllReduceOptions,
  ): Promise<Float32Array> {
    const out = await this.fabric.submit(this.rank, { kind: 'allReduce', data, op }, opts);
    if (!opts?.inPlace) return out;
    data.set(out); // the fabric reduced copies of the inputs
    return data;
  }

  barrier(opts?: CollectiveOptions): Promise<void> {
    return this.fabric.submit(this.rank, { kind: 'barrier' }, opts);
  }

  /** Simulate this rank crashing (see {@link SimCollectiveFabric.fail}). */
  fail(reason: string): void {
    this.fabric.fail(this.rank, reason);
  }

  /** Inject slowness for this rank (see {@link SimCollectiveFabric.setDelay}). */
  setDelay(delay: RankDelay): void {
    this.fabric.setDelay(this.rank, delay);
  }

  async close(): Promise<void> {
    this.fabric.close(this.rank);
  }
}

/** The groups of every rank, in rank order, plus the cluster-wide fault hooks. */
export type SimProcessGroups = SimProcessGroup[] & {
  readonly fabric: SimCollectiveFabric;
  fail(rank: Rank, reason: string): void;
  setDelay(rank: Rank, delay: RankDelay): void;
};

/**
 * One {@link SimProcessGroup} per rank sharing a rendezvous on `scheduler`.
 *
 * @example
 * const groups = createSimProcessGroups({ worldSize: 4, scheduler, timeoutMs: 1_000 });
 * await Promise.all(groups.map((pg) => pg.barrier()));
 * groups.setDelay(3, { extraMs: 2 });
 */
export function createSimProcessGroups(options: SimProcessGroupsOptions): SimProcessGroups {
  const fabric = new SimCollectiveFabric(options);
  const groups = Array.from({ length: fabric.worldSize }, (_, r) => new SimProcessGroup(fabric, r));
  return Object.assign(groups, {
    fabric,
    fail: (rank: Rank, reason: string) => fabric.fail(rank, reason),
    setDelay: (rank: Rank, delay: RankDelay) => fabric.setDelay(rank, delay),
  });
}

function checkTimeout(ms: number, name: string): number {
  if (!(ms > 0))
    throw new RangeError(`${name} must be > 0 virtual ms (Infinity: no timeout), got ${ms}`);
  return ms;
}

/**
 * Donated sends (`CollectiveOptions.donate`) taken by the sim backend: `enabled` switches
 * them off (tests compare both paths bit for bit), `aliased` counts the world-1 results
 * returned as the sent array itself.
 */
export const simDonation = { enabled: true, aliased: 0 };

/** A world-1 `allToAllV` of donated data (validated: all of it goes to itself), uncopied. */
function ownBlock(call: Extract<CollectiveCall, { kind: 'allToAllV' }>): Int32Array | Float32Array {
  simDonation.aliased++;
  return call.data;
}

function computeResults(calls: readonly CollectiveCall[]): unknown[] {
  const first = calls[0];
  switch (first.kind) {
    case 'barrier':
      return calls.map(() => undefined);
    case 'allToAllSplits':
      return exchangeSplits(calls.map((c) => (c as typeof first).send));
    case 'allToAllV': {
      const vs = calls as (typeof first)[];
      return exchangeV(
        vs.map((c) => c.data),
        vs.map((c) => c.sendCounts),
      );
    }
    case 'allReduce': {
      const reduced = reduceInRankOrder(
        calls.map((c) => (c as typeof first).data),
        first.op,
      );
      return calls.map((_, r) => (r === 0 ? reduced : reduced.slice()));
    }
  }
}
