/**
 * The fixed-size header every rank contributes (by `MPI_Allgather`) before an MPI
 * collective moves data, so that every rank can check — identically — that all made the
 * same call with consistent arguments, as the sim and threads backends do. Raw MPI would
 * hang or corrupt memory on mismatched calls; here they reject with
 * `CollectiveMismatchError` / `InvalidCollectiveError` on every rank.
 *
 * Layout (Int32 words, n = world size): `[channelId, seq, kind, variant, length,
 * problemBytes, vecA × n, vecB × n, problem text × 32]` where `variant` is the allReduce op
 * or the allToAllV dtype, `vecA` is the splits (allToAllSplits) or sendCounts (allToAllV),
 * `vecB` the recvCounts, and the problem text (≤ 128 UTF-8 bytes) is `validateCall`'s
 * complaint. The splits ride in the header, so allToAllSplits (and barrier) need no second
 * collective.
 *
 * @example
 * const h = encodeHeader(0, 7, { kind: 'barrier' }, undefined, 2);
 * decodeHeader(h, 0, 2).seq; // 7
 */
import type { Rank } from '../../../protocol/index.ts';
import { CollectiveMismatchError, InvalidCollectiveError } from '../collective-errors.ts';
import { allToAllVCountsError, type CollectiveCall } from '../collective-math.ts';

const KINDS = ['barrier', 'allToAllSplits', 'allToAllV', 'allReduce'] as const;
type Kind = (typeof KINDS)[number];
const PROBLEM_WORDS = 32;
const FIXED = 6;

/** Int32 words of one header in a world of `worldSize`. */
export function headerLength(worldSize: number): number {
  return FIXED + 2 * worldSize + PROBLEM_WORDS;
}

/** A decoded header. */
export interface CallHeader {
  readonly channelId: number;
  readonly seq: number;
  readonly kind: Kind;
  /** allReduce: 0 sum, 1 avg. allToAllV: 0 Int32Array, 1 Float32Array. */
  readonly variant: number;
  readonly length: number;
  /** `validateCall`'s complaint, when the call was invalid. */
  readonly problem: string | undefined;
  readonly vecA: Int32Array;
  readonly vecB: Int32Array;
}

/**
 * This rank's header for `call` (`problem` from `validateCall`).
 *
 * @example
 * encodeHeader(1, 0, { kind: 'allToAllSplits', send: Int32Array.of(3, 4) }, undefined, 2); // vecA = [3, 4]
 */
export function encodeHeader(
  channelId: number,
  seq: number,
  call: CollectiveCall,
  problem: string | undefined,
  worldSize: number,
): Int32Array {
  const h = new Int32Array(headerLength(worldSize));
  h[0] = channelId;
  h[1] = seq;
  h[2] = KINDS.indexOf(call.kind);
  switch (call.kind) {
    case 'allToAllSplits':
      h[4] = lengthOf(call.send);
      if (!problem && call.send.length === worldSize) h.set(call.send, FIXED);
      break;
    case 'allToAllV':
      h[3] = call.data instanceof Float32Array ? 1 : 0;
      h[4] = lengthOf(call.data);
      if (
        !problem &&
        call.sendCounts.length === worldSize &&
        call.recvCounts.length === worldSize
      ) {
        h.set(call.sendCounts, FIXED);
        h.set(call.recvCounts, FIXED + worldSize);
      }
      break;
    case 'allReduce':
      h[3] = call.op === 'avg' ? 1 : 0;
      h[4] = lengthOf(call.data);
      break;
    case 'barrier':
      break;
  }
  if (problem) {
    const bytes = truncatedUtf8(problem, PROBLEM_WORDS * 4);
    h[5] = bytes.length;
    new Uint8Array(h.buffer, h.byteOffset + (FIXED + 2 * worldSize) * 4, PROBLEM_WORDS * 4).set(
      bytes,
    );
  }
  return h;
}

