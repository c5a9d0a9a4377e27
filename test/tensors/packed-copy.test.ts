import { describe, expect, it } from 'vitest';
import { packedCopies } from '../../src/tensors/packed-copy.ts';

describe('packedCopies', () => {
  it('copies every array into one new buffer, keeping types, contents and undefined entries', () => {
    const ints = Int32Array.of(1, -2, 3);
    const floats = Float32Array.of(0.5, NaN);
    const [a, none, b] = packedCopies([ints, undefined, floats]);
    expect(a).toBeInstanceOf(Int32Array);
    expect(b).toBeInstanceOf(Float32Array);
    expect(none).toBeUndefined();
    expect([...a]).toEqual([1, -2, 3]);
    expect(new Uint32Array(b.buffer, b.byteOffset, 2)).toEqual(new Uint32Array(floats.buffer));
    expect(a.buffer).toBe(b.buffer);
    expect(a.buffer).not.toBe(ints.buffer);
    ints[0] = 9;
    floats[0] = 9;
    expect(a[0]).toBe(1);
    expect(b[0]).toBe(0.5);
  });

  it('copies views from their own offset and handles empty arrays', () => {
    const big = Int32Array.of(0, 1, 2, 3, 4);
    const [mid, empty] = packedCopies([big.subarray(2, 4), new Float32Array(0)]);
    expect([...mid]).toEqual([2, 3]);
    expect(empty.length).toBe(0);
  });
});
