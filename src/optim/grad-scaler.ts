/**
 * Dynamic loss scaling (PyTorch's `torch.cuda.amp.GradScaler`), in plain TypeScript.
 *
 * The loss is multiplied by `scale` before backward; gradients are divided by it before the
 * optimizer step. When a gradient holds an inf or NaN the step is **skipped** and the scale
 * multiplied by `backoffFactor`; after `growthInterval` consecutive clean steps it is
 * multiplied by `growthFactor`.
 *
 * @example
 * const scaler = new GradScaler();                        // scale 2^16
 * const loss = tf.mul(out.losses, scaler.scale);          // backward on the scaled loss
 * …accumulate gradients…
 * const { skipped } = await scaler.stepAndUpdate(optimizer, 1 / gradAccum);
 */
import type { GradScalerState } from '../protocol/index.ts';

export type { GradScalerState };

export interface GradScalerOptions {
  /** Initial scale (default 2^16). */
  initScale?: number;
  /** Multiplier after `growthInterval` clean steps (default 2). */
  growthFactor?: number;
  /** Multiplier on inf/NaN (default 0.5). */
  backoffFactor?: number;
  /** Consecutive clean steps before growing (default 2000). */
  growthInterval?: number;
  /** When false, `scale` is 1 and steps are never skipped (default true). */
  enabled?: boolean;
}

/** What a scaler needs of an optimizer (a `DenseOptimizer` or `CombinedOptimizer` is one). */
export interface ScalableOptimizer {
  /** Data parallel: all-reduce the gradients before they are checked (optional). */
  synchronize?(): void | Promise<void>;
  hasNonFiniteGrads(): boolean | Promise<boolean>;
  step(scale: number): void | Promise<void>;
  zeroGrad(): void | Promise<void>;
}

/** Outcome of one {@link GradScaler.update}. */
export interface ScalerUpdate {
  /** True when the step was skipped (inf/NaN found). */
  skipped: boolean;
  /** The scale for the next step. */
  scale: number;
  /** The scale changed on this update (`'grew'` / `'backedOff'`), or not. */
  change: 'grew' | 'backedOff' | 'none';
}

/**
 * True when any value in `arrays` is inf, -inf or NaN.
 *
 * @example
 * hasNonFinite([Float32Array.of(1, 2), Float32Array.of(Infinity)]); // true
 */
export function hasNonFinite(arrays: readonly Float32Array[]): boolean {
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      // x - x is 0 for finite x, NaN for ±inf and NaN
      if (a[i] - a[i] !== 0) return true;
    }
  }
  return false;
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`GradScaler: ${what} must be a finite number > 0, got ${value}`);
  return value;
}

/**
 * Dynamic loss scale with skip-on-overflow.
 *
 * @example
 * const scaler = new GradScaler({ initScale: 1024, growthInterval: 100 });
 * scaler.update(true);  // → { skipped: true, scale: 512, change: 'backedOff' }
 */
export class GradScaler {
  private current = 2 ** 16;
  private config: Required<Omit<GradScalerOptions, 'initScale'>> = {
    growthFactor: 2,
    backoffFactor: 0.5,
    growthInterval: 2000,
    enabled: true,
  };
  private tracker = 0;

  constructor(options: GradScalerOptions = {}) {
    this.importState({
      scale: options.initScale ?? 2 ** 16,
      growthFactor: options.growthFactor ?? 2,
      backoffFactor: options.backoffFactor ?? 0.5,
      growthInterval: options.growthInterval ?? 2000,
      growthTracker: 0,
      enabled: options.enabled ?? true,
    });
  }

  get growthFactor(): number {
    return this.config.growthFactor;
  }

  get backoffFactor(): number {
    return this.config.backoffFactor;
  }

  get growthInterval(): number {
    return this.config.growthInterval;
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** The factor to multiply the loss by (1 when disabled). */
  get scale(): number {
    return this.enabled ? this.current : 1;
  }

  /** Consecutive clean steps since the last growth or backoff. */
  get growthTracker(): number {
    return this.tracker;
  }

  /**
   * Record one step's outcome. `foundInf` → the step must be skipped and the scale backs off;
   * otherwise count a clean step and grow after `growthInterval` of them.
   */
  update(foundInf: boolean): ScalerUpdate {
    if (!this.enabled) return { skipped: false, scale: 1, change: 'none' };
    if (foundInf) {
      this.current *= this.config.backoffFactor;
      this.tracker = 0;
      return { skipped: true, scale: this.current, change: 'backedOff' };
    }
    this.tracker += 1;
    if (this.tracker >= this.config.growthInterval) {
      this.tracker = 0;
      const grown = this.current * this.config.growthFactor;
      if (Number.isFinite(grown)) {
        this.current = grown;
        return { skipped: false, scale: this.current, change: 'grew' };
      }
    }
    return { skipped: false, scale: this.current, change: 'none' };
  }

  /**
   * One optimizer step under loss scaling: synchronize, check for inf/NaN, then either
   * `optimizer.step(scale / this.scale)` or (overflow) `optimizer.zeroGrad()`; then
   * {@link update}. `scale` is an extra factor, e.g. `1 / gradAccum`.
   */
  async stepAndUpdate(optimizer: ScalableOptimizer, scale = 1): Promise<ScalerUpdate> {
    if (!this.enabled) {
      await optimizer.step(scale);
      return this.update(false);
    }
    await optimizer.synchronize?.();
    const foundInf = await optimizer.hasNonFiniteGrads();
    if (foundInf) await optimizer.zeroGrad();
    else await optimizer.step(scale / this.current);
    return this.update(foundInf);
  }

  exportState(): GradScalerState {
    return {
      scale: this.current,
      growthFactor: this.growthFactor,
      backoffFactor: this.backoffFactor,
      growthInterval: this.growthInterval,
      growthTracker: this.tracker,
      enabled: this.enabled,
    };
  }

  /** Restore every field (like PyTorch's `load_state_dict`); validates all before changing any. */
  importState(state: GradScalerState): void {
    positive(state.scale, 'scale');
    positive(state.growthFactor, 'growthFactor');
    positive(state.backoffFactor, 'backoffFactor');
    if (state.growthFactor <= 1)
      throw new Error(`GradScaler: growthFactor must be > 1, got ${state.growthFactor}`);
    if (state.backoffFactor >= 1)
      throw new Error(`GradScaler: backoffFactor must be < 1, got ${state.backoffFactor}`);
    if (!Number.isInteger(state.growthInterval) || state.growthInterval < 1) {
      throw new Error(
        `GradScaler: growthInterval must be an integer >= 1, got ${state.growthInterval}`,
      );
    }
    if (!Number.isInteger(state.growthTracker) || state.growthTracker < 0) {
      throw new Error(
        `GradScaler: growthTracker must be an integer >= 0, got ${state.growthTracker}`,
      );
    }
    if (typeof state.enabled !== 'boolean')
      throw new Error(`GradScaler: enabled must be a boolean, got ${String(state.enabled)}`);
    this.current = state.scale;
    this.tracker = state.growthTracker;
    this.config = {
      growthFactor: state.growthFactor,
      backoffFactor: state.backoffFactor,
      growthInterval: state.growthInterval,
      enabled: state.enabled,
    };
  }

  /** A scaler built from a saved state. */
  static fromState(state: GradScalerState): GradScaler {
    const scaler = new GradScaler();
    scaler.importState(state);
    return scaler;
  }
}
