/**
 * `EmbeddingTableShard`: one block of one embedding table as held by one process — its
 * weights, its sparse gradient accumulator and its fused optimizer. The unsharded
 * `EmbeddingBagCollection` holds one full-table shard per table; the sharded collection
 * holds the blocks its plan gives it (whole table, a row block or a column block).
 *
 * Gradients are accumulated for columns `[gradColStart, gradColStart + gradWidth)` of the
 * logical row: the shard's own columns, or the whole row when the optimizer needs row-wise
 * statistics (row-wise Adagrad on a column-wise shard).
 *
 * @example
 * const shard = new EmbeddingTableShard({ table, seed: 1, block: { rowStart: 0, rowEnd: table.rows, colStart: 0, colEnd: table.dim },
 *   optimizer: { kind: 'sgd', lr: 0.1 } });
 * accumulatePooledGrad({ table: shard.slice, … }, shard.grad);
 * shard.step(1);
 *
 * **Cached tables** (`table.cache` set, see docs/cached-embeddings.md): the block lives in a
 * slow tier and a bounded {@link RowCache} holds the rows in use. Lookups go through
 * {@link EmbeddingTableShard.lookupSlice} after {@link EmbeddingTableShard.acquireRows};
 * gradients are still keyed by table row, and `step` applies the fused optimizer to the
 * cached rows (the rows holding gradients stay resident until then), so training equals the
 * uncached table bit for bit. `weights` and `stateDict()` write dirty rows back first.
 */
import { cacheCapacity } from '../embedding-cache/cache-config.ts';
import { type CacheStats, RowCache } from '../embedding-cache/row-cache.ts';
import { FileSlowTier, MemorySlowTier, type SlowTier } from '../embedding-cache/slow-tier.ts';
import type { EmbeddingBagConfig } from './config.ts';
import {
  createFusedOptimizer,
  type FusedOptimizerConfig,
  type FusedOptimizerState,
  type FusedSparseOptimizer,
} from './fused-optimizers.ts';
import { initTableSlice, type TableBlock } from './init.ts';
import type { TableSlice } from './kernels.ts';
import { allocateTableMemory } from './table-memory.ts';
import { SparseGradAccumulator } from './sparse-grad-accumulator.ts';

export interface EmbeddingTableShardOptions {
  table: EmbeddingBagConfig;
  block: TableBlock;
  seed: number;
  optimizer: FusedOptimizerConfig;
}

/** Serialisable state of one shard (plain data: block bounds, weights, optimizer state). */
export interface EmbeddingShardState extends TableBlock {
  table: string;
  weights: Float32Array;
  optimizer: FusedOptimizerState;
}

/** What a lookup reads: a slice and the ids to read from it (cache slots for a cached table). */
export interface LookupView {
  table: TableSlice;
  values: Int32Array;
}

export class EmbeddingTableShard {
  readonly table: EmbeddingBagConfig;
  readonly block: TableBlock;
  /** The fused optimizer (over cache slots for a cached table; see {@link optimizerState}). */
  readonly optimizer: FusedSparseOptimizer;
  /** The row cache of a cached table, else undefined. */
  readonly cache: RowCache | undefined;
  private readonly own: Float32Array | undefined;
  private readonly ownSlice: TableSlice | undefined;
  readonly grad: SparseGradAccumulator;
  /** First logical column covered by the gradient rows in {@link grad}. */
  readonly gradColStart: number;
  /** Number of columns in each gradient row. */
  readonly gradWidth: number;

  constructor(opts: EmbeddingTableShardOptions) {
    const { table, block } = opts;
    if (!(0 <= block.rowStart && block.rowStart <= block.rowEnd && block.rowEnd <= table.rows)) {
      throw new Error(
        `table '${table.name}': shard rows [${block.rowStart}, ${block.rowEnd}) outside [0, ${table.rows})`,
      );
    }
    if (!(0 <= block.colStart && block.colStart < block.colEnd && block.colEnd <= table.dim)) {
      throw new Error(
        `table '${table.name}': shard columns [${block.colStart}, ${block.colEnd}) outside [0, ${table.dim}) or empty`,
      );
    }
    this.table = table;
    this.block = { ...block };
    const nRows = block.rowEnd - block.rowStart;
    const width = block.colEnd - block.colStart;
    const cacheConfig = table.cache;
    this.optimizer = createFusedOptimizer(
      opts.optimizer,
      cacheConfig ? cacheCapacity(cacheConfig, nRows) : nRows,
    );
    const full = this.optimizer.needsFullRowGrad;
    this.gradColStart = full ? 0 : block.colStart;
    this.gradWidth = full ? table.dim : width;
    this.grad = new SparseGradAccumulator(this.gradWidth, nRows);
    if (cacheConfig) {
      const stateWidth = this.optimizer.rowStateWidth;
      const initial = createFusedOptimizer(opts.optimizer, 1);
      const state0 = new Float32Array(Math.max(1, stateWidth));
      initial.readRowState(0, state0, 0);
      const shape = {
        rows: nRows,
        width,
        stateWidth,
        initRows: (from: number, to: number) => {
          const state = new Float32Array((to - from) * stateWidth);
          for (let i = 0; i < state.length; i++) state[i] = state0[i % stateWidth];
          const weights = initTableSlice(table, opts.seed, {
            ...block,
            rowStart: block.rowStart + from,
            rowEnd: block.rowStart + to,
          });
          return { weights, state };
        },
      };
      const tier: SlowTier =
        cacheConfig.slowTier?.kind === 'file'
          ? new FileSlowTier(
              shape,
              cacheConfig.slowTier.dir,
              `${table.name}-r${block.rowStart}-c${block.colStart}-${process.pid}.rows`,
            )
          : new MemorySlowTier(shape);
      this.cache = new RowCache({
        tier,
        capacity: cacheCapacity(cacheConfig, nRows),
        policy: cacheConfig.policy ?? 'lru',
        optimizer: this.optimizer,
        isProtected: (row) => this.grad.has(row),
        name: `table '${table.name}' cache`,
      });
    } else {
      this.own = initTableSlice(table, opts.seed, block, allocateTableMemory(nRows * width));
      this.ownSlice = {
        weights: this.own,
        rowStart: block.rowStart,
        nRows,
        width,
        name: table.name,
      };
    }
  }

