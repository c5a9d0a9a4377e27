/**
 * One ordered channel of collectives on one rank of the `threads` backend: the k-th call on
 * this channel meets the k-th call of every peer on the same channel (its `seq`).
 *
 * A call sends this rank's part to every peer at once, then waits until every peer's part
 * for the same `seq` is in (parts that arrive before the call are buffered). With all n
 * parts the verdict and result are computed locally (see `mesh-protocol.ts`), so every rank
 * reaches the same outcome without a second round.
 *
 * Timeout: `timeoutMs` after this rank's call (real ms from the injected clock) the call
 * rejects with {@link CollectiveTimeoutError} naming the peers whose part never came, and an
 * `abort` message tells every peer, so peers still waiting — or arriving late — reject with
 * the same error instead of waiting for their own timers.
 *
 * @example
 * const channel = new ThreadChannel(link, 'dataDist');
 * const out = await channel.submit({ kind: 'allReduce', data, op: 'sum' }, {});
 */
import type { Clock, CollectiveOptions, Rank } from '../../../protocol/index.ts';
import { CollectiveTimeoutError } from '../../../protocol/index.ts';
import { describeCall, validateCall, type CollectiveCall } from '../collective-math.ts';
import {
  assembleResult,
  judgeArrivals,
  releaseArrival,
  splitForPeers,
  type MeshMessage,
  type WireArrival,
} from './mesh-protocol.ts';
import type { SharedBlockPool } from './shared-blocks.ts';

/** What a channel needs from its rank's mesh. */
export interface ChannelLink {
  readonly rank: Rank;
  readonly worldSize: number;
  readonly clock: Clock;
  /** Default per-call timeout, ms (`Infinity`: none). */
  readonly timeoutMs: number;
  /** Set once the mesh is closed or a peer failed; new calls reject with it. */
  refusal(call: string): Error | undefined;
  /** This rank's shared blocks for outgoing payloads. */
  readonly pool: SharedBlockPool;
  send(peer: Rank, message: MeshMessage): void;
}

interface PendingCall {
  readonly described: string;
  readonly timeoutMs: number;
  readonly label: string | undefined;
  /** An in-place allReduce's array: the result is written into it. */
  readonly into: Float32Array | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: unknown;
}

interface Slot {
  readonly seq: number;
  readonly arrivals: (WireArrival | undefined)[];
  count: number;
  own: PendingCall | undefined;
  /** Set when a peer aborted this slot before we called. */
  aborted: ((rank: Rank) => Error) | undefined;
}

/** Timers above this are treated as "no timeout" (setTimeout's 32-bit limit). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The per-channel collective sequencer of one rank (see the module doc).
 *
 * @example
 * const recv = await channel.submit({ kind: 'allToAllSplits', send: Int32Array.of(1, 2) }, { timeoutMs: 500 });
 */
export class ThreadChannel {
  private readonly slots = new Map<number, Slot>();
  private nextSeq = 0;

  constructor(
    private readonly link: ChannelLink,
    readonly name: string,
  ) {}

