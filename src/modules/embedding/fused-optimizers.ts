/**
 * Fused sparse optimizers (FBGEMM / TorchRec `EmbOptimType.EXACT_SGD`, `EXACT_ROWWISE_ADAGRAD`):
 * applied per touched row straight from a {@link SparseGradAccumulator}.
 *
 * Unlike TorchRec, where the fused optimizer runs inside every backward, sparsepipe splits
 * the two: `backward` only accumulates row gradients, `step(scale)` applies them, so
 * A micro-batches train exactly like one batch of A·B (docs/design.md "The seed pipeline and what sparsepipe fixes"). `scale` multiplies every
 * gradient before use (the pipeline passes e.g. `A/m` for a partial accumulation window, or
 * `1/lossScale`).
 *
 * - **SGD**: `w -= lr · g`.
 * - **Row-wise Adagrad**: one accumulator per row,
 *   `acc_r += mean_j(g_rj²)` (mean over the *whole* row's `dim` columns), then
 *   `w_rj -= lr · g_rj / (sqrt(acc_r) + eps)`. For a column-wise shard the row mean still
 *   covers every column of the logical table (the shard receives full-row gradients, see
 *   {@link FusedSparseOptimizer.needsFullRowGrad}), so sharding never changes the math.
 *
 * Weights and the Adagrad state are float32; each row's update is computed in float64.
 *
 * @example
 * const opt = createFusedOptimizer({ kind: 'adagrad', lr: 0.1 }, nRows);
 * opt.apply({ weights, nRows, width }, acc, { scale: 1, gradColStart: 0 });
 */
import { adagradApplyDim16, DIM16, dim16Loops, sgdApplyDim16 } from './dim16-kernels.ts';
import type { SparseGradAccumulator } from './sparse-grad-accumulator.ts';

export type FusedOptimizerConfig =
  | { kind: 'sgd'; lr: number }
  | {
      kind: 'adagrad';
      lr: number;
      /** Added to `sqrt(acc)` (default 1e-8, FBGEMM's). */
      eps?: number;
      /** Initial per-row accumulator (default 0). */
      initialAccumulatorValue?: number;
    };

/** Serialisable optimizer state of one table block (`momentum`: one float per row, Adagrad only). */
export interface FusedOptimizerState {
  kind: FusedOptimizerConfig['kind'];
  momentum?: Float32Array;
}

/** The parameters one optimizer updates: row-major `[nRows, width]`. */
export interface OptimizedBlock {
  weights: Float32Array;
  nRows: number;
  width: number;
}

export interface ApplyOptions {
  /** Multiplies every gradient (default 1). */
  scale?: number;
  /** Column of the block's first weight column inside each accumulated gradient row. */
  gradColStart: number;
}

export interface FusedSparseOptimizer {
  readonly config: FusedOptimizerConfig;
  /** True when the optimizer needs the gradient of the whole logical row (row-wise statistics). */
  readonly needsFullRowGrad: boolean;
  /** Update every row present in `grads` (keyed by local row); does not clear `grads`. */
  apply(block: OptimizedBlock, grads: SparseGradAccumulator, opts: ApplyOptions): void;
  exportState(): FusedOptimizerState;
  importState(state: FusedOptimizerState): void;
  /** Floats of per-row optimizer state (0 for SGD, 1 for row-wise Adagrad). */
  readonly rowStateWidth: number;
  /** Copy row `row`'s state into `out[offset ..)` (a row cache moving the row to its slow tier). */
  readRowState(row: number, out: Float32Array, offset: number): void;
  /** Set row `row`'s state from `src[offset ..)` (a row cache loading the row). */
  writeRowState(row: number, src: Float32Array, offset: number): void;
  /** Grow the per-row state to `nRows` rows (new rows get the initial state). */
  growRows(nRows: number): void;
}

function checkLr(config: FusedOptimizerConfig): void {
  if (!Number.isFinite(config.lr) || config.lr < 0)
    throw new Error(
      `fused ${config.kind} optimizer: lr must be a finite number ≥ 0, got ${config.lr}`,
    );
}

function checkWidths(
  block: OptimizedBlock,
  grads: SparseGradAccumulator,
  gradColStart: number,
  kind: string,
): void {
  if (gradColStart < 0 || gradColStart + block.width > grads.width) {
    throw new Error(
      `fused ${kind}: block columns [${gradColStart}, ${gradColStart + block.width}) do not fit gradient rows of width ${grads.width}`,
    );
  }
}

function sgdRowOutOfRange(row: number, nRows: number): RangeError {
  return new RangeError(`fused sgd: gradient row ${row} outside block of ${nRows} rows`);
}

class FusedSgd implements FusedSparseOptimizer {
  readonly needsFullRowGrad = false;
  readonly rowStateWidth = 0;
  readRowState(): void {}
  writeRowState(): void {}
  growRows(): void {}
  constructor(readonly config: Extract<FusedOptimizerConfig, { kind: 'sgd' }>) {
    checkLr(config);
  }

