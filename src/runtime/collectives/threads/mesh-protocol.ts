/**
 * What ranks of the `threads` backend say to each other over their mesh `MessagePort`s, and
 * the pure functions that cut a collective call into per-peer messages and, once every
 * rank's message is in, judge the call and assemble this rank's result.
 *
 * Every message names its `channel` and the call's `seq` (position in that channel's
 * collective sequence), so independent channels share one mesh and calls pair up by order.
 * Each rank sends every peer only what that peer needs (its allToAllV piece, one split
 * array, the full allReduce input). Payloads are copied once out of the caller's arrays
 * into a shared block of the rank's {@link SharedBlockPool} (`shared-blocks.ts`), which every
 * rank reads in place and releases once its result is assembled: caller memory is never
 * detached or aliased, and nothing is allocated per peer.
 *
 * The verdict is computed identically on every rank from the same n messages: the lowest
 * rank with invalid arguments, else the lowest rank whose call is incompatible with rank 0's,
 * else inconsistent allToAllV counts; otherwise the result comes from the same pure
 * functions as the sim backend (`exchangeSplits`, `reduceInRankOrder`), so it is bitwise
 * equal to sim.
 *
 * @example
 * const { own, peers } = splitForPeers({ kind: 'barrier' }, undefined, 0, 2, new SharedBlockPool());
 * // own: { kind: 'barrier' }, peers[1]: { kind: 'barrier' }
 */
import type { Rank, ReduceOp } from '../../../protocol/index.ts';
import { CollectiveMismatchError, InvalidCollectiveError } from '../collective-errors.ts';
import {
  allToAllVCountsError,
  compatibleCalls,
  exchangeSplits,
  reduceInRankOrder,
  type CollectiveCall,
} from '../collective-math.ts';
import { BLOCK_HEADER_BYTES, releaseShared, type SharedBlockPool } from './shared-blocks.ts';

/** One rank's part of a collective as it travels to one peer. */
export type WireCall =
  | { readonly kind: 'allToAllSplits'; readonly send: Int32Array }
  | {
      readonly kind: 'allToAllV';
      /** The elements meant for the receiving rank. */
      readonly piece: Int32Array | Float32Array;
      readonly sendCounts: Int32Array;
      readonly recvCounts: Int32Array;
    }
  | { readonly kind: 'allReduce'; readonly op: ReduceOp; readonly data: Float32Array }
  | { readonly kind: 'barrier' }
  | { readonly kind: 'invalid'; readonly problem: string };

/** Messages on a mesh port (rank `from` → the port's other end). */
export type MeshMessage =
  | {
      readonly type: 'call';
      readonly channel: string;
      readonly seq: number;
      readonly from: Rank;
      /** `describeCall` of the sender's whole call, for error messages. */
      readonly described: string;
      readonly call: WireCall;
    }
  | {
      /** The sender timed out waiting in `seq`; late arrivals reject with the same error. */
      readonly type: 'abort';
      readonly channel: string;
      readonly seq: number;
      readonly from: Rank;
      readonly name: string;
      readonly missing: readonly Rank[];
      readonly timeoutMs: number;
    }
  | { readonly type: 'closed'; readonly from: Rank };

/** One rank's arrival in a collective: what it called and its part for us. */
export interface WireArrival {
  readonly described: string;
  readonly call: WireCall;
}

/** Per-peer parts of one call (undefined at our own rank) and our own part. */
export interface SplitCall {
  readonly own: WireCall;
  readonly peers: ReadonlyArray<WireCall | undefined>;
}

/**
 * Cut `call` (made by `rank`; `problem` from `validateCall`) into what each rank receives.
 * Payloads are copied into one block of `pool` that all `worldSize` ranks read (each
 * releases its part once: {@link releaseArrival}); the caller's arrays are never detached
 * or aliased.
 *
 * @example
 * splitForPeers({ kind: 'allToAllSplits', send: Int32Array.of(1, 2) }, undefined, 0, 2, pool).peers[1];
 * // { kind: 'allToAllSplits', send: Int32Array [1, 2] }
 */
