/**
 * How long an op takes on the sim device: a pure function of its {@link OpCost}.
 *
 * - copies: `latencyMs + bytes / copyBytesPerMs`
 * - compute (`forward`, `backward`, `optimizer`, `lookup`, `other`): `flops / flopsPerMs`
 * - communication on a device (`dist`, `distSplits`, `distData`, `outputDist`, `collective`):
 *   only the fixed override (0 without one) — such an op wraps a process-group collective,
 *   and the process group charges the transfer, `alphaMs + bytes / betaBytesPerMs`
 *   ({@link CostModel.collectiveMs}), so nothing is counted twice
 *
 * - an op whose cost carries `ms` (priced from shapes by the topology cost model,
 *   docs/simulation.md) takes that long, whatever its kind
 *
 * Fixed per-kind overrides (ms) win over the formulas and over `ms` when given. Input dist has two
 * phases: with only a `dist` override, `distSplits` and `distData` each take **half** of it
 * (so a whole input dist costs `dist`); explicit `distSplits` / `distData` overrides win over
 * that split. The process groups use {@link CostModel.collectiveMs} (override `collective`).
 *
 * Note that on the sim device an op completes at *(time its function settled) + duration*:
 * an input-dist op whose function awaits a sim collective costs the collective's time plus
 * the op's override. To make `--cost dist=5` mean exactly 5 ms, give the process group
 * `collective: 0` (the sim cluster does this whenever stage overrides are given).
 *
 * @example
 * const model = new CostModel({ overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1') });
 * model.duration({ kind: 'distSplits' }); // 2.5
 * model.duration({ kind: 'copy', bytes: 1e9 }); // 2 (override wins)
 */
import type { OpCost } from '../../protocol/index.ts';

/** Kinds that accept a fixed duration override. */
export const COST_OVERRIDE_KEYS = [
  'copy',
  'dist',
  'distSplits',
  'distData',
  'forward',
  'backward',
  'optimizer',
  'outputDist',
  'collective',
  'lookup',
  'cacheFill',
] as const;
export type CostOverrideKey = (typeof COST_OVERRIDE_KEYS)[number];

/** Fixed durations (ms) per kind. */
export type CostOverrides = Partial<Record<CostOverrideKey, number>>;

/** Parameters of {@link CostModel}; every field has a default. */
export interface CostModelOptions {
  /** Fixed latency of a copy, ms (default 0.01). */
  latencyMs?: number;
  /** Copy bandwidth, bytes per ms (default 12e6, ~12 GB/s: PCIe 4 x16 in practice). */
  copyBytesPerMs?: number;
  /** Compute throughput, flops per ms (default 1e10, 10 TFLOP/s). */
  flopsPerMs?: number;
  /** Collective latency, ms (default 0.02). */
  alphaMs?: number;
  /** Collective bandwidth, bytes per ms (default 1e7, ~10 GB/s). */
  betaBytesPerMs?: number;
  /**
   * Slow-tier bandwidth of cached embedding tables, bytes per ms (default 2e6, ~2 GB/s: a
   * host-memory or NVMe tier). A cache fill costs `latencyMs + bytes / slowTierBytesPerMs`.
   */
  slowTierBytesPerMs?: number;
  /** Fixed per-kind durations that win over the formulas. */
  overrides?: CostOverrides;
}

const DEFAULTS = {
  latencyMs: 0.01,
  copyBytesPerMs: 12e6,
  flopsPerMs: 1e10,
  alphaMs: 0.02,
  betaBytesPerMs: 1e7,
  slowTierBytesPerMs: 2e6,
} as const;

function checkNonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0)
    throw new RangeError(`CostModel: ${name} must be a finite number ≥ 0, got ${v}`);
  return v;
}

function checkPositive(name: string, v: number): number {
  if (!(v > 0)) throw new RangeError(`CostModel: ${name} must be > 0 (Infinity allowed), got ${v}`);
  return v;
}

export class CostModel {
  readonly latencyMs: number;
  readonly copyBytesPerMs: number;
  readonly flopsPerMs: number;
  readonly alphaMs: number;
  readonly betaBytesPerMs: number;
  readonly slowTierBytesPerMs: number;
  readonly overrides: Readonly<CostOverrides>;

