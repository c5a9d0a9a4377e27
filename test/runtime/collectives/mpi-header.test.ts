import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  validateCall,
  type CollectiveCall,
} from '../../../src/runtime/collectives/collective-math.ts';
import {
  decodeHeader,
  describeHeader,
  encodeHeader,
  headerLength,
  judgeHeaders,
} from '../../../src/runtime/collectives/mpi/call-header.ts';
import { describeCall } from '../../../src/runtime/collectives/collective-math.ts';

/** Allgather in one process: concatenate every rank's header. */
function gather(calls: CollectiveCall[], seq = 0, channelId = 0) {
  const n = calls.length;
  const all = new Int32Array(n * headerLength(n));
  calls.forEach((c, r) =>
    all.set(encodeHeader(channelId, seq, c, validateCall(c, n), n), r * headerLength(n)),
  );
  return Array.from({ length: n }, (_, r) => decodeHeader(all, r, n));
}

describe('mpi call header', () => {
  it('round-trips kind, variant, length, vectors and describes like describeCall', () => {
    const calls: CollectiveCall[] = [
      {
        kind: 'allToAllV',
        data: new Float32Array(3),
        sendCounts: Int32Array.of(1, 2),
        recvCounts: Int32Array.of(1, 0),
      },
      {
        kind: 'allToAllV',
        data: new Float32Array(0),
        sendCounts: Int32Array.of(0, 0),
        recvCounts: Int32Array.of(2, 0),
      },
    ];
    const [h0, h1] = gather(calls, 5, 2);
    expect([h0.seq, h0.channelId, h0.kind, h0.variant, h0.length, h0.problem]).toEqual([
      5,
      2,
      'allToAllV',
      1,
      3,
      undefined,
    ]);
    expect(Array.from(h0.vecA)).toEqual([1, 2]);
    expect(Array.from(h1.vecB)).toEqual([2, 0]);
    expect(describeHeader(h0)).toBe(describeCall(calls[0]));
    expect(judgeHeaders(5, [h0, h1], 0)).toBeUndefined();
  });

  it('describes every kind exactly as describeCall', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.constantFrom('sum', 'avg'),
        fc.boolean(),
        (len, op, float) => {
          const calls: CollectiveCall[] = [
            { kind: 'allReduce', data: new Float32Array(len), op: op as 'sum' | 'avg' },
            { kind: 'allToAllSplits', send: new Int32Array(len) },
            {
              kind: 'allToAllV',
              data: float ? new Float32Array(len) : new Int32Array(len),
              sendCounts: new Int32Array(1),
              recvCounts: new Int32Array(1),
            },
            { kind: 'barrier' },
          ];
          for (const c of calls)
            expect(describeHeader(decodeHeader(encodeHeader(0, 0, c, undefined, 1), 0, 1))).toBe(
              describeCall(c),
            );
        },
      ),
    );
  });

  it('the lowest invalid rank is named, with its own complaint', () => {
    const headers = gather([
      { kind: 'allToAllSplits', send: Int32Array.of(1, 2, 3) },
      { kind: 'allToAllSplits', send: Int32Array.of(1, -2, 0) },
      { kind: 'allToAllSplits', send: Int32Array.of(1, 2) },
    ]);
    expect(judgeHeaders(0, headers, 2)?.message).toBe(
      'collective #0 allToAllSplits(3 splits) on rank 1: send[1] is negative (-2) (seen by rank 2)',
    );
  });

  it('mismatches name rank 0 and the first incompatible rank', () => {
    const headers = gather([
      { kind: 'allReduce', data: new Float32Array(2), op: 'sum' },
      { kind: 'allReduce', data: new Float32Array(2), op: 'sum' },
      { kind: 'allReduce', data: new Float32Array(3), op: 'sum' },
    ]);
    expect(judgeHeaders(4, headers, 1)?.message).toBe(
      'collective #4 mismatch: rank 0 called allReduce(sum, 2 floats) but rank 2 called allReduce(sum, 3 floats) (seen by rank 1)',
    );
  });

  it('inconsistent allToAllV counts name sender and receiver like the sim', () => {
    const headers = gather([
      {
        kind: 'allToAllV',
        data: Int32Array.of(1, 2),
        sendCounts: Int32Array.of(0, 2),
        recvCounts: Int32Array.of(0, 0),
      },
      {
        kind: 'allToAllV',
        data: new Int32Array(0),
        sendCounts: Int32Array.of(0, 0),
        recvCounts: Int32Array.of(1, 0),
      },
    ]);
    expect(judgeHeaders(0, headers, 0)?.message).toMatch(
      /rank 0 called allToAllV sending 2 elements to rank 1 but rank 1 called allToAllV expecting 1 elements from rank 0/,
    );
  });

  it('a long complaint is cut at a character boundary', () => {
    const [h] = gather([
      { kind: 'allReduce', data: new Float32Array(1), op: 'bogus-é'.repeat(30) as 'sum' },
    ]);
    expect(h.problem).toMatch(/^unknown reduce op "bogus-é/);
    expect(new TextEncoder().encode(h.problem).length).toBeLessThanOrEqual(128);
    expect(h.problem).not.toContain('\uFFFD');
  });
});
