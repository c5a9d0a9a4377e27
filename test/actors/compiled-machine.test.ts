/**
 * The compiled form of a machine behaves as XState's interpreter does: for random event
 * sequences over each pipeline machine's whole vocabulary (its own events and every
 * effect's `.done` / `.error` answer, at any moment), both actors rest in the same state,
 * with the same context and status, after every event, and run the same effects with the
 * same params in the same order. What it cannot run, it refuses when compiling.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assign,
  createActor,
  raise,
  setup,
  type AnyEventObject,
  type AnyStateMachine,
} from 'xstate';
import { compileMachine } from '../../actors/compiled-machine.ts';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import { COORDINATOR_EFFECTS, type CoordinatorInput } from '../../machines/coordinator-types.ts';
import { shardedModuleBatchMachine } from '../../machines/sharded-module-batch.ts';
import { stageMachine } from '../../machines/stage.ts';
import { COORDINATOR_REQUESTS } from '../machines/coordinator-events.ts';

type EffectLog = Array<[string, unknown]>;

/** The machine with every effect recording `[name, params]` (and answering nothing). */
function recording(
  machine: AnyStateMachine,
  effects: readonly string[],
  log: EffectLog,
): AnyStateMachine {
  const actions = Object.fromEntries(
    effects.map((name) => [name, (_: unknown, params: unknown) => void log.push([name, params])]),
  );
  return machine.provide({ actions } as never);
}

/** Run `events` through XState's interpreter and through the compiled form; compare after each. */
function expectSameRun(
  machine: AnyStateMachine,
  effects: readonly string[],
  input: unknown,
  events: AnyEventObject[],
): void {
  const xLog: EffectLog = [];
  const cLog: EffectLog = [];
  const x = createActor(recording(machine, effects, xLog), { input } as never);
  const c = createActor(compileMachine(recording(machine, effects, cLog)), { input } as never);
  x.start();
  c.start();
  const look = (a: typeof x | typeof c) => {
    const s = a.getSnapshot() as { value: unknown; status: string; context: unknown };
    return { value: s.value, status: s.status, context: s.context };
  };
  expect(look(c)).toEqual(look(x));
  for (const [i, event] of events.entries()) {
    // A final state takes no more events (both actors have stopped).
    if (x.getSnapshot().status !== 'active') break;
    x.send(event);
    c.send(event);
    expect(
      look(c),
      `after event ${i} (${event.type}) of ${JSON.stringify(events.map((e) => e.type))}`,
    ).toEqual(look(x));
    expect(cLog).toEqual(xLog);
  }
  x.stop();
  c.stop();
}

const answers = (
  effects: readonly string[],
  outputs: Record<string, unknown[]> = {},
  errors: Array<{ error: unknown; recoverable?: true }> = [{ error: new Error('failed') }],
) =>
  effects.flatMap((name) => [
    ...(outputs[name] ?? [undefined]).map((output) => ({ type: `${name}.done`, output })),
    ...errors.map((failure) => ({ type: `${name}.error`, ...failure })),
  ]);

const RUNS = 300;

