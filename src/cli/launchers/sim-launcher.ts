/**
 * `--backend sim`: every rank in this process, all running concurrently (`Promise.all`),
 * coupled through sim process groups.
 *
 * - `--device sim`: a simulated cluster (`createSimCluster`) — virtual time from the cost
 *   model (`--cost` overrides), real tfjs math on the wasm backend.
 * - `--device wasm|cpu|gpu`: the same in-process ranks on `TfjsDevice`s (wall clock, that
 *   tfjs backend); collectives still go through sim process groups, with a zero cost model
 *   and no timeout, so they only order and exchange data.
 *
 * @example
 * const outcome = await simLauncher.launch(plan, {});
 */
import { initBackend } from '../../runtime/tfjs-backend.ts';
import { CostModel } from '../../runtime/sim/cost-model.ts';
import { SimScheduler } from '../../runtime/sim/sim-scheduler.ts';
import { createSimProcessGroups } from '../../runtime/collectives/sim-process-group.ts';
import { TfjsDevice } from '../../runtime/tfjs-device.ts';
import { createSimCluster } from '../../runtime/sim/sim-cluster.ts';
import { dieHook, faultMessage } from '../fault-injection.ts';
import { runRankJob, type RankEnv } from '../rank-job.ts';
import type { LaunchObserver, LaunchOutcome, LaunchPlan, RankLauncher } from './rank-launcher.ts';

interface SimEnvs {
  envs: RankEnv[];
  virtual: boolean;
  /** Make every other rank's collectives fail at once when `rank` failed. */
  fail(rank: number, reason: string): void;
}

function simEnvs(plan: LaunchPlan): SimEnvs {
  const { options } = plan;
  const worldSize = options.ranks;
  if (options.device === 'sim') {
    // While the inspector pauses the run, ranks wait in collectives: no timeouts then.
    const timeoutMs = options.inspect !== null ? Infinity : undefined;
    const cluster = createSimCluster({
      worldSize,
      costModel: new CostModel({ overrides: options.costOverrides }),
      timeoutMs,
    });
    const envs = cluster.pgs.map((pg, r) => ({
      pg,
      distPg: cluster.distPgs[r],
      device: cluster.devices[r],
      holdIo: <T>(work: Promise<T>) => cluster.scheduler.hold(work),
    }));
    const fail = (rank: number, reason: string) => {
      cluster.pgs.fail(rank, reason);
      cluster.distPgs.fail(rank, reason);
    };
    return { envs, virtual: true, fail };
  }
  const scheduler = new SimScheduler();
  const groups = () =>
    createSimProcessGroups({
      worldSize,
      scheduler,
      costModel: CostModel.zero(),
      timeoutMs: Infinity,
    });
  const pgs = groups();
  const distPgs = groups();
  const envs = pgs.map((pg, r) => ({
    pg,
    distPg: distPgs[r],
    device: new TfjsDevice({ rank: r }),
  }));
  const fail = (rank: number, reason: string) => {
    pgs.fail(rank, reason);
    distPgs.fail(rank, reason);
  };
  return { envs, virtual: false, fail };
}

export const simLauncher: RankLauncher = {
  backend: 'sim',
  async launch(plan: LaunchPlan, observer: LaunchObserver): Promise<LaunchOutcome> {
    const device = plan.options.device;
    await initBackend(device === 'sim' ? 'wasm' : device, {
      denseMath: plan.options.denseMath,
      threads: plan.options.blasThreads,
    });
    const { envs, virtual, fail } = simEnvs(plan);
    const results = await Promise.all(
      plan.specs.map((spec, r) => {
        const hooks = observer.rankHooks?.(r) ?? {};
        const onIteration = r === 0 && observer.onIteration ? observer.onIteration : undefined;
        // SPARSEPIPE_FAULT: the rank's process groups fail and its loop stops.
        const die = dieHook(plan.fault, r, (fault) => {
          fail(r, faultMessage(fault));
          throw new Error(faultMessage(fault));
        });
        const job = runRankJob(spec, envs[r], {
          ...hooks,
          ...(die ? { beforeBatch: die } : {}),
          onIteration: (m) => {
            hooks.onIteration?.(m);
            onIteration?.(m);
          },
        });
        // A failed rank must not leave the others waiting in a collective.
        job.catch((e: unknown) => fail(r, e instanceof Error ? e.message : String(e)));
        return job;
      }),
    );
    const simulatedMs = virtual ? results[0].clockEnd - results[0].clockStart : null;
    return { role: 'leader', results, simulatedMs, clock: virtual ? 'virtual' : 'wall' };
  },
};
