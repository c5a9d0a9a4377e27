/**
 * Where a `threads` rank puts the payload of its collective calls: blocks of shared memory
 * (`SharedArrayBuffer`) that its peers read in place, reused from call to call.
 *
 * Why: the ranks are threads of one process, so a payload need not travel. Posting it (a
 * fresh `ArrayBuffer` per peer, sliced out of the caller's array and transferred) costs a
 * copy per peer, page faults on every new buffer, and — the larger bill — garbage: each
 * rank dropped several MB of `ArrayBuffer`s per training step (the dense gradients'
 * all-reduce alone is ~1.2 MB per copy), which keeps V8 starting full mark-compacts whose
 * concurrent marking then competes with the other rank for the same cores. With blocks the
 * payload is copied once, into memory every rank can read, and the message carries a view
 * (structured clone shares a `SharedArrayBuffer`, it does not copy it).
 *
 * Protocol, per block: the writer copies the payload in, sets the block's reader count to
 * the number of ranks that will read it (peers and itself) and posts views; each reader,
 * once its result is assembled (or the call is dropped), releases its view — an atomic
 * decrement. The writer reuses a block only when its count is back to zero, so no payload
 * is overwritten while a rank may still read it; a block whose reader died stays held (the
 * pool then allocates another). Results never alias a block: they are computed into new
 * arrays before the release.
 *
 * Payloads of at most {@link SMALL_PAYLOAD_BYTES} are plain on-heap copies (cheaper than a
 * block for a few numbers).
 *
 * @example
 * const pool = new SharedBlockPool();
 * const view = pool.write(Float32Array.of(1, 2, 3), 2); // two ranks will read it
 * releaseShared(view); // reader 1
 * releaseShared(view); // reader 2: the block serves the next write
 */

/** Payloads up to this many bytes are copied with `slice()` instead of going to a block. */
export const SMALL_PAYLOAD_BYTES = 256;

/**
 * Bytes before a block's payload: the reader count (an `Int32` at byte 0), then padding.
 * Half a page plus a cache line, so that copying between the caller's arrays and the block
 * rarely has both at the same offset modulo 4 KiB (4K aliasing makes such copies slow).
 */
export const BLOCK_HEADER_BYTES = 2048 + 64;

/** The smallest block, bytes of payload. */
const MIN_BLOCK_BYTES = 64 * 1024;

type Payload = Int32Array | Float32Array;
type PayloadClass = { new (buffer: SharedArrayBuffer, offset: number, length: number): Payload };

interface Block {
  readonly buffer: SharedArrayBuffer;
  /** `[0]`: ranks that have yet to release it (0: free). */
  readonly readers: Int32Array;
}

/** One rank's reusable blocks (see the module doc). Single-threaded: only its rank writes. */
export class SharedBlockPool {
  /** Blocks by log2 of their payload capacity. */
  private readonly classes: Block[][] = [];
  private allocated = 0;

  /** Blocks this pool has allocated so far (a reuse test and a leak guard). */
  get blockCount(): number {
    return this.allocated;
  }

  /**
   * A view of the same type and contents as `data` that `readers` ranks will each release
   * once with {@link releaseShared}: shared memory for a payload above
   * {@link SMALL_PAYLOAD_BYTES}, else a plain copy (whose release is a no-op).
   *
   * @example
   * const shared = pool.write(grads, worldSize);
   */
  write<T extends Payload>(data: T, readers: number): T {
    if (data.byteLength <= SMALL_PAYLOAD_BYTES) return data.slice() as T;
    if (!Number.isInteger(readers) || readers < 1)
      throw new RangeError(`SharedBlockPool.write: readers must be an integer ≥ 1, got ${readers}`);
    const block = this.freeBlock(data.byteLength);
    const view = new (data.constructor as PayloadClass)(
      block.buffer,
      BLOCK_HEADER_BYTES,
      data.length,
    ) as T;
    view.set(data);
    // Published before any view is posted; readers decrement it once each.
    Atomics.store(block.readers, 0, readers);
    return view;
  }

  private freeBlock(bytes: number): Block {
    const cls = Math.max(sizeClass(bytes), sizeClass(MIN_BLOCK_BYTES));
    const blocks = this.classes[cls] ?? [];
    this.classes[cls] = blocks;
    for (const block of blocks) if (Atomics.load(block.readers, 0) === 0) return block;
    const buffer = new SharedArrayBuffer(BLOCK_HEADER_BYTES + 2 ** cls);
    const block: Block = { buffer, readers: new Int32Array(buffer, 0, 1) };
    blocks.push(block);
    this.allocated++;
    return block;
  }
}

/**
 * This rank is done reading `view` (a payload from {@link SharedBlockPool.write}, its own
 * or a peer's): one atomic decrement of its block's reader count. A view that is not in a
 * block (a small payload's copy, an ordinary array) is ignored. Release each view once and
 * read it no more.
 *
 * @example
 * const sum = reduceInRankOrder(parts, 'sum'); // a new array
 * for (const part of parts) releaseShared(part);
 */
export function releaseShared(view: Payload): void {
  // Block views start past the header; checking that first never touches `.buffer` of a
  // small on-heap copy (which would move it off the heap).
  if (view.byteOffset < BLOCK_HEADER_BYTES) return;
  const buffer = view.buffer;
  if (!(buffer instanceof SharedArrayBuffer)) return;
  Atomics.sub(new Int32Array(buffer, 0, 1), 0, 1);
}

/** log2 of the smallest power of two ≥ `bytes`. */
function sizeClass(bytes: number): number {
  return 32 - Math.clz32(bytes - 1);
}
