/**
 * The scaling report: simulate the `medium` shapes-only DLRM (64 tables × 1–5 M rows × dim
 * 128, batch 512 per rank) on dgx-a100 hosts of 8 from 8 to 4,096 ranks, with every
 * training pipeline kind, each world under its best analytic plan (`--plan auto`), and
 * write visualizations/generated/scaling.svg and scaling.json (the numbers behind it).
 * Deterministic: the same code gives the same files.
 *
 * Run: npx tsx bench/scaling-report.ts [--quick]   (--quick: up to 512 ranks)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineKind } from '../machines/coordinator-types.ts';
import { scaleModel } from '../src/modules/scale/model-spec.ts';
import { candidatePlans, rankPlans } from '../src/modules/scale/plan-candidates.ts';
import { hostLayout, topologyPreset } from '../src/runtime/sim/topology.ts';
import { simulateScale } from '../src/scale/simulate-scale.ts';
import { packageRoot } from '../src/runtime/module-url.ts';
import {
  renderScalingSvg,
  type ScalingSeries,
} from '../visualizations/scaling/render-scaling-svg.ts';
import { isQuick } from './lib/report.ts';

const quick = isQuick();
const spec = scaleModel('medium');
const topology = topologyPreset('dgx-a100');
const kinds: PipelineKind[] = ['none', 'base', 'sparseDist', 'fusedSparseDist', 'semiSync'];
const worlds = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096].filter((w) => !quick || w <= 512);
const batches = 8;
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const rows: Array<Record<string, unknown>> = [];
const series: ScalingSeries[] = kinds.map((k) => ({ kind: kebab(k), points: [] }));
for (const worldSize of worlds) {
  const layout = hostLayout(topology, worldSize, 8);
  const best = rankPlans(spec, topology, candidatePlans(spec, topology, layout).candidates)[0];
  for (const [i, kind] of kinds.entries()) {
    const t0 = performance.now();
    const r = await simulateScale({
      spec,
      topology,
      plan: best.plan,
      costs: best.costs,
      pipeline: kind,
      batches,
    });
    (series[i].points as Array<(typeof series)[number]['points'][number]>).push({
      worldSize,
      iterationMs: r.iterationMs,
      examplesPerSecond: r.examplesPerSecond,
    });
    rows.push({
      worldSize,
      pipeline: kebab(kind),
      plan: best.name,
      iterationMs: r.iterationMs,
      examplesPerSecond: r.examplesPerSecond,
      boundBy: r.boundBy,
      memoryPerRankBytes: r.memoryPerRankBytes,
    });
    console.error(
      `${worldSize} ranks, ${kebab(kind)} (${best.name}): ${r.iterationMs} ms, ${r.examplesPerSecond} examples/s, bound by ${r.boundBy} — ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
}
const out = join(packageRoot(import.meta.url), 'visualizations/generated');
const name = quick ? 'scaling-quick' : 'scaling';
writeFileSync(
  join(out, `${name}.svg`),
  renderScalingSvg({
    title: `Predicted scaling: ${spec.name} DLRM (${spec.description}) on ${topology.name}`,
    subtitle: `8 ranks per host; each world under its best analytic plan; ${batches} batches per rank, steady state; sparsepipe simulate (bench/scaling-report.ts)`,
    series,
  }),
);
writeFileSync(
  join(out, `${name}.json`),
  `${JSON.stringify({ model: spec.name, topology: topology.name, batches, rows }, null, 2)}\n`,
);
console.log(`wrote ${join(out, `${name}.svg`)} and ${name}.json`);
