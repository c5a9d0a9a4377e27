/**
 * Schedule testing with the harness: simulate a 2-rank job under a cost model, check the
 * pipeline's happens-before relations and stage overlap, and compare the steady-state
 * iteration time of each pipeline kind with the bound its stages allow.
 *
 * Run: npx tsx examples/harness-schedule-test.ts
 */
import { pathToFileURL } from 'node:url';
import { CostModel, initBackend, parseCostOverrides } from 'sparsepipe';
import {
  assertSchedule,
  boundFor,
  happensBefore,
  overlaps,
  simulateCluster,
  withinBound,
  type ScheduleCheck,
} from 'sparsepipe/testing';

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

export async function main(print: (line: string) => void = console.log): Promise<void> {
  await initBackend('wasm');
  const costs = 'copy=2,dist=5,fwd=3,bwd=4,opt=1';
  const costModel = new CostModel({ overrides: parseCostOverrides(costs) });
  print(`cost model: ${costs} (virtual ms)`);

  const result = await simulateCluster({
    worldSize: 2,
    batches: 8,
    globalBatchSize: 32,
    costModel,
    dlrm: TINY,
    seed: 3,
  });
  if (!result.ok) throw new Error(result.summary());

  // Checks return { ok, message }; assertSchedule throws the message when ok is false.
  const checks: ScheduleCheck[] = [
    happensBefore(result, { type: 'copy.end', batch: 5 }, { type: 'dist.start', batch: 5 }),
    happensBefore(result, { type: 'dist.end', batch: 5 }, { type: 'forward.start', batch: 5 }),
    overlaps(result, { span: 'copy', batch: 6 }, { span: 'forward', batch: 4 }),
    overlaps(result, { span: 'dist', batch: 5 }, { span: 'backward', batch: 4 }),
    withinBound(result, costModel),
  ];
  for (const c of checks) {
    assertSchedule(c);
    print(`✓ ${c.message}`);
  }
  // A relation that does not hold reads as a sentence too:
  const wrong = happensBefore(
    result,
    { type: 'forward.start', batch: 5 },
    { type: 'dist.end', batch: 5 },
  );
  print(`✗ (expected to fail) ${wrong.message}`);

  print('');
  print('| pipeline | iteration (virtual ms) | bound | ÷ bound |');
  print('|---|---|---|---|');
  for (const kind of ['sparseDist', 'base', 'none'] as const) {
    const r =
      kind === 'sparseDist'
        ? result
        : await simulateCluster({
            worldSize: 2,
            batches: 8,
            globalBatchSize: 32,
            costModel,
            dlrm: TINY,
            seed: 3,
            pipeline: kind,
          });
    const bound = boundFor(costModel, kind);
    const ms = r.iterationMs();
    print(`| ${kind} | ${ms.toFixed(3)} | ${bound.describe()} | ${(ms / bound.ms).toFixed(3)} |`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
