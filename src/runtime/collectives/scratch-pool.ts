/**
 * Reusable buffers for a backend's private snapshots of collective inputs. The sim backend
 * copies every early arrival's arrays (the caller may reuse them while it waits for its
 * peers) and drops the copies as soon as the results are computed: taking those copies
 * from a pool instead of fresh `ArrayBuffer`s spares the allocator and the garbage
 * collector the bulk of the simulator's memory traffic.
 *
 * Buffers are kept by power-of-two capacity; a copy is a view of `length` elements of one
 * (at a fixed skew, see `SKEW_BYTES`). Small arrays (≤ {@link SMALL_BYTES}) are plain
 * `slice()`s: they live on the JS heap and are cheaper than a pooled view. Only views this
 * pool made may be released, each once (a second release is ignored only until the buffer
 * is lent again), and none may be read after its release. A copy never released stays held
 * by the pool (release on every path, failures included).
 *
 * @example
 * const pool = new ScratchPool();
 * const kept = pool.copy(data);   // same contents, independent of `data`
 * // … compute from `kept` …
 * pool.release(kept);             // its buffer serves the next copy
 */

/** Arrays up to this many bytes are copied with `slice()` and never pooled. */
export const SMALL_BYTES = 64;

/**
 * Pooled views start this far into their buffer. Copies between two malloc'd blocks of the
 * same size often have source and destination at the same offset modulo 4 KiB, where the
 * CPU's memcpy is ~15× slower (4K aliasing); starting half a page (plus a cache line) in
 * avoids that for the common case.
 */
const SKEW_BYTES = 2048 + 64;

type PooledArray = Int32Array | Float32Array;

export class ScratchPool {
  /** Free buffers by log2 of their byte capacity. */
  private readonly free: ArrayBuffer[][] = [];
  /** Buffers behind the views handed out by {@link ScratchPool.copy}, not yet released. */
  private readonly lent = new Set<ArrayBuffer>();

  /**
   * A copy of `src` that does not share memory with it (pooled when large).
   *
   * @example
   * const kept = pool.copy(Float32Array.of(1, 2)); // Float32Array [1, 2]
   */
  copy<T extends PooledArray>(src: T): T {
    if (src.byteLength <= SMALL_BYTES) return src.slice() as T;
    const cls = sizeClass(src.byteLength);
    const buffer = this.free[cls]?.pop() ?? new ArrayBuffer(2 ** cls + SKEW_BYTES);
    const view = new (src.constructor as new (b: ArrayBuffer, offset: number, length: number) => T)(
      buffer,
      SKEW_BYTES,
      src.length,
    );
    view.set(src);
    this.lent.add(buffer);
    return view;
  }

  /**
   * Give back a view made by {@link ScratchPool.copy}; anything else (a small copy, a
   * caller's array, a view already released) is ignored.
   *
   * @example
   * pool.release(kept);
   */
  release(view: PooledArray): void {
    // Never pooled; and `.buffer` of a small (on-heap) array would move it off the heap.
    if (view.byteLength <= SMALL_BYTES || view.byteOffset !== SKEW_BYTES) return;
    const buffer = view.buffer as ArrayBuffer;
    if (!this.lent.delete(buffer)) return;
    const sizeClassOf = sizeClass(buffer.byteLength - SKEW_BYTES);
    const free = this.free[sizeClassOf] ?? [];
    this.free[sizeClassOf] = free;
    free.push(buffer);
  }
}

/** log2 of the smallest power of two ≥ `bytes`. */
function sizeClass(bytes: number): number {
  return 32 - Math.clz32(bytes - 1);
}