describe('compileMachine: the same behaviour as XState', () => {
  it('coordinator (A = 1, 2, 3; exact and torchrec-0.3.2 schedules; train, eval, pause, sync, failures)', () => {
    const rejected = new Error('bad batch 3: lengths sum 7 ≠ values 8');
    const events: AnyEventObject[] = [
      ...COORDINATOR_REQUESTS,
      ...answers(
        COORDINATOR_EFFECTS,
        {
          awaitBatch: [
            { batch: 0, isLast: false },
            { batch: 1, isLast: true },
            { batch: null, isLast: true },
          ],
          backward: [{ batch: 0, loss: 0.5, output: 'out' }],
          complete: [{ batch: 0, loss: 0.25, output: 'eval' }],
        },
        [
          { error: new Error('rank 1 did not answer within 100 ms') },
          { error: rejected, recoverable: true },
        ],
      ),
    ];
    const inputs = fc.record({
      rank: fc.constant(0),
      kind: fc.constant('sparseDist' as const),
      gradAccum: fc.constantFrom(1, 2, 3),
      gradAccumSchedule: fc.constantFrom('exact' as const, 'torchrec-0.3.2' as const),
    });
    fc.assert(
      fc.property(
        inputs,
        fc.array(fc.constantFrom(...events), { maxLength: 80 }),
        (input: CoordinatorInput, seq) => {
          expectSameRun(coordinatorMachine, COORDINATOR_EFFECTS, input, seq);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('sharded module (per batch, reused across batches, failures)', () => {
    const effects = ['inputDist', 'awaitData', 'computeAndOutputDist'];
    const events: AnyEventObject[] = [
      { type: 'START' },
      { type: 'START', batch: 7 },
      { type: 'COMPUTE' },
      { type: 'OUTPUT_DIST' },
      { type: 'COMPUTED' },
      { type: 'COMPUTE_FAILED', error: new Error('lookup: id 900 out of range') },
      ...answers(['inputDist', 'awaitData']),
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...events), { maxLength: 60 }), (seq) => {
        expectSameRun(
          shardedModuleBatchMachine,
          effects,
          { rank: 1, module: 'ebc', batch: 4 },
          seq,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('stage (FIFO queue, input ready or awaited, failures and RESET)', () => {
    const effects = ['awaitInput', 'work'];
    const events: AnyEventObject[] = [
      { type: 'SUBMIT', job: { batch: 1 } },
      { type: 'SUBMIT', job: { batch: 2, inputReady: true } },
      { type: 'SUBMIT', job: { batch: 3, inputReady: false, payload: 'p' } },
      { type: 'RESET' },
      ...answers(effects),
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...events), { maxLength: 60 }), (seq) => {
        expectSameRun(stageMachine, effects, { rank: 0, stage: 'dist' }, seq);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers matches / can like a machine snapshot, and stops like one', () => {
    const actor = createActor(
      compileMachine(recording(coordinatorMachine, COORDINATOR_EFFECTS, [])),
      {
        input: { rank: 0, kind: 'sparseDist', gradAccum: 1, gradAccumSchedule: 'exact' },
      },
    );
    actor.start();
    actor.send({ type: 'PROGRESS', training: true });
    const s = actor.getSnapshot();
    expect(s.value).toBe('connecting');
    expect(s.matches('connecting')).toBe(true);
    expect(s.can({ type: 'connect.done' })).toBe(true);
    expect(s.can({ type: 'forward.done' })).toBe(false);
    actor.send({ type: 'connect.done' });
    expect(actor.getSnapshot().value).toEqual({ progressing: 'awaitingBatch' });
    expect(actor.getSnapshot().matches('progressing')).toBe(true);
    actor.stop();
    expect(actor.getSnapshot().status).toBe('stopped');
  });

  it("runs the initial states' entry actions when started, with the init event, like XState", () => {
    const machine = setup({
      types: { input: {} as { n: number } },
      actions: { hello: () => {} },
    }).createMachine({
      id: 'init',
      initial: 'outer',
      context: ({ input }) => ({ n: input.n }),
      states: {
        outer: {
          entry: 'hello',
          initial: 'inner',
          states: {
            inner: {
              entry: {
                type: 'hello',
                params: ({ context }: { context: { n: number } }) => ({ n: context.n }),
              },
            },
          },
        },
      },
    });
    const seen = (interpreter: 'compiled' | 'xstate') => {
      const log: unknown[] = [];
      const m = machine.provide({
        actions: {
          hello: ({ event }: { event: AnyEventObject }, params: unknown) =>
            void log.push([event.type, event.input, params]),
        },
      });
      const actor = createActor(
        (interpreter === 'xstate' ? m : compileMachine(m)) as AnyStateMachine,
        { input: { n: 3 } },
      );
      expect(log).toEqual([]);
      actor.start();
      return log;
    };
    expect(seen('compiled')).toEqual(seen('xstate'));
    expect(seen('compiled')).toEqual([
      ['xstate.init', { n: 3 }, undefined],
      ['xstate.init', { n: 3 }, { n: 3 }],
    ]);
  });

  it('refuses what it cannot run, naming the state and the feature', () => {
    const parallel = setup({}).createMachine({
      id: 'p',
      type: 'parallel',
      states: { a: {}, b: {} },
    });
    expect(() => compileMachine(parallel)).toThrow(
      "compileMachine: state 'p': parallel states are not supported",
    );
    const delayed = setup({}).createMachine({
      id: 'd',
      initial: 'a',
      states: { a: { after: { 10: 'b' } }, b: {} },
    });
    expect(() => compileMachine(delayed)).toThrow(
      "compileMachine: state 'd.a': delayed transitions are not supported",
    );
    const missing = setup({ actions: { work: () => {} } }).createMachine({
      id: 'm',
      initial: 'a',
      states: { a: { entry: 'nope' as never } },
    });
    expect(() => compileMachine(missing)).toThrow(
      "compileMachine: entry of 'm.a': action 'nope' has no implementation",
    );
    const raised = setup({}).createMachine({
      id: 'r',
      initial: 'a',
      states: { a: { on: { GO: { actions: raise({ type: 'X' }) } } } },
    });
    expect(() => compileMachine(raised)).toThrow(
      "compileMachine: 'GO' in 'r.a': built-in action 'xstate.raise' is not supported",
    );
    // Inline assigns and inline functions are run.
    const seen: number[] = [];
    const inline = setup({}).createMachine({
      id: 'i',
      initial: 'a',
      context: { n: 0 },
      states: {
        a: {
          on: {
            GO: {
              actions: [
                assign({ n: ({ context }) => context.n + 1 }),
                ({ context }) => void seen.push(context.n),
              ],
            },
          },
        },
      },
    });
    const actor = createActor(compileMachine(inline)).start();
    actor.send({ type: 'GO' });
    actor.send({ type: 'GO' });
    expect(actor.getSnapshot().context).toEqual({ n: 2 });
    expect(seen).toEqual([1, 2]);
  });
});
