/**
 * Pipeline kinds as configurations of the coordinator. Every kind keeps the coordinator's
 * outer states (idle, gate, paused, connecting, syncing, ready, draining, exhausted,
 * failed), its guards and its actions; a kind replaces only the inside of `progressing`
 * (the order of one iteration) and may add guards and actions of its own. Every kind also
 * gets a `detached` state (TorchRec's `detach()` / `attach()`).
 *
 * To add a kind: write its `progressing` states below (reusing `awaitingBatch`, `zeroGrad`,
 * `forward`, `completing` of the base machine where they fit), add it to `KIND_PROGRESSING`,
 * name new effects in `CoordinatorEffect` (machines/coordinator-types.ts) and implement them
 * in the rank engine. The kind's chart is drawn from the machine this file returns.
 *
 * ```
 * sparseDist / base / none  forward → startingNextDist → backward → optimizerStep?
 * fusedSparseDist           forward → startingNextDist → backward
 *                             → optimizerStep: embeddingStep → lookingUpNext → denseStep
 *                             (no step this time: → lookingUpNext)
 * semiSync (batch ≥ start)  forward → startingNextDist → lookingUpEarly → backward
 *                             → optimizerStep: embeddingStep → denseStep
 * semiSync (batch < start)  forward → startingNextDist → backward → optimizerStep → lookingUpNext
 * eval                      forward → startingNextDist → completing
 * prefetchSparseDist        forward → startingNextDist (dist i+2) → prefetchingNext (rows of i+1)
 *                             → backward → optimizerStep?
 * ready ─DETACH→ detached ─ATTACH→ ready;  detached ─PROGRESS→ (attach) gate
 * ```
 *
 * Pure, like every machine here: effects are named slots the facade provides.
 *
 * @example
 * const machine = coordinatorMachineFor('fusedSparseDist');
 * const live = machine.provide({ actions: engine.effectImplementations() });
 */
import { assign, createMachine } from 'xstate';
import { coordinatorMachine, currentBatch } from './coordinator.ts';
import { stepScaleFor } from './accumulation-schedule.ts';
import type {
  BatchInput,
  CoordinatorContext,
  CoordinatorEffect,
  PipelineKind,
  StepInput,
} from './coordinator-types.ts';
import { notProvidedEffect } from './not-provided.ts';

export type CoordinatorMachine = typeof coordinatorMachine;

/** Effects the kinds add to the coordinator's (each answers `<name>.done` / `<name>.error`). */
export const KIND_EFFECTS: readonly CoordinatorEffect[] = [
  'embeddingStep',
  'lookupNext',
  'denseStep',
  'prefetchNext',
];

const FAIL = { target: '#coordinator.failed', actions: 'answerError' } as const;

function batchParams({ context }: { context: CoordinatorContext }) {
  return { rank: context.rank, batch: currentBatch(context), training: context.training };
}

function stepParams({ context }: { context: CoordinatorContext }) {
  return {
    rank: context.rank,
    batch: currentBatch(context),
    microBatches: context.windowSize,
    scale: stepScaleFor(context.gradAccumSchedule, context.gradAccum, context.windowSize),
  };
}

const base = coordinatorMachine.config;
const baseStates = present(base.states, 'the coordinator has no states');
const baseProgressing = present(
  present(baseStates.progressing, "the coordinator has no 'progressing' state").states,
  "the coordinator's 'progressing' state has no substates",
);

