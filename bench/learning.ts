/**
 * Learning check (issue: real models): pipelined DLRM training on the synthetic click log
 * against the planted model's Bayes-optimal log-loss on a held-out stream.
 *
 * Run: npx tsx bench/learning.ts [steps] [batch]
 */
import { trainAndEvaluate } from '../src/testing/learning.ts';

const steps = Number(process.argv[2] ?? 400);
const batch = Number(process.argv[3] ?? 128);
const t0 = performance.now();
const r = await trainAndEvaluate({ steps, batchSize: batch });
console.log(
  `| steps × batch | held-out log-loss | Bayes-optimal | ratio | AUC | planted AUC | wall s |`,
);
console.log(`|---|---|---|---|---|---|---|`);
console.log(
  `| ${steps} × ${batch} | ${r.heldOutLoss.toFixed(4)} | ${r.bayesOptimalLoss.toFixed(4)} | ${(r.heldOutLoss / r.bayesOptimalLoss).toFixed(4)} | ${r.auc.toFixed(4)} | ${r.plantedAuc.toFixed(4)} | ${((performance.now() - t0) / 1000).toFixed(1)} |`,
);
