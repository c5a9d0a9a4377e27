/**
 * What the pipeline's own machines cost in XState alone (CPU µs), run with effects that
 * answer at once: one coordinator training iteration (PROGRESS and six effect answers), one
 * sharded-module actor's batch (START … COMPUTED: six events, the actor reused as the
 * pipeline does) and
 * one stage job whose input is there (SUBMIT, work.done). Together with the events counted by
 * `actorTraffic`, this is the floor the actor design pays per rank-iteration before any of
 * its own work — the part of P6 no glue change can remove.
 *
 * `'xstate'` is XState's own interpreter, what the pipeline's live actors run by default;
 * `interpreter: 'compiled'` runs the opt-in compiled form (actors/compiled-machine.ts).
 *
 * @example
 * const m = machineCosts(5000);
 * m.rankIterationUs; // XState µs per rank-iteration (8 ranks, interleaved as in a run)
 */
import { assign, createActor, setup, type AnyActorRef } from 'xstate';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import { shardedModuleBatchMachine } from '../../machines/sharded-module-batch.ts';
import { stageMachine } from '../../machines/stage.ts';
import { effect } from '../../actors/effect.ts';
import { compileMachine, type Interpreter } from '../../actors/compiled-machine.ts';
import { median } from './report.ts';

export interface MachineCosts {
  /** One training iteration of the coordinator (7 events), A = 1. */
  coordinatorIterationUs: number;
  /** One module actor's batch: 6 events, the actor reused from its previous batch. */
  moduleBatchUs: number;
  /** One stage job with its input ready (2 events). */
  stageJobUs: number;
  /** One event on a two-state machine with an assign: XState's floor per event. */
  plainEventUs: number;
  /**
   * A whole rank-iteration of XState work, interleaved as in a run: per rank, a copy and a
   * dist job, a module actor's batch and a coordinator iteration, over 8 ranks.
   */
  rankIterationUs: number;
}

const instant = <T>(name: string, output?: T) => effect(name, () => output);

const coordinator = coordinatorMachine.provide({
  actions: {
    connect: instant('connect'),
    awaitBatch: instant('awaitBatch', { batch: 0, isLast: false }),
    zeroGrad: instant('zeroGrad'),
    forward: instant('forward'),
    startNextDist: instant('startNextDist'),
    backward: instant('backward', { loss: 0 }),
    optimizerStep: instant('optimizerStep'),
  },
});

const moduleBatch = shardedModuleBatchMachine.provide({
  actions: {
    inputDist: instant('inputDist'),
    awaitData: instant('awaitData'),
    computeAndOutputDist: ({ self }: { self: AnyActorRef }) => {
      self.send({ type: 'OUTPUT_DIST' });
      self.send({ type: 'COMPUTED' });
    },
  },
});

const stage = stageMachine.provide({
  actions: { awaitInput: instant('awaitInput'), work: instant('work') },
});

/** The three machines as actor logic: XState's interpreter, or compiled (typed as the machines, as the pipeline does). */
interface Logics {
  coordinator: typeof coordinator;
  moduleBatch: typeof moduleBatch;
  stage: typeof stage;
}
const PLAIN: Logics = { coordinator, moduleBatch, stage };
const COMPILED: Logics = {
  coordinator: compileMachine(coordinator) as unknown as typeof coordinator,
  moduleBatch: compileMachine(moduleBatch) as unknown as typeof moduleBatch,
  stage: compileMachine(stage) as unknown as typeof stage,
};