  /**
   * The block's weights, row-major `[rowEnd-rowStart, colEnd-colStart]`: the live array of an
   * uncached shard; for a cached one a copy read from the slow tier after writing dirty rows back.
   */
  get weights(): Float32Array {
    if (this.own) return this.own;
    return this.readTier().weights;
  }

  /** The whole block as a kernel slice (for a cached table: a read-only copy; use {@link lookupSlice}). */
  get slice(): TableSlice {
    if (this.ownSlice) return this.ownSlice;
    const { rowStart, rowEnd, colStart, colEnd } = this.block;
    return {
      weights: this.weights,
      rowStart,
      nRows: rowEnd - rowStart,
      width: colEnd - colStart,
      name: this.table.name,
    };
  }

  /**
   * Make the rows of ids `values[from, to)` resident for `owner` (one in-flight batch) and
   * pin them until {@link releaseRows}. A no-op for an uncached table.
   */
  acquireRows(
    owner: object,
    values: Int32Array,
    from: number,
    to: number,
  ): { hits: number; misses: number } {
    if (!this.cache) return { hits: 0, misses: 0 };
    return this.cache.acquire(owner, this.localRows(values, from, to));
  }

  /** Rows of ids `values[from, to)` that are not resident now (0 for an uncached table). */
  missingRows(values: Int32Array, from: number, to: number): number {
    if (!this.cache) return 0;
    return this.cache.countMissing(this.localRows(values, from, to));
  }

  /** Unpin the rows `owner` acquired. */
  releaseRows(owner: object): void {
    this.cache?.release(owner);
  }

  /**
   * The slice and ids a lookup of `values[from, to)` reads: the block and the ids themselves,
   * or for a cached table the cache's slots and the ids mapped to slots (the rows must have
   * been acquired).
   */
  lookupSlice(values: Int32Array, from: number, to: number): LookupView {
    if (this.ownSlice) return { table: this.ownSlice, values };
    const cache = this.cache!;
    const mapped = new Int32Array(values.length);
    const r0 = this.block.rowStart;
    for (let i = from; i < to; i++) {
      const row = values[i] - r0;
      const slot = cache.lookup(row);
      if (slot < 0) {
        if (row < 0 || row >= this.block.rowEnd - r0)
          throw new RangeError(
            `table '${this.table.name}': id ${values[i]} is outside rows [${r0}, ${this.block.rowEnd}) held here`,
          );
        throw new Error(
          `table '${this.table.name}': row ${values[i]} is not in the cache (acquireRows was not called for this batch)`,
        );
      }
      mapped[i] = slot;
    }
    const table = {
      weights: cache.weights,
      rowStart: 0,
      nRows: cache.slotCount,
      width: this.block.colEnd - this.block.colStart,
      name: this.table.name,
    };
    return { table, values: mapped };
  }

  /** Cache counters (undefined for an uncached table). */
  cacheStats(): CacheStats | undefined {
    return this.cache ? { ...this.cache.stats } : undefined;
  }

  /** Write dirty cached rows back to the slow tier (0 for an uncached table). */
  flushCache(): number {
    return this.cache ? this.cache.flush() : 0;
  }

  /** Release the slow tier's resources (its file); the shard must not be used afterwards. */
  close(): void {
    this.cache?.tier.close();
  }

  private localRows(values: Int32Array, from: number, to: number): Int32Array {
    const r0 = this.block.rowStart;
    const n = this.block.rowEnd - r0;
    const rows = new Int32Array(to - from);
    for (let i = from; i < to; i++) {
      const row = values[i] - r0;
      if (row < 0 || row >= n)
        throw new RangeError(
          `table '${this.table.name}': id ${values[i]} is outside rows [${r0}, ${this.block.rowEnd}) held here`,
        );
      rows[i - from] = row;
    }
    return rows;
  }

