/**
 * A {@link CostModel} for a device of a {@link Topology}: copies over the HBM↔DDR link
 * (`copyLatencyMs + bytes / hbmToDdrBytesPerMs`), compute at the dense throughput
 * (`flops / denseFlopsPerMs`), and process-group collectives priced as one inter-host step
 * (`interHostLatencyMs + bytes / interHostBytesPerMs`). Ops priced from shapes (`ms`, see
 * docs/simulation.md) take their priced time; fixed `--cost` overrides still win.
 *
 * @example
 * const model = topologyCostModel(topologyPreset('dgx-a100'));
 * model.duration({ kind: 'copy', bytes: 32e6 }); // 0.01 + 32e6 / 32e6 = 1.01
 * model.duration({ kind: 'forward', flops: 19.5e9 }); // 1
 */
import { CostModel, type CostOverrides } from './cost-model.ts';
import type { Topology } from './topology.ts';

export function topologyCostModel(topology: Topology, overrides: CostOverrides = {}): CostModel {
  return new CostModel({
    latencyMs: topology.copyLatencyMs,
    copyBytesPerMs: topology.hbmToDdrBytesPerMs,
    flopsPerMs: topology.denseFlopsPerMs,
    alphaMs: topology.interHostLatencyMs,
    betaBytesPerMs: topology.interHostBytesPerMs,
    overrides,
  });
}
