import { afterAll, describe, expect, it } from 'vitest';
import type { RankSettlement } from '../../../src/runtime/collectives/threads/index.ts';
import {
  createMeshPorts,
  createThreadProcessGroup,
  launchThreadRanks,
  startThreadRanks,
  ThreadRankFailedError,
} from '../../../src/runtime/collectives/threads/index.ts';
import {
  describeProcessGroupConformance,
  inProcessBackend,
  type ConformanceBackend,
} from './conformance.ts';
import {
  conformanceScenarios,
  type RankOutcome,
  type ScenarioName,
  type ScenarioParams,
} from './conformance-scenarios.ts';
import type { DieReport, ThreadsTestData } from './threads-rank-main.ts';
import { reduceInRankOrder } from '../../../src/runtime/collectives/collective-math.ts';

const entry = new URL('./threads-rank-main.ts', import.meta.url);
const scenarioNames = Object.keys(conformanceScenarios) as ScenarioName[];

/**
 * Real workers: one launch per world size runs every scenario (each on a fresh channel of
 * the same mesh), then each conformance test reads its scenario's outcomes.
 */
const launches = new Map<string, Promise<Record<string, unknown>[]>>();
const CONFORMANCE_PARAMS: ScenarioParams = { timeoutMs: 100 };
function conformanceLaunch(
  worldSize: number,
  params: ScenarioParams,
): Promise<Record<string, unknown>[]> {
  const key = `${worldSize}:${JSON.stringify(params)}`;
  let launch = launches.get(key);
  if (!launch) {
    launch = launchThreadRanks<ThreadsTestData, Record<string, unknown>>({
      worldSize,
      entry,
      workerData: { mode: 'conformance', scenarios: scenarioNames, params, alsoChannels: true },
    });
    launches.set(key, launch);
  }
  return launch;
}
function workerBackend(worldSize: number): ConformanceBackend {
  return {
    run: (name: ScenarioName, params: ScenarioParams) =>
      conformanceLaunch(worldSize, params).then((perRank) =>
        perRank.map((outcomes) => outcomes[name] as RankOutcome),
      ),
  };
}

describeProcessGroupConformance('threads (worker threads)', async (n) => workerBackend(n), {
  worldSizes: [2, 4],
  timeoutMs: CONFORMANCE_PARAMS.timeoutMs,
});

describeProcessGroupConformance(
  'threads (mesh in one thread)',
  async (n) => {
    const groups = createMeshPorts(n).map((row, rank) =>
      createThreadProcessGroup(row, { rank, worldSize: n }),
    );
    return inProcessBackend(
      groups,
      async () => void (await Promise.all(groups.map((g) => g.close()))),
    );
  },
  { worldSizes: [1, 2, 3, 4, 8] },
);

describe('threads: a rank that dies', () => {
  for (const how of ['exit', 'throw'] as const) {
    it(`a worker that ${how === 'exit' ? 'exits' : 'throws'} mid-collective fails every other rank's pending and later calls, naming it`, async () => {
      const worldSize = 3;
      const victim = 1;
      const ranks = startThreadRanks<ThreadsTestData, DieReport>({
        worldSize,
        entry,
        workerData: { mode: 'die', victim, how },
        timeoutMs: 60_000,
      });
      const settled = await ranks.settled;
      expect(settled[victim].ok).toBe(false);
      for (const s of settled) {
        if (s.rank === victim) continue;
        expect(s.ok).toBe(true);
        const report = (s as Extract<RankSettlement<DieReport>, { ok: true }>).value;
        // a PeerFailedError, not a CollectiveTimeoutError: detection did not wait for the 60 s timeout
        expect(report.pending).toMatchObject({ name: 'PeerFailedError', failedRank: victim });
        expect(report.pending.message).toMatch(
          new RegExp(`^rank ${victim} failed: .* \\(seen by rank ${s.rank}\\)$`),
        );
        expect(report.later).toMatchObject({ name: 'PeerFailedError', failedRank: victim });
      }
      const error = await ranks.results().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ThreadRankFailedError);
      expect((error as ThreadRankFailedError).failedRank).toBe(victim);
      expect((error as Error).message).toMatch(
        how === 'exit'
          ? /thread rank 1 failed: its worker exited with code 3/
          : /thread rank 1 failed: threw Error: rank 1 gives up on purpose/,
      );
    });
  }
});

