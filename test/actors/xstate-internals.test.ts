/**
 * The compiled interpreter reads XState internals. This fails loudly when they change:
 * the installed xstate is the exact version package.json pins and the compiler was checked
 * against, the internals it reads have the shape it expects, and a machine whose internals
 * differ is refused with every difference named.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { and, assign, createMachine, setup, type AnyStateMachine } from 'xstate';
import { CHECKED_XSTATE_VERSION, checkXStateInternals } from '../../actors/compiled-machine.ts';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import { shardedModuleBatchMachine } from '../../machines/sharded-module-batch.ts';
import { stageMachine } from '../../machines/stage.ts';

const require = createRequire(import.meta.url);

describe("XState's internals, as the compiled interpreter reads them", () => {
  it('the installed xstate is the pinned version the compiler was checked against', () => {
    const installed = (require('xstate/package.json') as { version: string }).version;
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies.xstate, 'package.json pins xstate exactly').toBe(
      CHECKED_XSTATE_VERSION,
    );
    expect(installed, 'installed xstate').toBe(CHECKED_XSTATE_VERSION);
  });

  it('assign actions and guard combinators carry the marks the compiler reads', () => {
    const a = assign({ n: 1 }) as unknown as { type: unknown; assignment: unknown };
    expect(a.type).toBe('xstate.assign');
    expect(a.assignment).toEqual({ n: 1 });
    const g = and(['x', 'y']) as unknown as { check: unknown };
    expect(typeof g.check).toBe('function');
  });

  it('state nodes, transitions, implementations and context config have the expected shape', () => {
    const m = setup({ actions: { hello: () => {} }, guards: { ok: () => true } }).createMachine({
      id: 'shape',
      context: () => ({ n: 0 }),
      initial: 'a',
      states: {
        a: { entry: 'hello', on: { GO: { target: 'b', guard: 'ok', actions: 'hello' } } },
        b: { always: { target: 'a', guard: 'ok' } },
      },
    });
    expect(() => checkXStateInternals(m)).not.toThrow();
    expect(Object.keys(m.implementations.actions)).toEqual(['hello']);
    expect(typeof m.config.context).toBe('function');
    const a = m.root.states.a;
    const [go] = a.transitions.get('GO') ?? [];
    expect(go.source).toBe(a);
    expect(go.target).toEqual([m.root.states.b]);
    expect(go.reenter).toBe(false);
    expect(go.eventType).toBe('GO');
    expect(go.guard).toBe('ok');
    expect(go.actions).toEqual(['hello']);
    expect(m.root.initial.target).toEqual([a]);
    expect(m.root.states.b.always?.[0].target).toEqual([a]);
  });

  it("the pipeline's machines pass the check", () => {
    for (const m of [coordinatorMachine, stageMachine, shardedModuleBatchMachine])
      expect(() => checkXStateInternals(m)).not.toThrow();
  });

  it('a machine whose internals changed shape is refused, every difference named', () => {
    const real = createMachine({ id: 'moved', initial: 'a', states: { a: { on: { GO: 'a' } } } });
    const changed = {
      ...real,
      id: real.id,
      config: real.config,
      implementations: { actions: {} },
      root: {
        ...real.root,
        id: 'moved',
        transitions: { GO: [] },
        tags: undefined,
        states: {},
      },
    } as unknown as AnyStateMachine;
    expect(() => checkXStateInternals(changed)).toThrow(
      "compileMachine: XState's internals are not those of xstate 5.33.3, which the compiler was checked against (machine.implementations has no actions / guards records; state 'moved'.after is not an array; state 'moved'.invoke is not an array; state 'moved'.tags is not an array; state 'moved'.initial.target is not an array; state 'moved'.transitions is not a Map); run interpreter: 'xstate'",
    );
  });
});
