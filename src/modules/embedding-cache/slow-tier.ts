/**
 * The slow tier of a cached embedding table: every row of one table block, with the fused
 * optimizer's per-row state, read and written one row at a time.
 *
 * - {@link MemorySlowTier}: two typed arrays in the process (weights `[rows, width]`, state
 *   `[rows, stateWidth]`); initialised eagerly, exactly like an uncached shard.
 * - {@link FileSlowTier}: one file, one record of `width + stateWidth` float32 per row, read
 *   and written by offset (`pread` / `pwrite`). Rows are initialised lazily: a row never
 *   written is computed from the table's init on first read (one bit per row remembers which
 *   rows the file holds), so creating a tier for a table larger than the process's memory
 *   costs nothing and the file grows sparsely.
 *
 * @example
 * const tier = new MemorySlowTier({ rows: 100, width: 4, stateWidth: 1, initRows });
 * const w = new Float32Array(4), s = new Float32Array(1);
 * tier.readRow(7, w, 0, s, 0);
 * tier.writeRow(7, w, 0, s, 0);
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Initial values of rows `[from, to)` of the block: weights `[n, width]`, state `[n, stateWidth]`. */
export type InitRows = (from: number, to: number) => { weights: Float32Array; state: Float32Array };

export interface SlowTierShape {
  rows: number;
  width: number;
  stateWidth: number;
  initRows: InitRows;
}

export interface SlowTier {
  readonly kind: 'memory' | 'file';
  readonly rows: number;
  readonly width: number;
  readonly stateWidth: number;
  /** Bytes one row occupies in this tier (what a miss moves). */
  readonly rowBytes: number;
  readRow(row: number, w: Float32Array, wOff: number, s: Float32Array, sOff: number): void;
  writeRow(row: number, w: Float32Array, wOff: number, s: Float32Array, sOff: number): void;
  /** Release the tier's resources (the file tier deletes its file). */
  close(): void;
}

export class MemorySlowTier implements SlowTier {
  readonly kind = 'memory';
  readonly rows: number;
  readonly width: number;
  readonly stateWidth: number;
  readonly rowBytes: number;
  private readonly weights: Float32Array;
  private readonly state: Float32Array;

  constructor(shape: SlowTierShape) {
    this.rows = shape.rows;
    this.width = shape.width;
    this.stateWidth = shape.stateWidth;
    this.rowBytes = 4 * (shape.width + shape.stateWidth);
    const init = shape.initRows(0, shape.rows);
    this.weights = init.weights;
    this.state = init.state;
  }

  readRow(row: number, w: Float32Array, wOff: number, s: Float32Array, sOff: number): void {
    const W = this.width;
    w.set(this.weights.subarray(row * W, row * W + W), wOff);
    const S = this.stateWidth;
    if (S > 0) s.set(this.state.subarray(row * S, row * S + S), sOff);
  }

  writeRow(row: number, w: Float32Array, wOff: number, s: Float32Array, sOff: number): void {
    const W = this.width;
    this.weights.set(w.subarray(wOff, wOff + W), row * W);
    const S = this.stateWidth;
    if (S > 0) this.state.set(s.subarray(sOff, sOff + S), row * S);
  }

  close(): void {}
}

export class FileSlowTier implements SlowTier {
  readonly kind = 'file';
  readonly rows: number;
  readonly width: number;
  readonly stateWidth: number;
  readonly rowBytes: number;
  readonly path: string;
  private fd: number | undefined;
  private readonly written: Uint8Array;
  private readonly initRows: InitRows;
  private readonly record: Float32Array;
  private readonly recordBytes: Uint8Array;

  constructor(shape: SlowTierShape, dir: string, fileName: string) {
    this.rows = shape.rows;
    this.width = shape.width;
    this.stateWidth = shape.stateWidth;
    this.rowBytes = 4 * (shape.width + shape.stateWidth);
    this.initRows = shape.initRows;
    this.written = new Uint8Array(Math.ceil(shape.rows / 8));
    this.record = new Float32Array(shape.width + shape.stateWidth);
    this.recordBytes = new Uint8Array(this.record.buffer);
    try {
      mkdirSync(dir, { recursive: true });
      this.path = join(dir, fileName);
      this.fd = openSync(this.path, 'w+');
    } catch (e) {
      throw new Error(
        `embedding slow tier: cannot create '${join(dir, fileName)}': ${(e as Error).message}`,
      );
    }
  }

  readRow(row: number, w: Float32Array, wOff: number, s: Float32Array, sOff: number): void {
    const W = this.width;
    const S = this.stateWidth;
    if ((this.written[row >> 3] & (1 << (row & 7))) === 0) {
      const init = this.initRows(row, row + 1);
      w.set(init.weights, wOff);
      if (S > 0) s.set(init.state, sOff);
      return;
    }
    const got = readSync(this.openFd(), this.recordBytes, 0, this.rowBytes, row * this.rowBytes);
    if (got !== this.rowBytes)
      throw new Error(`embedding slow tier '${this.path}': short read of row ${row}`);
    w.set(this.record.subarray(0, W), wOff);
    if (S > 0) s.set(this.record.subarray(W, W + S), sOff);
  }

  writeRow(row: number, w: Float32Array, wOff: number, s: Float32Array, sOff: number): void {
    const W = this.width;
    const S = this.stateWidth;
    this.record.set(w.subarray(wOff, wOff + W), 0);
    if (S > 0) this.record.set(s.subarray(sOff, sOff + S), W);
    writeSync(this.openFd(), this.recordBytes, 0, this.rowBytes, row * this.rowBytes);
    this.written[row >> 3] |= 1 << (row & 7);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }

  private openFd(): number {
    if (this.fd === undefined)
      throw new Error(`embedding slow tier '${this.path}': used after close()`);
    return this.fd;
  }
}
