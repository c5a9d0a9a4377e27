/**
 * `sparsepipe/testing`: the harness of simulated devices — build a virtual-time cluster,
 * a DLRM per rank, and run pipelines on it.
 *
 * @example
 * import { createSimCluster } from 'sparsepipe/testing';
 * const cluster = createSimCluster({ worldSize: 4 });
 */
export * from './testing/sim-cluster.ts';
export * from './testing/dlrm-rank.ts';