describe('threads: channels', () => {
  function expectedChannels(rank: number, n: number) {
    let [sum0, sum1, avg] = [0.5, -0, 0]; // rank 0's inputs, then ranks 1… added in order
    for (let r = 1; r < n; r++)
      [sum0, sum1, avg] = [
        Math.fround(sum0 + r + 0.5),
        Math.fround(sum1 - r),
        Math.fround(avg + r),
      ];
    const recv = Array.from({ length: n }, (_, j) => 10 * j + rank);
    return [recv, recv, [sum0, sum1], 'ok', [Math.fround(avg / n)]];
  }

  for (const n of [2, 4]) {
    it(`two channels used concurrently in opposite orders do not mismatch (worker threads, world ${n})`, async () => {
      const results = (await conformanceLaunch(n, CONFORMANCE_PARAMS)).map(
        (outcomes) => outcomes.channelsOpposite,
      );
      expect(results).toEqual(results.map((_, r) => expectedChannels(r, n)));
    });
  }

  it('control: the same calls on one channel do mismatch', async () => {
    const groups = createMeshPorts(2).map((row, rank) =>
      createThreadProcessGroup(row, { rank, worldSize: 2 }),
    );
    try {
      const [even, odd] = groups;
      const e = even.allToAllSplits(Int32Array.of(0, 1)).catch((x: unknown) => x);
      const o = odd.allReduce(Float32Array.of(1), 'sum').catch((x: unknown) => x);
      for (const err of await Promise.all([e, o])) {
        expect((err as Error).name).toBe('CollectiveMismatchError');
        expect((err as Error).message).toMatch(
          /collective #0 mismatch: rank 0 called allToAllSplits\(2 splits\) but rank 1 called allReduce\(sum, 1 floats\)/,
        );
      }
    } finally {
      await Promise.all(groups.map((g) => g.close()));
    }
  });
});

