/**
 * Memory for embedding tables, laid out for random row access.
 *
 * A lookup reads a few thousand rows scattered over tens of megabytes, so nearly every row
 * costs a cache miss and a TLB miss. Two things make each miss cheaper, and a plain
 * `new Float32Array(n)` has neither:
 * - **Rows on cache lines.** Large typed arrays start 16 bytes into a page (the C heap's
 *   chunk header), so every 64-byte row of a dim-16 table straddles two cache lines. Here
 *   the block starts on a 64-byte boundary (a 2 MiB one for large blocks).
 * - **Huge pages.** On Linux, a large block is advised for transparent huge pages
 *   (`madvise(MADV_HUGEPAGE)`, before any page is touched): one TLB entry then covers
 *   2 MiB of rows instead of 4 KiB. Under virtualisation a TLB miss walks two page tables,
 *   which makes this the larger gain (the reference DLRM's lookup ~1.5× faster).
 *
 * Only blocks of at least {@link HUGE_PAGE_MIN_BYTES} get this treatment (smaller tables
 * mostly stay in cache): their addresses and `madvise` come from the C library through
 * koffi, loaded on the first such block, so a run with small tables never loads the FFI.
 * Where it is missing (no koffi, not Linux) the block is a plain array, and with huge pages
 * disabled it is only aligned: slower, never different — values are the same either way.
 *
 * @example
 * const weights = allocateTableMemory(100_000 * 16); // 6.4 MB of zeros, rows on cache lines
 * tableMemoryStats.hugePages; // 1 on Linux with transparent huge pages available
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** What {@link allocateTableMemory} managed to do, summed over calls (tests and benches read it). */
export const tableMemoryStats = { aligned: 0, hugePages: 0, plain: 0 };

/** Blocks at least this large (bytes) are aligned and go on huge pages; smaller ones are plain arrays. */
export const HUGE_PAGE_MIN_BYTES = 4 << 20;

const CACHE_LINE = 64;
const HUGE_PAGE = 2 << 20;
const PAGE = 4096;
const MADV_HUGEPAGE = 14;

interface Native {
  address(a: ArrayBufferView): bigint;
  /** 0 on success. */
  adviseHugePages(address: bigint, bytes: number): number;
  hugePagesAvailable: boolean;
}

let native: Native | null | undefined;

function loadNative(): Native | null {
  if (native !== undefined) return native;
  native = null;
  if (typeof process === 'undefined' || process.platform !== 'linux') return native;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    const madvise = libc.func('int madvise(uintptr_t addr, size_t len, int advice)') as (
      addr: bigint,
      len: number,
      advice: number,
    ) => number;
    let hugePagesAvailable = false;
    try {
      const mode = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
      hugePagesAvailable = !/\[never\]/.test(mode);
    } catch {
      // no transparent huge pages in this kernel
    }
    native = {
      address: (a) => BigInt(koffi.address(a) as bigint | number),
      adviseHugePages: (address, bytes) => madvise(address, bytes, MADV_HUGEPAGE),
      hugePagesAvailable,
    };
  } catch {
    // koffi or the C library is not available: plain arrays
  }
  return native;
}

/**
 * A zero-filled `Float32Array` of `length` values for a table block: when large, 64-byte
 * aligned and on transparent huge pages where the OS allows (see the file comment). It may be
 * a view into a slightly larger buffer (`byteOffset` ≠ 0); use it like any array.
 *
 * @example
 * const w = allocateTableMemory(rows * dim);
 * w.length === rows * dim; // true
 */
export function allocateTableMemory(length: number): Float32Array<ArrayBuffer> {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  const sys = bytes >= HUGE_PAGE_MIN_BYTES ? loadNative() : null;
  if (!sys) {
    tableMemoryStats.plain++;
    return new Float32Array(length);
  }
  const huge = sys.hugePagesAvailable;
  const align = huge ? HUGE_PAGE : CACHE_LINE;
  const buffer = new ArrayBuffer(bytes + align);
  const base = sys.address(new Uint8Array(buffer, 0, 1));
  const offset = Number((BigInt(align) - (base % BigInt(align))) % BigInt(align));
  const out = new Float32Array(buffer, offset, length);
  tableMemoryStats.aligned++;
  // Advise before the first write: the pages faulted in by initialisation are then huge.
  if (huge && sys.adviseHugePages(base + BigInt(offset), bytes - (bytes % PAGE)) === 0)
    tableMemoryStats.hugePages++;
  return out;
}