  /** Collectives this rank has entered on the channel and that are not settled yet. */
  get pending(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.own) n++;
    return n;
  }

  /** Enter the next collective of this channel (an allReduce's result goes into `into` when given). */
  submit(
    call: CollectiveCall,
    opts: CollectiveOptions = {},
    into?: Float32Array,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const { rank, worldSize } = this.link;
      const described = describeCall(call);
      const refused = this.link.refusal(described);
      if (refused) return reject(refused);
      const timeoutMs = opts.timeoutMs ?? this.link.timeoutMs;
      if (!(timeoutMs > 0)) {
        return reject(
          new RangeError(
            `${described} on rank ${rank}: timeoutMs must be > 0 ms (Infinity: no timeout), got ${timeoutMs}`,
          ),
        );
      }
      const seq = this.nextSeq++;
      const { own, peers } = splitForPeers(
        call,
        validateCall(call, worldSize),
        rank,
        worldSize,
        this.link.pool,
      );
      for (const [peer, part] of peers.entries()) {
        if (part)
          this.link.send(peer, {
            type: 'call',
            channel: this.name,
            seq,
            from: rank,
            described,
            call: part,
          });
      }
      const slot = this.slotAt(seq);
      if (slot.aborted) {
        releaseArrival(own);
        this.drop(slot);
        return reject(slot.aborted(rank));
      }
      slot.own = {
        described,
        timeoutMs,
        label: opts.label,
        into,
        resolve,
        reject,
        timer: undefined,
      };
      this.arrive(slot, rank, { described, call: own });
      if (slot.own && timeoutMs <= MAX_TIMER_MS) {
        slot.own.timer = this.link.clock.setTimeout(() => this.timedOut(slot), timeoutMs);
      }
    });
  }

  /** A message for this channel from a peer. */
  receive(message: MeshMessage): void {
    if (message.type === 'closed') return;
    const stale = message.seq < this.nextSeq && !this.slots.has(message.seq);
    if (stale) {
      // settled here already (a late part or an abort racing our completion)
      if (message.type === 'call') releaseArrival(message.call);
      return;
    }
    const slot = this.slotAt(message.seq);
    if (message.type === 'call') {
      if (slot.aborted) releaseArrival(message.call);
      else this.arrive(slot, message.from, { described: message.described, call: message.call });
      return;
    }
    if (slot.aborted) return;
    const { name, missing } = message;
    slot.aborted = (r) =>
      new CollectiveTimeoutError(name, r, missing, slot.own?.timeoutMs ?? message.timeoutMs);
    if (slot.own) this.settle(slot, slot.aborted(this.link.rank), undefined);
  }

  /** Reject every call waiting on this channel (peer failure, close). */
  failAll(makeError: (described: string) => Error): void {
    for (const slot of this.slots.values()) {
      const own = slot.own;
      if (!own) continue;
      slot.own = undefined;
      this.link.clock.clearTimeout(own.timer);
      own.reject(makeError(own.described));
    }
    for (const slot of [...this.slots.values()]) this.drop(slot);
  }

  private slotAt(seq: number): Slot {
    let slot = this.slots.get(seq);
    if (!slot) {
      slot = {
        seq,
        arrivals: new Array(this.link.worldSize),
        count: 0,
        own: undefined,
        aborted: undefined,
      };
      this.slots.set(seq, slot);
    }
    return slot;
  }

  private arrive(slot: Slot, from: Rank, arrival: WireArrival): void {
    if (slot.arrivals[from]) {
      releaseArrival(arrival.call); // a duplicate: ignored
      return;
    }
    slot.arrivals[from] = arrival;
    slot.count++;
    if (slot.count < this.link.worldSize || !slot.own) return;
    const arrivals = slot.arrivals as WireArrival[];
    const error = judgeArrivals(slot.seq, arrivals, this.link.rank);
    this.settle(
      slot,
      error,
      error
        ? undefined
        : assembleResult(
            arrivals.map((a) => a.call),
            this.link.rank,
            slot.own.into,
          ),
    );
  }

  /** Forget `slot`, giving back what its arrivals hold of shared blocks (the result, if any, is a copy). */
  private drop(slot: Slot): void {
    this.slots.delete(slot.seq);
    for (const [r, arrival] of slot.arrivals.entries()) {
      if (!arrival) continue;
      slot.arrivals[r] = undefined;
      releaseArrival(arrival.call);
    }
  }

  private settle(slot: Slot, error: Error | undefined, value: unknown): void {
    const own = slot.own;
    this.drop(slot);
    if (!own) return;
    slot.own = undefined;
    this.link.clock.clearTimeout(own.timer);
    if (error) own.reject(error);
    else own.resolve(value);
  }

  private timedOut(slot: Slot): void {
    const own = slot.own;
    if (!own || this.slots.get(slot.seq) !== slot) return;
    const { rank, worldSize } = this.link;
    const missing: Rank[] = [];
    for (let r = 0; r < worldSize; r++) if (!slot.arrivals[r]) missing.push(r);
    const kind = own.described.replace(/\(.*$/, '');
    const name = `${kind} #${slot.seq}${own.label ? ` "${own.label}"` : ''}${this.name === 'default' ? '' : ` on channel "${this.name}"`}`;
    for (let peer = 0; peer < worldSize; peer++) {
      if (peer === rank) continue;
      this.link.send(peer, {
        type: 'abort',
        channel: this.name,
        seq: slot.seq,
        from: rank,
        name,
        missing,
        timeoutMs: own.timeoutMs,
      });
    }
    this.settle(slot, new CollectiveTimeoutError(name, rank, missing, own.timeoutMs), undefined);
  }
}
