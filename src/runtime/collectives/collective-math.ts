/**
 * The data movement of each collective as pure functions over every rank's input, so all
 * backends compute bit-identical results: a backend gathers the inputs (or lives in one
 * process), calls these, and hands each rank its output. Inputs are never modified;
 * outputs are fresh arrays, one per rank.
 *
 * Reductions add in rank order (rank 0 + rank 1 + … in float32, then divide for `avg`),
 * so results are bitwise reproducible across backends and runs.
 *
 * @example
 * exchangeSplits([Int32Array.of(1, 2), Int32Array.of(3, 4)]); // [Int32Array [1, 3], Int32Array [2, 4]]
 * reduceInRankOrder([Float32Array.of(1), Float32Array.of(2)], 'avg'); // Float32Array [1.5]
 */
import type { Rank, ReduceOp } from '../../protocol/index.ts';
import { CollectiveMismatchError } from './collective-errors.ts';

/** A collective call as one rank made it (arguments already validated locally). */
export type CollectiveCall =
  | { readonly kind: 'allToAllSplits'; readonly send: Int32Array }
  | {
      readonly kind: 'allToAllV';
      readonly data: Int32Array | Float32Array;
      readonly sendCounts: Int32Array;
      readonly recvCounts: Int32Array;
    }
  | { readonly kind: 'allReduce'; readonly data: Float32Array; readonly op: ReduceOp }
  | { readonly kind: 'barrier' };

/**
 * Short description of a call for error messages.
 *
 * @example
 * describeCall({ kind: 'allReduce', data: new Float32Array(4), op: 'sum' }); // 'allReduce(sum, 4 floats)'
 */
export function describeCall(call: CollectiveCall): string {
  switch (call.kind) {
    case 'allToAllSplits':
      return `allToAllSplits(${call.send.length} splits)`;
    case 'allToAllV':
      return `allToAllV(${call.data instanceof Float32Array ? 'Float32Array' : 'Int32Array'}, ${call.data.length} elements)`;
    case 'allReduce':
      return `allReduce(${call.op}, ${call.data.length} floats)`;
    case 'barrier':
      return 'barrier';
  }
}

/**
 * Why `call` is invalid for a group of `worldSize`, or `undefined` when it is fine.
 *
 * @example
 * validateCall({ kind: 'allToAllSplits', send: new Int32Array(3) }, 2); // 'send has 3 splits, world size is 2'
 */
export function validateCall(call: CollectiveCall, worldSize: number): string | undefined {
  switch (call.kind) {
    case 'allToAllSplits':
      if (!(call.send instanceof Int32Array)) return 'send must be an Int32Array';
      if (call.send.length !== worldSize)
        return `send has ${call.send.length} splits, world size is ${worldSize}`;
      return firstNegative('send', call.send);
    case 'allToAllV': {
      if (!(call.data instanceof Int32Array || call.data instanceof Float32Array))
        return 'data must be an Int32Array or a Float32Array';
      const countsProblem =
        badCounts('sendCounts', call.sendCounts, worldSize) ??
        badCounts('recvCounts', call.recvCounts, worldSize);
      if (countsProblem) return countsProblem;
      const total = sum(call.sendCounts);
      if (total !== call.data.length)
        return `sendCounts sum to ${total} but data has ${call.data.length} elements`;
      return undefined;
    }
    case 'allReduce':
      if (!(call.data instanceof Float32Array)) return 'data must be a Float32Array';
      if (call.op !== 'sum' && call.op !== 'avg')
        return `unknown reduce op "${String(call.op)}" (sum or avg)`;
      return undefined;
    case 'barrier':
      return undefined;
  }
}

/**
 * Whether two ranks' calls can be the same collective (same kind, op, length, dtype).
 *
 * @example
 * compatibleCalls({ kind: 'barrier' }, { kind: 'barrier' }); // true
 */
export function compatibleCalls(a: CollectiveCall, b: CollectiveCall): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'allReduce' && b.kind === 'allReduce')
    return a.op === b.op && a.data.length === b.data.length;
  if (a.kind === 'allToAllV' && b.kind === 'allToAllV')
    return a.data instanceof Float32Array === b.data instanceof Float32Array;
  return true;
}

