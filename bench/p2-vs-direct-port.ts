/**
 * P2 (docs/design.md "Performance targets"): on the sim, the direct port of the seed's `progress()` (the host blocks on
 * the splits exchange; bench/direct-port) ÷ sparsepipe, on P1's sweep of cost models.
 * Targets: ≥ 1.0 everywhere; ≥ 1.2 where the splits latency exceeds the forward time.
 *
 * The seed's schedule is analytic here: its iteration is
 * `max(copy, splits + data, max(fwd, splits) + bwd + opt)` (column "port model"), while
 * sparsepipe reaches `max(copy, splits + data, fwd + bwd + opt)`. So where splits > fwd the
 * ratio is `1 + (splits − fwd) / bound` when compute bounds the iteration: it reaches 1.2
 * only when the splits exceed the forward by ≥ 20 % of the bound.
 *
 * Run: npx tsx bench/p2-vs-direct-port.ts [--quick]
 */
import { costSweep, directPortModelOf, iterationBoundOf } from './lib/cost-sweep.ts';
import { runSim, useBackend } from './lib/sim-run.ts';
import { fmt, isQuick, writeReport } from './lib/report.ts';

const quick = isQuick();
await useBackend('wasm');
const cases = costSweep({ random: quick ? 6 : 36 });
const batches = quick ? 16 : 24;
const rows: Array<Array<string | number>> = [];
const data: unknown[] = [];
let worstAll = Infinity;
let worstSplits = Infinity;
let splitsCases = 0;
let splitsMet = 0;
let below1 = 0;
// Runs with splits > fwd where a ratio of 1.2 is possible at all: the seed's own schedule
// loses ≥ 20 % of the bound there (port model ÷ bound ≥ 1.2), so sparsepipe at the bound shows it.
let reachable = 0;
let reachableMet = 0;
let designed = 0;
let designedMet = 0;
const started = performance.now();

for (const c of cases) {
  for (const worldSize of c.category === 'splits > forward' && !quick ? [2, 8] : [2]) {
    // side by side: the port, then sparsepipe, on the same cluster set-up
    const direct = await runSim({
      runner: 'direct',
      model: 'shapes',
      dense: 'none',
      worldSize,
      costs: c.costs,
      batches,
      coalesce: true,
    });
    const actor = await runSim({
      runner: 'actor',
      model: 'shapes',
      dense: 'none',
      worldSize,
      costs: c.costs,
      batches,
      coalesce: true,
    });
    const ratio = direct.iterationMs / actor.iterationMs;
    const splitsOverFwd = c.distSplits > c.fwd;
    worstAll = Math.min(worstAll, ratio);
    if (ratio < 1 - 5e-4) below1++;
    if (splitsOverFwd) {
      splitsCases++;
      worstSplits = Math.min(worstSplits, ratio);
      if (ratio >= 1.2 - 5e-4) splitsMet++;
      if (directPortModelOf(c) / iterationBoundOf(c) >= 1.2 - 5e-4) {
        reachable++;
        if (ratio >= 1.2 - 5e-4) reachableMet++;
      }
      if (c.category === 'splits > forward') {
        designed++;
        if (ratio >= 1.2 - 5e-4) designedMet++;
      }
    }
    const bound = iterationBoundOf(c);
    const verdict =
      ratio < 1 - 5e-4
        ? '✗ < 1'
        : splitsOverFwd
          ? ratio >= 1.2 - 5e-4
            ? '✓ ≥ 1.2'
            : '✓ ≥ 1, < 1.2'
          : '✓ ≥ 1';
    rows.push([
      c.name,
      c.category,
      c.costs,
      worldSize,
      splitsOverFwd ? 'yes' : 'no',
      fmt(bound),
      fmt(actor.iterationMs),
      fmt(direct.iterationMs),
      fmt(ratio, 4),
      fmt(directPortModelOf(c) / bound, 4),
      verdict,
    ]);
    data.push({
      case: c,
      worldSize,
      bound,
      sparsepipeMs: actor.iterationMs,
      directMs: direct.iterationMs,
      ratio,
      portModelRatio: directPortModelOf(c) / bound,
    });
  }
}

writeReport({
  name: 'p2-vs-direct-port',
  title: 'P2 — sim: direct port of the seed (host blocks on splits) ÷ sparsepipe',
  command: `npx tsx bench/p2-vs-direct-port.ts${quick ? ' --quick' : ''}`,
  columns: [
    'case',
    'category',
    'stage costs (ms)',
    'world',
    'splits > fwd',
    'bound',
    'sparsepipe (ms)',
    'direct port (ms)',
    'port ÷ sparsepipe',
    'port model ÷ bound',
    'verdict',
  ],
  rows,
  summary: {
    'target ≥ 1.0 everywhere':
      below1 === 0
        ? `met (worst ${fmt(worstAll, 4)} over ${rows.length} runs)`
        : `NOT met in ${below1} runs (worst ${fmt(worstAll, 4)})`,
    'target ≥ 1.2 where splits > fwd': `${splitsMet} of ${splitsCases} runs (worst ${fmt(worstSplits, 4)})`,
    '… of them, where the seed loses ≥ 20 % of the bound (1.2 reachable at all)': `${reachableMet} of ${reachable} runs ≥ 1.2`,
    '… of them, the designed "splits > forward" cases (compute-bound, splits latency dominant)': `${designedMet} of ${designed} runs ≥ 1.2`,
  },
  notes: [
    'Where splits > fwd but the ratio is below 1.2, the seed itself only loses splits − fwd < 20 % of the bound (see "port model"): the copy or the dist stage bounds the iteration, or the compute is so long that the blocked splits wait is a small part of it. sparsepipe is at the bound there too (P1): no three-stage schedule could gain more, so 1.2 cannot be reached in those runs by any pipeline.',
    `Wall time: ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  ],
  data,
  headlines: [
    {
      id: 'P2',
      what: 'sim: direct port of the seed ÷ sparsepipe, same sweep',
      target: '≥ 1.0 everywhere',
      result: `worst ${fmt(worstAll, 4)} (${rows.length} runs)`,
      met: below1 === 0,
    },
    {
      id: 'P2',
      what: '… where splits latency > forward time',
      target: '≥ 1.2',
      result: `${splitsMet} of ${splitsCases} runs ≥ 1.2 (worst ${fmt(worstSplits, 4)}); ${reachableMet} of ${reachable} where 1.2 is reachable at all (the seed loses ≥ 20 % of the bound); the rest are bound by copy / dist / a long compute, where the seed loses < 20 %`,
      met: splitsMet === splitsCases,
    },
  ],
});
