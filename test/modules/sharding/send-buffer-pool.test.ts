/**
 * The send-buffer pool's ownership rule: lent arrays are zero-filled; an array given back
 * is reused as it is; a reclaimed one is detached for its old holder (length 0, so a stale
 * read finds nothing) while its memory serves the next take; arrays the pool did not lend,
 * or already got back, are refused; switched off, every take is fresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SendBufferPool, sendBufferPool } from '../../../src/modules/sharding/send-buffer-pool.ts';

afterEach(() => {
  sendBufferPool.enabled = true;
});

describe('SendBufferPool', () => {
  it('reclaim detaches the holder and the next take of that length reuses the memory, zeroed', () => {
    const pool = new SendBufferPool();
    const a = pool.take(8);
    expect([...a]).toEqual(new Array(8).fill(0));
    a.fill(3);
    const before = { ...sendBufferPool };
    expect(pool.reclaim(a)).toBe(true);
    expect(a.length).toBe(0); // the old view reads nothing
    expect(a[0]).toBeUndefined();
    const b = pool.take(8);
    expect(sendBufferPool.reclaimed).toBe(before.reclaimed + 1);
    expect(sendBufferPool.reused).toBe(before.reused + 1);
    expect([...b]).toEqual(new Array(8).fill(0));
    expect(pool.take(8)).not.toBe(b); // none free: fresh
  });

  it('giveBack reuses the same array; other lengths get fresh ones', () => {
    const pool = new SendBufferPool();
    const a = pool.take(4);
    a.fill(1);
    expect(pool.giveBack(a)).toBe(true);
    expect(a.length).toBe(4);
    expect(pool.take(5).length).toBe(5);
    const b = pool.take(4);
    expect(b).toBe(a);
    expect([...b]).toEqual([0, 0, 0, 0]);
  });

  it('refuses arrays it did not lend, or already got back', () => {
    const pool = new SendBufferPool();
    const foreign = new Float32Array(4);
    expect(pool.reclaim(foreign)).toBe(false);
    expect(pool.giveBack(foreign)).toBe(false);
    expect(foreign.length).toBe(4); // untouched
    const a = pool.take(4);
    expect(pool.giveBack(a)).toBe(true);
    expect(pool.giveBack(a)).toBe(false);
    expect(pool.reclaim(a)).toBe(false);
    expect(a.length).toBe(4);
    // taken once more: only then may it come back again
    const b = pool.take(4);
    expect(b).toBe(a);
    expect(pool.reclaim(b)).toBe(true);
  });

  it('switched off: every take is fresh', () => {
    sendBufferPool.enabled = false;
    const pool = new SendBufferPool();
    const a = pool.take(4);
    pool.giveBack(a);
    expect(pool.take(4)).not.toBe(a);
  });
});
