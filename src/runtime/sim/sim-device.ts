/**
 * The simulated device: three FIFO streams (`memcpy`, `dataDist`, `default`) on the virtual
 * clock of a {@link SimScheduler}. An op starts when its stream is free, its waits are done
 * and its `after` promises resolved; its function runs at that virtual time, and it
 * completes when the function settled plus `costModel.duration(cost)`. Everything is
 * deterministic: the same scenario gives a byte-identical op log. Several devices (one per
 * rank) share one scheduler. Stream semantics, failures and tagging: see {@link StreamEngine}.
 *
 * The device does not `hold` op functions: a function may await virtual time (a
 * collective). Real asynchronous work inside an op that must take no virtual time is
 * wrapped in `scheduler.hold(...)` by the caller.
 *
 * @example
 * const scheduler = new SimScheduler();
 * const device = new SimDevice({ rank: 0, scheduler, costModel: new CostModel({ overrides: { copy: 2, forward: 3 } }) });
 * const a = device.run('memcpy', { kind: 'copy', label: 'copy b1' }, () => 'b1');
 * const b = device.run('default', { kind: 'forward', label: 'fwd b0' }, () => 'out0');
 * await Promise.all([a, b]); scheduler.now(); // 3: the two streams overlapped
 */
import type { Device, OpCost } from '../../protocol/index.ts';
import { StreamEngine, type StreamEngineOptions } from '../stream-engine.ts';
import type { OpLog } from '../op-log.ts';
import { CostModel } from './cost-model.ts';
import type { SimScheduler } from './sim-scheduler.ts';

/** Options of {@link SimDevice}. */
/** The stream engine's options (rank, hazards, op log) with the sim's clock and costs. */
export interface SimDeviceOptions extends Omit<StreamEngineOptions, 'clock' | 'timing'> {
  /** The shared virtual clock. */
  scheduler: SimScheduler;
  /** Op durations (default: `new CostModel()`). */
  costModel?: CostModel;
  /** Where op entries go (default: a new OpLog for this device; `false`: none). */
  opLog?: OpLog | false;
}

export class SimDevice extends StreamEngine implements Device {
  readonly kind = 'sim' as const;
  readonly scheduler: SimScheduler;
  readonly costModel: CostModel;

  constructor(options: SimDeviceOptions) {
    const costModel = options.costModel ?? new CostModel();
    const scheduler = options.scheduler;
    super({
      rank: options.rank,
      clock: scheduler,
      hazards: options.hazards,
      onHazard: options.onHazard,
      opLog: options.opLog,
      timing: {
        completion(cost: OpCost) {
          const ms = costModel.duration(cost);
          return ms > 0 ? scheduler.sleep(ms) : undefined;
        },
      },
    });
    this.scheduler = scheduler;
    this.costModel = costModel;
  }
}
