/**
 * For single shards and single collectives, the simulated time of each op equals the
 * formula of docs/simulation.md, written out here from the topology's numbers (not by
 * calling the cost code): 16 ranks on 2 hosts of dgx-a100, every rank running the actor
 * pipeline in shapes only.
 */
import { describe, expect, it } from 'vitest';
import type { ScaleModelSpec } from '../../src/modules/scale/model-spec.ts';
import { planCosts } from '../../src/modules/scale/plan-costs.ts';
import type { ScalePlan } from '../../src/modules/scale/scale-plan.ts';
import { topologyPreset } from '../../src/runtime/sim/topology.ts';
import { topologyCostModel } from '../../src/runtime/sim/topology-cost-model.ts';
import type { OpLogEntry } from '../../src/runtime/op-log.ts';
import { buildScaleRank, scaleBatches } from '../../src/models/scale-model.ts';
import { simulateCluster } from '../../src/testing/simulate-cluster.ts';
import { simulateScale } from '../../src/scale/simulate-scale.ts';

const topo = topologyPreset('dgx-a100');
// dgx-a100 in bytes/ms and ms
const HBM = 2039e6;
const INTRA = 300e6;
const INTER = 25e6;
const PCIE = 32e6;
const AI = 0.002;
const AO = 0.005;
const COPY_LAT = 0.01;
const FLOPS = 19.5e9;

const B = 256;
const W = 16;
const spec: ScaleModelSpec = {
  name: 'one-table',
  description: 'one table of 1M rows × 64, pooling 10',
  tables: [{ name: 't0', rows: 1_000_000, dim: 64, poolingFactor: 10 }],
  batchSize: B,
  denseIn: 13,
  bottom: [64],
  top: [32, 1],
};

/** Run 6 batches of `plan` and return every rank's op log. */
async function opsOf(plan: ScalePlan): Promise<OpLogEntry[][]> {
  const costs = planCosts(spec, plan, topo);
  const model = topologyCostModel(topo);
  const r = await simulateCluster({
    worldSize: W,
    batches: 6,
    globalBatchSize: B * W,
    costModel: model,
    collectiveCostModel: model.withOverrides({ collective: 0 }),
    hazards: 'off',
    timeoutMs: Infinity,
    validate: false,
    model: ({ rank, pg, distPg, device }) => buildScaleRank({ rank, pg, distPg, device, costs }),
    data: () => scaleBatches(spec, 6),
  });
  expect(r.ok, r.summary()).toBe(true);
  return r.cluster.devices.map((d) => [...d.opLog!.entries]);
}

/** How long op `label` took once every rank had started it (a collective starts when the last rank arrives). */
function spanOf(logs: OpLogEntry[][], label: string): number {
  let lastStart = -Infinity;
  let end = -Infinity;
  for (const log of logs) {
    const start = log.find((e) => e.label === label && e.phase === 'start');
    const stop = log.find((e) => e.label === label && e.phase === 'end');
    if (!start || !stop) continue;
    lastStart = Math.max(lastStart, start.t);
    end = Math.max(end, stop.t);
  }
  if (!Number.isFinite(end)) throw new Error(`no op ${label}`);
  return end - lastStart;
}

/** One rank's own op (no rendezvous). */
function ownSpan(log: OpLogEntry[], label: string): number {
  const start = log.find((e) => e.label === label && e.phase === 'start')!;
  const stop = log.find((e) => e.label === label && e.phase === 'end')!;
  return stop.t - start.t;
}

const close = (actual: number, expected: number) =>
  expect(Math.abs(actual / expected - 1), `${actual} vs ${expected}`).toBeLessThan(1e-9);

