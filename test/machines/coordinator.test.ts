/**
 * The coordinator driven with XState's pure `transition()`: effects (named entry actions)
 * are returned, never run; the test completes them with `<effect>.done` / `<effect>.error`
 * events, the effects being read from the machine definition.
 */
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import {
  microBatchesPerStep,
  type GradAccumSchedule,
} from '../../machines/accumulation-schedule.ts';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import type { CoordinatorInput, StepInput } from '../../machines/coordinator-types.ts';
import { effectDone, effectError, effectNamesOf, startedEffects } from './effect-events.ts';
import { PureDriver, type ChildResponse } from './pure-driver.ts';
import { TRAINING_ITERATION_WALK } from './state-walks.ts';
import type { StartedEffect } from './effect-events.ts';

type Snap = SnapshotFrom<typeof coordinatorMachine>;
const ids = effectNamesOf(coordinatorMachine);
const input = (
  gradAccum = 1,
  gradAccumSchedule: GradAccumSchedule = 'exact',
): CoordinatorInput => ({
  rank: 0,
  kind: 'sparseDist',
  gradAccum,
  gradAccumSchedule,
});

/** Answers every child at once; `awaitBatch` hands out batches 0..n-1 then `null`. */
function responder(
  batches: number,
  overrides: Partial<Record<string, (c: StartedEffect) => ChildResponse>> = {},
) {
  let next = 0;
  return (child: StartedEffect): ChildResponse => {
    const override = overrides[child.src];
    if (override) return override(child);
    if (child.src === 'awaitBatch') {
      if (next >= batches) return { output: { batch: null, isLast: true } };
      const batch = next++;
      return { output: { batch, isLast: batch === batches - 1 } };
    }
    // The iteration's output: from backward (training) or complete (eval).
    if (child.src === 'complete' || child.src === 'backward')
      return { output: { loss: (child.input as { batch: number }).batch } };
    return { output: undefined };
  };
}

const PROGRESS = { type: 'PROGRESS', training: true } as const;

describe('coordinator effects (named entry actions, read from the definition)', () => {
  it('every effect is entered from one state and is returned with its params by the pure transition', () => {
    expect(Object.keys(ids).sort()).toEqual(
      [
        'awaitBatch',
        'backward',
        'complete',
        'connect',
        'drain',
        'forward',
        'optimizerStep',
        'startNextDist',
        'sync',
        'zeroGrad',
      ].sort(),
    );
    const [s0] = initialTransition(coordinatorMachine, input());
    const [s1, actions] = transition(coordinatorMachine, s0, PROGRESS);
    expect(s1.value).toBe('connecting');
    // effects are actions, not child actors: nothing is spawned
    expect(Object.keys(s1.children)).toEqual([]);
    expect(startedEffects(actions)).toEqual([
      { id: ids.connect, src: 'connect', input: { rank: 0 } },
    ]);
    const [s2, actions2] = transition(coordinatorMachine, s1, effectDone(ids.connect) as never);
    expect(s2.value).toEqual({ progressing: 'awaitingBatch' });
    expect(startedEffects(actions2)).toEqual([
      { id: ids.awaitBatch, src: 'awaitBatch', input: { rank: 0, training: true } },
    ]);
  });
});

