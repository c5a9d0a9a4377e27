/**
 * The sharded EBC donates its all-to-all sends: at world 1 each batch's received ids,
 * pooled rows and gradients are the arrays it sent. With three batches in flight at once
 * (all input dists, then all lookups, then the backwards, as look-ahead pipelines do), no
 * two batches share a buffer, the caller's gradient is never written, and pooled rows and
 * trained weights equal those of copied exchanges (donation off) bit for bit — on one and
 * two ranks, plain, weighted and position-weighted. A pooled buffer reused across batches
 * in flight fails this test. Released outputs (`releaseOutput`) are detached for their
 * holder and their memory serves later batches (send-buffer-pool.ts), again bit for bit
 * equal to fresh buffers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PooledOutput } from '../../../src/protocol/index.ts';
import type { EmbeddingBagConfig } from '../../../src/modules/embedding/config.ts';
import { PositionWeightedModule } from '../../../src/modules/feature-processors/position-weighted.ts';
import { planSharding } from '../../../src/modules/sharding/planner.ts';
import { ShardedEmbeddingBagCollection } from '../../../src/modules/sharding/sharded-embedding-bag-collection.ts';
import { assembleStateDict } from '../../../src/modules/sharding/sharded-state.ts';
import { worldOneLayout } from '../../../src/modules/sharding/world-one-layout.ts';
import { sendBufferPool } from '../../../src/modules/sharding/send-buffer-pool.ts';
import { simDonation } from '../../../src/runtime/collectives/sim-process-group.ts';
import { quadraticGrad, randomBatch, rng, simCluster, splitBatch } from './sim-cluster.ts';

afterEach(() => {
  simDonation.enabled = true;
  sendBufferPool.enabled = true;
});

const TABLES: EmbeddingBagConfig[] = [
  { name: 'u', rows: 40, dim: 16, pooling: 'sum', features: ['a', 'b'] },
  { name: 'v', rows: 30, dim: 6, pooling: 'mean', features: ['c'] },
];

function bits(a: ArrayLike<number>): string {
  return Buffer.from(Float64Array.from(a).buffer).toString('hex');
}

type Mode = 'plain' | 'weighted' | 'position-weighted';
const IN_FLIGHT = 3;

async function train(worldSize: number, mode: Mode) {
  const { groups, devices } = simCluster(worldSize);
  const plan = planSharding(TABLES, worldSize);
  const ebcs = groups.map(
    (pg, rank) =>
      new ShardedEmbeddingBagCollection({
        tables: TABLES,
        plan,
        seed: 5,
        optimizer: { kind: 'adagrad', lr: 0.1 },
        env: { rank, worldSize, pg, device: devices[rank] },
        featureProcessors:
          mode === 'position-weighted'
            ? {
                b: new PositionWeightedModule({
                  maxLength: 4,
                  initial: Float32Array.of(1, 0.5, 2, 0.25),
                }),
              }
            : undefined,
      }),
  );
  const next = rng(23);
  const B = 4 * worldSize;
  const outputs: string[] = [];
  for (let round = 0; round < 2; round++) {
    const globals = Array.from({ length: IN_FLIGHT }, () =>
      randomBatch(next, TABLES, B, 4, mode === 'weighted'),
    );
    const targets = globals.map(() =>
      Float32Array.from({ length: 4 * ebcs[0].outputWidth }, () => next() - 0.5),
    );
    await Promise.all(
      ebcs.map(async (m, r) => {
        const ctxs = globals.map((_, i) => m.createContext(round * IN_FLIGHT + i));
        for (let i = 0; i < IN_FLIGHT; i++) {
          const splits = m.inputDist(ctxs[i], splitBatch(globals[i], worldSize)[r]);
          await (await splits.wait()).wait();
        }
        const pooled: PooledOutput[] = [];
        for (const ctx of ctxs) pooled.push(await m.computeAndOutputDist(ctx));
        // every batch in flight has its own buffer
        expect(new Set(pooled.map((p) => p.values.buffer)).size).toBe(IN_FLIGHT);
        const seen = pooled.map((p) => bits(p.values));
        for (let i = 0; i < IN_FLIGHT; i++) {
          const grad = quadraticGrad(pooled[i], targets[i]);
          const kept = bits(grad);
          await m.backward(ctxs[i], grad);
          expect(bits(grad)).toBe(kept); // the caller's gradient is not written
          // a later batch's backward did not touch an earlier batch's pooled rows
          for (let j = i; j < IN_FLIGHT; j++) expect(bits(pooled[j].values)).toBe(seen[j]);
          // done with batch i's rows: the module may reuse them; the old view reads nothing
          m.releaseOutput(pooled[i]);
          if (worldSize === 1 && sendBufferPool.enabled) expect(pooled[i].values.length).toBe(0);
          else expect(bits(pooled[i].values)).toBe(seen[i]);
        }
        if (r === 0) outputs.push(...seen);
        await m.step();
      }),
    );
  }
  const state = assembleStateDict(ebcs.map((m) => m.stateDict()));
  for (const m of ebcs) m.close();
  return {
    outputs,
    state: JSON.stringify(state, (_, v) => (ArrayBuffer.isView(v) ? bits(v as Float32Array) : v)),
  };
}

describe('donated all-to-all sends, several batches in flight', () => {
  for (const worldSize of [1, 2])
    it(`world ${worldSize}: donated == copied, bit for bit (plain, weighted, position-weighted)`, async () => {
      for (const mode of ['plain', 'weighted', 'position-weighted'] as const) {
        const before = simDonation.aliased;
        const reused = sendBufferPool.reused;
        const dense = worldOneLayout.lookups;
        const donated = await train(worldSize, mode);
        const aliased = simDonation.aliased - before;
        // rounds after the first reuse the first round's sends (world 1: the pooled rows
        // released; world 2: the sent rows and gradients, given back once exchanged)
        expect(sendBufferPool.reused - reused).toBeGreaterThanOrEqual(IN_FLIGHT);
        simDonation.enabled = false;
        sendBufferPool.enabled = false;
        const copied = await train(worldSize, mode);
        simDonation.enabled = true;
        sendBufferPool.enabled = true;
        expect(donated.outputs).toHaveLength(2 * IN_FLIGHT);
        expect(donated).toEqual(copied);
        if (worldSize === 1) {
          // per batch: lengths, ids (+ weights), pooled rows, gradients
          expect(aliased).toBe(2 * IN_FLIGHT * (mode === 'plain' ? 4 : 5));
          expect(worldOneLayout.lookups - dense).toBeGreaterThan(0);
        } else expect(aliased).toBe(0);
      }
    });
});
