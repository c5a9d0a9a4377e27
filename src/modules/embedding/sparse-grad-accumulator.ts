/**
 * `SparseGradAccumulator`: the gradient of an embedding table (or of a table shard) as a
 * map *row → gradient row*, summed across every backward until it is cleared.
 *
 * This is what lets sparsepipe accumulate embedding gradients across micro-batches
 * (docs/design.md "The seed pipeline and what sparsepipe fixes": TorchRec's fused optimizers cannot): `backward` only adds here, the fused
 * optimizer reads the sum at `step()` and clears it.
 *
 * Sums are kept in float64 (one float64 buffer, one slot per touched row), so the order in
 * which micro-batches arrive changes the result by far less than float32 rounding.
 * Rows find their slot through an open-addressing hash table on two `Int32Array`s, sized
 * by the rows touched (not by the table): a batch's few thousand rows index in tens of
 * kilobytes that stay in cache, where a per-table array of `rows` entries would miss on
 * nearly every id.
 * Exports (`toSparse`, `sortedRows`) are in ascending row order; `forEachRow` visits rows in
 * first-touch order (deterministic too, and cache-friendly for per-row optimizers whose
 * rows are independent).
 *
 * @example
 * const acc = new SparseGradAccumulator(2);
 * acc.addRow(7, Float32Array.from([1, 2]), 0, 0.5);
 * acc.addRow(3, Float32Array.from([1, 1]), 0, 1);
 * acc.addRow(7, Float32Array.from([1, 2]), 0, 0.5);
 * acc.toSparse(); // { rows: [3, 7], grads: [1, 1, 1, 2], width: 2 }
 */
import { touchRows } from './touch-rows.ts';

/** Fibonacci hashing: the golden-ratio multiplier spreads consecutive rows over the table. */
const HASH_MULTIPLIER = 0x9e3779b1;
/** An empty bucket (rows are ≥ 0). */
const EMPTY = -1;

/** A sparse row gradient: `rows` unique and ascending, `grads` row-major `[rows.length, width]`. */
export interface SparseRowGrads {
  readonly rows: Int32Array;
  readonly grads: Float32Array;
  readonly width: number;
}

export class SparseGradAccumulator {
  /** Hash table: bucket → row ({@link EMPTY}: none) and bucket → slot; at most half full. */
  private keys: Int32Array;
  private slots: Int32Array;
  /** 32 − log2(bucket count): the hash keeps the product's top bits. */
  private shift: number;
  /** Row of each slot, in first-touch order (the first {@link size} entries are live). */
  private rowOfSlot: Int32Array;
  private count = 0;
  private resizeCount = 0;
  private buf: Float64Array;

  constructor(
    /** Width of every gradient row. */
    readonly width: number,
    /** Rows of the table, when known: rows must then be in `[0, rows)` (else any row ≥ 0). */
    readonly rows?: number,
    initialRows = 16,
  ) {
    if (!Number.isInteger(width) || width < 0)
      throw new Error(`SparseGradAccumulator: width must be a non-negative integer, got ${width}`);
    this.buf = new Float64Array(Math.max(1, initialRows) * Math.max(1, width));
    this.rowOfSlot = new Int32Array(Math.max(1, initialRows));
    const bits = Math.max(4, Math.ceil(Math.log2(Math.max(1, initialRows))) + 1);
    this.keys = new Int32Array(1 << bits).fill(EMPTY);
    this.slots = new Int32Array(1 << bits);
    this.shift = 32 - bits;
  }

  /** Number of distinct rows holding a gradient. */
  get size(): number {
    return this.count;
  }

  /**
   * The live row-of-slot array: slot `i < size` holds row `slotRows[i]`, its gradient at
   * `data[i · width ..)`. Slots are in first-touch order. Re-read after adding rows (it may grow).
   */
  get slotRows(): Int32Array {
    return this.rowOfSlot;
  }

  /** The bucket holding `row`, or the empty bucket where it would go. */
  private bucketOf(row: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    let h = Math.imul(row, HASH_MULTIPLIER) >>> this.shift;
    for (;;) {
      const k = keys[h];
      if (k === row || k === EMPTY) return h;
      h = (h + 1) & mask;
    }
  }

  private checkRow(row: number): void {
    const limit = this.rows ?? 2 ** 31;
    if (!(Number.isInteger(row) && row >= 0 && row < limit))
      throw new RangeError(`SparseGradAccumulator: row ${row} outside [0, ${this.rows ?? '2^31'})`);
  }

  private slotOf(row: number): number | undefined {
    this.checkRow(row);
    const h = this.bucketOf(row);
    return this.keys[h] === EMPTY ? undefined : this.slots[h];
  }

