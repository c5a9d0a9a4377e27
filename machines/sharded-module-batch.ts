/**
 * One sharded module working on one batch (one actor per module per in-flight batch, so
 * batch i can compute while batch i+1 is still distributing). A finished actor (`done`) may
 * be reused for a later batch: `START` with that batch's index begins its input dist again
 * (the pipeline keeps one actor per in-flight slot instead of creating one per batch).
 *
 * ```
 * awaitingBatch ─START→ distInFlight ┬ waitingForSplits ─(splits arrived, data issued)→ dataInFlight ┐
 *                                    └───────────────────────────────────────────────(data arrived)┘→ ready
 * ready ─COMPUTE→ computeAndOutputDist (computing ─OUTPUT_DIST→ outputDist) ─COMPUTED→ done
 * done ─START (next batch)→ distInFlight
 * any error → failed (final: a failed actor is not reused)
 * ```
 *
 * The actor covers what the pipeline rewrites: the module's pipelined forward (the
 * two-phase input dist, then compute and output dist). Its backward belongs to the batch's
 * backward op on the compute stream, which calls `module.backward` for every module call.
 *
 * `distInFlight` spans the two-phase input dist: on entry `inputDist` issues the splits
 * exchange and waits for the splits (`waitingForSplits`), whose arrival issues the data
 * exchange (`dataInFlight`, where `awaitData` waits for lengths / values / weights).
 * The work of each state is a named effect (`inputDist`, `awaitData`,
 * `computeAndOutputDist`) provided by the pipeline, answering with `<effect>.done` /
 * `<effect>.error`; the machine only sequences.
 *
 * @example
 * const a = createActor(shardedModuleBatchMachine.provide({ actions }), { input: { rank: 0, module: 'sparse', batch: 4 } });
 * a.start(); a.send({ type: 'START' });
 * // … done; later: a.send({ type: 'START', batch: 7 });
 */
import { assign, setup } from 'xstate';
import type { BatchIndex, Rank } from '../src/protocol/index.ts';
import { notProvidedEffect, type EffectDone, type EffectError } from './not-provided.ts';

export interface ModuleBatchInput {
  rank: Rank;
  module: string;
  batch: BatchIndex;
}

export interface ModuleBatchContext extends ModuleBatchInput {
  error: unknown;
}

export type ModuleBatchEvent =
  | { type: 'START'; batch?: BatchIndex }
  | { type: 'COMPUTE' }
  | { type: 'OUTPUT_DIST' }
  | { type: 'COMPUTED' }
  | { type: 'COMPUTE_FAILED'; error: unknown }
  | EffectDone<'inputDist' | 'awaitData'>
  | EffectError<'inputDist' | 'awaitData'>;

export const shardedModuleBatchMachine = setup({
  types: {
    context: {} as ModuleBatchContext,
    events: {} as ModuleBatchEvent,
    input: {} as ModuleBatchInput,
  },
  actions: {
    /** Calls `module.inputDist(ctx, input)` (issues the splits exchange) and waits for the splits, which issues the data exchange. */
    inputDist: notProvidedEffect<ModuleBatchInput>('inputDist'),
    /** Waits for lengths / values / weights to arrive. */
    awaitData: notProvidedEffect<ModuleBatchInput>('awaitData'),
    /** Local lookup then output dist; sends OUTPUT_DIST when the lookup is done, COMPUTED (or COMPUTE_FAILED) at the end. */
    computeAndOutputDist: notProvidedEffect<ModuleBatchInput>('computeAndOutputDist'),
    /** A START naming a batch moves the actor to it (reuse for a later batch). */
    assignBatch: assign(({ event }) =>
      event.type === 'START' && event.batch !== undefined
        ? { batch: event.batch, error: undefined }
        : {},
    ),
    recordError: assign(({ event }) => ({ error: 'error' in event ? event.error : undefined })),
  },
}).createMachine({
  id: 'shardedModule',
  context: ({ input }) => ({ ...input, error: undefined }),
  initial: 'awaitingBatch',
  states: {
    awaitingBatch: { on: { START: { target: 'distInFlight', actions: 'assignBatch' } } },
    distInFlight: {
      entry: { type: 'inputDist', params: ({ context }) => ids(context) },
      initial: 'waitingForSplits',
      states: {
        waitingForSplits: {
          on: { 'inputDist.done': 'dataInFlight' },
        },
        dataInFlight: {
          entry: { type: 'awaitData', params: ({ context }) => ids(context) },
          on: { 'awaitData.done': '#shardedModule.ready' },
        },
      },
      on: {
        'inputDist.error': { target: 'failed', actions: 'recordError' },
        'awaitData.error': { target: 'failed', actions: 'recordError' },
      },
    },
    ready: { on: { COMPUTE: 'computeAndOutputDist' } },
    computeAndOutputDist: {
      entry: { type: 'computeAndOutputDist', params: ({ context }) => ids(context) },
      initial: 'computing',
      states: {
        computing: { on: { OUTPUT_DIST: 'outputDist' } },
        outputDist: {},
      },
      on: {
        COMPUTED: 'done',
        COMPUTE_FAILED: { target: 'failed', actions: 'recordError' },
      },
    },
    done: { on: { START: { target: 'distInFlight', actions: 'assignBatch' } } },
    failed: { type: 'final' },
  },
});

function ids(context: ModuleBatchContext): ModuleBatchInput {
  return { rank: context.rank, module: context.module, batch: context.batch };
}
