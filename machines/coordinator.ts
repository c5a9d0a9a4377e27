/**
 * The coordinator: one per pipeline per rank. It owns connect / progress / sync / drain and
 * the gradient-accumulation guards; every side effect is a named effect (an entry action)
 * filled by the facade with `.provide({ actions })`, which answers with `<effect>.done` /
 * `<effect>.error` events.
 *
 * ```
 * idle ─PROGRESS→ gate ─┬→ paused ─RESUME/STEP→ gate
 *                       ├→ connecting ─→ progressing
 *                       ├→ syncing ────→ progressing
 *                       └→ progressing
 * progressing: awaitingBatch ─(none left)→ draining → exhausted
 *              → zeroGrad? → forward → startingNextDist → backward (answers the output) → optimizerStep?
 *              → (answer) → ready ─PROGRESS→ gate
 *              eval: startingNextDist → completing (answers the output) → (answer) → ready
 * any failure → failed (or back to ready with an error answer when the batch was rejected
 * before it touched any state)
 * ```
 *
 * The machine is pure: no tfjs, RxJS or I/O. Drive it with `transition()` in tests, draw
 * it from `toJSON()`.
 *
 * @example
 * const live = coordinatorMachine.provide({ actions: { awaitBatch: effect('awaitBatch', async () => ({ batch: 0, isLast: true })) } });
 * const actor = createActor(live, { input: { rank: 0, kind: 'sparseDist', gradAccum: 1, gradAccumSchedule: 'exact' } });
 */
import { assign, setup } from 'xstate';
import type { BatchIndex } from '../src/protocol/index.ts';
import {
  shouldResetOptimizer,
  shouldStepOptimizer,
  stepScaleFor,
} from './accumulation-schedule.ts';
import type {
  BatchInput,
  CoordinatorContext,
  CoordinatorEvent,
  CoordinatorInput,
  StepInput,
} from './coordinator-types.ts';
import { failureOf, notProvidedEffect } from './not-provided.ts';

/** Every failure inside `progressing` fails the pipeline and answers the pending call. */
const FAIL = { target: '#coordinator.failed', actions: 'answerError' } as const;