/**
 * Cross-rank consistency of a complete allToAllV: rank i expects `recvCounts_i[j]` from j,
 * which must equal `sendCounts_j[i]`. Returns the first inconsistency found, or undefined.
 *
 * @example
 * checkAllToAllVCounts([Int32Array.of(0, 2), Int32Array.of(1, 0)], [Int32Array.of(0, 1), Int32Array.of(2, 0)]); // undefined: consistent
 */
export function checkAllToAllVCounts(
  sendCounts: readonly Int32Array[],
  recvCounts: readonly Int32Array[],
): { receiver: number; sender: number; expected: number; sent: number } | undefined {
  const n = sendCounts.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (recvCounts[i][j] !== sendCounts[j][i]) {
        return { receiver: i, sender: j, expected: recvCounts[i][j], sent: sendCounts[j][i] };
      }
    }
  }
  return undefined;
}

/**
 * The error every backend raises for inconsistent allToAllV counts (naming the sending and
 * the receiving rank), built for the rank that throws it; undefined when the counts agree.
 *
 * @example
 * const mismatch = allToAllVCountsError(7, sendCounts, recvCounts);
 * if (mismatch) throw mismatch(myRank);
 */
export function allToAllVCountsError(
  seq: number,
  sendCounts: readonly Int32Array[],
  recvCounts: readonly Int32Array[],
): ((rank: Rank) => CollectiveMismatchError) | undefined {
  const bad = checkAllToAllVCounts(sendCounts, recvCounts);
  if (!bad) return undefined;
  const sender = `allToAllV sending ${bad.sent} elements to rank ${bad.receiver}`;
  const receiver = `allToAllV expecting ${bad.expected} elements from rank ${bad.sender}`;
  return (rank) =>
    new CollectiveMismatchError(seq, bad.sender, sender, bad.receiver, receiver, rank);
}

/**
 * Splits exchange: rank i receives `send_j[i]` from every rank j.
 *
 * @example
 * exchangeSplits([Int32Array.of(1, 2), Int32Array.of(3, 4)])[1]; // Int32Array [2, 4]
 */
export function exchangeSplits(sends: readonly Int32Array[]): Int32Array[] {
  const n = sends.length;
  return sends.map((_, i) => {
    const out = new Int32Array(n);
    for (let j = 0; j < n; j++) out[j] = sends[j][i];
    return out;
  });
}

/**
 * Variable all-to-all: rank i receives, in rank order, the `sendCounts_j[i]` elements rank j
 * placed at offset `sendCounts_j[0] + … + sendCounts_j[i-1]` of its data. Counts must be
 * consistent ({@link checkAllToAllVCounts}).
 *
 * @example
 * exchangeV([Int32Array.of(1, 2), Int32Array.of(3)], [Int32Array.of(1, 1), Int32Array.of(0, 1)]);
 * // rank 0: [1], rank 1: [2, 3]
 */
export function exchangeV<T extends Int32Array | Float32Array>(
  datas: readonly T[],
  sendCounts: readonly Int32Array[],
): T[] {
  const n = datas.length;
  // starts[j]: where, in rank j's data, the block for the current receiver begins.
  const starts = new Array<number>(n).fill(0);
  const outs = new Array<T>(n);
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let j = 0; j < n; j++) total += sendCounts[j][i];
    const out = new (datas[i].constructor as new (length: number) => T)(total);
    let at = 0;
    for (let j = 0; j < n; j++) {
      const start = starts[j];
      const count = sendCounts[j][i];
      if (count > 0) out.set(datas[j].subarray(start, start + count), at);
      starts[j] = start + count;
      at += count;
    }
    outs[i] = out;
  }
  return outs;
}

/**
 * Elementwise reduction in rank order, in float32: `((d0 + d1) + d2) + …` rounded after every
 * add, then `/ n` for `avg` — the one order every backend (sim, threads, mpi) uses, so they
 * agree bitwise. One pass over the inputs (each element read once, no copy of the first).
 * The result goes to a new array, or into `out` (same length) when given; `out` may be one
 * of the inputs (element k of every input is read before element k of `out` is written).
 *
 * @example
 * reduceInRankOrder([Float32Array.of(0.1), Float32Array.of(0.2)], 'sum'); // Float32Array [0.30000001192092896]
 */
