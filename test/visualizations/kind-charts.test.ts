/**
 * Each pipeline kind's coordinator reports its states under the name of its own chart, and
 * every state it passes through is a node of that chart (so the inspector can highlight it);
 * the inspector shows a kind's chart when the run uses that kind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { coordinatorActorName } from '../../machines/pipeline-kinds.ts';
import { CHART_MACHINES, inspectorChartsFor } from '../../visualizations/charts/generate.ts';
import { allStatePaths, machineGraph } from '../../visualizations/charts/machine-graph.ts';
import {
  buildCluster,
  localBatches,
  syntheticFor,
  tinyConfig,
  useWasm,
} from '../pipeline/fixtures.ts';

beforeAll(useWasm);

describe('pipeline kinds in the charts and the inspector', () => {
  for (const kind of ['sparseDist', 'fusedSparseDist', 'semiSync'] as PipelineKind[]) {
    it(`${kind}: every coordinator state of a run (with a detach) is on its chart`, async () => {
      const config = tinyConfig();
      const { ranks } = buildCluster(kind, 1, config, kind === 'semiSync' ? { startBatch: 2 } : {});
      const p = ranks[0].pipeline;
      const seen = new Set<string>();
      const name = coordinatorActorName(kind);
      p.events$.subscribe((e) => {
        if (e.type === 'actor.state' && e.actor === name) seen.add(e.to);
      });
      const loader = localBatches(syntheticFor(config), 16, 5, 0, 1).values();
      await p.progress(loader);
      p.detach();
      for await (const _ of p.run(loader)) void _;
      const chart = new Set(allStatePaths(machineGraph(CHART_MACHINES[name])));
      expect(seen.has('detached')).toBe(true);
      for (const state of seen) expect(chart.has(state), state).toBe(true);
      if (kind !== 'sparseDist') expect([...seen].some((s) => s.includes('lookingUp'))).toBe(true);
    });
  }

  it('the inspector adds the chart of a look-ahead kind', () => {
    expect(Object.keys(inspectorChartsFor([]))).toEqual(['coordinator', 'stage', 'shardedModule']);
    expect(Object.keys(inspectorChartsFor(['semiSync']))).toContain('coordinator-semi-sync');
  });
});
