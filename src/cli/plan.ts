/**
 * `sparsepipe plan`: candidate sharding plans for a model on a topology, ranked by
 * TorchRec's analytic estimate, the best few simulated with the chosen pipeline kind, and
 * the winner, the runner-up, why, and how the simulated schedule changed the ranking; with
 * every shard of the winner in TorchRec's terms `{ table, sharding, ranks, fwdCompute,
 * fwdComms, bwdCompute, bwdComms }` (ms) beside its simulated iteration (docs/simulation.md).
 *
 * @example
 * await runPlan(['--ranks', '64', '--topology', 'dgx-a100', '--model-size', 'medium', '--json', 'plan.json'], io);
 */
import { TopologyError } from '../runtime/sim/topology.ts';
import { CliError, UsageError, type CliIo } from './cli-io.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { kebab, parseScaleArgs, pipelineKind } from './scale-options.ts';
import { PLAN_USAGE } from './scale-usage.ts';

export async function runPlan(argv: readonly string[], io: CliIo): Promise<number> {
  const o = await parseScaleArgs(argv, 'plan');
  if (o === 'help') {
    io.out(PLAN_USAGE);
    return 0;
  }
  if (o.plan !== 'auto')
    throw new UsageError(
      '`sparsepipe plan` searches plans itself: --plan is for `sparsepipe simulate`',
    );
  const started = performance.now();
  // the heavy part (tfjs, XState, RxJS) loads only for a run
  const [{ searchPlans }, { PIPELINE_CLASSES }] = await Promise.all([
    import('../scale/plan-search.ts'),
    import('../pipeline/look-ahead-pipelines.ts'),
  ]);
  const pipeline = pipelineKind(o.pipeline, Object.keys(PIPELINE_CLASSES));
  let result: Awaited<ReturnType<typeof searchPlans>>;
  try {
    result = await searchPlans({
      spec: o.model,
      topology: o.topology,
      worldSize: o.ranks,
      ranksPerHost: o.ranksPerHost,
      pipeline,
      batches: o.batches,
      simulateTop: o.simulateTop,
      overrides: o.overrides,
      interpreter: o.interpreter,
    });
  } catch (e) {
    if (e instanceof TopologyError)
      throw new UsageError(`--ranks / --ranks-per-host: ${e.message}`);
    throw new CliError(`plan: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out = {
    model: o.model.name,
    topology: o.topology.name,
    ...result,
    pipeline: kebab(result.pipeline),
  };
  if (o.json) await writeFileAtomic(o.json, `${JSON.stringify(out, null, 2)}\n`);
  io.out(
    `plans for model ${o.model.name} on ${o.ranks} ranks of ${o.topology.name}, pipeline ${kebab(result.pipeline)}:`,
  );
  for (const c of result.candidates)
    io.out(
      `  #${c.analyticRank} analytic ${c.analyticMs} ms  ${c.name}${c.simulated ? `  → simulated ${c.simulated.iterationMs} ms (#${c.simulatedRank}), bound by ${c.simulated.boundBy}` : ''}`,
    );
  for (const r of result.rejected) io.out(`  rejected ${r.name}: ${r.reason}`);
  io.out(`winner: ${result.winner.name}; runner-up: ${result.runnerUp?.name ?? 'none'}`);
  io.out(`why: ${result.why}`);
  io.out(`ranking: ${result.rankingChange}`);
  io.err(`searched in ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
  return 0;
}
