/**
 * What ranks of the `threads` backend say to each other over their mesh `MessagePort`s, and
 * the pure functions that cut a collective call into per-peer messages and, once every
 * rank's message is in, judge the call and assemble this rank's result.
 *
 * Every message names its `channel` and the call's `seq` (position in that channel's
 * collective sequence), so independent channels share one mesh and calls pair up by order.
 * Each rank sends every peer only what that peer needs (its allToAllV piece, one split
 * array, the full allReduce input), copied out of the caller's views so transfers never
 * detach caller memory.
 *
 * The verdict is computed identically on every rank from the same n messages: the lowest
 * rank with invalid arguments, else the lowest rank whose call is incompatible with rank 0's,
 * else inconsistent allToAllV counts; otherwise the result comes from the same pure
 * functions as the sim backend (`exchangeSplits`, `reduceInRankOrder`), so it is bitwise
 * equal to sim.
 *
 * @example
 * const { own, peers } = splitForPeers({ kind: 'barrier' }, undefined, 0, 2);
 * // own: { kind: 'barrier' }, peers[1]: { call: { kind: 'barrier' }, transfer: [] }
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

/** Per-peer messages of one call (undefined at our own rank) and our own part. */
export interface SplitCall {
  readonly own: WireCall;
  readonly peers: ReadonlyArray<
    { readonly call: WireCall; readonly transfer: ArrayBuffer[] } | undefined
  >;
}

/**
 * Cut `call` (made by `rank`; `problem` from `validateCall`) into what each rank receives.
 * Everything is copied, so the caller's arrays are never detached or aliased.
 *
 * @example
 * splitForPeers({ kind: 'allToAllSplits', send: Int32Array.of(1, 2) }, undefined, 0, 2).peers[1]!.call;
 * // { kind: 'allToAllSplits', send: Int32Array [1, 2] }
 */
export function splitForPeers(
  call: CollectiveCall,
  problem: string | undefined,
  rank: Rank,
  worldSize: number,
): SplitCall {
  const forEachPeer = (make: (peer: Rank) => { call: WireCall; transfer: ArrayBuffer[] }) =>
    Array.from({ length: worldSize }, (_, j) => (j === rank ? undefined : make(j)));
  if (problem !== undefined) {
    const invalid: WireCall = { kind: 'invalid', problem };
    return { own: invalid, peers: forEachPeer(() => ({ call: invalid, transfer: [] })) };
  }
  switch (call.kind) {
    case 'barrier':
      return { own: call, peers: forEachPeer(() => ({ call: { kind: 'barrier' }, transfer: [] })) };
    case 'allToAllSplits':
      return {
        own: { kind: 'allToAllSplits', send: call.send.slice() },
        peers: forEachPeer(() => ({
          call: { kind: 'allToAllSplits', send: call.send.slice() },
          transfer: [],
        })),
      };
    case 'allReduce':
      return {
        own: { kind: 'allReduce', op: call.op, data: call.data.slice() },
        peers: forEachPeer(() => {
          const data = call.data.slice();
          return {
            call: { kind: 'allReduce', op: call.op, data },
            transfer: [data.buffer as ArrayBuffer],
          };
        }),
      };
    case 'allToAllV': {
      const offsets = [0];
      for (let j = 0; j < worldSize; j++) offsets.push(offsets[j] + call.sendCounts[j]);
      const part = (j: Rank): WireCall & { kind: 'allToAllV' } => ({
        kind: 'allToAllV',
        piece: call.data.slice(offsets[j], offsets[j + 1]),
        sendCounts: call.sendCounts.slice(),
        recvCounts: call.recvCounts.slice(),
      });
      return {
        own: part(rank),
        peers: forEachPeer((j) => {
          const wire = part(j);
          return { call: wire, transfer: [wire.piece.buffer as ArrayBuffer] };
        }),
      };
    }
  }
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
 * This rank's result from a complete, judged-valid set of arrivals (rank order).
 *
 * @example
 * assembleResult([{ kind: 'allReduce', op: 'sum', data: Float32Array.of(1) }, { kind: 'allReduce', op: 'sum', data: Float32Array.of(2) }], 0);
 * // Float32Array [3]
 */
export function assembleResult(
  calls: readonly WireCall[],
  rank: Rank,
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