/**
 * Header of rank `rank` out of the allgathered headers `all`.
 *
 * @example
 * const headers = Array.from({ length: n }, (_, r) => decodeHeader(all, r, n));
 */
export function decodeHeader(all: Int32Array, rank: Rank, worldSize: number): CallHeader {
  const size = headerLength(worldSize);
  const h = all.subarray(rank * size, (rank + 1) * size);
  const kind = KINDS[h[2]];
  if (kind === undefined)
    throw new Error(`MPI call header of rank ${rank} is corrupt (kind code ${h[2]})`);
  const problemBytes = h[5];
  const problem = problemBytes
    ? new TextDecoder().decode(
        new Uint8Array(h.buffer, h.byteOffset + (FIXED + 2 * worldSize) * 4, problemBytes),
      )
    : undefined;
  return {
    channelId: h[0],
    seq: h[1],
    kind,
    variant: h[3],
    length: h[4],
    problem,
    vecA: h.slice(FIXED, FIXED + worldSize),
    vecB: h.slice(FIXED + worldSize, FIXED + 2 * worldSize),
  };
}

/**
 * The header's call described as `describeCall` would.
 *
 * @example
 * describeHeader({ kind: 'allReduce', variant: 0, length: 4, … }); // 'allReduce(sum, 4 floats)'
 */
export function describeHeader(h: CallHeader): string {
  switch (h.kind) {
    case 'allToAllSplits':
      return `allToAllSplits(${h.length} splits)`;
    case 'allToAllV':
      return `allToAllV(${h.variant === 1 ? 'Float32Array' : 'Int32Array'}, ${h.length} elements)`;
    case 'allReduce':
      return `allReduce(${h.variant === 1 ? 'avg' : 'sum'}, ${h.length} floats)`;
    case 'barrier':
      return 'barrier';
  }
}

/**
 * The error every rank reports for these headers (rank order), or undefined when the call
 * may proceed: lowest invalid rank, else lowest rank incompatible with rank 0 (the rules of
 * `compatibleCalls`), else inconsistent allToAllV counts.
 *
 * @example
 * judgeHeaders(0, headers, myRank); // undefined: go ahead
 */
export function judgeHeaders(
  seq: number,
  headers: readonly CallHeader[],
  rank: Rank,
): Error | undefined {
  const first = headers[0];
  for (const [r, h] of headers.entries()) {
    if (h.channelId !== first.channelId || h.seq !== first.seq) {
      return new Error(
        `MPI collective #${seq} on rank ${rank}: rank ${r} is at channel ${h.channelId} call #${h.seq} but rank 0 at channel ${first.channelId} call #${first.seq} (internal sequencing error)`,
      );
    }
  }
  for (const [r, h] of headers.entries()) {
    if (h.problem !== undefined)
      return new InvalidCollectiveError(seq, describeHeader(h), r, h.problem, rank);
  }
  for (let r = 1; r < headers.length; r++) {
    if (!compatible(first, headers[r]))
      return new CollectiveMismatchError(
        seq,
        0,
        describeHeader(first),
        r,
        describeHeader(headers[r]),
        rank,
      );
  }
  if (first.kind === 'allToAllV') {
    const mismatch = allToAllVCountsError(
      seq,
      headers.map((h) => h.vecA),
      headers.map((h) => h.vecB),
    );
    if (mismatch) return mismatch(rank);
  }
  return undefined;
}

function compatible(a: CallHeader, b: CallHeader): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'allReduce') return a.variant === b.variant && a.length === b.length;
  if (a.kind === 'allToAllV') return a.variant === b.variant;
  return true;
}

function lengthOf(a: unknown): number {
  const n = (a as { length?: unknown } | undefined)?.length;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 2 ** 31 ? n : 0;
}

function truncatedUtf8(text: string, maxBytes: number): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // do not cut a character in half
  return bytes.subarray(0, end);
}
