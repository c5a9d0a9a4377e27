import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_HEADER_BYTES,
  releaseShared,
  SharedBlockPool,
  SMALL_PAYLOAD_BYTES,
} from '../../../src/runtime/collectives/threads/shared-blocks.ts';

describe('SharedBlockPool', () => {
  it('a write is an equal array of the same type in shared memory, independent of the source', () => {
    const pool = new SharedBlockPool();
    const src = Float32Array.from({ length: 1000 }, (_, i) => i / 3);
    const shared = pool.write(src, 2);
    expect(shared).toBeInstanceOf(Float32Array);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.byteOffset).toBe(BLOCK_HEADER_BYTES);
    expect(shared).toEqual(src);
    src[0] = 99;
    expect(shared[0]).toBe(0);
    const ints = pool.write(
      Int32Array.from({ length: 100 }, (_, i) => -i),
      1,
    );
    expect(ints).toBeInstanceOf(Int32Array);
    expect(ints[99]).toBe(-99);
  });

  it('a block is reused only after every reader released it', () => {
    const pool = new SharedBlockPool();
    const a = pool.write(new Float32Array(5000).fill(1), 2);
    releaseShared(a);
    const b = pool.write(new Float32Array(5000).fill(2), 1); // one reader of `a` left
    expect(b.buffer).not.toBe(a.buffer);
    expect(a[0]).toBe(1);
    releaseShared(a.subarray(10, 20)); // a piece counts for its whole block
    const c = pool.write(new Int32Array(300).fill(3), 3);
    expect(c.buffer).toBe(a.buffer);
    expect(pool.blockCount).toBe(2);
  });

  it('small payloads are plain copies; releasing them or foreign arrays changes nothing', () => {
    const pool = new SharedBlockPool();
    const small = pool.write(new Float32Array(SMALL_PAYLOAD_BYTES / 4).fill(7), 2);
    expect(small.buffer).toBeInstanceOf(ArrayBuffer);
    releaseShared(small);
    releaseShared(new Float32Array(new ArrayBuffer(BLOCK_HEADER_BYTES + 400), BLOCK_HEADER_BYTES));
    expect(pool.blockCount).toBe(0);
    expect(() => pool.write(new Float32Array(1000), 0)).toThrow(/readers must be an integer ≥ 1/);
  });

  it('any interleaving of writes and releases: no live payload is overwritten; free blocks are reused', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 65, max: 16_384 }), fc.integer({ min: 1, max: 3 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(fc.nat(), { maxLength: 80 }),
        (writes, releaseOrder) => {
          const pool = new SharedBlockPool();
          const live: { view: Float32Array; value: number; left: number }[] = [];
          let maxLive = 0;
          writes.forEach(([length, readers], i) => {
            const view = pool.write(new Float32Array(length).fill(i + 1), readers);
            live.push({ view, value: i + 1, left: readers });
            maxLive = Math.max(maxLive, live.length);
            for (const entry of live) expect(entry.view[entry.view.length - 1]).toBe(entry.value);
            const pick = releaseOrder[i];
            if (pick !== undefined && live.length > 0) {
              const entry = live[pick % live.length];
              releaseShared(entry.view);
              if (--entry.left === 0) live.splice(live.indexOf(entry), 1);
            }
          });
          // one size class (≤ 64 KiB): a new block only when every block is in use
          expect(pool.blockCount).toBeLessThanOrEqual(maxLive);
        },
      ),
    );
  });
});
