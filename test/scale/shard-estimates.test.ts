/**
 * Per-shard estimates against TorchRec's formulas (torchrec/distributed/planner/
 * shard_estimators.py), on a table of cases whose expected values are worked out here by
 * hand from the formulas — plain arithmetic on the constants, not by calling the code.
 */
import { describe, expect, it } from 'vitest';
import {
  blockPenalty,
  shardEstimate,
  type ShardEstimateInput,
} from '../../src/runtime/sim/shard-estimates.ts';
import { topologyPreset } from '../../src/runtime/sim/topology.ts';

const torchrec = topologyPreset('torchrec-default');
// TorchRec's constants, bytes per ms (GB = 1024³ bytes)
const GB = (1024 * 1024 * 1024) / 1000;
const HBM = 897 * GB;
const INTRA = 600 * GB;
const INTER = 12.5 * GB;

interface Case {
  name: string;
  input: ShardEstimateInput;
  fwdCompute: number;
  fwdComms: number;
  bwdCompute: number;
  bwdComms: number;
}

// B = 512 per rank, one feature of pooling 20, dim 128 unless said
const cases: Case[] = [
  {
    name: 'TW, dim 128, 16 ranks on 2 hosts: inter-host comms, no penalty',
    input: {
      sharding: 'TW',
      dim: 128,
      poolingFactors: [20],
      batchSize: 512,
      worldSize: 16,
      ranksPerHost: 8,
    },
    // ids read 512·20·16·8 = 1,310,720; lookup 512·20·16·128·4 = 83,886,080; output 512·1·16·128·4 = 4,194,304
    fwdCompute: (1_310_720 + 83_886_080 + 4_194_304) / HBM,
    fwdComms: 4_194_304 / INTER,
    bwdCompute: (2 * (1_310_720 + 83_886_080 + 4_194_304)) / HBM,
    bwdComms: 4_194_304 / INTER,
  },
  {
    name: 'TW, dim 64, one host of 8: intra-host comms, half-block penalty 1.15',
    input: {
      sharding: 'TW',
      dim: 64,
      poolingFactors: [20],
      batchSize: 512,
      worldSize: 8,
      ranksPerHost: 8,
    },
    // ids 512·20·8·8 = 655,360; lookup 512·20·8·64·4 = 20,971,520; output 512·8·64·4 = 1,048,576
    fwdCompute: ((655_360 + 20_971_520 + 1_048_576) * 1.15) / HBM,
    fwdComms: 1_048_576 / INTRA,
    bwdCompute: (2 * (655_360 + 20_971_520 + 1_048_576) * 1.15) / HBM,
    bwdComms: 1_048_576 / INTRA,
  },
  {
    name: 'CW block of 16 columns: lookups read 32 columns, quarter-block penalty 1.75',
    input: {
      sharding: 'CW',
      dim: 16,
      poolingFactors: [20],
      batchSize: 512,
      worldSize: 16,
      ranksPerHost: 8,
    },
    // ids 1,310,720; lookup 512·20·16·32·4 = 20,971,520; output 512·16·16·4 = 524,288
    fwdCompute: ((1_310_720 + 20_971_520 + 524_288) * 1.75) / HBM,
    fwdComms: 524_288 / INTER,
    bwdCompute: (2 * (1_310_720 + 20_971_520 + 524_288) * 1.75) / HBM,
    bwdComms: 524_288 / INTER,
  },
  {
    name: 'RW over 16 ranks: a sixteenth of the ids, batched copy in the backward',
    input: {
      sharding: 'RW',
      dim: 128,
      poolingFactors: [20],
      batchSize: 512,
      worldSize: 16,
      ranksPerHost: 8,
    },
    // batch inputs 512·20/16 = 640; ids 640·16·8 = 81,920; lookup 640·16·128·4 = 5,242,880; output 4,194,304
    fwdCompute: (81_920 + 5_242_880 + 4_194_304) / HBM,
    fwdComms: 4_194_304 / INTER,
    bwdCompute: (2 * (81_920 + 5_242_880 + 4_194_304) + 4_194_304 * 2.455) / HBM,
    bwdComms: 4_194_304 / INTER,
  },
  {
    name: 'TWRW over a host of 8 in 32 ranks: intra-host then a quarter of the output inter-host',
    input: {
      sharding: 'TWRW',
      dim: 128,
      poolingFactors: [20],
      batchSize: 512,
      worldSize: 32,
      ranksPerHost: 8,
    },
    // batch inputs 512·20/8 = 1280; ids 1280·32·8 = 327,680; lookup 1280·32·128·4 = 20,971,520; output 512·32·128·4 = 8,388,608
    fwdCompute: (327_680 + 20_971_520 + 8_388_608) / HBM,
    fwdComms: 8_388_608 / INTRA + (8_388_608 * (8 / 32)) / INTER,
    bwdCompute: (2 * (327_680 + 20_971_520 + 8_388_608) + 8_388_608 * 2.455) / HBM,
    bwdComms: 8_388_608 / INTRA + (8_388_608 * (8 / 32)) / INTER,
  },
  {
    name: 'TW, two weighted features: ids read twice, 1.1 × forward added to the backward',
    input: {
      sharding: 'TW',
      dim: 128,
      poolingFactors: [10, 5],
      batchSize: 100,
      worldSize: 8,
      ranksPerHost: 8,
      weighted: true,
    },
    // batch inputs 100·15 = 1500; ids 1500·8·8·2 = 192,000; lookup 1500·8·128·4 = 6,144,000; output 200·8·128·4 = 819,200
    fwdCompute: (192_000 + 6_144_000 + 819_200) / HBM,
    fwdComms: 819_200 / INTRA,
    bwdCompute: ((192_000 + 6_144_000 + 819_200) * (2 + 1.1)) / HBM,
    bwdComms: 819_200 / INTRA,
  },
];

describe("per-shard estimates match TorchRec's formulas", () => {
  for (const c of cases) {
    it(c.name, () => {
      const e = shardEstimate(c.input, torchrec);
      expect(e.fwdCompute).toBeCloseTo(c.fwdCompute, 12);
      expect(e.fwdComms).toBeCloseTo(c.fwdComms, 12);
      expect(e.bwdCompute).toBeCloseTo(c.bwdCompute, 12);
      expect(e.bwdComms).toBeCloseTo(c.bwdComms, 12);
      // and relatively, so small values cannot pass by being small
      for (const k of ['fwdCompute', 'fwdComms', 'bwdCompute', 'bwdComms'] as const)
        expect(Math.abs(e[k] / c[k] - 1)).toBeLessThan(1e-12);
    });
  }

  it('block penalties follow FBGEMM block use: 1 from 128 columns, 1.15 from 64, 1.75 below', () => {
    expect([256, 128, 127, 64, 63, 32, 8].map(blockPenalty)).toEqual([
      1, 1, 1.15, 1.15, 1.75, 1.75, 1.75,
    ]);
  });

  it('UVM caching reads at a tenth of the mixed HBM/DDR bandwidth', () => {
    const input: ShardEstimateInput = {
      sharding: 'TW',
      dim: 128,
      poolingFactors: [1],
      batchSize: 1,
      worldSize: 1,
      ranksPerHost: 1,
    };
    const fused = shardEstimate(input, torchrec).fwdCompute;
    const uvm = shardEstimate(
      { ...input, kernel: 'fused-uvm-caching', cachingRatio: 0.2 },
      torchrec,
    ).fwdCompute;
    expect(uvm / fused).toBeCloseTo(HBM / ((0.2 * HBM + 0.8 * 51 * GB) / 10), 9);
  });
});
