/**
 * `--backend threads` and `--backend mpi`: real ranks in worker threads or MPI processes,
 * run by the collectives backend in `src/runtime/collectives/<backend>/index.ts`.
 *
 * **Contract for a backend module** (all a backend needs to export for the CLI):
 *
 * ```ts
 * export async function launchRanks(request: RankLaunchRequest): Promise<LaunchOutcome>;
 * ```
 *
 * It starts one worker / process per `request.specs[r]`; in each, it builds that rank's
 * process groups and calls {@link runRankJobOnDevice} from `src/cli/rank-worker.ts`
 * (`request.workerModule`), then gathers the {@link RankResult}s (plain data) to the leader
 * and resolves `{ role: 'leader', results, simulatedMs: null, clock: 'wall' }` there
 * (`{ role: 'follower' }` on other MPI processes). Rank 0's iteration metrics may be
 * forwarded to `request.onIteration` for the progress bar.
 *
 * Until the module exists the launcher fails with one line saying the backend is not
 * available yet.
 *
 * @example
 * const outcome = await externalLauncher('threads').launch(plan, {});
 */
import type { IterationMetrics } from '../../pipeline/train-pipeline.ts';
import { CliError } from '../cli-io.ts';
import { importOptional } from '../optional-module.ts';
import type { RankJobSpec } from '../rank-job.ts';
import type { Backend } from '../train-options.ts';
import type { LaunchObserver, LaunchOutcome, LaunchPlan, RankLauncher } from './rank-launcher.ts';

/** What the CLI hands a backend's `launchRanks`. */
export interface RankLaunchRequest {
  worldSize: number;
  /** tfjs backend each rank initialises. */
  device: 'wasm' | 'cpu' | 'gpu';
  specs: RankJobSpec[];
  /** URL of `src/cli/rank-worker.ts` (exports `runRankJobOnDevice`). */
  workerModule: string;
  onIteration?(metrics: IterationMetrics): void;
}

const BACKEND_MODULES: Record<'threads' | 'mpi', URL> = {
  threads: new URL('../../runtime/collectives/threads/index.ts', import.meta.url),
  mpi: new URL('../../runtime/collectives/mpi/index.ts', import.meta.url),
};

const WORKER_MODULE = new URL('../rank-worker.ts', import.meta.url);

export function externalLauncher(backend: Extract<Backend, 'threads' | 'mpi'>): RankLauncher {
  return {
    backend,
    async launch(plan: LaunchPlan, observer: LaunchObserver): Promise<LaunchOutcome> {
      const url = BACKEND_MODULES[backend];
      const mod = await importOptional(url);
      if (!mod) throw new CliError(`--backend ${backend} is not available yet (src/runtime/collectives/${backend}/index.ts is missing); use --backend sim`);
      const launchRanks = mod.launchRanks;
      if (typeof launchRanks !== 'function') {
        throw new CliError(`--backend ${backend} is not available yet: src/runtime/collectives/${backend}/index.ts does not export launchRanks(request)`);
      }
      const device = plan.options.device;
      if (device === 'sim') throw new CliError(`--backend ${backend} needs a real --device (wasm, cpu or gpu)`);
      const request: RankLaunchRequest = {
        worldSize: plan.options.ranks,
        device,
        specs: plan.specs,
        workerModule: WORKER_MODULE.href,
        onIteration: observer.onIteration,
      };
      return (await (launchRanks as (r: RankLaunchRequest) => Promise<LaunchOutcome>)(request)) ?? { role: 'follower' };
    },
  };
}
