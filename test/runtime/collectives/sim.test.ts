import { describe, expect, it } from 'vitest';
import { CollectiveTimeoutError, PeerFailedError } from '../../../src/protocol/index.ts';
import {
  CollectiveMismatchError,
  InvalidCollectiveError,
  ProcessGroupClosedError,
} from '../../../src/runtime/collectives/collective-errors.ts';
import { createSimProcessGroups } from '../../../src/runtime/collectives/sim-process-group.ts';
import { CostModel } from '../../../src/runtime/sim/cost-model.ts';
import { SimScheduler } from '../../../src/runtime/sim/sim-scheduler.ts';
import { describeProcessGroupConformance, inProcessBackend } from './conformance.ts';

describeProcessGroupConformance('sim', async (worldSize) => {
  const scheduler = new SimScheduler();
  return inProcessBackend(createSimProcessGroups({ worldSize, scheduler }));
});

const costModel = new CostModel({ alphaMs: 1, betaBytesPerMs: 4 });

function cluster(worldSize: number, timeoutMs = 1_000) {
  const scheduler = new SimScheduler();
  const groups = createSimProcessGroups({ worldSize, scheduler, costModel, timeoutMs });
  return { scheduler, groups };
}

describe('sim process group: virtual time', () => {
  it('results resolve at latest arrival + alpha + bytes/beta on every rank', async () => {
    const { scheduler, groups } = cluster(2);
    const times = await Promise.all(
      groups.map(async (pg) => {
        await scheduler.sleep(pg.rank === 0 ? 2 : 5); // rank 1 arrives last, at 5
        await pg.allReduce(new Float32Array(4), 'sum'); // ring volume 2·(1/2)·16 = 16 bytes → 4 ms
        return scheduler.now();
      }),
    );
    expect(times).toEqual([10, 10]); // 5 + 1 + 16/4
  });

  it('allToAllV costs the largest per-rank traffic to other ranks', async () => {
    const { scheduler, groups } = cluster(2);
    // rank 0 sends 4 floats to rank 1 (16 bytes) and 1 to itself; rank 1 sends nothing
    const [a, b] = await Promise.all([
      groups[0].allToAllV(new Float32Array(5), Int32Array.of(1, 4), Int32Array.of(1, 0)),
      groups[1].allToAllV(new Float32Array(0), Int32Array.of(0, 0), Int32Array.of(4, 0)),
    ]);
    expect([a.length, b.length]).toEqual([1, 4]);
    expect(scheduler.now()).toBe(1 + 16 / 4);
  });

  it('injected delay: a slow rank arrives later and a multiplier stretches the transfer', async () => {
    const { scheduler, groups } = cluster(3);
    groups.setDelay(2, { extraMs: 3, multiplier: 2 });
    await Promise.all(groups.map((pg) => pg.barrier()));
    expect(scheduler.now()).toBe(3 + 1 * 2);
    groups.setDelay(2, {});
    await Promise.all(groups.map((pg) => pg.barrier()));
    expect(scheduler.now()).toBe(5 + 1);
  });

  it('is deterministic across runs', async () => {
    async function once(): Promise<string> {
      const { scheduler, groups } = cluster(4);
      const log: string[] = [];
      await Promise.all(
        groups.map(async (pg) => {
          for (let i = 0; i < 3; i++) {
            await scheduler.sleep((pg.rank * 3 + i) % 4);
            await pg.allReduce(Float32Array.of(pg.rank, i), 'avg');
            log.push(`${pg.rank}:${i}@${scheduler.now()}`);
          }
        }),
      );
      return log.join(' ');
    }
    expect(await once()).toBe(await once());
  });
});

