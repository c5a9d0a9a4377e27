/**
 * `sparsepipe simulate`: a shapes-only run of a cluster-size model on a topology, every
 * rank through the actor pipeline of the chosen kind in virtual time, and its summary
 * (docs/simulation.md): `{ iterationMs, examplesPerSecond, boundBy, memoryPerRankBytes,
 * stages, … }` on stdout and in `--json FILE`. Deterministic: the same flags give the same
 * JSON, byte for byte (wall time goes to stderr only).
 *
 * @example
 * await runSimulate(['--ranks', '4096', '--ranks-per-host', '8', '--topology', 'dgx-a100', '--model-size', 'production', '--json', 'out.json'], io);
 */
import { buildPlan, rankPlans, candidatePlans } from '../modules/scale/plan-candidates.ts';
import type { ScalePlan } from '../modules/scale/scale-plan.ts';
import { hostLayout, TopologyError } from '../runtime/sim/topology.ts';
import { CliError, UsageError, type CliIo } from './cli-io.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { parseScaleArgs, pipelineKind, type ScaleOptions } from './scale-options.ts';
import { SIMULATE_USAGE } from './scale-usage.ts';

/** The plan the options ask for, and its name for the report. */
export function resolvePlan(o: ScaleOptions): { name: string; plan: ScalePlan } {
  let layout: ReturnType<typeof hostLayout>;
  try {
    layout = hostLayout(o.topology, o.ranks, o.ranksPerHost);
  } catch (e) {
    if (e instanceof TopologyError)
      throw new UsageError(`--ranks / --ranks-per-host: ${e.message}`);
    throw e;
  }
  if (typeof o.plan === 'object') {
    if (o.plan.worldSize !== o.ranks || o.plan.ranksPerHost !== layout.ranksPerHost)
      throw new UsageError(
        `--plan is for ${o.plan.worldSize} ranks × ${o.plan.ranksPerHost} per host, but the run has ${o.ranks} × ${layout.ranksPerHost}`,
      );
    return { name: 'file', plan: o.plan };
  }
  try {
    if (o.plan !== 'auto')
      return { name: o.plan, plan: buildPlan(o.plan, o.model, o.topology, layout) };
    const { candidates, rejected } = candidatePlans(o.model, o.topology, layout);
    if (candidates.length === 0)
      throw new CliError(`no plan fits: ${rejected.map((r) => r.reason).join('; ')}`);
    const best = rankPlans(o.model, o.topology, candidates)[0];
    return { name: `auto (${best.name}, the best analytic estimate)`, plan: best.plan };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--plan ${o.plan}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function runSimulate(argv: readonly string[], io: CliIo): Promise<number> {
  const o = await parseScaleArgs(argv, 'simulate');
  if (o === 'help') {
    io.out(SIMULATE_USAGE);
    return 0;
  }
  const started = performance.now();
  const { name, plan } = resolvePlan(o);
  // the heavy part (tfjs, XState, RxJS) loads only for a run
  const [{ simulateScale }, { PIPELINE_CLASSES }] = await Promise.all([
    import('../scale/simulate-scale.ts'),
    import('../pipeline/look-ahead-pipelines.ts'),
  ]);
  const pipeline = pipelineKind(o.pipeline, Object.keys(PIPELINE_CLASSES));
  let report: Awaited<ReturnType<typeof simulateScale>>;
  try {
    report = await simulateScale({
      spec: o.model,
      topology: o.topology,
      plan,
      pipeline,
      batches: o.batches,
      overrides: o.overrides,
      interpreter: o.interpreter,
    });
  } catch (e) {
    throw new CliError(`simulate: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out = { ...report, plan: name, options: { cost: o.overrides, interpreter: o.interpreter } };
  const text = `${JSON.stringify(out, null, 2)}\n`;
  if (o.json) await writeFileAtomic(o.json, text);
  io.out(text.trimEnd());
  io.err(
    `simulated ${o.ranks} ranks × ${o.batches} batches in ${((performance.now() - started) / 1000).toFixed(1)} s wall, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
  );
  return 0;
}