describe('coordinator, one training iteration (pure)', () => {
  it('walks idle → gate → connecting → awaitingBatch → … → backward → optimizerStep → ready', () => {
    const d = new PureDriver(coordinatorMachine, input(1), responder(3));
    d.send(PROGRESS);
    expect(d.trace).toEqual(['idle', 'gate', 'connecting', ...TRAINING_ITERATION_WALK]);
    const ctx = d.snapshot.context;
    expect(ctx).toMatchObject({
      connected: true,
      calls: 1,
      batchesTrained: 1,
      resultSeq: 1,
      windowSize: 0,
      current: null,
    });
    expect(ctx.lastResult).toEqual({ kind: 'output', batch: 0, output: { loss: 0 } });
    expect(d.spawned.map((c) => c.src)).toEqual([
      'connect',
      'awaitBatch',
      'zeroGrad',
      'forward',
      'startNextDist',
      'backward',
      'optimizerStep',
    ]);
    expect(d.spawned.find((c) => c.src === 'forward')!.input).toEqual({
      rank: 0,
      batch: 0,
      training: true,
    });
    // Connect happens once: the second call goes straight to the batch.
    d.trace.length = 0;
    d.send(PROGRESS);
    expect(d.trace.slice(0, 2)).toEqual(['gate', 'progressing.awaitingBatch']);
    expect(d.spawned.filter((c) => c.src === 'connect')).toHaveLength(1);
  });

  it('eval (training: false) skips zeroGrad, backward and optimizerStep and does not count a call', () => {
    const d = new PureDriver(coordinatorMachine, input(1), responder(3));
    d.send({ type: 'PROGRESS', training: false });
    expect(d.trace.slice(3)).toEqual([
      'progressing.awaitingBatch',
      'progressing.forward',
      'progressing.startingNextDist',
      'progressing.completing',
      'ready',
    ]);
    expect(d.snapshot.context).toMatchObject({ calls: 0, batchesTrained: 1, training: false });
    expect(d.spawned.find((c) => c.src === 'forward')!.input).toEqual({
      rank: 0,
      batch: 0,
      training: false,
    });
  });
});

/** Run `n` training calls (plus one that finds the source empty); record resets and steps. */
function runSchedule(schedule: GradAccumSchedule, A: number, n: number) {
  const d = new PureDriver(coordinatorMachine, input(A, schedule), responder(n));
  for (let i = 0; i <= n; i++) d.send(PROGRESS);
  const batchAt = (at: Snap) => at.context.current!.batch;
  return {
    driver: d,
    zeroGradCalls: d.spawned.filter((c) => c.src === 'zeroGrad').map((c) => batchAt(c.at)),
    steps: d.spawned.filter((c) => c.src === 'optimizerStep').map((c) => c.input as StepInput),
  };
}

function expectedSteps(schedule: GradAccumSchedule, A: number, n: number): StepInput[] {
  return microBatchesPerStep(schedule, A, n).map((w) => ({
    rank: 0,
    batch: w[w.length - 1],
    microBatches: w.length,
    scale: schedule === 'exact' ? A / w.length : 1,
  }));
}

describe('coordinator accumulation guards (pure), A = 1..5', () => {
  for (const A of [1, 2, 3, 4, 5]) {
    it(`exact, A=${A}, 12 and 7 batches: zeroGrad at calls%A==0, step at calls%A==A-1 and a final partial flush`, () => {
      for (const n of [12, 7]) {
        const { zeroGradCalls, steps, driver } = runSchedule('exact', A, n);
        const calls = Array.from({ length: n }, (_, c) => c);
        expect(zeroGradCalls).toEqual(calls.filter((c) => c % A === 0));
        expect(steps).toEqual(expectedSteps('exact', A, n));
        expect(steps.at(-1)!.batch).toBe(n - 1); // the last window is always stepped
        expect(driver.value).toBe('exhausted');
        expect(driver.snapshot.context.lastResult).toEqual({
          kind: 'exhausted',
          batchesTrained: n,
        });
      }
    });

    it(`torchrec-0.3.2, A=${A}, 12 batches: the seed's resets and steps, no flush`, () => {
      const { zeroGradCalls, steps } = runSchedule('torchrec-0.3.2', A, 12);
      const calls = Array.from({ length: 12 }, (_, c) => c);
      expect(zeroGradCalls).toEqual(calls.filter((c) => c > 0 && (c + 2) % A === 0));
      expect(steps).toEqual(expectedSteps('torchrec-0.3.2', A, 12));
    });
  }

  it('literal tables: seed A=3 steps after batches 2,5,8,11 holding 2 micro-batches; exact A=5 flushes {10,11} ×5/2', () => {
    expect(
      runSchedule('torchrec-0.3.2', 3, 12).steps.map((s) => [s.batch, s.microBatches]),
    ).toEqual([
      [2, 2],
      [5, 2],
      [8, 2],
      [11, 2],
    ]);
    expect(
      runSchedule('exact', 5, 12).steps.map((s) => [s.batch, s.microBatches, s.scale]),
    ).toEqual([
      [4, 5, 1],
      [9, 5, 1],
      [11, 2, 2.5],
    ]);
  });
});