export const coordinatorMachine = setup({
  types: {
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    input: {} as CoordinatorInput,
  },
  guards: {
    isPaused: ({ context }) =>
      context.paused && context.stepTokens === 0 && context.batchesTrained >= context.pauseFrom,
    isNotConnected: ({ context }) => !context.connected,
    needsSync: ({ context }) => context.syncRequired,
    hasNewSource: ({ event }) => event.type === 'PROGRESS' && event.newSource === true,
    noBatchArrived: ({ event }) => event.type === 'awaitBatch.done' && event.output.batch === null,
    isTraining: ({ context }) => context.training,
    shouldResetOptimizer: ({ context }) =>
      context.training &&
      shouldResetOptimizer(context.gradAccumSchedule, schedulePosition(context), context.gradAccum),
    shouldStepOptimizer: ({ context }) =>
      shouldStepOptimizer(
        context.gradAccumSchedule,
        schedulePosition(context),
        context.gradAccum,
        context.current?.isLast ?? false,
      ),
    isRecoverable: ({ event }) => failureOf(event).recoverable,
    /** Paused, but a STEP token lets this one iteration through (and spends it). */
    spendsStepToken: ({ context }) => holdsStepToken(context),
  },
  actions: {
    // ── effects: each starts its work and later sends `<name>.done` (with `output`) or
    //    `<name>.error` (with `error`) back to the coordinator; provided by the facade ──
    /** Fill the pipeline from the current source (copy b0, rewrite/bind, start dist b0, copy b1). */
    connect: notProvidedEffect<{ rank: number }>('connect'),
    /** Re-bind the pipelined forwards to this pipeline's contexts. */
    sync: notProvidedEffect<{ rank: number }>('sync'),
    /** Hand over the batch to run now and issue the prefetch; `output: AwaitBatchOutput`. */
    awaitBatch: notProvidedEffect<{ rank: number; training: boolean }>('awaitBatch'),
    zeroGrad: notProvidedEffect<{ rank: number }>('zeroGrad'),
    /** Issue the forward of the batch; done when issued (not when complete). */
    forward: notProvidedEffect<BatchInput>('forward'),
    /** Start the input dist of the next batch (does not wait for it). */
    startNextDist: notProvidedEffect<BatchInput>('startNextDist'),
    backward: notProvidedEffect<BatchInput>('backward'),
    optimizerStep: notProvidedEffect<StepInput>('optimizerStep'),
    /** Wait until everything issued for the batch completed; `output` is the batch's output. */
    complete: notProvidedEffect<BatchInput>('complete'),
    /** Release per-source resources once the last batch has been trained. */
    drain: notProvidedEffect<{ rank: number }>('drain'),
    recordRequest: assign(({ event }) =>
      event.type === 'PROGRESS'
        ? {
            training: event.training,
            syncRequired: event.syncRequired ?? false,
            newSource: event.newSource ?? false,
          }
        : {},
    ),
    // A step token is spent only by an iteration that the pause would have held.
    consumeStepToken: assign(({ context }) => ({ stepTokens: tokensAfterEntry(context) })),
    pause: assign(({ event }) => ({
      paused: true,
      pauseFrom: event.type === 'PAUSE' ? (event.atBatchesTrained ?? 0) : 0,
    })),
    resume: assign({ paused: false, stepTokens: 0 }),
    allowOneStep: assign(({ context }) => ({ stepTokens: context.stepTokens + 1 })),
    // Connecting / syncing end in `progressing`: they spend a held step token like the gate does.
    markConnected: assign(({ context }) => ({
      connected: true,
      newSource: false,
      syncRequired: false,
      stepTokens: tokensAfterEntry(context),
    })),
    markSynced: assign(({ context }) => ({
      syncRequired: false,
      stepTokens: tokensAfterEntry(context),
    })),
    // Each transition of an iteration carries at most one assign: XState copies the
    // context and rebuilds the snapshot for every assign, several times per iteration.
    assignCurrent: assign(({ event }) => ({ current: currentOf(event) })),
    /** The batch to run, opening a new accumulation window (the reset branch). */
    assignCurrentOpeningWindow: assign(({ event }) => ({
      current: currentOf(event),
      windowSize: 0,
    })),
    /** Backward done, the step still to come: count the micro-batch, hold the output for the answer. */
    countMicroBatchHoldingOutput: assign(({ context, event }) => ({
      windowSize: context.windowSize + 1,
      output: backwardOutput(event),
    })),
    /** Backward done and no step this time: count the micro-batch and answer with the output. */
    countMicroBatchAndAnswer: assign(({ context, event }) => ({
      ...outputAnswer(context, backwardOutput(event)),
      windowSize: context.windowSize + 1,
    })),
    /** The step is done: close the window and answer with the held output. */
    closeWindowAndAnswer: assign(({ context }) => ({
      ...outputAnswer(context, context.output),
      windowSize: 0,
    })),
    /** Eval: answer with the output `complete.done` carries. */
    answerOutput: assign(({ context, event }) =>
      outputAnswer(context, event.type === 'complete.done' ? event.output : undefined),
    ),
    answerExhausted: assign(({ context }) => ({
      connected: false,
      resultSeq: context.resultSeq + 1,
      lastResult: { kind: 'exhausted' as const, batchesTrained: context.batchesTrained },
    })),
    answerError: assign(({ context, event }) => ({
      resultSeq: context.resultSeq + 1,
      lastResult: { kind: 'error' as const, ...failureOf(event) },
      current: null,
    })),
    answerStillFailed: assign(({ context }) => ({
      resultSeq: context.resultSeq + 1,
      lastResult:
        context.lastResult?.kind === 'error' ? { ...context.lastResult } : context.lastResult,
    })),
  },
}).createMachine({
  id: 'coordinator',
  context: ({ input }) => ({
    ...input,
    connected: false,
    calls: input.resume?.calls ?? 0,
    batchesTrained: input.resume?.batchesTrained ?? 0,
    windowSize: input.resume?.windowSize ?? 0,
    current: null,
    training: true,
    syncRequired: false,
    newSource: false,
    paused: false,
    pauseFrom: 0,
    stepTokens: 0,
    resultSeq: 0,
    lastResult: null,
    output: undefined,
  }),
  initial: 'idle',
  on: {
    PAUSE: { actions: 'pause' },
    RESUME: { actions: 'resume' },
    STEP: { actions: 'allowOneStep' },
  },
  states: {
    idle: {
      on: { PROGRESS: { target: 'gate', actions: 'recordRequest' } },
    },
    gate: {
      always: [
        { guard: 'isPaused', target: 'paused' },
        { guard: 'isNotConnected', target: 'connecting' },
        { guard: 'needsSync', target: 'syncing' },
        { guard: 'spendsStepToken', target: 'progressing', actions: 'consumeStepToken' },
        { target: 'progressing' },
      ],
    },
    paused: {
      on: {
        RESUME: { target: 'gate', actions: 'resume' },
        STEP: { target: 'gate', actions: 'allowOneStep' },
      },
    },
    connecting: {
      entry: { type: 'connect', params: ({ context }) => ({ rank: context.rank }) },
      on: {
        'connect.done': { target: 'progressing', actions: 'markConnected' },
        'connect.error': [
          { guard: 'isRecoverable', target: 'ready', actions: 'answerError' },
          { target: 'failed', actions: 'answerError' },
        ],
      },
    },
    syncing: {
      entry: { type: 'sync', params: ({ context }) => ({ rank: context.rank }) },
      on: {
        'sync.done': { target: 'progressing', actions: 'markSynced' },
        'sync.error': { target: 'failed', actions: 'answerError' },
      },
    },
    ready: {
      on: {
        PROGRESS: { target: 'gate', actions: 'recordRequest' },
        RESET: { target: 'idle' },
      },
    },
    progressing: {
      initial: 'awaitingBatch',
      states: {
        awaitingBatch: {
          entry: {
            type: 'awaitBatch',
            params: ({ context }) => ({ rank: context.rank, training: context.training }),
          },
          on: {
            'awaitBatch.done': [
              {
                guard: 'noBatchArrived',
                target: '#coordinator.draining',
                actions: 'assignCurrent',
              },
              {
                guard: 'shouldResetOptimizer',
                target: 'zeroGrad',
                actions: 'assignCurrentOpeningWindow',
              },
              { target: 'forward', actions: 'assignCurrent' },
            ],
            'awaitBatch.error': [
              { guard: 'isRecoverable', target: '#coordinator.ready', actions: 'answerError' },
              { target: '#coordinator.failed', actions: 'answerError' },
            ],
          },
        },
        zeroGrad: {
          entry: { type: 'zeroGrad', params: ({ context }) => ({ rank: context.rank }) },
          on: {
            'zeroGrad.done': 'forward',
            'zeroGrad.error': FAIL,
          },
        },
        forward: {
          entry: { type: 'forward', params: ({ context }) => batchInput(context) },
          on: {
            'forward.done': 'startingNextDist',
            'forward.error': FAIL,
          },
        },
        startingNextDist: {
          entry: { type: 'startNextDist', params: ({ context }) => batchInput(context) },
          on: {
            'startNextDist.done': [
              { guard: 'isTraining', target: 'backward' },
              { target: 'completing' },
            ],
            'startNextDist.error': FAIL,
          },
        },
        backward: {
          // Answers with the iteration's output once the batch's backward is done.
          entry: { type: 'backward', params: ({ context }) => batchInput(context) },
          on: {
            'backward.done': [
              {
                guard: 'shouldStepOptimizer',
                target: 'optimizerStep',
                actions: 'countMicroBatchHoldingOutput',
              },
              { target: '#coordinator.ready', actions: 'countMicroBatchAndAnswer' },
            ],
            'backward.error': FAIL,
          },
        },
        optimizerStep: {
          entry: {
            type: 'optimizerStep',
            params: ({ context }) => ({
              rank: context.rank,
              batch: currentBatch(context),
              microBatches: context.windowSize,
              scale: stepScaleFor(context.gradAccumSchedule, context.gradAccum, context.windowSize),
            }),
          },
          on: {
            'optimizerStep.done': { target: '#coordinator.ready', actions: 'closeWindowAndAnswer' },
            'optimizerStep.error': FAIL,
          },
        },
        completing: {
          // Eval: waits for the forward's output and releases the batch.
          entry: { type: 'complete', params: ({ context }) => batchInput(context) },
          on: {
            'complete.done': { target: '#coordinator.ready', actions: 'answerOutput' },
            'complete.error': FAIL,
          },
        },
      },
    },
    draining: {
      entry: { type: 'drain', params: ({ context }) => ({ rank: context.rank }) },
      on: {
        'drain.done': { target: 'exhausted', actions: 'answerExhausted' },
        'drain.error': { target: 'failed', actions: 'answerError' },
      },
    },
    exhausted: {
      on: {
        PROGRESS: [
          { guard: 'hasNewSource', target: 'gate', actions: 'recordRequest' },
          { actions: 'answerExhausted' },
        ],
        RESET: { target: 'idle' },
      },
    },
    failed: {
      on: {
        PROGRESS: { actions: 'answerStillFailed' },
        RESET: { target: 'idle', actions: assign({ connected: false }) },
      },
    },
  },
});

