/**
 * One sharded module working on one batch (one actor per module per in-flight batch, so
 * batch i can compute while batch i+1 is still distributing).
 *
 * ```
 * awaitingBatch ─START→ distInFlight ─(splits issued)→ waitingForSplits ─(splits done, data issued)→
 * dataInFlight ─(data arrived)→ ready ─COMPUTE→ computing ─OUTPUT_DIST→ outputDist ─COMPUTED→
 * computed ─BACKWARD→ backward → done        computed ─RELEASE→ done (eval)
 * any error → failed
 * ```
 *
 * The work of each state is an invoked actor (`inputDist`, `awaitSplits`, `awaitData`,
 * `computeAndOutputDist`, `backward`) provided by the pipeline; the machine only sequences.
 *
 * @example
 * const a = createActor(shardedModuleBatchMachine.provide({ actors }), { input: { rank: 0, module: 'sparse', batch: 4 } });
 * a.start(); a.send({ type: 'START' });
 */
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type { BatchIndex, Rank } from '../src/protocol/index.ts';
import { notProvided } from './not-provided.ts';

export interface ModuleBatchInput {
  rank: Rank;
  module: string;
  batch: BatchIndex;
}

export interface ModuleBatchContext extends ModuleBatchInput {
  error: unknown;
}

export type ModuleBatchEvent =
  | { type: 'START' }
  | { type: 'COMPUTE' }
  | { type: 'OUTPUT_DIST' }
  | { type: 'COMPUTED' }
  | { type: 'COMPUTE_FAILED'; error: unknown }
  | { type: 'BACKWARD' }
  | { type: 'RELEASE' };

export const shardedModuleBatchMachine = setup({
  types: {
    context: {} as ModuleBatchContext,
    events: {} as ModuleBatchEvent,
    input: {} as ModuleBatchInput,
  },
  actors: {
    /** Calls `module.inputDist(ctx, input)`: issues the splits exchange. */
    inputDist: fromPromise<void, ModuleBatchInput>(notProvided('inputDist')),
    /** Waits for the splits, which issues the data exchange. */
    awaitSplits: fromPromise<void, ModuleBatchInput>(notProvided('awaitSplits')),
    /** Waits for lengths / values / weights to arrive. */
    awaitData: fromPromise<void, ModuleBatchInput>(notProvided('awaitData')),
    /** Local lookup then output dist; sends OUTPUT_DIST when the lookup is done, COMPUTED at the end. */
    computeAndOutputDist: fromCallback<ModuleBatchEvent, ModuleBatchInput>(() => {
      throw new Error("actor 'computeAndOutputDist' was not provided");
    }),
    backward: fromPromise<void, ModuleBatchInput>(notProvided('backward')),
  },
  actions: {
    recordError: assign(({ event }) => ({
      error: event.type === 'COMPUTE_FAILED' ? event.error : (event as { error?: unknown }).error,
    })),
  },
}).createMachine({
  id: 'shardedModule',
  context: ({ input }) => ({ ...input, error: undefined }),
  initial: 'awaitingBatch',
  states: {
    awaitingBatch: { on: { START: 'distInFlight' } },
    distInFlight: {
      invoke: {
        src: 'inputDist',
        input: ({ context }) => ids(context),
        onDone: 'waitingForSplits',
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    waitingForSplits: {
      invoke: {
        src: 'awaitSplits',
        input: ({ context }) => ids(context),
        onDone: 'dataInFlight',
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    dataInFlight: {
      invoke: {
        src: 'awaitData',
        input: ({ context }) => ids(context),
        onDone: 'ready',
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    ready: { on: { COMPUTE: 'computeAndOutputDist' } },
    computeAndOutputDist: {
      invoke: { src: 'computeAndOutputDist', input: ({ context }) => ids(context) },
      initial: 'computing',
      states: {
        computing: { on: { OUTPUT_DIST: 'outputDist' } },
        outputDist: {},
      },
      on: {
        COMPUTED: 'computed',
        COMPUTE_FAILED: { target: 'failed', actions: 'recordError' },
      },
    },
    computed: { on: { BACKWARD: 'backward', RELEASE: 'done' } },
    backward: {
      invoke: {
        src: 'backward',
        input: ({ context }) => ids(context),
        onDone: 'done',
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

function ids(context: ModuleBatchContext): ModuleBatchInput {
  return { rank: context.rank, module: context.module, batch: context.batch };
}
