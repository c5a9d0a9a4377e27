/**
 * Runtime: devices (sim on a virtual clock, tfjs on the wall clock), the virtual-time
 * scheduler, the cost model, the stream-hazard checker, the op log, and process groups.
 *
 * @example
 * import { SimScheduler, SimDevice, CostModel, createSimProcessGroups } from './runtime/index.ts';
 * const scheduler = new SimScheduler();
 * const groups = createSimProcessGroups({ worldSize: 2, scheduler });
 * const devices = groups.map((pg) => new SimDevice({ rank: pg.rank, scheduler }));
 */
export * from './sim/sim-scheduler.ts';
export * from './sim/cost-model.ts';
export * from './sim/hazard-checker.ts';
export * from './sim/sim-device.ts';
export * from './op-log.ts';
export * from './stream-engine.ts';
export * from './wall-clock.ts';
export * from './tfjs-device.ts';
export * from './tfjs-backend.ts';
export * from './collectives/collective-errors.ts';
export * from './collectives/collective-math.ts';
export * from './collectives/sim-process-group.ts';
export * from './collectives/threads/index.ts';
export * from './collectives/mpi/index.ts';
export * from './dense-math/index.ts';
