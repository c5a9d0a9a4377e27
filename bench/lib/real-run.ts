/**
 * Real (wall-clock) runs for P3 / P5: one rank on a `TfjsDevice` (wasm), the reference DLRM
 * (or any config) built once, then alternating runs of the actor pipeline and the direct
 * port on that same model, each timed over its steady middle (after warm-up batches,
 * before the drain). Collectives go through a 1-rank sim process group with a zero cost
 * model, as the CLI's `--backend sim --device wasm` does.
 *
 * @example
 * const s = await RealSession.create({ config: referenceDlrmConfig(), globalBatch: 512 });
 * const a = await s.run('actor', { warmup: 3, measured: 20 }); a.examplesPerSec;
 */
import { initBackend } from '../../src/runtime/tfjs-backend.ts';
import { TfjsDevice } from '../../src/runtime/tfjs-device.ts';
import { CostModel } from '../../src/runtime/sim/cost-model.ts';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';
import { createSimProcessGroups } from '../../src/runtime/collectives/sim-process-group.ts';
import {
  batchSpecFor,
  buildDlrmRank,
  type DlrmConfig,
  type DlrmRank,
} from '../../src/models/dlrm-rank.ts';
import { SyntheticClickLog } from '../../src/data/synthetic.ts';
import type { Batch } from '../../src/tensors/index.ts';
import { TrainPipelineSparseDist } from '../../src/pipeline/train-pipeline.ts';
import { DirectSparseDistPipeline } from '../direct-port/direct-sparse-dist.ts';
import type { Runner } from './sim-run.ts';

export interface RealRunResult {
  runner: Runner;
  batches: number;
  examples: number;
  wallMs: number;
  cpuMs: number;
  examplesPerSec: number;
  /** Per-iteration wall ms over the measured window. */
  iterationMs: number[];
}

export class RealSession {
  private constructor(
    readonly config: DlrmConfig,
    readonly globalBatch: number,
    readonly rank: DlrmRank,
    readonly device: TfjsDevice,
    private readonly pool: Batch[],
  ) {}

  /** Build the model (once) and a pool of batches to cycle. */
  static async create(o: {
    config: DlrmConfig;
    globalBatch: number;
    poolSize?: number;
    seed?: number;
  }): Promise<RealSession> {
    await initBackend('wasm');
    const scheduler = new SimScheduler();
    const [pg] = createSimProcessGroups({
      worldSize: 1,
      scheduler,
      costModel: CostModel.zero(),
      timeoutMs: Infinity,
    });
    const [distPg] = createSimProcessGroups({
      worldSize: 1,
      scheduler,
      costModel: CostModel.zero(),
      timeoutMs: Infinity,
    });
    const device = new TfjsDevice({ rank: 0 });
    const rank = buildDlrmRank({ pg, distPg, device, config: o.config });
    const data = new SyntheticClickLog({
      seed: o.seed ?? 11,
      denseDim: o.config.denseIn,
      features: o.config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows }))),
    });
    const pool = [...data.batches(o.globalBatch, { count: o.poolSize ?? 8 })];
    return new RealSession(o.config, o.globalBatch, rank, device, pool);
  }

  /** Train `warmup + measured + 2` batches with `runner`; time the `measured` ones in the middle. */
  async run(runner: Runner, o: { warmup: number; measured: number }): Promise<RealRunResult> {
    const total = o.warmup + o.measured + 2;
    const pool = this.pool;
    const batches = Array.from({ length: total }, (_, i) => pool[i % pool.length]);
    const a = o.warmup - 1;
    const b = o.warmup - 1 + o.measured;
    const ends: number[] = [];
    // CPU time only at the window's two ends: a getrusage per batch would be timed too
    const cpuAt = new Map<number, number>();
    const note = () => {
      ends.push(performance.now());
      const i = ends.length - 1;
      if (i === a || i === b) {
        const c = process.cpuUsage();
        cpuAt.set(i, (c.user + c.system) / 1000);
      }
    };
    const { model, optimizer } = this.rank;
    if (runner === 'actor') {
      const p = new TrainPipelineSparseDist({
        model,
        optimizer,
        device: this.device,
        batchSpec: batchSpecFor(this.config),
      });
      for await (const _ of p.run(batches)) note();
      p.dispose();
    } else {
      const p = new DirectSparseDistPipeline({
        model,
        optimizer,
        device: this.device,
        batchSpec: batchSpecFor(this.config),
      });
      const it = batches[Symbol.iterator]();
      while (!(await p.progress(it)).done) note();
    }
    const wallMs = ends[b] - ends[a];
    const examples = o.measured * this.globalBatch;
    return {
      runner,
      batches: o.measured,
      examples,
      wallMs,
      cpuMs: (cpuAt.get(b) ?? Number.NaN) - (cpuAt.get(a) ?? Number.NaN),
      examplesPerSec: examples / (wallMs / 1000),
      iterationMs: ends.slice(a + 1, b + 1).map((t, i) => t - ends[a + i]),
    };
  }
}