export function reduceInRankOrder(
  datas: readonly Float32Array[],
  op: ReduceOp,
  into?: Float32Array,
): Float32Array {
  const n = datas.length;
  const first = datas[0];
  const length = first.length;
  if (into && into.length !== length)
    throw new RangeError(
      `reduceInRankOrder: output has ${into.length} elements, the inputs ${length}`,
    );
  const out = into ?? new Float32Array(length);
  const avg = op === 'avg';
  if (n === 2) {
    const second = datas[1];
    if (avg) for (let k = 0; k < length; k++) out[k] = Math.fround(first[k] + second[k]) / 2;
    else for (let k = 0; k < length; k++) out[k] = first[k] + second[k];
    return out;
  }
  for (let k = 0; k < length; k++) {
    let s = first[k];
    for (let r = 1; r < n; r++) s = Math.fround(s + datas[r][k]);
    out[k] = avg ? s / n : s;
  }
  return out;
}

/**
 * Bytes a collective moves, as the cost model sees it: for all-to-alls, the most any rank
 * sends to or receives from *other* ranks; for allReduce, the ring volume `2(n−1)/n × bytes`;
 * 0 for a barrier.
 *
 * @example
 * collectiveBytes([{ kind: 'barrier' }, { kind: 'barrier' }]); // 0
 */
export function collectiveBytes(calls: readonly CollectiveCall[]): number {
  const n = calls.length;
  const first = calls[0];
  switch (first.kind) {
    case 'barrier':
      return 0;
    case 'allReduce':
      return (2 * (n - 1) * first.data.byteLength) / n;
    case 'allToAllSplits':
      return 4 * (n - 1);
    case 'allToAllV': {
      let most = 0;
      for (let i = 0; i < n; i++) {
        const c = calls[i] as Extract<CollectiveCall, { kind: 'allToAllV' }>;
        const bytesPer = c.data.BYTES_PER_ELEMENT;
        let sent = 0;
        let received = 0;
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          sent += c.sendCounts[j];
          received += c.recvCounts[j];
        }
        most = Math.max(most, sent * bytesPer, received * bytesPer);
      }
      return most;
    }
  }
}

function sum(a: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function badCounts(name: string, counts: Int32Array, worldSize: number): string | undefined {
  if (!(counts instanceof Int32Array)) return `${name} must be an Int32Array`;
  if (counts.length !== worldSize)
    return `${name} has ${counts.length} entries, world size is ${worldSize}`;
  return firstNegative(name, counts);
}

function firstNegative(name: string, a: Int32Array): string | undefined {
  for (let i = 0; i < a.length; i++) if (a[i] < 0) return `${name}[${i}] is negative (${a[i]})`;
  return undefined;
}

/**
 * A copy of a call's input arrays: the caller may reuse its arrays while the call waits for
 * its peers. `copy` makes each array's copy (default `slice()`; a backend may pass a pooled
 * copier, see `ScratchPool`).
 *
 * @example
 * const kept = copyCallInputs({ kind: 'allReduce', data, op: 'sum' });
 */
export function copyCallInputs(
  call: CollectiveCall,
  copy: ArrayCopier = sliceCopy,
): CollectiveCall {
  switch (call.kind) {
    case 'allToAllSplits':
      return { kind: call.kind, send: copy(call.send) };
    case 'allToAllV':
      return {
        kind: call.kind,
        data: copy(call.data),
        sendCounts: copy(call.sendCounts),
        recvCounts: copy(call.recvCounts),
      };
    case 'allReduce':
      return { kind: call.kind, data: copy(call.data), op: call.op };
    case 'barrier':
      return call;
  }
}

/**
 * Makes an independent copy of a typed array (same type, same contents).
 *
 * @example
 * const copier: ArrayCopier = (a) => a.slice();
 */
export type ArrayCopier = <T extends Int32Array | Float32Array>(array: T) => T;

function sliceCopy<T extends Int32Array | Float32Array>(array: T): T {
  return array.slice() as T;
}
