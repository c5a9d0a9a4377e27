/**
 * A fingerprint of a rank's parameters: sha256 over every dense variable (by name, sorted)
 * and the weights this rank holds of every embedding table (local shards of sharded
 * collections, whole tables of unsharded ones, feature-processor parameters), each entry
 * prefixed by its name and shape. Equal digests ⇔ bitwise-equal parameters (to sha256's
 * confidence). Optimizer state is not included.
 *
 * Used to prove that a rejected call left the parameters untouched.
 *
 * @example
 * const before = paramsDigest(model);
 * await expect(pipeline.progress([badBatch])).rejects.toThrow(InvalidBatchError);
 * paramsDigest(model) === before; // true
 */
import { createHash } from 'node:crypto';
import type { Module } from '../modules/module.ts';

/**
 * One named parameter array as hashed (see {@link paramEntries}).
 *
 * @example
 * const e: ParamEntry = paramEntries(model)[0]; console.log(e.name, e.shape);
 */
export interface ParamEntry {
  name: string;
  shape: readonly number[];
  values: Float32Array;
}

interface ShardLike {
  table: { name: string };
  block: { rowStart: number; rowEnd: number; colStart: number; colEnd: number };
  weights: Float32Array;
}

interface StateDictLike {
  tables?: Record<string, Float32Array>;
  featureProcessors?: Record<string, Float32Array>;
}

/**
 * Every parameter of `model` the digest covers, named and in digest order.
 *
 * @example
 * paramEntries(model).map((p) => p.name); // ['bottom.layers.0.w', …, 'sparseArch.t0[0:1000,0:8]', …]
 */
export function paramEntries(model: Module): ParamEntry[] {
  const dense: ParamEntry[] = model
    .namedParameters()
    .map(([name, v]) => ({ name, shape: v.shape, values: v.dataSync() as Float32Array }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sparse: ParamEntry[] = [];
  for (const [path, m] of model.namedModules()) {
    const prefix = path || '(model)';
    const holder = m as unknown as {
      localShards?: () => readonly ShardLike[];
      stateDict?: () => unknown;
    };
    if (typeof holder.localShards === 'function') {
      for (const s of holder.localShards()) {
        const { rowStart, rowEnd, colStart, colEnd } = s.block;
        sparse.push({
          name: `${prefix}.${s.table.name}[${rowStart}:${rowEnd},${colStart}:${colEnd}]`,
          shape: [rowEnd - rowStart, colEnd - colStart],
          values: s.weights,
        });
      }
      const fps = (holder.stateDict?.() as StateDictLike | undefined)?.featureProcessors ?? {};
      for (const [f, v] of Object.entries(fps))
        sparse.push({ name: `${prefix}.fp.${f}`, shape: [v.length], values: v });
    } else if (typeof holder.stateDict === 'function') {
      const sd = holder.stateDict() as StateDictLike | undefined;
      for (const [t, v] of Object.entries(sd?.tables ?? {})) {
        if (v instanceof Float32Array)
          sparse.push({ name: `${prefix}.${t}`, shape: [v.length], values: v });
      }
      for (const [f, v] of Object.entries(sd?.featureProcessors ?? {})) {
        if (v instanceof Float32Array)
          sparse.push({ name: `${prefix}.fp.${f}`, shape: [v.length], values: v });
      }
    }
  }
  return [...dense, ...sparse];
}

/**
 * sha256 (hex) of {@link paramEntries}: names, shapes and float32 bytes.
 *
 * @example
 * paramsDigest(ranks[0].model); // '3f9a…' (64 hex digits)
 */
export function paramsDigest(model: Module): string {
  const hash = createHash('sha256');
  for (const p of paramEntries(model)) {
    hash.update(`${p.name}:${p.shape.join('x')}:${p.values.length}\n`);
    hash.update(new Uint8Array(p.values.buffer, p.values.byteOffset, p.values.byteLength));
  }
  return hash.digest('hex');
}
