/**
 * Reusable `Float32Array`s for a module's per-batch all-to-all sends (the pooled rows of a
 * lookup, the gradients of a backward). A fresh 256 KB array per batch is cheap to make but
 * V8 counts its bytes toward the next full garbage collection; reusing a few keeps the
 * reference DLRM's iteration free of them.
 *
 * Ownership, so that no batch can ever read another's rows:
 * - {@link SendBufferPool.take} lends a zero-filled array of exactly `length` floats;
 * - the module gives it back with {@link SendBufferPool.giveBack} once nothing it handed out
 *   can still refer to it (the collective that sent it has resolved and its result is not
 *   the array itself);
 * - an array that reached a caller (world 1: the received pooled rows *are* the sent array)
 *   comes back through {@link SendBufferPool.reclaim}, which detaches the caller's view
 *   (`length` 0 from then on: a stale read finds nothing, it cannot see a later batch's
 *   rows) and keeps its memory under a new view.
 * Only arrays this pool lent and not yet returned are accepted; anything else is ignored.
 *
 * @example
 * const pool = new SendBufferPool();
 * const send = pool.take(1024);   // zeros
 * // … fill, send, use the result …
 * pool.reclaim(send);             // send.length === 0 now; the next take(1024) reuses it
 */

/** Switch and counters, for tests: `enabled = false` makes every take a fresh array. */
export const sendBufferPool = { enabled: true, reused: 0, reclaimed: 0 };

/** Free arrays kept per length (a module sends at most a few lengths: full and last batch). */
const KEEP_PER_LENGTH = 4;

export class SendBufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly lent = new WeakSet<Float32Array>();

  /** A zero-filled array of `length` floats, reused when one is free. */
  take(length: number): Float32Array {
    const reuse = sendBufferPool.enabled ? this.free.get(length)?.pop() : undefined;
    let out: Float32Array;
    if (reuse) {
      sendBufferPool.reused++;
      out = reuse.fill(0);
    } else out = new Float32Array(length);
    this.lent.add(out);
    return out;
  }

  /** Return a lent array no one else holds (it is reused as it is). */
  giveBack(array: Float32Array): boolean {
    if (!this.lent.delete(array)) return false;
    this.keep(array);
    return true;
  }

  /**
   * Return a lent array a caller may still hold: the caller's view is detached (reads find
   * length 0) and the memory is kept under a new view. No copy.
   */
  reclaim(array: Float32Array): boolean {
    if (!this.lent.delete(array)) return false;
    const { buffer } = array;
    if (!(buffer instanceof ArrayBuffer)) return false;
    if (array.byteOffset !== 0 || buffer.byteLength !== array.byteLength) return false;
    const moved = structuredClone(buffer, { transfer: [buffer] });
    sendBufferPool.reclaimed++;
    this.keep(new Float32Array(moved));
    return true;
  }

  private keep(array: Float32Array): void {
    if (!sendBufferPool.enabled || array.length === 0) return;
    const list = this.free.get(array.length) ?? [];
    if (list.length >= KEEP_PER_LENGTH) return;
    list.push(array);
    this.free.set(array.length, list);
  }
}