describe('simulated op times equal the documented formulas', () => {
  it('one table-wise shard on rank 3: lookup, ids all-to-all, pooled all-to-all, copy, dense, all-reduce', async () => {
    const logs = await opsOf({
      worldSize: W,
      ranksPerHost: 8,
      tables: [{ table: 't0', sharding: 'TW', ranks: [3] }],
    });
    // TorchRec TW forward compute: ids 256·10·16·8, lookup 256·10·16·64·4, output 256·16·64·4, × 1.15 (dim 64)
    const fwd = ((256 * 10 * 16 * 8 + 256 * 10 * 16 * 64 * 4 + 256 * 16 * 64 * 4) * 1.15) / HBM;
    close(ownSpan(logs[3], 'b4 lookup'), fwd);
    close(ownSpan(logs[3], 'b4 lookup backward'), 2 * fwd);
    // ids: every rank sends 256·10·8 + 256·4 bytes to rank 3, which receives 7 of them intra-host, 8 inter-host
    const c = 256 * 10 * 8 + 256 * 4;
    close(spanOf(logs, 'b4 ids'), AI + (7 * c) / INTRA + AO + (8 * c) / INTER);
    // pooled: rank 3 sends each rank its 256 × 64 floats: 7 intra, 8 inter
    const p = 256 * 64 * 4;
    close(spanOf(logs, 'b4 output dist'), AI + (7 * p) / INTRA + AO + (8 * p) / INTER);
    close(spanOf(logs, 'b4 grad dist'), AI + (7 * p) / INTRA + AO + (8 * p) / INTER);
    // copy: dense 256·13·4 + labels 256·4 + lengths 256·1·4 + ids 256·10·8 bytes over PCIe
    close(
      ownSpan(logs[0], 'copy b4'),
      COPY_LAT + (256 * 13 * 4 + 256 * 4 + 256 * 4 + 256 * 10 * 8) / PCIE,
    );
    // dense forward: MLP 13→64, (64 + 1)→32→1 and the interaction 2·256·2²·64
    const flops = 2 * 256 * (13 * 64 + 65 * 32 + 32 * 1) + 2 * 256 * 4 * 64;
    close(ownSpan(logs[0], 'forward b4'), flops / FLOPS);
    // all-reduce of the dense parameters (13·64+64 + 65·32+32 + 32+1 floats), ring inside the host then across
    const n = (13 * 64 + 64 + 65 * 32 + 32 + 32 + 1) * 4;
    close(
      spanOf(logs, 'optimizer b4'),
      2 * (7 * (AI + n / (8 * INTRA)) + 1 * (AO + n / (16 * INTER))),
    );
  });

  it('one row-wise table: the pooled output is one hierarchical reduce-scatter', async () => {
    const logs = await opsOf({
      worldSize: W,
      ranksPerHost: 8,
      tables: [{ table: 't0', sharding: 'RW', ranks: [...Array(W).keys()] }],
    });
    const n = 16 * 256 * 64 * 4; // every rank's partial sums for the global batch
    close(spanOf(logs, 'b4 output dist'), 7 * (AI + n / (8 * INTRA)) + 1 * (AO + n / (16 * INTER)));
  });

  it('one table-row-wise table on host 1: intra-host reduce-scatter, then the host sends the other host its blocks', async () => {
    const logs = await opsOf({
      worldSize: W,
      ranksPerHost: 8,
      tables: [{ table: 't0', sharding: 'TWRW', ranks: [8, 9, 10, 11, 12, 13, 14, 15] }],
    });
    const n = 16 * 256 * 64 * 4;
    const p = 256 * 64 * 4;
    close(spanOf(logs, 'b4 output dist'), AO + p / INTER + 7 * (AI + n / (8 * INTRA)));
  });

  it('a sparse-dist iteration bound by the default stream lasts exactly that stream’s work', async () => {
    const plan: ScalePlan = {
      worldSize: W,
      ranksPerHost: 8,
      tables: [{ table: 't0', sharding: 'TW', ranks: [3] }],
    };
    const report = await simulateScale({ spec, topology: topo, plan, batches: 8 });
    const s = report.stages;
    const work =
      s.lookupForward +
      s.outputDist +
      s.denseForward +
      s.denseBackward +
      s.gradDist +
      s.lookupBackward +
      s.allReduce;
    expect(report.boundBy).toBe('default');
    expect(report.iterationMs).toBeCloseTo(work, 5);
    // reports keep 6 significant digits
    expect(
      Math.abs(report.examplesPerSecond / ((B * W * 1000) / report.iterationMs) - 1),
    ).toBeLessThan(1e-5);
  });
});
