/**
 * A simulated cluster: one virtual clock, one sim device and one sim process group per
 * rank. The ground every harness run and pipeline test stands on.
 *
 * @example
 * const cluster = createSimCluster({ worldSize: 4, costModel: new CostModel({ overrides: parseCostOverrides('fwd=3') }) });
 * cluster.devices[2].run('default', { kind: 'forward' }, () => 1);
 */
import { CostModel } from './cost-model.ts';
import { SimDevice } from './sim-device.ts';
import { SimScheduler } from './sim-scheduler.ts';
import { createSimProcessGroups, type SimProcessGroups } from '../collectives/sim-process-group.ts';
import type { HazardMode } from '../stream-engine.ts';
import type { OpLog } from '../op-log.ts';

export interface SimClusterOptions {
  worldSize: number;
  /** Durations of device ops (default: `new CostModel()`). */
  costModel?: CostModel;
  /** Durations of collectives (default: the device cost model). */
  collectiveCostModel?: CostModel;
  /** Collective timeout, virtual ms. */
  timeoutMs?: number;
  hazards?: HazardMode;
  /** Per-rank device cost model (e.g. a slow rank); default: `costModel` for every rank. */
  deviceCostModel?: (rank: number, base: CostModel) => CostModel;
  /** The scheduler fires same-instant timers in one turn (default false; see `SimScheduler`). */
  coalesce?: boolean;
  /** Keep an op log per device (default true; large simulations turn it off). */
  opLogs?: boolean;
  /** One op log shared by every device (wins over `opLogs`; e.g. `new OpLog(false)` with a listener). */
  opLog?: OpLog;
}

export interface SimCluster {
  scheduler: SimScheduler;
  devices: SimDevice[];
  /** Default-stream channel: output dist, backward, gradient all-reduce. */
  pgs: SimProcessGroups;
  /** Input-dist channel (dataDist stream). */
  distPgs: SimProcessGroups;
  costModel: CostModel;
}

export function createSimCluster(options: SimClusterOptions): SimCluster {
  const scheduler = new SimScheduler({ coalesce: options.coalesce ?? false });
  const costModel = options.costModel ?? new CostModel();
  const pgs = createSimProcessGroups({
    worldSize: options.worldSize,
    scheduler,
    costModel: options.collectiveCostModel ?? collectiveModelFor(costModel),
    timeoutMs: options.timeoutMs,
  });
  // The input dist runs on its own stream, so it gets its own channel (see ShardedEnv.distPg).
  const distPgs = createSimProcessGroups({
    worldSize: options.worldSize,
    scheduler,
    costModel: options.collectiveCostModel ?? collectiveModelFor(costModel),
    timeoutMs: options.timeoutMs,
  });
  const devices = pgs.map(
    (_, rank) =>
      new SimDevice({
        rank,
        scheduler,
        costModel: options.deviceCostModel?.(rank, costModel) ?? costModel,
        hazards: options.hazards,
        opLog: options.opLog ?? (options.opLogs === false ? false : undefined),
      }),
  );
  return { scheduler, devices, pgs, distPgs, costModel };
}

/**
 * Fixed stage costs (`--cost copy=2,dist=5,…`) describe whole stages, so collectives are
 * free unless a `collective` cost is given; without stage costs the process group charges
 * alpha + bytes/beta.
 */
export function collectiveModelFor(costModel: CostModel): CostModel {
  const { collective, ...stages } = costModel.overrides;
  if (collective !== undefined || Object.keys(stages).length === 0) return costModel;
  return costModel.withOverrides({ collective: 0 });
}
