/**
 * Fake effect implementations for running the coordinator with `createActor`: every effect
 * resolves at once and records its input, `awaitBatch` walks a list of
 * sources (one per `connect`), and any slot can be made to reject on its k-th invocation.
 *
 * @example
 * const fakes = coordinatorFakes({ sources: [3] });
 * const actor = createActor(fakes.machine, { input }).start();
 * await progress(actor); // { kind: 'output', batch: 0, output: { batch: 0 } }
 */
import { createActor, waitFor, type Actor, type AnyEventObject } from 'xstate';
import { effect } from '../../actors/effect.ts';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import type {
  BatchInput,
  CoordinatorEvent,
  CoordinatorInput,
  ProgressResult,
  StepInput,
} from '../../machines/coordinator-types.ts';
import { valuePath } from './pure-driver.ts';

export type Slot =
  | 'connect'
  | 'sync'
  | 'awaitBatch'
  | 'zeroGrad'
  | 'forward'
  | 'startNextDist'
  | 'backward'
  | 'optimizerStep'
  | 'complete'
  | 'drain';

export interface FakeOptions {
  /** Number of batches in each source; `connect` moves to the next one. */
  sources: number[];
  /** Make `slot` reject with `error` on its `nth` invocation (0-based). */
  failures?: Array<{ slot: Slot; nth: number; error: unknown }>;
}

export interface FakeLog {
  /** Inputs of every invocation, per slot. */
  inputs: Record<Slot, unknown[]>;
  /** Batch handed out by the latest awaitBatch when each zeroGrad ran. */
  zeroGradBeforeBatch: number[];
  steps: StepInput[];
}

export function coordinatorFakes(options: FakeOptions) {
  const slots: Slot[] = [
    'connect',
    'sync',
    'awaitBatch',
    'zeroGrad',
    'forward',
    'startNextDist',
    'backward',
    'optimizerStep',
    'complete',
    'drain',
  ];
  const log: FakeLog = {
    inputs: Object.fromEntries(slots.map((s) => [s, []])) as unknown as Record<Slot, unknown[]>,
    zeroGradBeforeBatch: [],
    steps: [],
  };
  let source = -1;
  let leftInSource = 0;
  let nextBatch = 0;
  let lastBatch = -1;

  const record = (slot: Slot, input: unknown): void => {
    const nth = log.inputs[slot].length;
    log.inputs[slot].push(input);
    const failure = options.failures?.find((f) => f.slot === slot && f.nth === nth);
    if (failure) throw failure.error;
  };

  const machine = coordinatorMachine.provide({
    actions: {
      connect: effect('connect', async (input: { rank: number }) => {
        record('connect', input);
        source += 1;
        if (source >= options.sources.length) throw new Error(`fake: no source #${source}`);
        leftInSource = options.sources[source];
      }),
      sync: effect('sync', async (input: { rank: number }) => record('sync', input)),
      awaitBatch: effect('awaitBatch', async (input: { rank: number; training: boolean }) => {
        record('awaitBatch', input);
        if (leftInSource === 0) return { batch: null, isLast: true };
        leftInSource -= 1;
        lastBatch = nextBatch++;
        return { batch: lastBatch, isLast: leftInSource === 0 };
      }),
      zeroGrad: effect('zeroGrad', async (input: { rank: number }) => {
        record('zeroGrad', input);
        log.zeroGradBeforeBatch.push(lastBatch);
      }),
      forward: effect('forward', async (input: BatchInput) => record('forward', input)),
      startNextDist: effect('startNextDist', async (input: BatchInput) =>
        record('startNextDist', input),
      ),
      backward: effect('backward', async (input: BatchInput) => {
        record('backward', input);
        return { batch: input.batch };
      }),
      optimizerStep: effect('optimizerStep', async (input: StepInput) => {
        record('optimizerStep', input);
        log.steps.push(input);
      }),
      complete: effect('complete', async (input: BatchInput) => {
        record('complete', input);
        return { batch: input.batch };
      }),
      drain: effect('drain', async (input: { rank: number }) => record('drain', input)),
    },
  });
  return { machine, log };
}

export type CoordinatorActor = Actor<typeof coordinatorMachine>;

/**
 * Start an actor of `machine` recording every state value: `stable` from `subscribe` (one
 * per macrostep), `micro` from the inspector's microsteps (transient `always` states too).
 */
export function startRecorded(machine: typeof coordinatorMachine, input: CoordinatorInput) {
  const stable: string[] = [];
  const micro: string[] = [];
  const actor: CoordinatorActor = createActor(machine, {
    input,
    inspect: (ev) => {
      if (ev.type === '@xstate.microstep' && ev.actorRef === actor) {
        micro.push(
          valuePath((ev.snapshot as unknown as { value: Parameters<typeof valuePath>[0] }).value),
        );
      }
    },
  });
  actor.subscribe((s) => {
    const v = valuePath(s.value);
    if (stable.at(-1) !== v) stable.push(v);
  });
  actor.start();
  return { actor, stable, micro };
}

/** Send a request and wait for its answer (`resultSeq` moves). */
export async function progress(
  actor: CoordinatorActor,
  event: CoordinatorEvent | AnyEventObject = { type: 'PROGRESS', training: true },
): Promise<ProgressResult> {
  const seq = actor.getSnapshot().context.resultSeq;
  actor.send(event as CoordinatorEvent);
  const s = await waitFor(actor, (snap) => snap.context.resultSeq > seq);
  return s.context.lastResult!;
}
