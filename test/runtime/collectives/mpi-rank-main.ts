/**
 * One rank of the MPI tests, started by `mpirun … node --import tsx mpi-rank-main.ts <mode> [json]`.
 * Reports go to stdout as rank lines (`writeRankLine`), checked centrally by `mpi.test.ts`.
 *
 * - `conformance {"scenarios":[…],"params":{…}}` — each conformance scenario (or MPI extra:
 *   `mismatch`, `invalid`, `channelsOpposite`) in turn on a fresh channel; reports
 *   `{ scenario, outcome }` after each. Put `lastRankNeverArrives` last: its timeout aborts the job.
 * - `kill {"victim":1}` — all pass a barrier, the victim SIGKILLs itself, the others wait
 *   in an allReduce (timeout 60 s): mpirun must end the job, naming the rank.
 *
 * @example
 * mpirun -np 2 --oversubscribe node --import tsx test/runtime/collectives/mpi-rank-main.ts conformance '{"scenarios":["barrier"],"params":{"timeoutMs":100}}'
 */
import type { ProcessGroup } from '../../../src/protocol/index.ts';
import {
  createMpiProcessGroup,
  writeRankLine,
  type MpiProcessGroup,
} from '../../../src/runtime/collectives/mpi/index.ts';
import {
  conformanceScenarios,
  runScenarioOnRank,
  type Json,
  type RankOutcome,
  type ScenarioName,
  type ScenarioParams,
} from './conformance-scenarios.ts';

/** MPI-only scenarios: errors the sim checks, on real MPI. */
export const mpiExtraScenarios = {
  /** rank 0 calls barrier, the others allReduce: every rank gets CollectiveMismatchError. */
  async mismatch(pg: ProcessGroup): Promise<Json> {
    if (pg.rank === 0) await pg.barrier();
    else await pg.allReduce(Float32Array.of(1, 2), 'sum');
    return 'no error';
  },
  /** the last rank passes too many splits: every rank gets InvalidCollectiveError naming it. */
  async invalid(pg: ProcessGroup): Promise<Json> {
    const n = pg.worldSize + (pg.rank === pg.worldSize - 1 ? 1 : 0);
    await pg.allToAllSplits(new Int32Array(n));
    return 'no error';
  },
  /** two channels, issued in opposite orders by even and odd ranks, nothing awaited in between. */
  async channelsOpposite(
    pg: ProcessGroup,
    _params: ScenarioParams,
    dist?: ProcessGroup,
  ): Promise<Json> {
    const other = dist as ProcessGroup;
    const splits = Int32Array.from({ length: pg.worldSize }, (_, j) => 10 * pg.rank + j);
    const onDist = (): Promise<unknown>[] => [other.allToAllSplits(splits), other.barrier()];
    const onMain = (): Promise<unknown>[] => [
      pg.allReduce(Float32Array.of(pg.rank), 'sum'),
      pg.barrier(),
    ];
    let d: Promise<unknown>[];
    let m: Promise<unknown>[];
    if (pg.rank % 2 === 0) {
      d = onDist();
      m = onMain();
    } else {
      m = onMain();
      d = onDist();
    }
    const out = await Promise.all([...d, ...m]);
    return out.map((v) => (v === undefined ? 'ok' : Array.from(v as Int32Array | Float32Array)));
  },
};
export type MpiExtraName = keyof typeof mpiExtraScenarios;

async function runExtra(
  name: MpiExtraName,
  pg: MpiProcessGroup,
  params: ScenarioParams,
): Promise<RankOutcome> {
  const dist = name === 'channelsOpposite' ? await pg.channel(`${pg.channelName}/dist`) : undefined;
  try {
    return { ok: true, value: await mpiExtraScenarios[name](pg, params, dist) };
  } catch (e) {
    const err = e as Error;
    return { ok: false, error: { name: err.name, message: err.message } };
  } finally {
    await dist?.close();
  }
}

async function conformance(spec: {
  scenarios: (ScenarioName | MpiExtraName)[];
  params: ScenarioParams;
}): Promise<void> {
  const root = await createMpiProcessGroup({ abortDelayMs: 500 });
  const groups: MpiProcessGroup[] = [root];
  for (const name of spec.scenarios) {
    const pg = await root.channel(`conformance/${name}`);
    groups.push(pg);
    const outcome =
      name in conformanceScenarios
        ? await runScenarioOnRank(name as ScenarioName, pg, spec.params)
        : await runExtra(name as MpiExtraName, pg, spec.params);
    writeRankLine(root.rank, { scenario: name, outcome });
  }
  await Promise.all(groups.map((g) => g.close()));
}

async function kill(spec: { victim: number }): Promise<void> {
  const pg = await createMpiProcessGroup({ timeoutMs: 60_000 });
  await pg.barrier();
  if (pg.rank === spec.victim) {
    writeRankLine(pg.rank, 'dying');
    process.kill(process.pid, 'SIGKILL');
  }
  writeRankLine(pg.rank, 'waiting');
  await pg.allReduce(Float32Array.of(pg.rank), 'sum');
  writeRankLine(pg.rank, 'the allReduce completed without the victim');
  await pg.close();
}

const [mode, json = '{}'] = process.argv.slice(2);
const spec = JSON.parse(json) as never;
if (mode === 'conformance') await conformance(spec);
else if (mode === 'kill') await kill(spec);
else throw new Error(`mpi-rank-main.ts: unknown mode "${mode}" (conformance | kill)`);
