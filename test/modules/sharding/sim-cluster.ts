/**
 * Test helpers for sharded embeddings: a simulated cluster (real sim process groups and sim
 * devices on one virtual clock), random jagged batches, and one training step driven on
 * every rank the way the pipeline drives a sharded module.
 */
import {
  createSimProcessGroups,
  type SimProcessGroups,
} from '../../../src/runtime/collectives/sim-process-group.ts';
import { SimDevice } from '../../../src/runtime/sim/sim-device.ts';
import { SimScheduler } from '../../../src/runtime/sim/sim-scheduler.ts';
import { KeyedJaggedTensor } from '../../../src/tensors/keyed-jagged-tensor.ts';
import type { PooledOutput } from '../../../src/protocol/index.ts';
import type { ShardedEmbeddingBagCollection } from '../../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { mulberry32 } from '../../../bench/lib/cost-sweep.ts';

export interface SimCluster {
  scheduler: SimScheduler;
  groups: SimProcessGroups;
  devices: SimDevice[];
}

export function simCluster(worldSize: number): SimCluster {
  const scheduler = new SimScheduler();
  const groups = createSimProcessGroups({ worldSize, scheduler });
  const devices = groups.map((pg) => new SimDevice({ rank: pg.rank, scheduler, opLog: false }));
  return { scheduler, groups, devices };
}

/** mulberry32 (the schedule benches' PRNG): a small seeded PRNG. */
export const rng = mulberry32;

/** A random batch over every feature of `tables`: lengths 0..maxLen, ids in range, optional weights. */
export function randomBatch(
  next: () => number,
  tables: readonly EmbeddingBagConfig[],
  B: number,
  maxLen: number,
  weighted: boolean,
): KeyedJaggedTensor {
  const keys: string[] = [];
  const lengths: number[] = [];
  const values: number[] = [];
  const weights: number[] = [];
  for (const t of tables) {
    for (const f of t.features) {
      keys.push(f);
      for (let b = 0; b < B; b++) {
        const n = Math.floor(next() * (maxLen + 1));
        lengths.push(n);
        for (let i = 0; i < n; i++) {
          values.push(Math.floor(next() * t.rows));
          weights.push(0.5 + next());
        }
      }
    }
  }
  return new KeyedJaggedTensor({
    keys,
    values: Int32Array.from(values),
    lengths: Int32Array.from(lengths),
    weights: weighted ? Float32Array.from(weights) : undefined,
    stride: B,
  });
}

/** Split a global batch into `W` equal local batches (rank order). */
export function splitBatch(global: KeyedJaggedTensor, W: number): KeyedJaggedTensor[] {
  const B = global.stride / W;
  return Array.from({ length: W }, (_, r) => global.sliceSamples(r * B, (r + 1) * B));
}

/** Gradient of L = (1/n) Σ_b ½‖pooled_b − target_b‖² where `n` = the local batch size (a per-rank mean loss). */
export function quadraticGrad(pooled: PooledOutput, target: Float32Array, scale = 1): Float32Array {
  const g = new Float32Array(pooled.values.length);
  for (let i = 0; i < g.length; i++)
    g[i] = ((pooled.values[i] - target[i]) / pooled.batchSize) * scale;
  return g;
}

/**
 * One micro-batch on every rank: input dist (both phases), compute + output dist, backward.
 * Returns each rank's pooled output.
 */
export async function forwardBackward(
  modules: readonly ShardedEmbeddingBagCollection[],
  locals: readonly KeyedJaggedTensor[],
  batch: number,
  gradOf: (pooled: PooledOutput, rank: number) => Float32Array,
): Promise<PooledOutput[]> {
  return Promise.all(
    modules.map(async (m, r) => {
      const ctx = m.createContext(batch);
      const splits = m.inputDist(ctx, locals[r]);
      const data = await splits.wait();
      await data.wait();
      const pooled = await m.computeAndOutputDist(ctx);
      await m.backward(ctx, gradOf(pooled, r));
      return pooled;
    }),
  );
}

/**
 * `max |a − b| / (|b| + floor)` over elements: `< 1e-5` means rtol 1e-5 with atol 1e-5·floor
 * (default floor 1e-2 → atol 1e-7, about float32 rounding of values ~1: row-wise sharding
 * sums float32 partial sums in another order, so a value that nearly cancels has an error
 * of a few 1e-8 that is not relative to itself).
 */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-2): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + floor));
  return m;
}