  constructor(options: CostModelOptions = {}) {
    this.latencyMs = checkNonNegative('latencyMs', options.latencyMs ?? DEFAULTS.latencyMs);
    this.copyBytesPerMs = checkPositive(
      'copyBytesPerMs',
      options.copyBytesPerMs ?? DEFAULTS.copyBytesPerMs,
    );
    this.flopsPerMs = checkPositive('flopsPerMs', options.flopsPerMs ?? DEFAULTS.flopsPerMs);
    this.alphaMs = checkNonNegative('alphaMs', options.alphaMs ?? DEFAULTS.alphaMs);
    this.betaBytesPerMs = checkPositive(
      'betaBytesPerMs',
      options.betaBytesPerMs ?? DEFAULTS.betaBytesPerMs,
    );
    this.slowTierBytesPerMs = checkPositive(
      'slowTierBytesPerMs',
      options.slowTierBytesPerMs ?? DEFAULTS.slowTierBytesPerMs,
    );
    const overrides: CostOverrides = {};
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
      if (!(COST_OVERRIDE_KEYS as readonly string[]).includes(key)) {
        throw new RangeError(
          `CostModel: unknown override "${key}" (known: ${COST_OVERRIDE_KEYS.join(', ')})`,
        );
      }
      if (value === undefined) continue;
      overrides[key as CostOverrideKey] = checkNonNegative(`override ${key}`, value);
    }
    this.overrides = Object.freeze(overrides);
  }

  /**
   * A model where everything takes no time (pure ordering), e.g. for logic tests.
   *
   * @example
   * CostModel.zero().duration({ kind: 'copy', bytes: 1e9 }); // 0
   */
  static zero(): CostModel {
    return new CostModel({
      latencyMs: 0,
      alphaMs: 0,
      copyBytesPerMs: Infinity,
      flopsPerMs: Infinity,
      betaBytesPerMs: Infinity,
      slowTierBytesPerMs: Infinity,
    });
  }

  /**
   * The same model with some overrides added or replaced.
   *
   * @example
   * const pgModel = model.withOverrides({ collective: 0 });
   */
  withOverrides(overrides: CostOverrides): CostModel {
    return new CostModel({ ...this.options(), overrides: { ...this.overrides, ...overrides } });
  }

  /** The options this model was built from (defaults filled in). */
  options(): Required<CostModelOptions> {
    return {
      latencyMs: this.latencyMs,
      copyBytesPerMs: this.copyBytesPerMs,
      flopsPerMs: this.flopsPerMs,
      alphaMs: this.alphaMs,
      betaBytesPerMs: this.betaBytesPerMs,
      slowTierBytesPerMs: this.slowTierBytesPerMs,
      overrides: { ...this.overrides },
    };
  }

  /**
   * Duration in ms of an op with this cost.
   *
   * @example
   * new CostModel({ flopsPerMs: 1e9 }).duration({ kind: 'forward', flops: 3e9 }); // 3
   */
  duration(cost: OpCost): number {
    const o = this.overrides;
    const bytes = cost.bytes ?? 0;
    const flops = cost.flops ?? 0;
    const priced = cost.ms;
    switch (cost.kind) {
      case 'copy':
        return o.copy ?? priced ?? this.latencyMs + bytes / this.copyBytesPerMs;
      case 'forward':
      case 'backward':
      case 'optimizer':
        return o[cost.kind] ?? priced ?? flops / this.flopsPerMs;
      // The embedding lookup of a sharded module: by flops, or a fixed `lookup=` per op.
      case 'lookup':
        return o.lookup ?? priced ?? flops / this.flopsPerMs;
      case 'other':
        return priced ?? flops / this.flopsPerMs;
      // Communication ops on a device wrap a process-group collective, and the process group
      // already charges the transfer (alpha + bytes/beta, see collectiveMs): the device op
      // adds only a fixed per-stage override, so nothing is counted twice — unless the op
      // was priced from shapes (`ms`), where the collective inside is a free rendezvous.
      case 'distSplits':
      case 'distData':
        return o[cost.kind] ?? (o.dist !== undefined ? o.dist / 2 : (priced ?? 0));
      case 'dist':
      case 'outputDist':
        return o[cost.kind] ?? priced ?? 0;
      case 'collective':
        return priced ?? 0;
      // A cache fill moves the missed rows from the slow tier (nothing when every row hit).
      case 'cacheFill':
        return (
          o.cacheFill ??
          priced ??
          (bytes > 0 ? this.latencyMs + bytes / this.slowTierBytesPerMs : 0)
        );
    }
  }

  /**
   * Duration of a collective moving `bytes` (the `collective` override wins).
   *
   * @example
   * new CostModel({ alphaMs: 1, betaBytesPerMs: 100 }).collectiveMs(200); // 3
   */
  collectiveMs(bytes: number): number {
    return this.overrides.collective ?? this.transferMs(bytes);
  }

  /** Transfer time of `bytes` by the formula (alpha + bytes/beta), ignoring overrides. */
  transferMs(bytes: number): number {
    return this.alphaMs + bytes / this.betaBytesPerMs;
  }
}

