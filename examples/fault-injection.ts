/**
 * Fault injection with the harness: the same 3-rank job with one fault at a time — a slow
 * rank, a late collective, a dropped collective, a dataloader stall and error, a crash and
 * an inf loss — and what each rank ended with. Every run ends in bounded virtual time.
 *
 * Run: npx tsx examples/fault-injection.ts
 */
import { pathToFileURL } from 'node:url';
import { CostModel, initBackend, parseCostOverrides } from 'sparsepipe';
import { simulateCluster, type Fault } from 'sparsepipe/testing';

const TINY = {
  bottom: [8, 4],
  top: [8, 1],
  embeddingDim: 4,
  tables: [0, 1, 2].map((i) => ({
    name: `t${i}`,
    rows: 100,
    dim: 4,
    pooling: 'sum' as const,
    features: [`f${i}`],
  })),
};

const SCENARIOS: Array<{ title: string; faults: Fault[]; gradScaling?: boolean }> = [
  { title: 'no fault', faults: [] },
  { title: 'slow rank', faults: [{ kind: 'slowRank', rank: 2, multiplier: 1.5 }] },
  {
    title: 'late collective',
    faults: [{ kind: 'delayCollective', rank: 1, index: 3, extraMs: 20 }],
  },
  { title: 'dropped collective', faults: [{ kind: 'dropCollective', rank: 1, index: 3 }] },
  { title: 'dataloader stall', faults: [{ kind: 'dataloaderStall', rank: 0, atBatch: 3, ms: 40 }] },
  {
    title: 'dataloader error',
    faults: [{ kind: 'dataloaderError', rank: 2, atBatch: 4, message: 'cannot read shard 4' }],
  },
  { title: 'rank crash', faults: [{ kind: 'crash', rank: 1, atMs: 30, reason: 'out of memory' }] },
  {
    title: 'inf loss, loss scaling on',
    faults: [{ kind: 'nonFiniteGrad', rank: 0, atBatch: 2 }],
    gradScaling: true,
  },
];

export async function main(print: (line: string) => void = console.log): Promise<void> {
  await initBackend('wasm');
  const costModel = new CostModel({
    overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1'),
  });
  for (const s of SCENARIOS) {
    const result = await simulateCluster({
      worldSize: 3,
      batches: 6,
      globalBatchSize: 24,
      costModel,
      dlrm: TINY,
      timeoutMs: 500, // collective timeout, virtual ms
      faults: s.faults,
      gradScaling: s.gradScaling,
    });
    print(`── ${s.title} ${'─'.repeat(Math.max(0, 60 - s.title.length))}`);
    print(result.summary());
    const skipped = result.events({ type: 'optimizer.skipped', rank: 0 });
    if (skipped.length > 0)
      print(
        `optimizer steps skipped on rank 0 at batch(es) ${skipped.map((e) => e.batch).join(', ')}`,
      );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