describe('sim process group: failures', () => {
  it('timeout names the missing ranks and the label; a late arrival rejects at once', async () => {
    const { scheduler, groups } = cluster(4, 50);
    const early = [0, 1].map((r) =>
      groups[r].allReduce(Float32Array.of(1), 'sum', { label: 'grads' }),
    );
    const errors = await Promise.all(early.map((p) => p.catch((e: unknown) => e)));
    expect(scheduler.now()).toBe(50);
    for (const [r, e] of errors.entries()) {
      expect(e).toBeInstanceOf(CollectiveTimeoutError);
      expect((e as CollectiveTimeoutError).missingRanks).toEqual([2, 3]);
      expect((e as Error).message).toBe(
        `allReduce #0 "grads" on rank ${r} timed out after 50 ms: rank(s) 2, 3 never arrived`,
      );
    }
    await expect(groups[2].allReduce(Float32Array.of(1), 'sum')).rejects.toBeInstanceOf(
      CollectiveTimeoutError,
    );
    expect(groups.fabric.pendingCollectives).toBe(0);
  });

  it('a per-call timeout overrides the group default', async () => {
    const { scheduler, groups } = cluster(2, 1_000);
    await expect(groups[0].barrier({ timeoutMs: 7 })).rejects.toThrow(
      /after 7 ms: rank\(s\) 1 never arrived/,
    );
    expect(scheduler.now()).toBe(7);
  });

  it('mismatched kinds reject on every rank with an error naming both', async () => {
    const { groups } = cluster(2);
    const results = await Promise.all([
      groups[0].allReduce(Float32Array.of(1, 2), 'sum').catch((e: unknown) => e),
      groups[1].barrier().catch((e: unknown) => e),
    ]);
    for (const e of results) {
      expect(e).toBeInstanceOf(CollectiveMismatchError);
      expect((e as Error).message).toMatch(
        /collective #0 mismatch: rank 0 called allReduce\(sum, 2 floats\) but rank 1 called barrier/,
      );
    }
  });

  it('mismatched allReduce lengths reject naming both', async () => {
    const { groups } = cluster(2);
    const [e] = await Promise.all([
      groups[0].allReduce(new Float32Array(3), 'sum').catch((x: unknown) => x),
      groups[1].allReduce(new Float32Array(4), 'sum').catch((x: unknown) => x),
    ]);
    expect((e as Error).message).toMatch(
      /rank 0 called allReduce\(sum, 3 floats\) but rank 1 called allReduce\(sum, 4 floats\)/,
    );
  });

  it('inconsistent allToAllV counts name sender and receiver', async () => {
    const { groups } = cluster(2);
    const [e] = await Promise.all([
      groups[0]
        .allToAllV(Int32Array.of(1, 2), Int32Array.of(0, 2), Int32Array.of(0, 0))
        .catch((x: unknown) => x),
      groups[1]
        .allToAllV(new Int32Array(0), Int32Array.of(0, 0), Int32Array.of(1, 0))
        .catch((x: unknown) => x),
    ]);
    expect(e).toBeInstanceOf(CollectiveMismatchError);
    expect((e as Error).message).toMatch(
      /rank 0 called allToAllV sending 2 elements to rank 1 but rank 1 called allToAllV expecting 1 elements from rank 0/,
    );
  });

  it('invalid arguments reject every rank naming the offender', async () => {
    const { groups } = cluster(2);
    const [a, b] = await Promise.all([
      groups[0].allToAllSplits(Int32Array.of(1, 2, 3)).catch((x: unknown) => x),
      groups[1].allToAllSplits(Int32Array.of(1, 2)).catch((x: unknown) => x),
    ]);
    for (const e of [a, b]) {
      expect(e).toBeInstanceOf(InvalidCollectiveError);
      expect((e as Error).message).toMatch(/on rank 0: send has 3 splits, world size is 2/);
    }
  });

  it('fail(rank): pending and later collectives of every rank reject naming it', async () => {
    const { scheduler, groups } = cluster(3);
    const pending = [groups[0].barrier(), groups[1].barrier()].map((p) =>
      p.catch((e: unknown) => e),
    );
    await scheduler.sleep(2);
    groups.fail(2, 'simulated crash');
    for (const e of await Promise.all(pending)) {
      expect(e).toBeInstanceOf(PeerFailedError);
      expect((e as PeerFailedError).failedRank).toBe(2);
      expect((e as Error).message).toMatch(/rank 2 failed: simulated crash/);
    }
    await expect(groups[0].allReduce(Float32Array.of(1), 'sum')).rejects.toThrow(
      /rank 2 failed: simulated crash \(seen by rank 0\)/,
    );
    expect(scheduler.now()).toBe(2);
  });

  it('fail also cancels a collective whose data is in flight', async () => {
    const { groups } = cluster(2);
    const both = groups.map((pg) =>
      pg.allReduce(new Float32Array(1000), 'sum').catch((e: unknown) => e),
    );
    await Promise.resolve();
    groups[1].fail('link down');
    for (const e of await Promise.all(both)) expect(e).toBeInstanceOf(PeerFailedError);
  });

  it('close: own pending and later calls reject as closed; peers waiting with it fail', async () => {
    const { groups } = cluster(2);
    const mine = groups[0].barrier().catch((e: unknown) => e);
    await groups[0].close();
    expect(await mine).toBeInstanceOf(ProcessGroupClosedError);
    await expect(groups[0].barrier()).rejects.toThrow(
      /barrier on rank 0: the process group is closed/,
    );
    await expect(groups[1].barrier()).rejects.toBeInstanceOf(PeerFailedError);
  });

  it('rejects bad construction and hook arguments', () => {
    const scheduler = new SimScheduler();
    expect(() => createSimProcessGroups({ worldSize: 0, scheduler })).toThrow(/worldSize/);
    expect(() => createSimProcessGroups({ worldSize: 2, scheduler, timeoutMs: 0 })).toThrow(
      /timeoutMs/,
    );
    const groups = createSimProcessGroups({ worldSize: 2, scheduler });
    expect(() => groups.fail(5, 'x')).toThrow(/rank 5 is not in 0..1/);
    expect(() => groups.setDelay(0, { multiplier: 0 })).toThrow(/multiplier/);
  });
});