  /** The live float64 buffer; slot offsets from {@link offsetOf} index into it. Re-read after `offsetOf` (it may grow). */
  get data(): Float64Array {
    return this.buf;
  }

  /** Offset of `row`'s gradient in {@link data}, creating a zero row if needed. */
  offsetOf(row: number): number {
    return this.slotFor(row) * this.width;
  }

  /** Slot of `row`, creating a zero gradient row for it if needed (`row` must be in range). */
  slotFor(row: number): number {
    this.checkRow(row);
    const h = this.bucketOf(row);
    return this.keys[h] === EMPTY ? this.newSlot(row, h) : this.slots[h];
  }

  /** Give `row` (found missing at empty bucket `h`) the next slot. */
  private newSlot(row: number, h: number): number {
    const slot = this.count;
    const need = (slot + 1) * this.width;
    if (need > this.buf.length) {
      const grown = new Float64Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf);
      this.buf = grown;
    }
    if (slot >= this.rowOfSlot.length) {
      const grown = new Int32Array(this.rowOfSlot.length * 2);
      grown.set(this.rowOfSlot);
      this.rowOfSlot = grown;
    }
    this.keys[h] = row;
    this.slots[h] = slot;
    this.rowOfSlot[slot] = row;
    this.count = slot + 1;
    if (2 * this.count > this.keys.length) {
      this.resize(this.keys.length * 2);
      for (let s = 0; s < this.count; s++) {
        const b = this.bucketOf(this.rowOfSlot[s]);
        this.keys[b] = this.rowOfSlot[s];
        this.slots[b] = s;
      }
    }
    return slot;
  }

  /** How many times the hash table was reallocated (grown or shrunk). */
  get resizes(): number {
    return this.resizeCount;
  }

  /** An empty hash table of `buckets` buckets (a power of two). */
  private resize(buckets: number): void {
    this.resizeCount++;
    this.keys = new Int32Array(buckets).fill(EMPTY);
    this.slots = new Int32Array(buckets);
    this.shift = 32 - Math.log2(buckets);
  }

  /** `grad[row] += scale * src[srcOffset .. srcOffset + width)`. */
  addRow(row: number, src: ArrayLike<number>, srcOffset: number, scale = 1): void {
    const o = this.offsetOf(row);
    const b = this.buf;
    for (let j = 0; j < this.width; j++) b[o + j] += scale * src[srcOffset + j];
  }

  /** Whether `row` holds a gradient. */
  has(row: number): boolean {
    return this.slotOf(row) !== undefined;
  }

  /** Rows holding a gradient, ascending. */
  sortedRows(): Int32Array {
    return this.rowOfSlot.slice(0, this.count).sort();
  }

  /**
   * Read ahead the rows of `target` (rows of `width`) that {@link forEachRow} will visit,
   * before a loop that updates them there (a fused optimizer). Reads only.
   *
   * @example
   * grads.touchTarget(weights, 16, nRows);
   */
  touchTarget(target: Float32Array, width: number, nRows: number): void {
    touchRows(target, this.rowOfSlot, 0, this.count, 0, nRows, width);
  }

  /**
   * Calls `fn(row, data, offset)` for every row, in first-touch order (deterministic for a
   * given sequence of backwards; use {@link sortedRows} when row order matters).
   */
  forEachRow(fn: (row: number, data: Float64Array, offset: number) => void): void {
    const w = this.width;
    for (let i = 0; i < this.count; i++) fn(this.rowOfSlot[i], this.buf, i * w);
  }

  /** A float32 copy: unique ascending rows and their gradient rows. */
  toSparse(): SparseRowGrads {
    const rows = this.sortedRows();
    const grads = new Float32Array(rows.length * this.width);
    for (let i = 0; i < rows.length; i++) {
      const o = this.slotOf(rows[i])! * this.width;
      for (let j = 0; j < this.width; j++) grads[i * this.width + j] = this.buf[o + j];
    }
    return { rows, grads, width: this.width };
  }

  /** True when any accumulated value is NaN or ±Infinity (for loss-scaler overflow checks). */
  hasNonFinite(): boolean {
    const n = this.count * this.width;
    for (let i = 0; i < n; i++) if (!Number.isFinite(this.buf[i])) return true;
    return false;
  }

  /** Forget every row (keeps the buffer's capacity). */
  clear(): void {
    // already empty (a zeroGrad after the step's clear): keep the table sized for the window
    if (this.count === 0) return;
    this.buf.fill(0, 0, this.count * this.width);
    // A table grown for an earlier, larger window shrinks back to this window's size.
    const want = Math.max(32, 2 ** Math.ceil(Math.log2(4 * this.count + 1)));
    if (this.keys.length > 4 * want) this.resize(want);
    else this.keys.fill(EMPTY);
    this.count = 0;
  }
}