/**
 * The call index the schedule functions see. The exact schedule counts from the start of
 * the current window (so a window opened after a flushed partial one is whole again); the
 * seed's schedule counts every training call, as the seed did.
 */
function schedulePosition(context: CoordinatorContext): number {
  return context.gradAccumSchedule === 'exact' ? context.windowSize : context.calls;
}

/** Paused, but this iteration may run on a STEP token (it is spent on the way in). */
function holdsStepToken(context: CoordinatorContext): boolean {
  return context.paused && context.batchesTrained >= context.pauseFrom;
}

function tokensAfterEntry(context: CoordinatorContext): number {
  return holdsStepToken(context) ? Math.max(0, context.stepTokens - 1) : context.stepTokens;
}

function currentOf(event: CoordinatorEvent): CoordinatorContext['current'] {
  if (event.type !== 'awaitBatch.done' || event.output.batch === null) return null;
  return { batch: event.output.batch, isLast: event.output.isLast };
}

/** The output `backward.done` carries (the batch's output, opaque to the machine). */
function backwardOutput(event: CoordinatorEvent): unknown {
  return event.type === 'backward.done' ? event.output : undefined;
}

/** The batch of the iteration in progress (every state that reads it runs inside one). */
export function currentBatch(context: CoordinatorContext): BatchIndex {
  if (context.current === null) throw new Error('internal: no batch is in progress');
  return context.current.batch;
}

/** The context changes that answer the pending call with a batch's output. */
function outputAnswer(context: CoordinatorContext, output: unknown): Partial<CoordinatorContext> {
  return {
    calls: context.training ? context.calls + 1 : context.calls,
    batchesTrained: context.batchesTrained + 1,
    resultSeq: context.resultSeq + 1,
    lastResult: { kind: 'output', batch: currentBatch(context), output },
    output: undefined,
    current: null,
  };
}

function batchInput(context: CoordinatorContext): {
  rank: number;
  batch: BatchIndex;
  training: boolean;
} {
  return { rank: context.rank, batch: currentBatch(context), training: context.training };
}
