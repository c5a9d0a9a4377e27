/**
 * `simulateCluster`: a whole job on N simulated ranks — every rank trains every batch, the
 * merged log holds every rank's events in virtual-time order, runs are deterministic, user
 * model and data factories plug in, the math is real (pipelined == unpipelined), and a
 * hang is stopped at the virtual time limit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CollectiveTimeoutError, type ProcessGroup } from '../../src/protocol/index.ts';
import {
  simulateCluster,
  SimulationTimeLimitError,
  type RankContext,
} from '../../src/testing/simulate-cluster.ts';
import { batchSpecFor, buildDlrmRank, smallDlrmConfig } from '../../src/models/dlrm-rank.ts';
import { DroppedCollectiveError } from '../../src/testing/faults.ts';
import { SyntheticClickLog } from '../../src/data/synthetic.ts';
import { TINY_DLRM, stageCostModel, useWasm } from './fixtures.ts';

beforeAll(useWasm);

const base = {
  worldSize: 2,
  batches: 6,
  globalBatchSize: 16,
  seed: 3,
  dlrm: TINY_DLRM,
  costModel: stageCostModel(),
} as const;

describe('simulateCluster', () => {
  it('trains every batch on every rank exactly once and merges the ranks’ logs in time order', async () => {
    const r = await simulateCluster(base);
    expect(r.ok, r.summary()).toBe(true);
    for (const rank of r.ranks) {
      expect(rank.error).toBeUndefined();
      expect(rank.exhausted).toBe(true);
      expect(rank.batchesTrained).toBe(6);
      expect(rank.outputs.map((o) => o.batch)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(rank.outputs.every((o) => Number.isFinite(o.loss) && o.output.length === 8)).toBe(
        true,
      );
    }
    expect(new Set(r.log.map((e) => e.rank))).toEqual(new Set([0, 1]));
    for (let i = 1; i < r.log.length; i++)
      expect(r.log[i].t).toBeGreaterThanOrEqual(r.log[i - 1].t);
    expect(r.events({ type: 'backward.end', rank: 1 }).map((e) => e.batch)).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(r.endMs).toBe(Math.max(...r.ranks.map((x) => x.finishedAt)));
    expect(r.hazards).toEqual([[], []]);
    expect(r.losses(1)).toHaveLength(6);
    expect(r.paramsDigest(0)).toMatch(/^[0-9a-f]{64}$/);
    expect(r.summary()).toContain('rank 1: 6 batch(es) trained, drained');
  });

  it('is deterministic: the same options give the identical log and parameters', async () => {
    const a = await simulateCluster(base);
    const b = await simulateCluster(base);
    expect(JSON.stringify(b.log)).toBe(JSON.stringify(a.log));
    expect(b.paramsDigest(0)).toBe(a.paramsDigest(0));
    expect(b.paramsDigest(1)).toBe(a.paramsDigest(1));
  });

  it('computes real math: sparseDist, base and none end with bitwise-equal parameters', async () => {
    const runs = await Promise.all(
      (['sparseDist', 'base', 'none'] as const).map((pipeline) =>
        simulateCluster({ ...base, pipeline }),
      ),
    );
    for (const r of runs) expect(r.ok, r.summary()).toBe(true);
    for (const rank of [0, 1]) {
      expect(runs[1].paramsDigest(rank)).toBe(runs[0].paramsDigest(rank));
      expect(runs[2].paramsDigest(rank)).toBe(runs[0].paramsDigest(rank));
    }
    expect(runs[0].losses(0)).toEqual(runs[2].losses(0));
  });

  it('gradAccum 3 over 6 batches steps twice per rank, each step holding 3 micro-batches', async () => {
    const r = await simulateCluster({ ...base, gradAccum: 3 });
    expect(r.ok, r.summary()).toBe(true);
    for (const rank of [0, 1]) {
      expect(
        r
          .events({ type: 'optimizer.step', rank })
          .map((e) => [e.batch, (e as { microBatches: number }).microBatches]),
      ).toEqual([
        [2, 3],
        [5, 3],
      ]);
    }
  });

  it('takes a user model factory (given both channels of its rank) and a user data factory', async () => {
    const config = smallDlrmConfig({ ...TINY_DLRM, seed: 5 });
    const seen: Array<{ rank: number; pg: ProcessGroup; distPg: ProcessGroup }> = [];
    const log = new SyntheticClickLog({
      seed: 9,
      denseDim: 13,
      features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
    });
    const r = await simulateCluster({
      worldSize: 2,
      batches: 4,
      globalBatchSize: 8,
      model: (ctx: RankContext) => {
        seen.push({ rank: ctx.rank, pg: ctx.pg, distPg: ctx.distPg });
        const built = buildDlrmRank({ pg: ctx.pg, distPg: ctx.distPg, device: ctx.device, config });
        return { model: built.model, optimizer: built.optimizer, batchSpec: batchSpecFor(config) };
      },
      data: ({ rank, localBatchSize, batches, globalBatchSize }) =>
        [...log.batches(globalBatchSize, { count: batches })].map((b) =>
          b.sliceSamples(rank * localBatchSize, (rank + 1) * localBatchSize),
        ),
    });
    expect(r.ok, r.summary()).toBe(true);
    expect(r.config).toBeUndefined();
    expect(seen.map((s) => s.rank)).toEqual([0, 1]);
    for (const s of seen) {
      expect(s.pg).not.toBe(s.distPg);
      expect(s.pg.rank).toBe(s.rank);
      expect(s.distPg.rank).toBe(s.rank);
    }
    expect(seen[0].pg).toBe(r.cluster.pgs[0]);
    expect(seen[1].distPg).toBe(r.cluster.distPgs[1]);
    expect(r.ranks.map((x) => x.batchesTrained)).toEqual([4, 4]);
  });

  it('rejects bad options with a message naming the option', async () => {
    await expect(simulateCluster({ ...base, globalBatchSize: 15 })).rejects.toThrow(
      /globalBatchSize 15 is not divisible by worldSize 2/,
    );
    await expect(simulateCluster({ ...base, worldSize: 0 })).rejects.toThrow(
      /worldSize must be an integer ≥ 1, got 0/,
    );
    await expect(
      simulateCluster({ ...base, faults: [{ kind: 'crash', rank: 2, atMs: 5 }] }),
    ).rejects.toThrow(/faults\[0\] \(crash\): rank 2 is not in 0\.\.1/);
    await expect(
      simulateCluster({ ...base, faults: [{ kind: 'slowRank', rank: 0, multiplier: 0 }] }),
    ).rejects.toThrow(/multiplier must be a finite number > 0/);
  });

  it('stops a hang at the virtual time limit: a dropped collective with no timeout', async () => {
    const r = await simulateCluster({
      ...base,
      timeoutMs: Infinity,
      maxVirtualMs: 5_000,
      faults: [{ kind: 'dropCollective', rank: 1, index: 2 }],
    });
    expect(r.ok).toBe(false);
    for (const rank of r.ranks) {
      expect(rank.error).toBeInstanceOf(SimulationTimeLimitError);
      expect(rank.error!.message).toMatch(
        new RegExp(
          `^rank ${rank.rank} was still running at the virtual time limit of 5000 ms; its last event was `,
        ),
      );
      expect(rank.finishedAt).toBe(5_000);
    }
    expect(r.endMs).toBe(5_000);
  });

  it('with a finite timeout the same drop ends in bounded time: CollectiveTimeoutError on the peer, DroppedCollectiveError on the dropper', async () => {
    const r = await simulateCluster({
      ...base,
      timeoutMs: 500,
      faults: [{ kind: 'dropCollective', rank: 1, index: 2 }],
    });
    expect(r.ranks[0].error).toBeInstanceOf(CollectiveTimeoutError);
    expect(r.ranks[1].error).toBeInstanceOf(DroppedCollectiveError);
    expect(r.endMs).toBeLessThanOrEqual(r.faults[0].firedAt! + 500 + 50);
  });
});
