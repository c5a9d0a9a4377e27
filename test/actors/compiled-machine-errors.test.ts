/**
 * Error paths behave as on XState's interpreter: when an action throws, XState's actor
 * makes an error snapshot by spreading the last one; on a compiled actor that snapshot
 * still has its state, context, `matches`, `can`, `hasTag`, `getMeta` and `toJSON`, and
 * answers them as XState's does — for random event sequences, with a throw anywhere
 * (transition actions, entry, exit, eventless transitions, assigns, the initial entry).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type AnyActorLogic, type AnyEventObject } from 'xstate';
import { compileMachine } from '../../actors/compiled-machine.ts';

interface Ctx {
  n: number;
}

/** A machine whose actions throw when the event (or, at start, the input) says so. */
const thrower = setup({
  types: {
    context: {} as Ctx,
    events: {} as
      | { type: 'GO'; boom?: string }
      | { type: 'BACK'; boom?: string }
      | { type: 'ADD'; boom?: string }
      | { type: 'NOOP' },
    input: {} as { boomAtStart: boolean },
  },
  actions: {
    act: ({ event }) => {
      if ('boom' in event && event.boom === 'transition')
        throw new Error('transition action threw');
    },
    enterB: ({ event }) => {
      if ('boom' in event && event.boom === 'entry') throw new Error('entry action threw');
    },
    leaveA: ({ event }) => {
      if ('boom' in event && event.boom === 'exit') throw new Error('exit action threw');
    },
    start: ({ event }) => {
      const input = (event as { input?: { boomAtStart?: boolean } }).input;
      if (input?.boomAtStart) throw new Error('initial entry threw');
    },
    add: assign(({ context, event }) => {
      if ('boom' in event && event.boom === 'assign') throw new Error('assign threw');
      return { n: context.n + 1 };
    }),
    settle: ({ event }) => {
      if ('boom' in event && event.boom === 'always') throw new Error('eventless action threw');
    },
  },
  guards: { isBig: ({ context }) => context.n >= 2 },
}).createMachine({
  id: 'thrower',
  context: { n: 0 },
  initial: 'a',
  entry: 'start',
  states: {
    a: {
      exit: 'leaveA',
      on: {
        GO: { target: 'b', actions: 'act' },
        ADD: { actions: 'add' },
        NOOP: {},
      },
    },
    b: {
      entry: 'enterB',
      always: { guard: 'isBig', target: 'c', actions: 'settle' },
      on: { BACK: { target: 'a', actions: 'act' }, ADD: { actions: 'add' } },
    },
    c: { on: { BACK: 'a' } },
  },
});

const PROBES: AnyEventObject[] = [
  { type: 'GO' },
  { type: 'BACK' },
  { type: 'ADD' },
  { type: 'NOOP' },
  { type: 'UNKNOWN' },
];

/** What a user can read of a snapshot, on any status. */
function look(snapshot: unknown) {
  const s = snapshot as {
    status: string;
    value: unknown;
    context: unknown;
    error: unknown;
    matches(v: string): boolean;
    can(e: AnyEventObject): boolean;
    hasTag(t: string): boolean;
    getMeta(): unknown;
    toJSON(): Record<string, unknown>;
  };
  const json = s.toJSON();
  return {
    status: s.status,
    value: s.value,
    context: s.context,
    error: s.error instanceof Error ? s.error.message : s.error,
    matches: ['a', 'b', 'c'].map((v) => s.matches(v)),
    can: PROBES.map((e) => s.can(e)),
    hasTag: s.hasTag('any'),
    meta: s.getMeta(),
    json: { status: json.status, value: json.value, context: json.context, tags: json.tags },
  };
}

function run(logic: AnyActorLogic, input: unknown, events: AnyEventObject[]) {
  const actor = createActor(logic, { input });
  const errors: string[] = [];
  actor.subscribe({ error: (e) => void errors.push((e as Error).message) });
  actor.start();
  const seen = [look(actor.getSnapshot())];
  for (const e of events) {
    actor.send(e);
    seen.push(look(actor.getSnapshot()));
  }
  return { seen, errors };
}

const EVENTS: AnyEventObject[] = [
  { type: 'GO' },
  { type: 'BACK' },
  { type: 'ADD' },
  { type: 'NOOP' },
  ...['transition', 'entry', 'exit', 'assign', 'always'].flatMap((boom) => [
    { type: 'GO', boom },
    { type: 'BACK', boom },
    { type: 'ADD', boom },
  ]),
];

describe('compiled interpreter: error paths like XState', () => {
  it('a throwing action gives the same error snapshot, with working matches / can', () => {
    const x = run(thrower, { boomAtStart: false }, [
      { type: 'ADD' },
      { type: 'GO', boom: 'entry' },
    ]);
    const c = run(compileMachine(thrower), { boomAtStart: false }, [
      { type: 'ADD' },
      { type: 'GO', boom: 'entry' },
    ]);
    expect(c).toEqual(x);
    const last = c.seen[c.seen.length - 1];
    expect(last).toMatchObject({
      status: 'error',
      value: 'a',
      context: { n: 1 },
      error: 'entry action threw',
      matches: [true, false, false],
    });
    expect(last.can).toEqual(x.seen[x.seen.length - 1].can);
    expect(c.errors).toEqual(['entry action threw']);
  });

  it('an initial entry action that throws gives the same error snapshot', () => {
    const x = run(thrower, { boomAtStart: true }, [{ type: 'GO' }]);
    const c = run(compileMachine(thrower), { boomAtStart: true }, [{ type: 'GO' }]);
    expect(c).toEqual(x);
    expect(c.seen[0]).toMatchObject({ status: 'error', value: 'a', error: 'initial entry threw' });
  });

  it('random event sequences with throws anywhere: the same snapshots after every event', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.constantFrom(...EVENTS), { maxLength: 12 }),
        (boomAtStart, events) => {
          const input = { boomAtStart };
          expect(run(compileMachine(thrower), input, events)).toEqual(run(thrower, input, events));
        },
      ),
      { numRuns: 300 },
    );
  });
});