export function splitForPeers(
  call: CollectiveCall,
  problem: string | undefined,
  rank: Rank,
  worldSize: number,
  pool: SharedBlockPool,
): SplitCall {
  const forEachPeer = (make: (peer: Rank) => WireCall) =>
    Array.from({ length: worldSize }, (_, j) => (j === rank ? undefined : make(j)));
  if (problem !== undefined) {
    const invalid: WireCall = { kind: 'invalid', problem };
    return { own: invalid, peers: forEachPeer(() => invalid) };
  }
  switch (call.kind) {
    case 'barrier':
      return { own: call, peers: forEachPeer(() => ({ kind: 'barrier' })) };
    case 'allToAllSplits': {
      // a few numbers: the message's structured clone is the peer's copy
      const wire: WireCall = { kind: 'allToAllSplits', send: call.send.slice() };
      return { own: wire, peers: forEachPeer(() => wire) };
    }
    case 'allReduce': {
      const wire: WireCall = {
        kind: 'allReduce',
        op: call.op,
        data: pool.write(call.data, worldSize),
      };
      return { own: wire, peers: forEachPeer(() => wire) };
    }
    case 'allToAllV': {
      const offsets = [0];
      for (let j = 0; j < worldSize; j++) offsets.push(offsets[j] + call.sendCounts[j]);
      const sendCounts = call.sendCounts.slice();
      const recvCounts = call.recvCounts.slice();
      const shared = pool.write(call.data, worldSize);
      // a small payload is an on-heap copy: slice it per rank (a subarray would move it
      // off the heap); a block is cut into views
      const inBlock = shared.byteOffset === BLOCK_HEADER_BYTES;
      const part = (j: Rank): WireCall => ({
        kind: 'allToAllV',
        piece: inBlock
          ? shared.subarray(offsets[j], offsets[j + 1])
          : shared.slice(offsets[j], offsets[j + 1]),
        sendCounts,
        recvCounts,
      });
      return { own: part(rank), peers: forEachPeer(part) };
    }
  }
}

/**
 * Give back what one arrival holds of a sender's shared block (its allReduce data or
 * allToAllV piece); called once per arrival, when this rank no longer reads it.
 *
 * @example
 * for (const arrival of arrivals) releaseArrival(arrival.call);
 */
export function releaseArrival(call: WireCall): void {
  if (call.kind === 'allReduce') releaseShared(call.data);
  else if (call.kind === 'allToAllV') releaseShared(call.piece);
}

/**
 * The error every rank reports for a complete set of arrivals (rank order), or undefined.
 *
 * @example
 * judgeArrivals(0, [{ described: 'barrier', call: { kind: 'barrier' } }, { described: 'barrier', call: { kind: 'barrier' } }], 1); // undefined
 */
export function judgeArrivals(
  seq: number,
  arrivals: readonly WireArrival[],
  rank: Rank,
): Error | undefined {
  for (const [r, a] of arrivals.entries()) {
    if (a.call.kind === 'invalid')
      return new InvalidCollectiveError(seq, a.described, r, a.call.problem, rank);
  }
  const first = asCollectiveCall(arrivals[0].call);
  for (let r = 1; r < arrivals.length; r++) {
    if (!compatibleCalls(first, asCollectiveCall(arrivals[r].call))) {
      return new CollectiveMismatchError(
        seq,
        0,
        arrivals[0].described,
        r,
        arrivals[r].described,
        rank,
      );
    }
  }
  if (first.kind === 'allToAllV') {
    const vs = arrivals.map((a) => a.call as WireCall & { kind: 'allToAllV' });
    const mismatch = allToAllVCountsError(
      seq,
      vs.map((c) => c.sendCounts),
      vs.map((c) => c.recvCounts),
    );
    if (mismatch) return mismatch(rank);
  }
  return undefined;
}

/**
 * This rank's result from a complete, judged-valid set of arrivals (rank order): a new
 * array, or for an allReduce with `into` (in place), `into` overwritten.
 *
 * @example
 * assembleResult([{ kind: 'allReduce', op: 'sum', data: Float32Array.of(1) }, { kind: 'allReduce', op: 'sum', data: Float32Array.of(2) }], 0);
 * // Float32Array [3]
 */
export function assembleResult(
  calls: readonly WireCall[],
  rank: Rank,
  into?: Float32Array,
): Int32Array | Float32Array | undefined {
  const first = calls[0];
  switch (first.kind) {
    case 'barrier':
    case 'invalid':
      return undefined;
    case 'allToAllSplits':
      return exchangeSplits(calls.map((c) => (c as typeof first).send))[rank];
    case 'allReduce':
      return reduceInRankOrder(
        calls.map((c) => (c as typeof first).data),
        first.op,
        into,
      );
    case 'allToAllV': {
      const pieces = calls.map((c) => (c as typeof first).piece);
      let total = 0;
      for (const p of pieces) total += p.length;
      const out =
        first.piece instanceof Float32Array ? new Float32Array(total) : new Int32Array(total);
      let at = 0;
      for (const p of pieces) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    }
  }
}

/** The shape `compatibleCalls` compares (kind, op, length, dtype). */
function asCollectiveCall(call: WireCall): CollectiveCall {
  switch (call.kind) {
    case 'allToAllV':
      return {
        kind: 'allToAllV',
        data: call.piece,
        sendCounts: call.sendCounts,
        recvCounts: call.recvCounts,
      };
    case 'invalid':
      return { kind: 'barrier' };
    default:
      return call;
  }
}
