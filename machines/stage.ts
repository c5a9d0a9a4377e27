/**
 * A pipeline stage: the copy stage (`memcpy` stream), the dist stage (`dataDist` stream) or
 * the compute stage (`default` stream). One actor per stage per rank; jobs are queued FIFO
 * like ops on a stream.
 *
 * ```
 * idle ─SUBMIT→ awaitingBatch ─(input ready)→ busy ─(work done)→ idle
 *   a job whose input is already there (`inputReady`) goes straight to busy
 *   work done with more jobs queued: on to the next one (busy or awaitingBatch)
 *   SUBMIT while awaitingBatch / busy queues the job
 *   any error → failed ─RESET→ idle
 * ```
 *
 * Every change of state is the answer to one event: there is no transient state, so a job
 * costs the stage two XState events (SUBMIT, work.done), or three when it waits for input.
 *
 * `awaitInput` waits for what the job needs (a batch from the dataloader, a finished copy,
 * a finished dist); `work` issues the stage's ops on its stream and waits for them.
 *
 * @example
 * const copy = createActor(stageMachine.provide({ actions: { awaitInput, work } }), { input: { rank: 0, stage: 'copy' } });
 * copy.start();
 * copy.send({ type: 'SUBMIT', job: { batch: 3, payload } });
 */
import { assign, setup } from 'xstate';
import type { BatchIndex, Rank } from '../src/protocol/index.ts';
import { notProvidedEffect, type EffectDone, type EffectError } from './not-provided.ts';

export type StageName = 'copy' | 'dist' | 'compute' | 'prefetch';

export interface StageJob {
  batch: BatchIndex;
  /** Opaque to the machine: what the implementation needs (and how it reports back). */
  payload?: unknown;
  /** The job's input is already there (a fetched batch, a finished copy): no `awaitingBatch`. */
  inputReady?: boolean;
}

export interface StageInput {
  rank: Rank;
  /** A pipeline stage ({@link StageName}) or a staged pipeline's user stage. */
  stage: string;
}

export interface StageContext extends StageInput {
  queue: StageJob[];
  jobsDone: number;
  error: unknown;
}

export type StageEvent =
  | { type: 'SUBMIT'; job: StageJob }
  | { type: 'RESET' }
  | EffectDone<'awaitInput' | 'work'>
  | EffectError<'awaitInput' | 'work'>;

export interface StageJobInput {
  rank: Rank;
  stage: string;
  job: StageJob;
}

export const stageMachine = setup({
  types: {
    context: {} as StageContext,
    events: {} as StageEvent,
    input: {} as StageInput,
  },
  guards: {
    /** The submitted job's input is already there. */
    submittedReady: ({ event }) => event.type === 'SUBMIT' && event.job.inputReady === true,
    /** Work done; the job after it is queued (and, for the first guard, needs no input). */
    nextJobReady: ({ context }) => context.queue.length > 1 && context.queue[1].inputReady === true,
    hasNextJob: ({ context }) => context.queue.length > 1,
  },
  actions: {
    /** Wait for what the job needs; answers `awaitInput.done` / `awaitInput.error`. */
    awaitInput: notProvidedEffect<StageJobInput>('awaitInput'),
    /** Issue the stage's ops and wait for them; answers `work.done` / `work.error`. */
    work: notProvidedEffect<StageJobInput>('work'),
    enqueue: assign(({ context, event }) =>
      event.type === 'SUBMIT' ? { queue: [...context.queue, event.job] } : {},
    ),
    dequeue: assign(({ context }) => ({
      queue: context.queue.slice(1),
      jobsDone: context.jobsDone + 1,
    })),
    recordError: assign(({ event }) => ({ error: 'error' in event ? event.error : undefined })),
    clear: assign({ queue: [], error: undefined }),
  },
}).createMachine({
  id: 'stage',
  context: ({ input }) => ({ ...input, queue: [], jobsDone: 0, error: undefined }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        SUBMIT: [
          { guard: 'submittedReady', target: 'busy', actions: 'enqueue' },
          { target: 'awaitingBatch', actions: 'enqueue' },
        ],
      },
    },
    awaitingBatch: {
      entry: { type: 'awaitInput', params: ({ context }) => jobInput(context) },
      on: {
        SUBMIT: { actions: 'enqueue' },
        'awaitInput.done': 'busy',
        'awaitInput.error': { target: 'failed', actions: 'recordError' },
      },
    },
    busy: {
      entry: { type: 'work', params: ({ context }) => jobInput(context) },
      on: {
        SUBMIT: { actions: 'enqueue' },
        'work.done': [
          { guard: 'nextJobReady', target: 'busy', reenter: true, actions: 'dequeue' },
          { guard: 'hasNextJob', target: 'awaitingBatch', actions: 'dequeue' },
          { target: 'idle', actions: 'dequeue' },
        ],
        'work.error': { target: 'failed', actions: 'recordError' },
      },
    },
    failed: {
      on: {
        SUBMIT: { actions: 'enqueue' },
        RESET: { target: 'idle', actions: 'clear' },
      },
    },
  },
});

function jobInput(context: StageContext): StageJobInput {
  return { rank: context.rank, stage: context.stage, job: context.queue[0] };
}
