/**
 * Fault injection: for every fault kind the run ends (or goes on, as documented) with the
 * right error naming the rank and batch, within bounded virtual time, and the trained-batch
 * counts add up. Vitest timeouts are far above the expected ~1 s per run: a hang fails the
 * test instead of stalling the suite.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CollectiveTimeoutError, PeerFailedError } from '../../src/protocol/index.ts';
import { DataloaderError } from '../../src/data/dataloader-error.ts';
import {
  simulateCluster,
  type SimulateClusterOptions,
  type SimulationResult,
} from '../../src/testing/simulate-cluster.ts';
import {
  DroppedCollectiveError,
  InjectedDataloaderError,
  RankCrashedError,
  type Fault,
} from '../../src/testing/faults.ts';
import { paramEntries } from '../../src/testing/params-digest.ts';
import { boundFor } from '../../src/testing/schedule-assertions.ts';
import type { GradScaler } from '../../src/optim/grad-scaler.ts';
import { TINY_DLRM, stageCostModel, useWasm } from './fixtures.ts';

const TIMEOUT = 30_000; // wall ms per test; each run takes about a second
const N = 8;
const costModel = stageCostModel();
const options = (
  worldSize: number,
  faults: Fault[],
  extra: Partial<SimulateClusterOptions> = {},
): SimulateClusterOptions => ({
  worldSize,
  batches: N,
  globalBatchSize: 6 * worldSize,
  seed: 5,
  dlrm: TINY_DLRM,
  costModel,
  timeoutMs: 1_000,
  faults,
  ...extra,
});

let baseline: SimulationResult;
beforeAll(async () => {
  await useWasm();
  baseline = await simulateCluster(options(2, []));
}, TIMEOUT);

function expectAllTrained(r: SimulationResult): void {
  expect(r.ok, r.summary()).toBe(true);
  for (const rank of r.ranks) {
    expect(rank.batchesTrained, `rank ${rank.rank}`).toBe(N);
    expect(rank.outputs.map((o) => o.batch)).toEqual([...Array(N).keys()]);
  }
}

describe('slow rank', () => {
  it(
    'every batch trains; the cluster runs at the slow rank’s pace (2× the bound)',
    async () => {
      const r = await simulateCluster(options(2, [{ kind: 'slowRank', rank: 1, multiplier: 2 }]));
      expectAllTrained(r);
      expect(r.iterationMs()).toBeGreaterThanOrEqual(2 * boundFor(costModel).ms);
      expect(r.iterationMs()).toBeLessThanOrEqual(2 * boundFor(costModel).ms * 1.01);
      expect(r.endMs).toBeGreaterThan(1.9 * baseline.endMs);
      expect(r.faults[0].firedAt).toBe(0);
    },
    TIMEOUT,
  );
});

describe('delayed collective', () => {
  it(
    'every collective late: every batch trains, later',
    async () => {
      const r = await simulateCluster(
        options(2, [{ kind: 'delayCollective', rank: 0, extraMs: 2 }]),
      );
      expectAllTrained(r);
      expect(r.endMs).toBeGreaterThan(baseline.endMs);
    },
    TIMEOUT,
  );

  it(
    'one collective 30 ms late: every batch trains, the run ends at most 30 ms later',
    async () => {
      const r = await simulateCluster(
        options(2, [{ kind: 'delayCollective', rank: 1, extraMs: 30, index: 4 }]),
      );
      expectAllTrained(r);
      expect(r.faults[0].firedAt).toBeGreaterThan(0);
      expect(r.endMs).toBeGreaterThan(baseline.endMs);
      expect(r.endMs).toBeLessThanOrEqual(baseline.endMs + 30 + 1e-6);
    },
    TIMEOUT,
  );
});

describe('dropped collective', () => {
  for (const channel of ['default', 'dist'] as const) {
    it(
      `${channel} channel: the peers time out naming the rank, the dropper reports the drop, within the timeout`,
      async () => {
        const r = await simulateCluster(
          options(3, [{ kind: 'dropCollective', rank: 1, index: 4, channel }]),
        );
        expect(r.ok).toBe(false);
        for (const peer of [0, 2]) {
          const error = r.ranks[peer].error;
          expect(error, r.summary()).toBeInstanceOf(CollectiveTimeoutError);
          expect((error as CollectiveTimeoutError).missingRanks).toEqual([1]);
          expect(error!.message).toMatch(
            new RegExp(
              `#4 .* on rank ${peer} timed out after 1000 ms: rank\\(s\\) 1 never arrived`,
            ),
          );
        }
        const own = r.ranks[1].error;
        expect(own).toBeInstanceOf(DroppedCollectiveError);
        expect(own!.message).toMatch(
          new RegExp(
            `^rank 1: \\w+ #4 .* on the ${channel} channel was dropped \\(injected fault\\)`,
          ),
        );
        const firedAt = r.faults[0].firedAt!;
        expect(r.endMs).toBeLessThanOrEqual(firedAt + 1_000 + 2 * boundFor(costModel).ms);
        for (const rank of r.ranks) {
          expect(rank.exhausted).toBe(false);
          expect(rank.batchesTrained).toBe(rank.outputs.length);
          expect(rank.batchesTrained).toBeLessThan(N);
        }
      },
      TIMEOUT,
    );
  }
});

describe('dataloader stall', () => {
  it(
    'a 50 ms stall before batch 4 delays the run by exactly 50 ms; every batch trains',
    async () => {
      const r = await simulateCluster(
        options(2, [{ kind: 'dataloaderStall', rank: 0, atBatch: 4, ms: 50 }]),
      );
      expectAllTrained(r);
      expect(r.endMs).toBeCloseTo(baseline.endMs + 50, 6);
      expect(r.events({ type: 'batch.fetched', batch: 4, rank: 0 })[0].t).toBeGreaterThanOrEqual(
        r.faults[0].firedAt! + 50,
      );
    },
    TIMEOUT,
  );
});

describe('dataloader error', () => {
  it(
    'the rank fails with DataloaderError naming batch 4; its peer times out naming it; counts add up',
    async () => {
      const r = await simulateCluster(
        options(2, [{ kind: 'dataloaderError', rank: 1, atBatch: 4, message: 'disk gone' }]),
      );
      const error = r.ranks[1].error as DataloaderError;
      expect(error, r.summary()).toBeInstanceOf(DataloaderError);
      expect(error.position).toBe(4);
      expect(error.cause).toBeInstanceOf(InjectedDataloaderError);
      expect(error.message).toBe('the dataloader threw while fetching batch 4: disk gone');
      // sparseDist holds 3 batches: 4 was being fetched while 2 and 3 were in flight, so 0 and 1 trained
      expect(r.ranks[1].batchesTrained).toBe(2);
      expect(r.ranks[1].finishedAt).toBe(r.faults[0].firedAt);
      const peer = r.ranks[0].error as CollectiveTimeoutError;
      expect(peer).toBeInstanceOf(CollectiveTimeoutError);
      expect(peer.missingRanks).toEqual([1]);
      expect(r.endMs).toBeLessThanOrEqual(
        r.faults[0].firedAt! + 1_000 + 2 * boundFor(costModel).ms,
      );
    },
    TIMEOUT,
  );
});

describe('rank crash', () => {
  it(
    'the crashed rank stops at once; every other rank rejects with PeerFailedError naming it',
    async () => {
      const r = await simulateCluster(
        options(3, [{ kind: 'crash', rank: 1, atMs: 30, reason: 'OOM' }]),
      );
      const crashed = r.ranks[1];
      expect(crashed.error).toBeInstanceOf(RankCrashedError);
      expect(crashed.error!.message).toBe('rank 1 crashed at t=30 ms (injected fault: OOM)');
      expect(crashed.finishedAt).toBe(30);
      for (const peer of [0, 2]) {
        const error = r.ranks[peer].error as PeerFailedError;
        expect(error, r.summary()).toBeInstanceOf(PeerFailedError);
        expect(error.failedRank).toBe(1);
        expect(error.message).toBe(
          `rank 1 failed: injected crash (OOM) at t=30 ms (seen by rank ${peer})`,
        );
        // detected within the iteration in flight, not after a timeout
        expect(r.ranks[peer].finishedAt).toBeLessThanOrEqual(30 + 2 * boundFor(costModel).ms);
      }
      for (const rank of r.ranks) expect(rank.batchesTrained).toBeLessThan(N);
    },
    TIMEOUT,
  );

  it(
    'a faulty run is deterministic too: the same crash gives the identical log',
    async () => {
      const a = await simulateCluster(options(2, [{ kind: 'crash', rank: 0, atMs: 25 }]));
      const b = await simulateCluster(options(2, [{ kind: 'crash', rank: 0, atMs: 25 }]));
      expect(JSON.stringify(b.log)).toBe(JSON.stringify(a.log));
      expect(b.summary()).toBe(a.summary());
    },
    TIMEOUT,
  );

  it(
    'a crash scheduled after the run ended never fires',
    async () => {
      const r = await simulateCluster(options(2, [{ kind: 'crash', rank: 0, atMs: 10_000 }]));
      expectAllTrained(r);
      expect(r.faults[0].firedAt).toBeUndefined();
      expect(r.summary()).toContain('(never fired)');
    },
    TIMEOUT,
  );
});

describe('inf/NaN gradient', () => {
  it(
    'with gradScaling: the step of batch 3 is skipped on every rank, the scale halves, training goes on with finite parameters',
    async () => {
      const r = await simulateCluster(
        options(2, [{ kind: 'nonFiniteGrad', rank: 0, atBatch: 3 }], { gradScaling: true }),
      );
      expectAllTrained(r);
      expect(r.faults[0].firedAt).toBeDefined();
      for (const rank of [0, 1]) {
        expect(
          r
            .events({ type: 'optimizer.skipped', rank })
            .map((e) => [e.batch, (e as { scale: number }).scale]),
        ).toEqual([[3, 2 ** 15]]);
        expect(r.events({ type: 'optimizer.step', rank }).map((e) => e.batch)).toEqual([
          0, 1, 2, 4, 5, 6, 7,
        ]);
        expect((r.pipelines[rank].gradScaler as GradScaler).scale).toBe(2 ** 15);
        for (const p of paramEntries(r.models[rank].model))
          expect(p.values.every(Number.isFinite), p.name).toBe(true);
      }
      expect(r.losses(0)[3]).toBe(Infinity);
    },
    TIMEOUT,
  );

  it(
    'without gradScaling: nothing checks, the run completes and the parameters become NaN on every rank',
    async () => {
      const r = await simulateCluster(
        options(2, [{ kind: 'nonFiniteGrad', rank: 0, atBatch: 3, value: NaN }]),
      );
      expectAllTrained(r);
      for (const rank of [0, 1]) {
        const dense = paramEntries(r.models[rank].model).filter((p) => !p.name.includes('['));
        expect(dense.some((p) => p.values.some(Number.isNaN))).toBe(true);
      }
      expect(r.losses(1).slice(4).every(Number.isNaN)).toBe(true);
    },
    TIMEOUT,
  );
});
