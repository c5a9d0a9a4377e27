/**
 * Shared set-up of the harness tests: the wasm backend, a tiny DLRM config and the stage
 * cost model of docs/design.md "Performance targets", P1 (copy 2, dist 5, fwd 3, bwd 4, opt 1 → bound 8 ms).
 */
import { CostModel, initBackend, parseCostOverrides } from '../../src/runtime/index.ts';
import type { DlrmConfig } from '../../src/models/dlrm-rank.ts';

export async function useWasm(): Promise<void> {
  await initBackend('wasm');
}

/** 3 tables × 50 rows × dim 4, MLPs 8-4 / 8-1: fast enough for many runs per test file. */
export const TINY_DLRM: Partial<DlrmConfig> = {
  bottom: [8, 4],
  top: [8, 1],
  embeddingDim: 4,
  tables: [0, 1, 2].map((i) => ({
    name: `t${i}`,
    rows: 50,
    dim: 4,
    pooling: 'sum' as const,
    features: [`f${i}`],
  })),
  lr: 0.1,
};

export const STAGE_COSTS = 'copy=2,dist=5,fwd=3,bwd=4,opt=1';

export function stageCostModel(spec = STAGE_COSTS): CostModel {
  return new CostModel({ overrides: parseCostOverrides(spec) });
}
