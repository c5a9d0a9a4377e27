/**
 * A DLRM described by its shapes only — tables (rows, dim, pooling factor), per-rank batch,
 * the dense MLPs — for planning and simulating clusters far larger than this machine. No
 * row is ever allocated: sizes feed the cost model (docs/simulation.md).
 *
 * Dense part (DLRM): bottom MLP `denseIn → bottom…` (its last width is the embedding dim
 * the interaction needs), pairwise dot interaction of the F table outputs and the bottom
 * output (`(F+1)·F/2` dots of width d), top MLP `d + (F+1)·F/2 → top…`. Forward flops per
 * rank: `2·B·Σ in·out` over both MLPs plus `2·B·(F+1)²·d` for the interaction (the full
 * Gram matrix, as the batched matmul computes it); backward = 2 × forward.
 *
 * @example
 * const spec = scaleModel('production');
 * spec.tables.length; // 512
 * denseForwardFlops(spec); // flops of one rank's dense forward
 */

/** One embedding table (one feature per table). */
export interface ScaleTable {
  name: string;
  rows: number;
  dim: number;
  /** Average ids per sample. */
  poolingFactor: number;
}

export interface ScaleModelSpec {
  name: string;
  /** What the model stands for, for reports. */
  description: string;
  tables: readonly ScaleTable[];
  /** Examples per rank per batch. */
  batchSize: number;
  denseIn: number;
  bottom: readonly number[];
  top: readonly number[];
}

export const SCALE_MODEL_NAMES = ['small', 'medium', 'production'] as const;
export type ScaleModelName = (typeof SCALE_MODEL_NAMES)[number];

/** A deterministic spread in [0, n) for table t (a multiplicative hash, no randomness). */
function spread(t: number, n: number, salt: number): number {
  return (t * 2654435761 + salt * 40503) % n;
}

function tables(count: number, rows: (t: number) => number, dim: number): ScaleTable[] {
  return Array.from({ length: count }, (_, t) => ({
    name: `t${t}`,
    rows: rows(t),
    dim,
    poolingFactor: 1 + spread(t, 40, 7),
  }));
}

/**
 * The named model sizes:
 * - `small`: 8 tables × 10,000–80,000 rows × dim 16, batch 64 per rank (tests);
 * - `medium`: 64 tables × 1–5 M rows × dim 128 (~107 GB of fp32 rows: fits 8 GPUs of 80 GB), batch 512 per rank;
 * - `production`: 512 tables × 10–60 M rows × dim 128 (~9 TB of rows: needs ≥ 128 GPUs of 80 GB), batch 512 per rank.
 * Pooling factors 1–40 (a fixed spread); bottom MLP 512-256-d, top MLP 1024-1024-512-256-1.
 *
 * @example
 * scaleModel('medium').tables[0]; // { name: 't0', rows: …, dim: 128, poolingFactor: … }
 */
export function scaleModel(name: ScaleModelName): ScaleModelSpec {
  switch (name) {
    case 'small':
      return {
        name,
        description: '8 tables × 10k–80k rows × dim 16, batch 64 per rank',
        tables: tables(8, (t) => 10_000 * (1 + spread(t, 8, 3)), 16),
        batchSize: 64,
        denseIn: 13,
        bottom: [64, 16],
        top: [64, 1],
      };
    case 'medium':
      return {
        name,
        description: '64 tables × 1–5 M rows × dim 128, batch 512 per rank',
        tables: tables(64, (t) => 1_000_000 * (1 + spread(t, 5, 5)), 128),
        batchSize: 512,
        denseIn: 13,
        bottom: [512, 256, 128],
        top: [1024, 1024, 512, 256, 1],
      };
    case 'production':
      return {
        name,
        description: '512 tables × 10–60 M rows × dim 128, batch 512 per rank',
        tables: tables(512, (t) => 10_000_000 * (1 + spread(t, 6, 11)), 128),
        batchSize: 512,
        denseIn: 13,
        bottom: [512, 256, 128],
        top: [1024, 1024, 512, 256, 1],
      };
  }
}

/** The layer widths of both MLPs as (in, out) pairs. */
function mlpLayers(spec: ScaleModelSpec): Array<[number, number]> {
  const F = spec.tables.length;
  const d = spec.bottom[spec.bottom.length - 1];
  const layers: Array<[number, number]> = [];
  let inW = spec.denseIn;
  for (const w of spec.bottom) {
    layers.push([inW, w]);
    inW = w;
  }
  inW = d + ((F + 1) * F) / 2;
  for (const w of spec.top) {
    layers.push([inW, w]);
    inW = w;
  }
  return layers;
}

/** Dense parameters (weights and biases of both MLPs). */
export function denseParameters(spec: ScaleModelSpec): number {
  return mlpLayers(spec).reduce((a, [i, o]) => a + i * o + o, 0);
}

/** Flops of one rank's dense forward (see the module doc). */
export function denseForwardFlops(spec: ScaleModelSpec): number {
  const B = spec.batchSize;
  const F = spec.tables.length;
  const d = spec.bottom[spec.bottom.length - 1];
  const mlp = mlpLayers(spec).reduce((a, [i, o]) => a + 2 * B * i * o, 0);
  return mlp + 2 * B * (F + 1) * (F + 1) * d;
}

/** Bytes of one rank's batch as it is copied to the device: dense fp32, labels, int32 lengths, int64 ids. */
export function batchBytes(spec: ScaleModelSpec): number {
  const B = spec.batchSize;
  const ids = spec.tables.reduce((a, t) => a + B * t.poolingFactor, 0);
  return B * spec.denseIn * 4 + B * 4 + B * spec.tables.length * 4 + ids * 8;
}

/** Bytes of every table's fp32 rows. */
export function embeddingBytes(spec: ScaleModelSpec): number {
  return spec.tables.reduce((a, t) => a + t.rows * t.dim * 4, 0);
}

/**
 * Check a model description read from JSON; throws naming the field.
 *
 * @example
 * checkScaleModel({ ...scaleModel('small'), batchSize: 0 }, 'model.json'); // throws: model.json: batchSize must be an integer ≥ 1, got 0
 */
export function checkScaleModel(spec: ScaleModelSpec, where: string): ScaleModelSpec {
  const int = (v: unknown, field: string) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
      throw new Error(`${where}: ${field} must be an integer ≥ 1, got ${JSON.stringify(v)}`);
  };
  int(spec.batchSize, 'batchSize');
  int(spec.denseIn, 'denseIn');
  if (!Array.isArray(spec.tables) || spec.tables.length === 0)
    throw new Error(`${where}: tables must be a non-empty array`);
  spec.tables.forEach((t, i) => {
    if (typeof t.name !== 'string' || t.name === '')
      throw new Error(`${where}: tables[${i}].name must be a non-empty string`);
    int(t.rows, `tables[${i}].rows`);
    int(t.dim, `tables[${i}].dim`);
    if (typeof t.poolingFactor !== 'number' || !(t.poolingFactor > 0))
      throw new Error(
        `${where}: tables[${i}].poolingFactor must be a number > 0, got ${JSON.stringify(t.poolingFactor)}`,
      );
  });
  for (const key of ['bottom', 'top'] as const) {
    const layers = spec[key];
    if (!Array.isArray(layers) || layers.length === 0)
      throw new Error(`${where}: ${key} must be a non-empty array of layer widths`);
    layers.forEach((w, i) => int(w, `${key}[${i}]`));
  }
  return spec;
}