  /** The whole block and its optimizer state read from the slow tier (dirty rows written back first). */
  private readTier(): { weights: Float32Array; state: Float32Array } {
    const cache = this.cache!;
    cache.flush();
    const tier = cache.tier;
    const weights = new Float32Array(tier.rows * tier.width);
    const state = new Float32Array(tier.rows * tier.stateWidth);
    for (let r = 0; r < tier.rows; r++)
      tier.readRow(r, weights, r * tier.width, state, r * tier.stateWidth);
    return { weights, state };
  }

  /** Same slice viewed with the gradient's width and columns (for the backward kernel). */
  get gradSlice(): Pick<TableSlice, 'rowStart' | 'nRows' | 'width' | 'name'> {
    return {
      rowStart: this.block.rowStart,
      nRows: this.block.rowEnd - this.block.rowStart,
      width: this.gradWidth,
      name: this.table.name,
    };
  }

  zeroGrad(): void {
    this.grad.clear();
  }

  /** Apply the fused optimizer to every row with a gradient (times `scale`), then clear the gradient. */
  step(scale = 1): void {
    const gradColStart = this.block.colStart - this.gradColStart;
    const width = this.block.colEnd - this.block.colStart;
    if (this.own) {
      this.optimizer.apply(
        { weights: this.own, nRows: this.block.rowEnd - this.block.rowStart, width },
        this.grad,
        { scale, gradColStart },
      );
    } else {
      // Re-key the row gradients by cache slot (an exact float64 copy, same row order) and
      // apply the optimizer to the cached rows: per row, the same arithmetic as uncached.
      const cache = this.cache!;
      // Rows holding gradients are resident (they cannot be evicted) unless the gradients
      // were restored from a checkpoint: load those for the step.
      const stepOwner = {};
      cache.acquire(stepOwner, this.grad.sortedRows(), { count: false });
      const bySlot = new SparseGradAccumulator(this.gradWidth, cache.slotCount);
      this.grad.forEachRow((row, data, offset) => {
        const slot = cache.slotOf(row);
        bySlot.addRow(slot, data, offset);
        cache.markDirty(slot);
      });
      this.optimizer.apply({ weights: cache.weights, nRows: cache.slotCount, width }, bySlot, {
        scale,
        gradColStart,
      });
      this.grad.clear();
      cache.release(stepOwner);
      return;
    }
    this.grad.clear();
  }

  stateDict(): EmbeddingShardState {
    if (this.own) {
      return {
        table: this.table.name,
        ...this.block,
        weights: this.own.slice(),
        optimizer: this.optimizer.exportState(),
      };
    }
    const { weights, state } = this.readTier();
    const kind = this.optimizer.config.kind;
    return {
      table: this.table.name,
      ...this.block,
      weights,
      optimizer: this.optimizer.rowStateWidth > 0 ? { kind, momentum: state } : { kind },
    };
  }

  loadStateDict(state: EmbeddingShardState): void {
    const b = this.block;
    if (
      state.table !== this.table.name ||
      state.rowStart !== b.rowStart ||
      state.rowEnd !== b.rowEnd ||
      state.colStart !== b.colStart ||
      state.colEnd !== b.colEnd
    ) {
      throw new Error(
        `table '${this.table.name}': cannot load shard state of '${state.table}' rows [${state.rowStart}, ${state.rowEnd}) cols [${state.colStart}, ${state.colEnd}) into rows [${b.rowStart}, ${b.rowEnd}) cols [${b.colStart}, ${b.colEnd})`,
      );
    }
    const expected = (b.rowEnd - b.rowStart) * (b.colEnd - b.colStart);
    if (state.weights.length !== expected)
      throw new Error(
        `table '${this.table.name}': shard weights have ${state.weights.length} values, expected ${expected}`,
      );
    if (this.own) {
      this.own.set(state.weights);
      this.optimizer.importState(state.optimizer);
      return;
    }
    this.loadTier(state);
  }

  private loadTier(state: EmbeddingShardState): void {
    const cache = this.cache!;
    const tier = cache.tier;
    const kind = this.optimizer.config.kind;
    if (state.optimizer.kind !== kind)
      throw new Error(
        `table '${this.table.name}': cannot import '${state.optimizer.kind}' optimizer state into a '${kind}' optimizer`,
      );
    const S = tier.stateWidth;
    const momentum = state.optimizer.momentum;
    if (S > 0 && (!momentum || momentum.length !== tier.rows * S))
      throw new Error(
        `table '${this.table.name}': optimizer state has ${momentum?.length ?? 0} rows, expected ${tier.rows}`,
      );
    cache.invalidate();
    const empty = new Float32Array(1);
    for (let r = 0; r < tier.rows; r++)
      tier.writeRow(r, state.weights, r * tier.width, momentum ?? empty, momentum ? r * S : 0);
  }
}
