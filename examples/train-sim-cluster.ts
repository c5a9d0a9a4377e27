/**
 * Library embedding: your own training loop around `pipeline.progress`, on a simulated
 * 2-rank cluster (virtual time, real tfjs math). Each rank owns a sharded DLRM, a
 * `TrainPipelineSparseDist` and its slice of every global batch; the ranks are coupled only
 * through their process groups.
 *
 * Run: npx tsx examples/train-sim-cluster.ts
 */
import { pathToFileURL } from 'node:url';
import {
  CostModel,
  initBackend,
  parseCostOverrides,
  SyntheticClickLog,
  TrainPipelineSparseDist,
  type IterationMetrics,
} from 'sparsepipe';
import { batchSpecFor, buildDlrmRank, createSimCluster, smallDlrmConfig } from 'sparsepipe/testing';

export async function main(print: (line: string) => void = console.log): Promise<void> {
  await initBackend('wasm');
  const worldSize = 2;
  const globalBatch = 64;
  const batches = 12;
  const config = smallDlrmConfig({ lr: 0.1 });
  const cluster = createSimCluster({
    worldSize,
    costModel: new CostModel({ overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1') }),
  });
  const log = new SyntheticClickLog({
    seed: 7,
    denseDim: config.denseIn,
    features: config.tables.map((t) => ({ key: t.features[0], rows: t.rows })),
  });
  const global = [...log.batches(globalBatch, { count: batches })];
  const local = globalBatch / worldSize;

  print(
    `training a ${config.tables.length}-table DLRM on ${worldSize} simulated ranks: ${batches} batches of ${globalBatch}`,
  );
  const perRank = await Promise.all(
    cluster.devices.map(async (device, rank) => {
      // Each rank: its model (table shards + dense replica), its pipeline, its data.
      const { model, optimizer } = buildDlrmRank({
        pg: cluster.pgs[rank],
        distPg: cluster.distPgs[rank],
        device,
        config,
      });
      const pipeline = new TrainPipelineSparseDist({
        model,
        optimizer,
        device,
        pg: cluster.pgs[rank],
        batchSpec: batchSpecFor(config),
      });
      const metrics: IterationMetrics[] = [];
      pipeline.metrics$.subscribe((m) => metrics.push(m));
      const mine = global.map((b) => b.sliceSamples(rank * local, (rank + 1) * local));
      // The loop: one progress() per batch until the pipeline reports the data is exhausted.
      const losses: number[] = [];
      for (;;) {
        const r = await pipeline.progress(mine);
        if (r.done) break;
        losses.push(r.value.loss);
      }
      pipeline.dispose();
      return { losses, metrics, trained: pipeline.batchesTrained };
    }),
  );

  const { losses, metrics } = perRank[0];
  for (const [i, loss] of losses.entries()) {
    const m = metrics[i];
    print(
      `batch ${String(i).padStart(2)}  loss ${loss.toFixed(4)}  t=${m.t.toFixed(1)} ms  iteration ${Number.isNaN(m.iterationMs) ? '   -' : m.iterationMs.toFixed(1)} ms`,
    );
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const half = Math.floor(losses.length / 2);
  print(
    `rank 0 mean loss: first half ${mean(losses.slice(0, half)).toFixed(4)}, second half ${mean(losses.slice(half)).toFixed(4)}`,
  );
  print(
    `trained per rank: ${perRank.map((r) => r.trained).join(', ')}; virtual time ${cluster.scheduler.now().toFixed(1)} ms`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
