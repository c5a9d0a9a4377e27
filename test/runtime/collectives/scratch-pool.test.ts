import { describe, expect, it } from 'vitest';
import { ScratchPool, SMALL_BYTES } from '../../../src/runtime/collectives/scratch-pool.ts';

describe('ScratchPool', () => {
  it('copies are equal, of the same type, and independent of the source', () => {
    const pool = new ScratchPool();
    const src = Float32Array.from({ length: 1000 }, (_, i) => i / 3);
    const copy = pool.copy(src);
    expect(copy).toBeInstanceOf(Float32Array);
    expect(copy).toEqual(src);
    src[0] = 99;
    expect(copy[0]).toBe(0);
    const ints = pool.copy(Int32Array.of(...Array.from({ length: 40 }, (_, i) => -i)));
    expect(ints).toBeInstanceOf(Int32Array);
    expect(ints[39]).toBe(-39);
  });

  it('a released buffer serves the next copy of its size class', () => {
    const pool = new ScratchPool();
    const a = pool.copy(new Float32Array(300).fill(1));
    pool.release(a);
    const b = pool.copy(new Int32Array(290).fill(2));
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(290);
    expect([...b.slice(0, 3)]).toEqual([2, 2, 2]);
  });

  it("ignores releases of arrays it did not lend (small copies, callers' arrays, double releases)", () => {
    const pool = new ScratchPool();
    const small = pool.copy(new Int32Array(SMALL_BYTES / 4));
    pool.release(small);
    const foreign = new Float32Array(500);
    pool.release(foreign);
    const lent = pool.copy(new Float32Array(500));
    pool.release(lent);
    pool.release(lent);
    const x = pool.copy(new Float32Array(500));
    const y = pool.copy(new Float32Array(500));
    expect(x.buffer).not.toBe(y.buffer);
    expect(x.buffer).not.toBe(foreign.buffer);
  });
});