describe('threads: group semantics in one thread', () => {
  function mesh(n: number, timeoutMs = 30_000) {
    return createMeshPorts(n).map((row, rank) =>
      createThreadProcessGroup(row, { rank, worldSize: n, timeoutMs }),
    );
  }
  const closeAll = (groups: { close(): Promise<void> }[]) =>
    Promise.all(groups.map((g) => g.close()));

  it('payloads go through shared blocks that a steady loop reuses; results are fresh arrays', async () => {
    const groups = mesh(2);
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    const same = (x: Float32Array, y: Float32Array) => expect(bytes(x).equals(bytes(y))).toBe(true);
    try {
      const n = 30_000;
      for (let step = 0; step < 10; step++) {
        const inputs = [0, 1].map((r) =>
          Float32Array.from({ length: n }, (_, k) => Math.fround(Math.sin(k * (r + 1) + step))),
        );
        const sent = inputs.map((x) => x.slice());
        const sums = await Promise.all(groups.map((g, r) => g.allReduce(inputs[r], 'avg')));
        same(sums[0], reduceInRankOrder(sent, 'avg'));
        same(sums[1], sums[0]);
        expect(sums[0].buffer).not.toBe(sums[1].buffer);
        for (const sum of sums) expect(sum.buffer).toBeInstanceOf(ArrayBuffer);
        for (const r of [0, 1]) same(inputs[r], sent[r]);
        const [a, b] = await Promise.all([
          groups[0].allToAllV(inputs[0], Int32Array.of(n - 10, 10), Int32Array.of(n - 10, 20)),
          groups[1].allToAllV(inputs[1], Int32Array.of(20, n - 20), Int32Array.of(10, n - 20)),
        ]);
        const join = (x: Float32Array, y: Float32Array) => {
          const out = new Float32Array(x.length + y.length);
          out.set(x);
          out.set(y, x.length);
          return out;
        };
        same(a, join(sent[0].subarray(0, n - 10), sent[1].subarray(0, 20)));
        same(b, join(sent[0].subarray(n - 10), sent[1].subarray(20)));
      }
      // the fast path ran (blocks, not copies per peer) and reused its blocks: a few per
      // rank for 40 large payloads, not one per call
      for (const g of groups) {
        expect(g.sharedBlockCount).toBeGreaterThan(0);
        expect(g.sharedBlockCount).toBeLessThanOrEqual(2);
      }
    } finally {
      await closeAll(groups);
    }
  });

  it('allToAllV never detaches or aliases the caller arrays (views into a bigger buffer included)', async () => {
    const groups = mesh(2);
    try {
      const big = new Float32Array([9, 1, 2, 3, 9]);
      const view = big.subarray(1, 4); // rank 0 sends [1] to itself and [2, 3] to rank 1
      const [a, b] = await Promise.all([
        groups[0].allToAllV(view, Int32Array.of(1, 2), Int32Array.of(1, 0)),
        groups[1].allToAllV(new Float32Array(0), Int32Array.of(0, 0), Int32Array.of(2, 0)),
      ]);
      expect(Array.from(a)).toEqual([1]);
      expect(Array.from(b)).toEqual([2, 3]);
      expect(Array.from(big)).toEqual([9, 1, 2, 3, 9]);
      expect(big.buffer.byteLength).toBe(20);
    } finally {
      await closeAll(groups);
    }
  });

  it('invalid arguments reject every rank naming the offender', async () => {
    const groups = mesh(2);
    try {
      const errors = await Promise.all([
        groups[0].allToAllSplits(Int32Array.of(1, 2, 3)).catch((x: unknown) => x),
        groups[1].allToAllSplits(Int32Array.of(1, 2)).catch((x: unknown) => x),
      ]);
      for (const e of errors)
        expect((e as Error).message).toMatch(
          /collective #0 allToAllSplits\(3 splits\) on rank 0: send has 3 splits, world size is 2/,
        );
    } finally {
      await closeAll(groups);
    }
  });

  it('inconsistent allToAllV counts name sender and receiver on every rank', async () => {
    const groups = mesh(2);
    try {
      const errors = await Promise.all([
        groups[0]
          .allToAllV(Int32Array.of(1, 2), Int32Array.of(0, 2), Int32Array.of(0, 0))
          .catch((x: unknown) => x),
        groups[1]
          .allToAllV(new Int32Array(0), Int32Array.of(0, 0), Int32Array.of(1, 0))
          .catch((x: unknown) => x),
      ]);
      for (const e of errors) {
        expect((e as Error).message).toMatch(
          /rank 0 called allToAllV sending 2 elements to rank 1 but rank 1 called allToAllV expecting 1 elements from rank 0/,
        );
      }
    } finally {
      await closeAll(groups);
    }
  });

  it('timeout names the missing ranks, label and channel; a late arrival rejects with the same error', async () => {
    const groups = mesh(3, 30_000);
    try {
      const [a, b] = [0, 1].map((r) =>
        groups[r]
          .channel('dataDist')
          .barrier({ timeoutMs: 40, label: 'splits' })
          .catch((e: unknown) => e),
      );
      for (const [r, e] of (await Promise.all([a, b])).entries()) {
        expect((e as Error).name).toBe('CollectiveTimeoutError');
        expect((e as { missingRanks: number[] }).missingRanks).toEqual([2]);
        expect((e as Error).message).toMatch(
          new RegExp(
            `^barrier #0 "splits" on channel "dataDist" on rank ${r} timed out after 40 ms: rank\\(s\\) 2 never arrived$`,
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 10)); // let the abort notices reach rank 2 (same-thread ports deliver on a later turn)
      await expect(groups[2].channel('dataDist').barrier()).rejects.toThrow(
        /rank\(s\) 2 never arrived/,
      );
      // the default channel is unaffected
      await Promise.all(groups.map((g) => g.barrier()));
    } finally {
      await closeAll(groups);
    }
  });

  it('failPeer and close: pending and later calls reject with the right errors', async () => {
    const groups = mesh(3);
    try {
      const pending = groups[0].allReduce(Float32Array.of(1), 'sum').catch((e: unknown) => e);
      groups[0].failPeer(2, 'worker exited with code 1');
      expect((await pending) as Error).toMatchObject({
        name: 'PeerFailedError',
        failedRank: 2,
        message: 'rank 2 failed: worker exited with code 1 (seen by rank 0)',
      });
      await expect(groups[0].channel('other').barrier()).rejects.toThrow(/rank 2 failed/);

      const waiting = groups[1].barrier().catch((e: unknown) => e);
      await groups[2].close();
      expect(await waiting).toMatchObject({ name: 'PeerFailedError', failedRank: 2 });
      await expect(groups[2].barrier()).rejects.toThrow(
        /barrier on rank 2: the process group is closed/,
      );
    } finally {
      await closeAll(groups);
    }
  });

  it('rejects bad construction arguments', () => {
    const [row] = createMeshPorts(2);
    expect(() => createThreadProcessGroup(row, { rank: 2, worldSize: 2 })).toThrow(
      /rank 2 is not in 0..1/,
    );
    expect(() => createThreadProcessGroup(row.slice(0, 1), { rank: 0, worldSize: 2 })).toThrow(
      /got 1 mesh ports/,
    );
    expect(() => createThreadProcessGroup(row, { rank: 1, worldSize: 2 })).toThrow(
      /on rank 1: no mesh port to rank 0/,
    );
    row[1]?.close();
  });

  it('launcher: values in rank order; an entry without a default export is a failed rank', async () => {
    const bad = await launchThreadRanks({
      worldSize: 1,
      entry: new URL('./conformance-scenarios.ts', import.meta.url),
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ThreadRankFailedError);
    expect((bad as Error).message).toMatch(
      /thread rank 0 failed: threw TypeError: .*conformance-scenarios\.ts must have a default export function/,
    );
  });
});

afterAll(async () => {
  await Promise.allSettled(launches.values());
});