const pingPong = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'GO' } },
}).createMachine({
  context: { n: 0 },
  initial: 'a',
  states: {
    a: { on: { GO: { target: 'b', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
    b: { on: { GO: 'a' } },
  },
});

function cpuUsPer(n: number, body: () => void): number {
  const c0 = process.cpuUsage();
  body();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export function machineCosts(
  n = 5000,
  rounds = 3,
  interpreter: Interpreter = 'xstate',
): MachineCosts {
  const live = interpreter === 'compiled' ? COMPILED : PLAIN;
  const samples: Record<keyof MachineCosts, number[]> = {
    coordinatorIterationUs: [],
    moduleBatchUs: [],
    stageJobUs: [],
    plainEventUs: [],
    rankIterationUs: [],
  };
  for (let round = 0; round < rounds; round++) {
    const c = startedCoordinator(live);
    samples.coordinatorIterationUs.push(
      cpuUsPer(n, () => {
        for (let i = 0; i < n; i++) c.send({ type: 'PROGRESS', training: true });
      }),
    );
    if (c.getSnapshot().context.batchesTrained !== n + 1)
      throw new Error('machineCosts: the coordinator did not complete every iteration');
    c.stop();

    const m = startedModuleActor(live);
    samples.moduleBatchUs.push(
      cpuUsPer(n, () => {
        for (let i = 0; i < n; i++) runModuleBatch(m, i);
      }),
    );
    m.stop();

    const s = startedStage(live, 'copy');
    samples.stageJobUs.push(
      cpuUsPer(n, () => {
        for (let i = 0; i < n; i++) s.send({ type: 'SUBMIT', job: { batch: i, inputReady: true } });
      }),
    );
    s.stop();

    samples.rankIterationUs.push(interleaved(live, 8, Math.max(1, Math.floor(n / 8))));

    const p = createActor(pingPong).start();
    samples.plainEventUs.push(
      cpuUsPer(n, () => {
        for (let i = 0; i < n; i++) p.send({ type: 'GO' });
      }),
    );
    p.stop();
  }
  return {
    coordinatorIterationUs: median(samples.coordinatorIterationUs),
    moduleBatchUs: median(samples.moduleBatchUs),
    stageJobUs: median(samples.stageJobUs),
    plainEventUs: median(samples.plainEventUs),
    rankIterationUs: median(samples.rankIterationUs),
  };
}

function startedModuleActor(live: Logics) {
  const m = createActor(live.moduleBatch, { input: { rank: 0, module: 'ebc', batch: -1 } });
  m.subscribe(() => {});
  m.start();
  return m;
}

/** One batch on a (reused) module actor: START with the batch, COMPUTE → done. */
function runModuleBatch(m: ReturnType<typeof startedModuleActor>, i: number): void {
  m.send({ type: 'START', batch: i });
  m.send({ type: 'COMPUTE' });
  if (m.getSnapshot().value !== 'done')
    throw new Error('machineCosts: a module actor did not finish its batch');
}

function startedCoordinator(live: Logics) {
  const c = createActor(live.coordinator, {
    input: { rank: 0, kind: 'sparseDist', gradAccum: 1, gradAccumSchedule: 'exact' },
  });
  c.subscribe(() => {});
  c.start();
  c.send({ type: 'PROGRESS', training: true }); // connect once
  return c;
}

function startedStage(live: Logics, name: 'copy' | 'dist') {
  const s = createActor(live.stage, { input: { rank: 0, stage: name } });
  s.subscribe(() => {});
  s.start();
  return s;
}

function interleaved(live: Logics, ranks: number, iterations: number): number {
  const all = Array.from({ length: ranks }, () => ({
    c: startedCoordinator(live),
    copy: startedStage(live, 'copy'),
    dist: startedStage(live, 'dist'),
    m: startedModuleActor(live),
  }));
  const us = cpuUsPer(ranks * iterations, () => {
    for (let i = 0; i < iterations; i++) {
      for (const r of all) {
        r.copy.send({ type: 'SUBMIT', job: { batch: i, inputReady: true } });
        r.dist.send({ type: 'SUBMIT', job: { batch: i, inputReady: true } });
        runModuleBatch(r.m, i);
        r.c.send({ type: 'PROGRESS', training: true });
      }
    }
  });
  for (const r of all) {
    if (r.c.getSnapshot().context.batchesTrained !== iterations + 1)
      throw new Error('machineCosts: an interleaved coordinator missed an iteration');
    r.c.stop();
    r.copy.stop();
    r.dist.stop();
    r.m.stop();
  }
  return us;
}