  apply(block: OptimizedBlock, grads: SparseGradAccumulator, opts: ApplyOptions): void {
    checkWidths(block, grads, opts.gradColStart, 'sgd');
    const step = this.config.lr * (opts.scale ?? 1);
    const { weights, width, nRows } = block;
    const c0 = opts.gradColStart;
    grads.touchTarget(weights, width, nRows);
    if (width === DIM16 && dim16Loops.enabled) {
      const bad = sgdApplyDim16(weights, nRows, grads, step, c0);
      if (bad >= 0) throw sgdRowOutOfRange(grads.slotRows[bad], nRows);
      return;
    }
    grads.forEachRow((row, g, o) => {
      if (row < 0 || row >= nRows) throw sgdRowOutOfRange(row, nRows);
      const base = row * width;
      for (let j = 0; j < width; j++) weights[base + j] = weights[base + j] - step * g[o + c0 + j];
    });
  }

  exportState(): FusedOptimizerState {
    return { kind: 'sgd' };
  }

  importState(state: FusedOptimizerState): void {
    if (state.kind !== 'sgd')
      throw new Error(`fused sgd: cannot import '${state.kind}' optimizer state`);
  }
}

function adagradRowOutOfRange(row: number, nRows: number): RangeError {
  return new RangeError(
    `fused row-wise adagrad: gradient row ${row} outside block of ${nRows} rows`,
  );
}

class FusedRowWiseAdagrad implements FusedSparseOptimizer {
  readonly needsFullRowGrad = true;
  readonly rowStateWidth = 1;
  private momentum: Float32Array;

  readRowState(row: number, out: Float32Array, offset: number): void {
    out[offset] = this.momentum[row];
  }

  writeRowState(row: number, src: Float32Array, offset: number): void {
    this.momentum[row] = src[offset];
  }

  growRows(nRows: number): void {
    if (nRows <= this.momentum.length) return;
    const grown = new Float32Array(nRows).fill(this.config.initialAccumulatorValue ?? 0);
    grown.set(this.momentum);
    this.momentum = grown;
  }

  constructor(
    readonly config: Extract<FusedOptimizerConfig, { kind: 'adagrad' }>,
    nRows: number,
  ) {
    checkLr(config);
    this.momentum = new Float32Array(nRows).fill(config.initialAccumulatorValue ?? 0);
  }

  apply(block: OptimizedBlock, grads: SparseGradAccumulator, opts: ApplyOptions): void {
    checkWidths(block, grads, opts.gradColStart, 'row-wise adagrad');
    const scale = opts.scale ?? 1;
    const lr = this.config.lr;
    const eps = this.config.eps ?? 1e-8;
    const { weights, width, nRows } = block;
    const gw = grads.width;
    const c0 = opts.gradColStart;
    const m = this.momentum;
    grads.touchTarget(weights, width, nRows);
    if (width === DIM16 && gw === DIM16 && dim16Loops.enabled) {
      const bad = adagradApplyDim16(weights, nRows, grads, m, scale, lr, eps);
      if (bad >= 0) throw adagradRowOutOfRange(grads.slotRows[bad], nRows);
      return;
    }
    grads.forEachRow((row, g, o) => {
      if (row < 0 || row >= nRows) throw adagradRowOutOfRange(row, nRows);
      let sq = 0;
      for (let j = 0; j < gw; j++) {
        const v = scale * g[o + j];
        sq += v * v;
      }
      m[row] = m[row] + sq / gw;
      const mult = lr / (Math.sqrt(m[row]) + eps);
      const base = row * width;
      for (let j = 0; j < width; j++)
        weights[base + j] = weights[base + j] - mult * (scale * g[o + c0 + j]);
    });
  }

  exportState(): FusedOptimizerState {
    return { kind: 'adagrad', momentum: this.momentum.slice() };
  }

  importState(state: FusedOptimizerState): void {
    if (state.kind !== 'adagrad' || !state.momentum)
      throw new Error(
        `fused row-wise adagrad: expected 'adagrad' state with momentum, got '${state.kind}'`,
      );
    if (state.momentum.length !== this.momentum.length) {
      throw new Error(
        `fused row-wise adagrad: momentum has ${state.momentum.length} rows, expected ${this.momentum.length}`,
      );
    }
    this.momentum = state.momentum.slice();
  }
}

/**
 * A fused optimizer for a block of `nRows` rows.
 *
 * @example
 * const sgd = createFusedOptimizer({ kind: 'sgd', lr: 0.05 }, 1000);
 */
export function createFusedOptimizer(
  config: FusedOptimizerConfig,
  nRows: number,
): FusedSparseOptimizer {
  switch (config.kind) {
    case 'sgd':
      return new FusedSgd(config);
    case 'adagrad':
      return new FusedRowWiseAdagrad(config, nRows);
    default:
      throw new Error(
        `unknown fused optimizer kind '${(config as { kind: string }).kind}' (expected 'sgd' or 'adagrad')`,
      );
  }
}
