/**
 * How a `sparsepipe train` run gets its ranks: one {@link RankLauncher} per `--backend`.
 *
 * A launcher receives one {@link RankJobSpec} per rank and must run `runRankJob(spec, env)`
 * for each, where `env` holds that rank's process groups and device, then hand the
 * results to the leader:
 *
 * - `sim` (src/cli/launchers/sim-launcher.ts): every rank in this process, concurrently.
 * - `threads` (threads-launcher.ts): one worker thread per rank; results by structured clone.
 * - `mpi` (mpi-launcher.ts): `mpirun` starts one process per rank; specs and results travel
 *   through a job directory in the checkpoint's array format.
 *
 * A launcher that runs inside every rank's process (none so far) would answer
 * `{ role: 'follower' }` on all but the leader, which alone writes the outputs.
 *
 * @example
 * const outcome = await launcherFor('sim').launch(plan, { onIteration: (m) => bar.update(m) });
 */
import type { IterationMetrics } from '../../pipeline/train-pipeline.ts';
import type { RankHooks, RankJobSpec, RankResult } from '../rank-job.ts';
import type { Backend, TrainOptions } from '../train-options.ts';
import type { RankFault } from '../fault-injection.ts';

/** What a launcher is asked to run. */
export interface LaunchPlan {
  options: TrainOptions;
  /** One spec per rank, in rank order. */
  specs: RankJobSpec[];
  /** A rank to kill mid-run (the `SPARSEPIPE_FAULT` test hook, src/cli/fault-injection.ts). */
  fault?: RankFault | null;
}

/** Callbacks from the ranks while they run (rank 0's iterations drive the progress bar). */
export interface LaunchObserver {
  onIteration?(metrics: IterationMetrics): void;
  /** Per-rank hooks for in-process launchers (e.g. the inspector's observers). */
  rankHooks?(rank: number): RankHooks;
}

export type LaunchOutcome =
  | {
      role: 'leader';
      results: RankResult[];
      /** Virtual ms the training took on a simulated clock; null on real devices. */
      simulatedMs: number | null;
      /** Which clock `iterationMs` was measured on. */
      clock: 'virtual' | 'wall';
    }
  | { role: 'follower' };

export interface RankLauncher {
  readonly backend: Backend;
  /** Run every rank's job; rejects with the first rank's error. */
  launch(plan: LaunchPlan, observer: LaunchObserver): Promise<LaunchOutcome>;
}
