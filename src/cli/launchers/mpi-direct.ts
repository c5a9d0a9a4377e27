/**
 * `--backend mpi` under an external `mpirun` (one host or many): every process is one rank.
 *
 * ```
 * mpirun -np 4 --hostfile hosts npx sparsepipe train --backend mpi --batches 64 --json run.json
 * ```
 *
 * Each process joins MPI (channels `default` and `dataDist`), runs its own rank's job on a
 * `TfjsDevice` of `--device` (wasm by default), then the results go to rank 0 **through MPI**
 * (packed into Int32 words: `result-words.ts`, gathered with `gatherToRoot`), so no shared
 * filesystem is needed. Rank 0 is the leader: `train()` builds the summary, report, `--json`,
 * `--trace`, `--checkpoint-out` from the gathered results exactly as for the other
 * backends. The others are followers: they print nothing and exit 0.
 *
 * A rank whose job fails prints one line `sparsepipe: rank R: <error>` on stderr and calls
 * `MPI_Abort`, which makes mpirun end every process (exit ≠ 0): no rank is left waiting in a
 * collective. Collectives time out after {@link MPI_DIRECT_TIMEOUT_MS} (then abort too).
 * `SPARSEPIPE_FAULT=die:R@B` (src/cli/fault-injection.ts) makes rank R say so in one line and
 * SIGKILL itself before batch B; mpirun then ends the job.
 *
 * Files: outputs are written on rank 0's host only; `--data FILE.tsv` and `--resume DIR`
 * must be readable on every host. Waiting ranks yield the CPU (`mpi_yield_when_idle`, set
 * through `OMPI_MCA_mpi_yield_when_idle` unless the environment already sets it).
 *
 * @example
 * const plan = mpiDirectPlan(options, process.env, process.argv.slice(2));
 * if (plan) outcome = await plan.launcher.launch({ options: plan.options, specs }, observer);
 */
import type { MpiProcessGroup } from '../../runtime/collectives/mpi/index.ts';
import { CliError, errorLine } from '../cli-io.ts';
import { dieHook, faultMessage } from '../fault-injection.ts';
import type { RankHooks, RankResult } from '../rank-job.ts';
import { runRankJobOnDevice } from '../rank-worker.ts';
import type { TrainOptions } from '../train-options.ts';
import { gatherToRoot } from './gather-to-root.ts';
import { mpirunWorld, optionsForMpiWorld, ranksFlagGiven } from './mpi-world.ts';
import type { LaunchObserver, LaunchOutcome, LaunchPlan, RankLauncher } from './rank-launcher.ts';
import { packWords, unpackWords } from './result-words.ts';

/** Collective timeout of the ranks, real ms (a rank that stops answering ends the job after this). */
export const MPI_DIRECT_TIMEOUT_MS = 120_000;

/** How `train()` runs when an external `mpirun` started this process. */
export interface MpiDirectPlan {
  /** The options with `--ranks` set to the MPI world size. */
  options: TrainOptions;
  launcher: RankLauncher;
  /** This process is rank 0 (it alone checks and writes the outputs). */
  leader: boolean;
}

/**
 * The plan for a `--backend mpi` run started by an external `mpirun`, or null (another
 * backend, or no `mpirun` in the environment: the usual launchers apply). Throws a
 * `UsageError` when the options do not fit the MPI job (see `optionsForMpiWorld`).
 *
 * @example
 * mpiDirectPlan(options, { OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '1' }, ['train', '--backend', 'mpi']);
 * // { options: { …, ranks: 2 }, launcher: mpiDirectLauncher, leader: false }
 */
export function mpiDirectPlan(
  options: TrainOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  argv: readonly string[] = process.argv.slice(2),
): MpiDirectPlan | null {
  if (options.backend !== 'mpi') return null;
  const world = mpirunWorld(env);
  if (!world) return null;
  return {
    options: optionsForMpiWorld(options, world, ranksFlagGiven(argv)),
    launcher: mpiDirectLauncher,
    leader: world.rank === 0,
  };
}

type MpiModule = typeof import('../../runtime/collectives/mpi/index.ts');

/**
 * Runs this process's rank and gathers every result to rank 0 (see the module doc).
 *
 * @example
 * const outcome = await mpiDirectLauncher.launch({ options, specs }, {}); // { role: 'follower' } on ranks ≠ 0
 */
export const mpiDirectLauncher: RankLauncher = {
  backend: 'mpi',
  async launch(plan: LaunchPlan, observer: LaunchObserver): Promise<LaunchOutcome> {
    const device = plan.options.device;
    if (device === 'sim')
      throw new CliError('--backend mpi under mpirun needs a real --device (wasm, cpu or gpu)');
    process.env.OMPI_MCA_mpi_yield_when_idle ??= '1'; // read by MPI_Init: waiting ranks leave the CPU to the working ones
    const mpi: MpiModule = await import('../../runtime/collectives/mpi/index.ts');
    let pg: MpiProcessGroup;
    let dist: MpiProcessGroup;
    try {
      pg = await mpi.createMpiProcessGroup({ timeoutMs: MPI_DIRECT_TIMEOUT_MS });
      dist = await pg.channel('dataDist');
    } catch (e) {
      throw new CliError(
        `--backend mpi under mpirun: could not join the MPI job: ${errorLine(e).replace(/^sparsepipe: /, '')}`,
      );
    }
    const abort = async (error: unknown): Promise<never> => {
      process.stderr.write(
        `${errorLine(error).replace(/^sparsepipe: /, `sparsepipe: rank ${pg.rank}: `)}\n`,
      );
      const { lib } = await mpi.MpiRuntime.init();
      lib.abort(lib.handles.commWorld, 1); // mpirun ends every rank of the job
      throw error; // not reached
    };

    let gathered: Array<Int32Array | null> | null;
    let own: RankResult;
    try {
      if (pg.worldSize !== plan.specs.length) {
        throw new Error(
          `internal: ${plan.specs.length} rank specs for an MPI world of ${pg.worldSize} processes`,
        );
      }
      const hooks: RankHooks = {};
      if (pg.rank === 0 && observer.onIteration) hooks.onIteration = observer.onIteration;
      const beforeBatch = dieHook(plan.fault, pg.rank, (fault) => {
        process.stderr.write(`sparsepipe: ${faultMessage(fault)}\n`);
        process.kill(process.pid, 'SIGKILL'); // a real death: mpirun ends the job
      }); // SPARSEPIPE_FAULT
      if (beforeBatch) hooks.beforeBatch = beforeBatch;
      own = await runRankJobOnDevice(plan.specs[pg.rank], device, pg, dist, hooks);
      gathered = await gatherToRoot(pg, pg.rank === 0 ? null : packWords(own));
    } catch (e) {
      return abort(e);
    }
    await Promise.all([dist.close(), pg.close()]); // the last close finalizes MPI
    if (!gathered) return { role: 'follower' };
    const results = gathered.map((words, r) =>
      words === null ? own : unpackWords<RankResult>(words, `rank ${r}'s result`),
    );
    return { role: 'leader', results, simulatedMs: null, clock: 'wall' };
  },
};
