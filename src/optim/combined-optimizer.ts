/**
 * `CombinedOptimizer` (TorchRec's `CombinedOptimizer` / `KeyedOptimizer` in spirit): one
 * object that the pipeline steps, grouping the dense optimizer and the fused sparse
 * optimizers of the embedding modules.
 *
 * Every part only needs `zeroGrad()` and `step(scale)`; the optional `synchronize()`,
 * `hasNonFiniteGrads()`, `exportState()` / `importState()` are used when present, so a
 * `GradScaler` sees inf/NaN in any part and a checkpoint holds every part's state.
 *
 * @example
 * const optimizer = new CombinedOptimizer({ dense: new SGD(model, { lr: 0.1 }), sparse: { ebc: ebc.optimizer } });
 * await optimizer.zeroGrad();
 * …forward, backward, accumulate…
 * await optimizer.step(1 / gradAccum);
 */

/** Anything the pipeline can step: a dense optimizer, a fused sparse optimizer, … */
export interface StepOptimizer {
  zeroGrad(): void | Promise<void>;
  /** Apply the accumulated gradients × `scale`, then clear them. */
  step(scale: number): void | Promise<void>;
  /** Data parallel: all-reduce the accumulated gradients (once per step). */
  synchronize?(): void | Promise<void>;
  /** True when an accumulated gradient holds inf or NaN. */
  hasNonFiniteGrads?(): boolean | Promise<boolean>;
  exportState?(): unknown;
  importState?(state: never): void;
}

export interface CombinedOptimizerParts {
  /** The dense optimizer (stepped first). */
  dense?: StepOptimizer;
  /** Sparse optimizers by name (e.g. the sharded module's path), stepped in insertion order. */
  sparse?: Readonly<Record<string, StepOptimizer>> | readonly StepOptimizer[];
}

/** `exportState()` of a `CombinedOptimizer`: each part's state by name (`'dense'`, `'sparse.<name>'`). */
export type CombinedOptimizerState = Record<string, unknown>;

/**
 * Steps, zeroes, synchronizes and checkpoints several optimizers as one.
 *
 * @example
 * const combined = new CombinedOptimizer({ dense, sparse: [tableOptimizer] });
 * combined.names; // ['dense', 'sparse.0']
 */
export class CombinedOptimizer implements StepOptimizer {
  private readonly parts: ReadonlyArray<readonly [string, StepOptimizer]>;

  constructor(parts: CombinedOptimizerParts) {
    const list: Array<readonly [string, StepOptimizer]> = [];
    if (parts.dense) list.push(['dense', parts.dense]);
    const sparse = parts.sparse ?? {};
    const entries = Array.isArray(sparse)
      ? sparse.map((o, i) => [String(i), o] as const)
      : Object.entries(sparse);
    for (const [name, optimizer] of entries) {
      if (typeof optimizer?.step !== 'function' || typeof optimizer.zeroGrad !== 'function') {
        throw new Error(
          `CombinedOptimizer: sparse optimizer '${name}' must have step(scale) and zeroGrad()`,
        );
      }
      list.push([`sparse.${name}`, optimizer]);
    }
    this.parts = list;
  }

  /** Part names in stepping order: `'dense'`, then `'sparse.<name>'`. */
  get names(): string[] {
    return this.parts.map(([n]) => n);
  }

  /** The part called `name` (see {@link names}). */
  get(name: string): StepOptimizer | undefined {
    return this.parts.find(([n]) => n === name)?.[1];
  }

  async zeroGrad(): Promise<void> {
    for (const [, o] of this.parts) await o.zeroGrad();
  }

  async step(scale = 1): Promise<void> {
    for (const [, o] of this.parts) await o.step(scale);
  }

  async synchronize(): Promise<void> {
    for (const [, o] of this.parts) await o.synchronize?.();
  }

  /** True when any part that can tell reports inf/NaN (every such part is asked). */
  async hasNonFiniteGrads(): Promise<boolean> {
    let found = false;
    for (const [, o] of this.parts)
      if (o.hasNonFiniteGrads && (await o.hasNonFiniteGrads())) found = true;
    return found;
  }

  /** Each part's `exportState()`, by part name (parts without one are left out). */
  exportState(): CombinedOptimizerState {
    const state: CombinedOptimizerState = {};
    for (const [name, o] of this.parts) if (o.exportState) state[name] = o.exportState();
    return state;
  }

  /** Give each part its state; throws naming the part when one is missing or unexpected. */
  importState(state: CombinedOptimizerState): void {
    for (const name of Object.keys(state)) {
      const part = this.get(name);
      if (!part)
        throw new Error(
          `CombinedOptimizer.importState: state has a part '${name}' that this optimizer does not (parts: ${this.names.join(', ')})`,
        );
      if (!part.importState)
        throw new Error(`CombinedOptimizer.importState: part '${name}' cannot import state`);
    }
    for (const [name, o] of this.parts) {
      if (o.exportState && !(name in state))
        throw new Error(`CombinedOptimizer.importState: state has no entry for part '${name}'`);
    }
    for (const [name, o] of this.parts)
      if (name in state) (o.importState as (s: unknown) => void).call(o, state[name]);
  }
}
