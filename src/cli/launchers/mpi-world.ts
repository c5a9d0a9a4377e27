/**
 * Whether this process was started by an external `mpirun` (Open MPI puts
 * `OMPI_COMM_WORLD_SIZE` and `OMPI_COMM_WORLD_RANK` in every rank's environment), and the
 * `sparsepipe train` options for that job: `--ranks` must equal the MPI world size (taken
 * from it when not given), `--device` must be real, and `--inspect` is refused.
 *
 * Read from the environment, before MPI is initialized, so a bad command line fails on
 * every rank at once without starting MPI.
 *
 * @example
 * const world = mpirunWorld(process.env);          // { size: 2, rank: 1 } under mpirun -np 2
 * if (world) options = optionsForMpiWorld(options, world, ranksFlagGiven(process.argv.slice(2)));
 */
import { UsageError } from '../cli-io.ts';
import type { TrainOptions } from '../train-options.ts';

/** This process's place in the MPI job, from the environment. */
export interface MpirunWorld {
  size: number;
  rank: number;
}

/**
 * The MPI world this process belongs to, or null when no `mpirun` started it. Throws when
 * the variables are there but are not a rank below a size ≥ 1.
 *
 * @example
 * mpirunWorld({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '0' }); // { size: 2, rank: 0 }
 * mpirunWorld({});                                                          // null
 */
export function mpirunWorld(env: Readonly<Record<string, string | undefined>>): MpirunWorld | null {
  const sizeText = env.OMPI_COMM_WORLD_SIZE;
  const rankText = env.OMPI_COMM_WORLD_RANK;
  if (sizeText === undefined && rankText === undefined) return null;
  const size = Number(sizeText);
  const rank = Number(rankText);
  if (!/^\d+$/.test(sizeText ?? '') || !/^\d+$/.test(rankText ?? '') || size < 1 || rank >= size) {
    throw new Error(
      `the environment says mpirun started this process, but OMPI_COMM_WORLD_SIZE=${JSON.stringify(sizeText ?? null)} ` +
        `and OMPI_COMM_WORLD_RANK=${JSON.stringify(rankText ?? null)} are not a rank below a world size`,
    );
  }
  return { size, rank };
}

/**
 * Whether the `sparsepipe` command line `argv` (what follows the script: `train …`) gives
 * `--ranks`. When `argv` is not a `train` command line (a program calling `main()` itself),
 * answers true: the options' `--ranks` is then taken as given.
 *
 * @example
 * ranksFlagGiven(['train', '--backend', 'mpi', '--ranks=2']); // true
 * ranksFlagGiven(['train', '--backend', 'mpi']);              // false
 */
export function ranksFlagGiven(argv: readonly string[]): boolean {
  if (argv[0] !== 'train') return true;
  // parseTrainArgs accepted these words, so no flag's value starts with "--": a plain scan is exact.
  return argv.slice(1).some((word) => word === '--ranks' || word.startsWith('--ranks='));
}

/**
 * `options` for one rank of an external `mpirun` job of `world.size` processes, or a
 * {@link UsageError} naming what does not fit.
 *
 * @example
 * optionsForMpiWorld(options, { size: 2, rank: 0 }, false).ranks; // 2
 * optionsForMpiWorld({ ...options, ranks: 3 }, { size: 2, rank: 0 }, true); // throws: --ranks 3 does not match …
 */
export function optionsForMpiWorld(
  options: TrainOptions,
  world: MpirunWorld,
  ranksGiven: boolean,
): TrainOptions {
  if (ranksGiven && options.ranks !== world.size) {
    throw new UsageError(
      `--ranks ${options.ranks} does not match the MPI world size ${world.size} (mpirun started ${world.size} processes, one per rank): ` +
        `give --ranks ${world.size} or leave --ranks out`,
    );
  }
  if (options.device === 'sim') {
    throw new UsageError(
      '--device sim cannot run under mpirun: each MPI process is one real rank, with no simulated clock to share (choose --device wasm, cpu or gpu)',
    );
  }
  if (options.inspect !== null) {
    throw new UsageError(
      '--inspect cannot watch ranks started by mpirun (each rank is its own process): leave --inspect out, or use --backend sim',
    );
  }
  const ranks = world.size;
  if (options.batchSize % ranks !== 0) {
    throw new UsageError(
      `--batch-size ${options.batchSize} is not divisible by the MPI world size ${ranks} (it is the global batch, split evenly across ranks)`,
    );
  }
  if (options.heldOutExamples > 0 && options.heldOutExamples < ranks) {
    throw new UsageError(
      `--held-out-examples ${options.heldOutExamples} must be 0 or at least the MPI world size ${ranks}`,
    );
  }
  return { ...options, ranks };
}
