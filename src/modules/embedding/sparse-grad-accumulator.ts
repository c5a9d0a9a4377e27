/**
 * `SparseGradAccumulator`: the gradient of an embedding table (or of a table shard) as a
 * map *row → gradient row*, summed across every backward until it is cleared.
 *
 * This is what lets sparsepipe accumulate embedding gradients across micro-batches
 * (DESIGN §1: TorchRec's fused optimizers cannot): `backward` only adds here, the fused
 * optimizer reads the sum at `step()` and clears it.
 *
 * Sums are kept in float64 (one float64 buffer, one slot per touched row), so the order in
 * which micro-batches arrive changes the result by far less than float32 rounding.
 * Iteration is always in ascending row order, so anything derived from the accumulator is
 * deterministic.
 *
 * @example
 * const acc = new SparseGradAccumulator(2);
 * acc.addRow(7, Float32Array.from([1, 2]), 0, 0.5);
 * acc.addRow(3, Float32Array.from([1, 1]), 0, 1);
 * acc.addRow(7, Float32Array.from([1, 2]), 0, 0.5);
 * acc.toSparse(); // { rows: [3, 7], grads: [1, 1, 1, 2], width: 2 }
 */

/** A sparse row gradient: `rows` unique and ascending, `grads` row-major `[rows.length, width]`. */
export interface SparseRowGrads {
  readonly rows: Int32Array;
  readonly grads: Float32Array;
  readonly width: number;
}

export class SparseGradAccumulator {
  private readonly slotByRow = new Map<number, number>();
  private rowOfSlot: number[] = [];
  private buf: Float64Array;

  constructor(
    /** Width of every gradient row. */
    readonly width: number,
    initialRows = 16,
  ) {
    if (!Number.isInteger(width) || width < 0) throw new Error(`SparseGradAccumulator: width must be a non-negative integer, got ${width}`);
    this.buf = new Float64Array(Math.max(1, initialRows) * Math.max(1, width));
  }

  /** Number of distinct rows holding a gradient. */
  get size(): number {
    return this.rowOfSlot.length;
  }

  /** The live float64 buffer; slot offsets from {@link offsetOf} index into it. Re-read after `offsetOf` (it may grow). */
  get data(): Float64Array {
    return this.buf;
  }

  /** Offset of `row`'s gradient in {@link data}, creating a zero row if needed. */
  offsetOf(row: number): number {
    let slot = this.slotByRow.get(row);
    if (slot === undefined) {
      slot = this.rowOfSlot.length;
      const need = (slot + 1) * this.width;
      if (need > this.buf.length) {
        const grown = new Float64Array(Math.max(need, this.buf.length * 2));
        grown.set(this.buf);
        this.buf = grown;
      }
      this.slotByRow.set(row, slot);
      this.rowOfSlot.push(row);
    }
    return slot * this.width;
  }

  /** `grad[row] += scale * src[srcOffset .. srcOffset + width)`. */
  addRow(row: number, src: ArrayLike<number>, srcOffset: number, scale = 1): void {
    const o = this.offsetOf(row);
    const b = this.buf;
    for (let j = 0; j < this.width; j++) b[o + j] += scale * src[srcOffset + j];
  }

  /** Whether `row` holds a gradient. */
  has(row: number): boolean {
    return this.slotByRow.has(row);
  }

  /** Rows holding a gradient, ascending. */
  sortedRows(): Int32Array {
    return Int32Array.from(this.rowOfSlot).sort();
  }

  /** Calls `fn(row, data, offset)` for every row in ascending order. */
  forEachRow(fn: (row: number, data: Float64Array, offset: number) => void): void {
    const rows = this.sortedRows();
    for (let i = 0; i < rows.length; i++) fn(rows[i], this.buf, this.slotByRow.get(rows[i])! * this.width);
  }

  /** A float32 copy: unique ascending rows and their gradient rows. */
  toSparse(): SparseRowGrads {
    const rows = this.sortedRows();
    const grads = new Float32Array(rows.length * this.width);
    for (let i = 0; i < rows.length; i++) {
      const o = this.slotByRow.get(rows[i])! * this.width;
      for (let j = 0; j < this.width; j++) grads[i * this.width + j] = this.buf[o + j];
    }
    return { rows, grads, width: this.width };
  }

  /** True when any accumulated value is NaN or ±Infinity (for loss-scaler overflow checks). */
  hasNonFinite(): boolean {
    const n = this.rowOfSlot.length * this.width;
    for (let i = 0; i < n; i++) if (!Number.isFinite(this.buf[i])) return true;
    return false;
  }

  /** Forget every row (keeps the buffer's capacity). */
  clear(): void {
    this.buf.fill(0, 0, this.rowOfSlot.length * this.width);
    this.slotByRow.clear();
    this.rowOfSlot = [];
  }
}
