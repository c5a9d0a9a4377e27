import { describe, expect, it } from 'vitest';
import { and, fromPromise, not, setup } from 'xstate';
import {
  coordinatorMachine,
  shardedModuleBatchMachine,
  stageMachine,
} from '../../machines/index.ts';
import {
  allStatePaths,
  guardName,
  machineGraph,
} from '../../visualizations/charts/machine-graph.ts';
import { renderMachineSvg } from '../../visualizations/charts/render-svg.ts';

const labelsFrom = (graph: ReturnType<typeof machineGraph>, source: string) =>
  graph.edges.filter((e) => e.source === source).map((e) => `${e.label} -> ${e.target}`);

describe('machineGraph', () => {
  it('nests the coordinator states and marks initial states', () => {
    const g = machineGraph(coordinatorMachine);
    expect(g.machineId).toBe('coordinator');
    const progressing = g.root.children.find((s) => s.key === 'progressing')!;
    expect(progressing.type).toBe('compound');
    expect(progressing.children.map((s) => s.key)).toEqual([
      'awaitingBatch',
      'zeroGrad',
      'forward',
      'startingNextDist',
      'backward',
      'optimizerStep',
      'completing',
    ]);
    expect(progressing.children.find((s) => s.initial)?.path).toBe('progressing.awaitingBatch');
    expect(g.root.children.find((s) => s.initial)?.path).toBe('idle');
    expect(g.root.children.find((s) => s.key === 'exhausted')?.type).toBe('atomic');
  });

  it('labels eventless transitions with their named guards, in priority order', () => {
    expect(labelsFrom(machineGraph(coordinatorMachine), 'gate')).toEqual([
      'always [isPaused] -> paused',
      'always [isNotConnected] -> connecting',
      'always [needsSync] -> syncing',
      'always [spendsStepToken] -> progressing',
      'always -> progressing',
    ]);
  });

  it('shows invoke done/error as `done: <src>` / `error: <src>` and invokes inside their state', () => {
    const g = machineGraph(coordinatorMachine);
    expect(labelsFrom(g, 'progressing.backward')).toEqual([
      'done: backward [shouldStepOptimizer] -> progressing.optimizerStep',
      'done: backward -> ready',
      'error: backward -> failed',
    ]);
    expect(labelsFrom(g, 'progressing.awaitingBatch')).toEqual([
      'done: awaitBatch [noBatchArrived] -> draining',
      'done: awaitBatch [shouldResetOptimizer] -> progressing.zeroGrad',
      'done: awaitBatch -> progressing.forward',
      'error: awaitBatch [isRecoverable] -> ready',
      'error: awaitBatch -> failed',
    ]);
    const forward = g.root.children
      .find((s) => s.key === 'progressing')!
      .children.find((s) => s.key === 'forward')!;
    expect(forward.invokes).toEqual(['forward']);
    expect(labelsFrom(g, 'progressing')).toEqual([]);
  });

  it('lists targetless transitions inside their state instead of drawing them', () => {
    const g = machineGraph(coordinatorMachine);
    expect(g.root.internal).toEqual(['PAUSE / pause', 'RESUME / resume', 'STEP / allowOneStep']);
    expect(g.root.children.find((s) => s.key === 'exhausted')!.internal).toEqual([
      'PROGRESS / answerExhausted',
    ]);
    expect(labelsFrom(g, 'exhausted')).toContain('PROGRESS [hasNewSource] -> gate');
  });

  it('covers every state of the stage and sharded-module machines', () => {
    expect(allStatePaths(machineGraph(stageMachine))).toEqual([
      '',
      'idle',
      'awaitingBatch',
      'busy',
      'failed',
    ]);
    const sm = machineGraph(shardedModuleBatchMachine);
    expect(allStatePaths(sm)).toContain('computeAndOutputDist.outputDist');
    expect(labelsFrom(sm, 'computeAndOutputDist.computing')).toEqual([
      'OUTPUT_DIST -> computeAndOutputDist.outputDist',
    ]);
  });

  it('names higher-order, object and delayed guards and after-transitions', () => {
    const m = setup({
      guards: { a: () => true, b: () => false },
      actors: { work: fromPromise(async () => 1) },
    }).createMachine({
      id: 'm',
      initial: 'x',
      states: {
        x: {
          on: {
            GO: { guard: and(['a', not('b')]), target: 'y' },
            OBJ: { guard: { type: 'a' }, target: 'y' },
          },
          after: { 500: 'y' },
        },
        y: {},
      },
    });
    expect(labelsFrom(machineGraph(m), 'x')).toEqual([
      'GO [a && !b] -> y',
      'OBJ [a] -> y',
      'after 500ms -> y',
    ]);
    expect(guardName(() => true)).toBe('inline');
  });
});

describe('renderMachineSvg', () => {
  it('gives every state a data-state node and references nothing external', async () => {
    const svg = await renderMachineSvg(machineGraph(shardedModuleBatchMachine));
    for (const path of allStatePaths(machineGraph(shardedModuleBatchMachine))) {
      expect(svg).toContain(`data-state="${path}"`);
    }
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/href=|@import|url\((?!#)/);
    expect(svg).toContain('>do: awaitData<');
    expect(svg).toContain('>done: inputDist<');
  });

  it('is byte-for-byte deterministic', async () => {
    const a = await renderMachineSvg(machineGraph(stageMachine));
    const b = await renderMachineSvg(machineGraph(stageMachine));
    expect(a).toBe(b);
  });

  it('keeps every atomic state inside its compound parent', async () => {
    const svg = await renderMachineSvg(machineGraph(coordinatorMachine));
    const rect = (path: string) => {
      const m = new RegExp(
        `data-state="${path.replace(/\./g, '\\.')}">\\n<rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)"`,
      ).exec(svg);
      if (!m) throw new Error(`no rect for ${path}`);
      const [x, y, w, h] = m.slice(1).map(Number);
      return { x, y, w, h };
    };
    const parent = rect('progressing');
    for (const child of [
      'progressing.awaitingBatch',
      'progressing.forward',
      'progressing.completing',
    ]) {
      const c = rect(child);
      expect(c.x).toBeGreaterThanOrEqual(parent.x);
      expect(c.y).toBeGreaterThanOrEqual(parent.y);
      expect(c.x + c.w).toBeLessThanOrEqual(parent.x + parent.w);
      expect(c.y + c.h).toBeLessThanOrEqual(parent.y + parent.h);
    }
  });
});
