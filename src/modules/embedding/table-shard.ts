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
 */
import type { EmbeddingBagConfig } from './config.ts';
import {
  createFusedOptimizer,
  type FusedOptimizerConfig,
  type FusedOptimizerState,
  type FusedSparseOptimizer,
} from './fused-optimizers.ts';
import { initTableSlice, type TableBlock } from './init.ts';
import type { TableSlice } from './kernels.ts';
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

export class EmbeddingTableShard {
  readonly table: EmbeddingBagConfig;
  readonly block: TableBlock;
  readonly weights: Float32Array;
  readonly optimizer: FusedSparseOptimizer;
  readonly grad: SparseGradAccumulator;
  /** First logical column covered by the gradient rows in {@link grad}. */
  readonly gradColStart: number;
  /** Number of columns in each gradient row. */
  readonly gradWidth: number;
  readonly slice: TableSlice;

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
    this.weights = initTableSlice(table, opts.seed, block);
    const nRows = block.rowEnd - block.rowStart;
    this.optimizer = createFusedOptimizer(opts.optimizer, nRows);
    const full = this.optimizer.needsFullRowGrad;
    this.gradColStart = full ? 0 : block.colStart;
    this.gradWidth = full ? table.dim : block.colEnd - block.colStart;
    this.grad = new SparseGradAccumulator(this.gradWidth, nRows);
    this.slice = {
      weights: this.weights,
      rowStart: block.rowStart,
      nRows,
      width: block.colEnd - block.colStart,
      name: table.name,
    };
  }

  /** Same slice viewed with the gradient's width and columns (for the backward kernel). */
  get gradSlice(): Pick<TableSlice, 'rowStart' | 'nRows' | 'width' | 'name'> {
    return {
      rowStart: this.block.rowStart,
      nRows: this.slice.nRows,
      width: this.gradWidth,
      name: this.table.name,
    };
  }

  zeroGrad(): void {
    this.grad.clear();
  }

  /** Apply the fused optimizer to every row with a gradient (times `scale`), then clear the gradient. */
  step(scale = 1): void {
    this.optimizer.apply(
      { weights: this.weights, nRows: this.slice.nRows, width: this.slice.width },
      this.grad,
      { scale, gradColStart: this.block.colStart - this.gradColStart },
    );
    this.grad.clear();
  }

  stateDict(): EmbeddingShardState {
    return {
      table: this.table.name,
      ...this.block,
      weights: this.weights.slice(),
      optimizer: this.optimizer.exportState(),
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
    if (state.weights.length !== this.weights.length)
      throw new Error(
        `table '${this.table.name}': shard weights have ${state.weights.length} values, expected ${this.weights.length}`,
      );
    this.weights.set(state.weights);
    this.optimizer.importState(state.optimizer);
  }
}
