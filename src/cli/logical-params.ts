/**
 * The run's parameters under logical names — the same for any world size, sharding plan
 * and backend: `dense.<parameter>` (rank 0's replica; replicas are identical) and
 * `sparse.<table>` (the whole `[rows, dim]` table assembled from every rank's shards).
 *
 * `paramsDigest` is the sha256 over all of them in name order: for each parameter the
 * UTF-8 name, a NUL, the shape as JSON, a NUL, then its float32 values little-endian.
 *
 * @example
 * const params = logicalParams(results);
 * paramsDigest(params); // 'a3f…'
 * paramsSummary(params)['sparse.t0']; // { shape: [1000, 8], l2: 3.1, sum: -0.4 }
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { assembleStateDict } from '../modules/sharding/sharded-state.ts';
import type { RankResult } from './rank-job.ts';

export interface LogicalParam {
  shape: number[];
  values: Float32Array;
}

/** `{ shape, l2, sum }` of one parameter (sums in float64). */
export interface ParamStats {
  shape: number[];
  l2: number;
  sum: number;
}

/**
 * Every logical parameter, sorted by name.
 *
 * @example
 * Object.keys(logicalParams(results)); // ['dense.bottom.layers.0.bias', …, 'sparse.t0', …]
 */
export function logicalParams(
  results: readonly Pick<RankResult, 'denseParams' | 'sparseState'>[],
): Map<string, LogicalParam> {
  const out = new Map<string, LogicalParam>();
  for (const [name, p] of Object.entries(results[0].denseParams))
    out.set(`dense.${name}`, { shape: [...p.shape], values: p.values });
  const logical = assembleStateDict(results.map((r) => r.sparseState));
  const plan = results[0].sparseState.plan;
  for (const [name, values] of Object.entries(logical.tables)) {
    const shards = plan.tables[name].shards;
    const rows = Math.max(...shards.map((s) => s.rowEnd));
    const dim = Math.max(...shards.map((s) => s.colEnd));
    out.set(`sparse.${name}`, { shape: [rows, dim], values });
  }
  for (const [f, values] of Object.entries(logical.featureProcessors))
    out.set(`sparse.fp.${f}`, { shape: [values.length], values });
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * sha256 (hex) of the parameters in name order (see the module doc).
 *
 * @example
 * paramsDigest(logicalParams(results)).length; // 64
 */
export function paramsDigest(params: ReadonlyMap<string, LogicalParam>): string {
  const hash = createHash('sha256');
  const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, p] of sorted) {
    hash.update(`${name}\0${JSON.stringify(p.shape)}\0`);
    hash.update(littleEndianBytes(p.values));
  }
  return hash.digest('hex');
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  if (endianness() === 'LE')
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/**
 * `{ shape, l2, sum }` per parameter, in name order.
 *
 * @example
 * paramsSummary(params)['dense.top.layers.1.bias'].sum;
 */
export function paramsSummary(
  params: ReadonlyMap<string, LogicalParam>,
): Record<string, ParamStats> {
  const out: Record<string, ParamStats> = {};
  for (const [name, p] of params) {
    let sq = 0;
    let sum = 0;
    for (let i = 0; i < p.values.length; i++) {
      sq += p.values[i] * p.values[i];
      sum += p.values[i];
    }
    out[name] = { shape: [...p.shape], l2: Math.sqrt(sq), sum };
  }
  return out;
}
