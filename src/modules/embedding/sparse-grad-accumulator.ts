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

/** A sparse row gradient: `rows` unique and ascending, `grads` row-major `[rows.length, width]`. */
export interface SparseRowGrads {
  readonly rows: Int32Array;
  readonly grads: Float32Array;
  readonly width: number;
}

/** Tables up to this many rows index slots with a dense `Int32Array` (4 bytes per row); larger ones use a `Map`. */
const DENSE_INDEX_MAX_ROWS = 1 << 22;

export class SparseGradAccumulator {
  /** row → slot + 1 (0: none) when the row count is known and moderate. */
  private readonly dense: Int32Array | undefined;
  private readonly slotByRow: Map<number, number> | undefined;
  /** Row of each slot, in first-touch order (the first {@link size} entries are live). */
  private rowOfSlot: Int32Array;
  private count = 0;
  private buf: Float64Array;

  constructor(
    /** Width of every gradient row. */
    readonly width: number,
    /** Rows of the table (enables a faster dense row index); rows must then be in `[0, rows)`. */
    rows?: number,
    initialRows = 16,
  ) {
    if (!Number.isInteger(width) || width < 0)
      throw new Error(`SparseGradAccumulator: width must be a non-negative integer, got ${width}`);
    this.buf = new Float64Array(Math.max(1, initialRows) * Math.max(1, width));
    this.rowOfSlot = new Int32Array(Math.max(1, initialRows));
    if (rows !== undefined && rows <= DENSE_INDEX_MAX_ROWS) this.dense = new Int32Array(rows);
    else this.slotByRow = new Map();
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

  private slotOf(row: number): number | undefined {
    if (this.dense) {
      const s = this.dense[row];
      if (s === undefined)
        throw new RangeError(`SparseGradAccumulator: row ${row} outside [0, ${this.dense.length})`);
      return s === 0 ? undefined : s - 1;
    }
    return this.slotByRow!.get(row);
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
    const slot = this.slotOf(row);
    return slot === undefined ? this.newSlot(row) : slot;
  }

  private newSlot(row: number): number {
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
    if (this.dense) this.dense[row] = slot + 1;
    else this.slotByRow!.set(row, slot);
    this.rowOfSlot[slot] = row;
    this.count = slot + 1;
    return slot;
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
   * Calls `fn(row, data, offset)` for every row, in first-touch order (deterministic for a
   * given sequence of backwards; use {@link sortedRows} when row order matters).
   */
  /**
   * Read ahead (see `touch-rows.ts`) the index entries of rows `ids[from..to) - rowStart`,
   * before a loop that accumulates them. Reads only.
   *
   * @example
   * acc.touch(bags.values, 0, bags.values.length, rowStart);
   */
  touch(ids: Int32Array, from: number, to: number, rowStart: number): void {
    if (this.dense) touchRows(this.dense, ids, from, to, rowStart, this.dense.length, 1);
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
    this.buf.fill(0, 0, this.count * this.width);
    if (this.dense) for (let i = 0; i < this.count; i++) this.dense[this.rowOfSlot[i]] = 0;
    else this.slotByRow!.clear();
    this.count = 0;
  }
}
