/**
 * Rank entry of the threads tests (run in each worker by `launchThreadRanks`). What it does
 * is chosen by `workerData.mode`:
 * - `conformance`: every named conformance scenario in turn, each on a fresh channel (then,
 *   with `alsoChannels`, two channels issued concurrently in opposite orders by even and odd
 *   ranks, reported as `channelsOpposite`);
 * - `die`: everyone passes a barrier, then the victim exits (or throws) while the others
 *   wait in an allReduce; the others report the error they got, and that a later call fails too;
 *
 * @example
 * await launchThreadRanks({ worldSize: 2, entry: new URL('./threads-rank-main.ts', import.meta.url), workerData: { mode: 'die', victim: 1, how: 'exit' } });
 */
import type { ThreadRankContext } from '../../../src/runtime/collectives/threads/index.ts';
import type { ProcessGroup } from '../../../src/protocol/index.ts';
import {
  runScenarioOnRank,
  type Json,
  type RankOutcome,
  type ScenarioName,
  type ScenarioParams,
} from './conformance-scenarios.ts';

export type ThreadsTestData =
  | {
      mode: 'conformance';
      scenarios: ScenarioName[];
      params: ScenarioParams /** then run `channels` too, reported as `channelsOpposite` */;
      alsoChannels?: boolean;
    }
  | { mode: 'die'; victim: number; how: 'exit' | 'throw' };

/** What a surviving rank of the `die` mode saw. */
export interface DieReport {
  pending: { name: string; message: string; failedRank?: number };
  later: { name: string; message: string };
}

function caught(e: unknown): { name: string; message: string; failedRank?: number } {
  const err = e as { name: string; message: string; failedRank?: number };
  return {
    name: err.name,
    message: err.message,
    ...(err.failedRank === undefined ? {} : { failedRank: err.failedRank }),
  };
}

async function die(
  ctx: ThreadRankContext<ThreadsTestData>,
  victim: number,
  how: 'exit' | 'throw',
): Promise<DieReport | 'unreachable'> {
  const { group } = ctx;
  await group.barrier();
  if (ctx.rank === victim) {
    await new Promise((r) => setTimeout(r, 50)); // let the others enter their allReduce
    if (how === 'exit') process.exit(3);
    throw new Error(`rank ${victim} gives up on purpose`);
  }
  const pending = await group
    .allReduce(Float32Array.of(ctx.rank), 'sum')
    .then(() => ({ name: 'none', message: 'the allReduce completed without the victim' }), caught);
  const later = await group.barrier().then(() => ({ name: 'none', message: 'completed' }), caught);
  return { pending, later };
}

async function channels(ctx: ThreadRankContext<ThreadsTestData>): Promise<Json> {
  const { group, rank, worldSize } = ctx;
  const dist: ProcessGroup = group.channel('dataDist');
  const splits = Int32Array.from({ length: worldSize }, (_, j) => 10 * rank + j);
  const ones = Int32Array.from({ length: worldSize }, () => 1);
  const distCalls = (): Promise<unknown>[] => [
    dist.allToAllSplits(splits),
    dist.allToAllV(Float32Array.from(splits), ones, ones),
  ];
  const mainCalls = (): Promise<unknown>[] => [
    group.allReduce(Float32Array.of(rank + 0.5, -rank), 'sum'),
    group.barrier(),
    group.allReduce(Float32Array.of(rank), 'avg'),
  ];
  // even ranks issue dataDist's calls first, odd ranks default's — nothing awaited in between
  let d: Promise<unknown>[];
  let m: Promise<unknown>[];
  if (rank % 2 === 0) {
    d = distCalls();
    m = mainCalls();
  } else {
    m = mainCalls();
    d = distCalls();
  }
  const settled = await Promise.allSettled([...d, ...m]);
  return settled.map((s) => {
    if (s.status === 'rejected') return (s.reason as Error).name;
    return s.value === undefined ? 'ok' : Array.from(s.value as Float32Array | Int32Array);
  });
}

export default async function threadsTestRank(
  ctx: ThreadRankContext<ThreadsTestData>,
): Promise<unknown> {
  const data = ctx.workerData;
  switch (data.mode) {
    case 'conformance': {
      const outcomes: Record<string, RankOutcome | Json> = {};
      for (const name of data.scenarios)
        outcomes[name] = await runScenarioOnRank(
          name,
          ctx.group.channel(`conformance/${name}`),
          data.params,
        );
      if (data.alsoChannels) outcomes.channelsOpposite = await channels(ctx);
      return outcomes;
    }
    case 'die':
      return die(ctx, data.victim, data.how);
  }
}