function present<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pipeline kinds: ${what}`);
  return value;
}

/** The look-ahead effect: start batch i+1's lookup and output dist on the lookup stream. */
function lookingUp(target: string, actions?: string) {
  return {
    entry: { type: 'lookupNext', params: batchParams },
    on: {
      'lookupNext.done': actions ? { target, actions } : target,
      'lookupNext.error': FAIL,
    },
  };
}

const embeddingStep = (next: string) => ({
  // The fused sparse optimizers and feature processors: the tables batch i+1 looks up.
  entry: { type: 'embeddingStep', params: stepParams },
  on: { 'embeddingStep.done': next, 'embeddingStep.error': FAIL },
});

const denseStep = (done: object | object[]) => ({
  entry: { type: 'denseStep', params: stepParams },
  on: { 'denseStep.done': done, 'denseStep.error': FAIL },
});

/**
 * TorchRec's `TrainPipelineFusedSparseDist`: once batch i's embedding step has updated the
 * tables, batch i+1's lookup and output dist start on the lookup stream, overlapping batch
 * i's dense optimizer step; batch i+1's forward then runs without the lookup.
 */
const fusedProgressing = {
  ...baseProgressing,
  backward: {
    entry: { type: 'backward', params: batchParams },
    on: {
      'backward.done': [
        {
          guard: 'shouldStepOptimizer',
          target: 'optimizerStep',
          actions: 'countMicroBatchHoldingOutput',
        },
        // No step: the tables do not change, so batch i+1 can be looked up now.
        { target: 'lookingUpNext', actions: 'countMicroBatchHoldingOutput' },
      ],
      'backward.error': FAIL,
    },
  },
  optimizerStep: {
    initial: 'embeddingStep',
    states: {
      embeddingStep: embeddingStep('lookingUpNext'),
      // Issued before the dense step so the two overlap on their streams.
      lookingUpNext: lookingUp('denseStep'),
      denseStep: denseStep({ target: '#coordinator.ready', actions: 'closeWindowAndAnswer' }),
    },
  },
  lookingUpNext: lookingUp('#coordinator.ready', 'answerHeldOutput'),
};

/**
 * TorchRec's `TrainPipelineSemiSync`: from `startBatch` on, batch i+1's lookup is issued
 * right after batch i's forward, before batch i's backward and step (batch i+1 sees the
 * tables as of step i−1); before `startBatch` the lookup follows the step (synchronous).
 */
const semiSyncProgressing = {
  ...baseProgressing,
  startingNextDist: {
    entry: { type: 'startNextDist', params: batchParams },
    on: {
      'startNextDist.done': [
        { guard: 'looksUpBeforeBackward', target: 'lookingUpEarly' },
        { guard: 'isTraining', target: 'backward' },
        { target: 'completing' },
      ],
      'startNextDist.error': FAIL,
    },
  },
  lookingUpEarly: lookingUp('backward'),
  backward: {
    entry: { type: 'backward', params: batchParams },
    on: {
      'backward.done': [
        {
          guard: 'shouldStepOptimizer',
          target: 'optimizerStep',
          actions: 'countMicroBatchHoldingOutput',
        },
        { target: 'lookingUpAfter', actions: 'countMicroBatchHoldingOutput' },
      ],
      'backward.error': FAIL,
    },
  },
  optimizerStep: {
    initial: 'embeddingStep',
    states: {
      // Waits for batch i+1's early lookup to have read the tables before writing them.
      embeddingStep: embeddingStep('denseStep'),
      denseStep: denseStep([
        { guard: 'isSemiSyncBatch', target: '#coordinator.ready', actions: 'closeWindowAndAnswer' },
        { target: '#coordinator.progressing.lookingUpAfter', actions: 'closeWindowHoldingOutput' },
      ]),
    },
  },
  // Synchronous phase (batch < startBatch): batch i+1 is looked up after step i.
  lookingUpAfter: lookingUp('#coordinator.ready', 'answerHeldOutput'),
};

/** TorchRec's `EvalPipelineSparseDist`: no backward; input dist of i+1 overlaps forward of i. */
const evalProgressing = {
  awaitingBatch: {
    entry: {
      type: 'awaitBatch',
      params: ({ context }: { context: CoordinatorContext }) => ({
        rank: context.rank,
        training: false,
      }),
    },
    on: {
      'awaitBatch.done': [
        { guard: 'noBatchArrived', target: '#coordinator.draining', actions: 'assignCurrent' },
        { target: 'forward', actions: 'assignCurrent' },
      ],
      'awaitBatch.error': [
        { guard: 'isRecoverable', target: '#coordinator.ready', actions: 'answerError' },
        { target: '#coordinator.failed', actions: 'answerError' },
      ],
    },
  },
  forward: baseProgressing.forward,
  startingNextDist: {
    entry: { type: 'startNextDist', params: batchParams },
    on: { 'startNextDist.done': 'completing', 'startNextDist.error': FAIL },
  },
  completing: baseProgressing.completing,
};

/**
 * TorchRec's `PrefetchTrainPipelineSparseDist`: four batches in flight. While batch i
 * computes, batch i+3 is copied, batch i+2's input dist runs and batch i+1's embedding rows
 * are prefetched into the cached tables' fast tier on the prefetch stream; batch i+1's
 * lookup then finds its rows resident.
 */
const prefetchProgressing = {
  ...baseProgressing,
  startingNextDist: {
    entry: { type: 'startNextDist', params: batchParams },
    on: { 'startNextDist.done': 'prefetchingNext', 'startNextDist.error': FAIL },
  },
  prefetchingNext: {
    // Issued after forward(i), so the prefetch of i+1 never reorders i's lookup.
    entry: { type: 'prefetchNext', params: batchParams },
    on: {
      'prefetchNext.done': [{ guard: 'isTraining', target: 'backward' }, { target: 'completing' }],
      'prefetchNext.error': FAIL,
    },
  },
};

const KIND_PROGRESSING: Partial<Record<PipelineKind, object>> = {
  prefetchSparseDist: prefetchProgressing,
  fusedSparseDist: fusedProgressing,
  semiSync: semiSyncProgressing,
  eval: evalProgressing,
};

/** Where DETACH is accepted: between iterations. */
function withDetach(state: object | undefined): object {
  const s = (state ?? {}) as { on?: Record<string, unknown> };
  return { ...s, on: { ...s.on, DETACH: { target: 'detached', actions: 'detach' } } };
}

const kindGuards = {
  looksUpBeforeBackward: ({ context }: { context: CoordinatorContext }) =>
    context.training && isSemiSync(context),
  isSemiSyncBatch: ({ context }: { context: CoordinatorContext }) => isSemiSync(context),
};

function isSemiSync(context: CoordinatorContext): boolean {
  return context.current !== null && context.current.batch >= (context.startBatch ?? 0);
}

const kindActions = {
  /** Step the fused sparse optimizers (tables, feature processors); all-reduces first. */
  embeddingStep: notProvidedEffect<StepInput>('embeddingStep'),
  /** Start batch i+1's lookup + output dist on the lookup stream (done when issued). */
  lookupNext: notProvidedEffect<BatchInput>('lookupNext'),
  /** Prefetch: issue batch i+1's cache fill on the prefetch stream (done when issued). */
  prefetchNext: notProvidedEffect<BatchInput>('prefetchNext'),
  /** Step the dense optimizer (semi-sync: with the stashed gradients of batch i−1). */
  denseStep: notProvidedEffect<StepInput>('denseStep'),
  /** Answer with the output held since the backward (the window stays as it is). */
  answerHeldOutput: assign(({ context }: { context: CoordinatorContext }) => ({
    calls: context.training ? context.calls + 1 : context.calls,
    batchesTrained: context.batchesTrained + 1,
    resultSeq: context.resultSeq + 1,
    lastResult: { kind: 'output' as const, batch: currentBatch(context), output: context.output },
    output: undefined,
    current: null,
  })),
  /** The step is done but the answer waits for the look-ahead: close the window only. */
  closeWindowHoldingOutput: assign({ windowSize: 0 }),
  /** Markers for charts and inspectors (the facade reports `pipeline.detach` / `pipeline.attach`). */
  detach: () => undefined,
  attach: () => undefined,
};

/**
 * True when the coordinator is in `detached` (a state of every kind machine, which the base
 * machine's static type does not list).
 *
 * @example
 * isDetached(pipeline.coordinator.getSnapshot());
 */
export function isDetached(snapshot: { readonly value: unknown }): boolean {
  return snapshot.value === 'detached';
}

const cache = new Map<PipelineKind, CoordinatorMachine>();

/**
 * The coordinator machine of a pipeline kind.
 *
 * @example
 * coordinatorMachineFor('eval').getInitialSnapshot; // a machine with eval's progressing states
 */
export function coordinatorMachineFor(kind: PipelineKind): CoordinatorMachine {
  const cached = cache.get(kind);
  if (cached) return cached;
  const progressing = KIND_PROGRESSING[kind];
  const config = {
    ...base,
    states: {
      ...baseStates,
      idle: withDetach(baseStates.idle),
      ready: withDetach(baseStates.ready),
      exhausted: withDetach(baseStates.exhausted),
      detached: {
        on: {
          ATTACH: { target: 'ready', actions: 'attach' },
          // progress() attaches again (TorchRec: "attach the model just in case").
          PROGRESS: { target: 'gate', actions: ['attach', 'recordRequest'] },
          RESET: { target: 'idle', actions: 'attach' },
        },
      },
      ...(progressing
        ? {
            progressing: {
              ...baseStates.progressing,
              initial: 'awaitingBatch',
              states: progressing,
            },
          }
        : {}),
    },
  };
  const impl = coordinatorMachine.implementations;
  // Same context, input and events as the base machine; only the states differ, which the
  // machine's static type does not carry, so the kind machine is typed as the base one.
  const machine = createMachine(
    config as typeof base,
    {
      ...impl,
      guards: { ...impl.guards, ...kindGuards },
      actions: { ...impl.actions, ...kindActions },
    } as typeof impl,
  ) as unknown as CoordinatorMachine;
  cache.set(kind, machine);
  return machine;
}

const KIND_NAMES: Record<PipelineKind, string> = {
  none: 'coordinator',
  base: 'coordinator',
  sparseDist: 'coordinator',
  fusedSparseDist: 'coordinator-fused-sparse-dist',
  semiSync: 'coordinator-semi-sync',
  eval: 'coordinator-eval',
  prefetchSparseDist: 'coordinator-prefetch-sparse-dist',
};

/**
 * The name a kind's coordinator reports its states under (`actor.state` events) — also the
 * name of its chart: `coordinator` for the kinds that share the base machine's states.
 *
 * @example
 * coordinatorActorName('semiSync'); // 'coordinator-semi-sync'
 */
export function coordinatorActorName(kind: PipelineKind): string {
  return KIND_NAMES[kind];
}
