/**
 * `sparsepipe/testing`: the harness of simulated devices — build a virtual-time cluster,
 * a DLRM per rank, run whole jobs on it with injected faults (`simulateCluster`), and check
 * schedules (`happensBefore`, `overlaps`, `steadyStateIterationMs`, `boundFor`).
 *
 * @example
 * import { simulateCluster, happensBefore, assertSchedule } from 'sparsepipe/testing';
 * const result = await simulateCluster({ worldSize: 4, batches: 10, globalBatchSize: 64, faults: [{ kind: 'crash', rank: 2, atMs: 30 }] });
 * console.log(result.summary());
 */
export * from './runtime/sim/sim-cluster.ts';
export * from './models/dlrm-rank.ts';
export * from './testing/simulate-cluster.ts';
export * from './testing/faults.ts';
export * from './testing/faulty-process-group.ts';
export * from './testing/sim-dataloader.ts';
export * from './testing/non-finite-loss.ts';
export * from './testing/schedule-assertions.ts';
export * from './testing/params-digest.ts';
export * from './testing/shapes-only.ts';