describe('coordinator drain, failures and controls (pure)', () => {
  it('no batch left → draining → exhausted; PROGRESS again answers exhausted; newSource reconnects', () => {
    const d = new PureDriver(coordinatorMachine, input(), responder(1));
    d.send(PROGRESS).send(PROGRESS);
    expect(d.trace.slice(-4)).toEqual([
      'gate',
      'progressing.awaitingBatch',
      'draining',
      'exhausted',
    ]);
    expect(d.snapshot.value).toBe('exhausted');
    expect(d.snapshot.context).toMatchObject({
      resultSeq: 2,
      connected: false,
      lastResult: { kind: 'exhausted', batchesTrained: 1 },
    });
    d.send(PROGRESS);
    expect(d.snapshot.value).toBe('exhausted');
    expect(d.snapshot.context.resultSeq).toBe(3);
    d.send({ type: 'PROGRESS', training: true, newSource: true });
    expect(d.spawned.filter((c) => c.src === 'connect')).toHaveLength(2);
  });

  it('an error in forward fails the pipeline and answers it; RESET then PROGRESS reconnects', () => {
    const boom = new Error('forward exploded');
    const d = new PureDriver(coordinatorMachine, input(), (c) =>
      c.src === 'forward' ? { error: boom } : responder(5)(c),
    );
    d.send(PROGRESS);
    expect(d.snapshot.value).toBe('failed');
    expect(d.snapshot.context.lastResult).toEqual({
      kind: 'error',
      error: boom,
      recoverable: false,
    });
    d.send(PROGRESS);
    expect(d.snapshot.value).toBe('failed');
    expect(d.snapshot.context.resultSeq).toBe(2);
    d.send({ type: 'RESET' });
    expect(d.snapshot.value).toBe('idle');
    expect(d.snapshot.context.connected).toBe(false);
  });

  it('an error event sent by hand for the running child is handled like a rejected promise', () => {
    const d = new PureDriver(coordinatorMachine, input(), (c) =>
      c.src === 'awaitBatch' ? undefined : { output: undefined },
    );
    d.send(PROGRESS);
    expect(d.snapshot.value).toEqual({ progressing: 'awaitingBatch' });
    const rejected = new Error('bad batch 0: lengths');
    d.send(effectError(ids.awaitBatch, rejected, true));
    expect(d.snapshot.value).toBe('ready');
    expect(d.snapshot.context.lastResult).toEqual({
      kind: 'error',
      error: rejected,
      recoverable: true,
    });
  });

  it('syncRequired on a connected pipeline goes through syncing', () => {
    const d = new PureDriver(coordinatorMachine, input(), responder(5));
    d.send(PROGRESS);
    d.trace.length = 0;
    d.send({ type: 'PROGRESS', training: true, syncRequired: true });
    expect(d.trace.slice(0, 3)).toEqual(['gate', 'syncing', 'progressing.awaitingBatch']);
    expect(d.snapshot.context.syncRequired).toBe(false);
  });

  it('PAUSE parks the next PROGRESS in paused; STEP runs one iteration; RESUME continues', () => {
    const d = new PureDriver(coordinatorMachine, input(), responder(5));
    d.send({ type: 'PAUSE' }).send(PROGRESS);
    expect(d.snapshot.value).toBe('paused');
    expect(d.spawned).toHaveLength(0);
    d.send({ type: 'STEP' });
    expect(d.snapshot.value).toBe('ready');
    expect(d.snapshot.context).toMatchObject({ batchesTrained: 1, stepTokens: 0, paused: true });
    d.send(PROGRESS);
    expect(d.snapshot.value).toBe('paused');
    d.send({ type: 'RESUME' });
    expect(d.snapshot.value).toBe('ready');
    expect(d.snapshot.context).toMatchObject({ batchesTrained: 2, paused: false });
  });
});
