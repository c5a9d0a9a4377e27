/**
 * Overlap on the sim (issue: the actor pipeline): with costs copy=2, dist=5, fwd=3, bwd=4,
 * opt=1 ms the steady-state iteration time must be ≤ 1.01 × the bound 8 ms.
 *
 * Run: npx tsx bench/overlap.ts
 */
import { iterationBound, steadyIterationMs } from './sim-iteration.ts';

const costs = 'copy=2,dist=5,fwd=3,bwd=4,opt=1';
const bound = iterationBound(costs);
console.log(`cost model: ${costs}; bound max(copy, dist, fwd+bwd+opt) = ${bound} ms`);
console.log('| pipeline | world | iteration (virtual ms) | ÷ bound |');
console.log('|---|---|---|---|');
for (const kind of ['sparseDist', 'base', 'none'] as const) {
  for (const worldSize of [1, 4]) {
    const ms = await steadyIterationMs({ kind, worldSize, costs });
    console.log(`| ${kind} | ${worldSize} | ${ms.toFixed(3)} | ${(ms / bound).toFixed(3)} |`);
  }
}