/** CLI names → override keys (`fwd`, `bwd`, `opt` are short aliases). */
const CLI_ALIASES: Readonly<Record<string, CostOverrideKey>> = {
  fwd: 'forward',
  bwd: 'backward',
  opt: 'optimizer',
  fill: 'cacheFill',
};

const CLI_NAME: Readonly<Record<CostOverrideKey, string>> = {
  copy: 'copy',
  dist: 'dist',
  distSplits: 'distSplits',
  distData: 'distData',
  forward: 'fwd',
  backward: 'bwd',
  optimizer: 'opt',
  outputDist: 'outputDist',
  collective: 'collective',
  lookup: 'lookup',
  cacheFill: 'fill',
};

/** A `--cost` string could not be parsed; the message names the offending part. */
export class CostSpecError extends Error {
  override readonly name = 'CostSpecError';
}

/**
 * Parse a CLI cost string `copy=2,dist=5,fwd=3,bwd=4,opt=1` (ms). Keys: the override keys
 * plus the aliases `fwd`, `bwd`, `opt`. Empty string → no overrides.
 *
 * @example
 * parseCostOverrides('copy=2,fwd=3'); // { copy: 2, forward: 3 }
 * parseCostOverrides('fwd=3,speed=9'); // throws CostSpecError: unknown key "speed" …
 */
export function parseCostOverrides(spec: string): CostOverrides {
  const out: CostOverrides = {};
  const trimmed = spec.trim();
  if (trimmed === '') return out;
  const known = [...COST_OVERRIDE_KEYS, ...Object.keys(CLI_ALIASES)].join(', ');
  for (const rawPart of trimmed.split(',')) {
    const part = rawPart.trim();
    const eq = part.indexOf('=');
    if (eq < 0) throw new CostSpecError(`--cost: "${part}" is not key=ms (in "${spec}")`);
    const name = part.slice(0, eq).trim();
    const rawValue = part.slice(eq + 1).trim();
    const key: CostOverrideKey | undefined =
      CLI_ALIASES[name] ??
      ((COST_OVERRIDE_KEYS as readonly string[]).includes(name)
        ? (name as CostOverrideKey)
        : undefined);
    if (!key)
      throw new CostSpecError(`--cost: unknown key "${name}" in "${spec}" (known: ${known})`);
    const value = rawValue === '' ? NaN : Number(rawValue);
    if (!Number.isFinite(value) || value < 0) {
      throw new CostSpecError(
        `--cost: value of "${name}" must be a number of ms ≥ 0, got "${rawValue}"`,
      );
    }
    if (out[key] !== undefined)
      throw new CostSpecError(`--cost: "${name}" given twice in "${spec}"`);
    out[key] = value;
  }
  return out;
}

/**
 * Format overrides as a CLI cost string (inverse of {@link parseCostOverrides}), keys in a
 * fixed order, using the short aliases.
 *
 * @example
 * formatCostOverrides({ forward: 3, copy: 2 }); // 'copy=2,fwd=3'
 */
export function formatCostOverrides(overrides: CostOverrides): string {
  return COST_OVERRIDE_KEYS.filter((k) => overrides[k] !== undefined)
    .map((k) => `${CLI_NAME[k]}=${overrides[k]}`)
    .join(',');
}
