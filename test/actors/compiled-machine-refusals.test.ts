/**
 * The compiled interpreter is fail-closed: every construct it does not implement exactly is
 * refused when compiling, with the state and the construct named (one test per construct).
 * Every machine the pipeline runs compiles.
 */
import { describe, expect, it } from 'vitest';
import { and, assign, createMachine, raise, setup, spawnChild, type AnyStateMachine } from 'xstate';
import { compileMachine } from '../../actors/compiled-machine.ts';
import { coordinatorMachineFor } from '../../machines/pipeline-kinds.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { shardedModuleBatchMachine } from '../../machines/sharded-module-batch.ts';
import { stageMachine } from '../../machines/stage.ts';

const refusal = (machine: AnyStateMachine): string => {
  try {
    compileMachine(machine);
  } catch (e) {
    return (e as Error).message;
  }
  return 'compiled';
};

describe('compileMachine refuses, naming the state and the construct', () => {
  it('parallel states', () => {
    const m = createMachine({ id: 'p', type: 'parallel', states: { a: {}, b: {} } });
    expect(refusal(m)).toBe("compileMachine: state 'p': parallel states are not supported");
  });

  it('history states', () => {
    const m = createMachine({
      id: 'h',
      initial: 'a',
      states: { a: { initial: 'x', states: { x: {}, back: { type: 'history' } } } },
    });
    expect(refusal(m)).toBe("compileMachine: state 'h.a.back': history states are not supported");
  });

  it('delayed transitions (after)', () => {
    const m = createMachine({
      id: 'd',
      initial: 'a',
      states: { a: { after: { 10: 'b' } }, b: {} },
    });
    expect(refusal(m)).toBe("compileMachine: state 'd.a': delayed transitions are not supported");
  });

  it('invoke', () => {
    const m = setup({ actors: { child: createMachine({}) } }).createMachine({
      id: 'i',
      initial: 'a',
      states: { a: { invoke: { src: 'child' } } },
    });
    expect(refusal(m)).toBe("compileMachine: state 'i.a': invoke is not supported");
  });

  it('spawn (spawnChild)', () => {
    const m = setup({ actors: { child: createMachine({}) } }).createMachine({
      id: 's',
      initial: 'a',
      states: { a: { entry: spawnChild('child') } },
    });
    expect(refusal(m)).toBe(
      "compileMachine: entry of 's.a': built-in action 'xstate.spawnChild' is not supported",
    );
  });

  it('other built-in actions (raise)', () => {
    const m = createMachine({
      id: 'r',
      initial: 'a',
      states: { a: { on: { GO: { actions: raise({ type: 'X' }) } } } },
    });
    expect(refusal(m)).toBe(
      "compileMachine: 'GO' in 'r.a': built-in action 'xstate.raise' is not supported",
    );
  });

  it('guard combinators', () => {
    const m = setup({ guards: { yes: () => true } }).createMachine({
      id: 'g',
      initial: 'a',
      states: { a: { on: { GO: { guard: and(['yes', 'yes']), target: 'b' } } }, b: {} },
    });
    expect(refusal(m)).toBe(
      "compileMachine: 'GO' in 'g.a': built-in guard combinators are not supported",
    );
  });

  it('tags', () => {
    const m = createMachine({ id: 't', initial: 'a', states: { a: { tags: ['busy'] } } });
    expect(refusal(m)).toBe("compileMachine: state 't.a': tags are not supported");
  });

  it('meta', () => {
    const m = createMachine({ id: 'm', initial: 'a', states: { a: { meta: { label: 'A' } } } });
    expect(refusal(m)).toBe("compileMachine: state 'm.a': meta is not supported");
  });

  it('output (of the machine and of a final state)', () => {
    const machineOutput = createMachine({
      id: 'o',
      initial: 'a',
      output: { done: true },
      states: { a: {} },
    });
    expect(refusal(machineOutput)).toBe("compileMachine: state 'o': output is not supported");
    const finalOutput = createMachine({
      id: 'f',
      initial: 'a',
      states: { a: { type: 'final', output: 1 } },
    });
    expect(refusal(finalOutput)).toBe("compileMachine: state 'f.a': output is not supported");
  });

  it('onDone', () => {
    const m = createMachine({
      id: 'n',
      initial: 'a',
      states: { a: { initial: 'x', onDone: 'b', states: { x: {} } }, b: {} },
    });
    expect(refusal(m)).toBe("compileMachine: state 'n.a': onDone is not supported");
  });

  it('final states below the top level (nested finals)', () => {
    const m = createMachine({
      id: 'nf',
      initial: 'a',
      states: { a: { initial: 'x', states: { x: {}, end: { type: 'final' } } } },
    });
    expect(refusal(m)).toBe(
      "compileMachine: state 'nf.a.end': a final state below the top level is not supported",
    );
  });

  it('final states of a parallel state (parallel finals)', () => {
    const m = createMachine({
      id: 'pf',
      initial: 'a',
      states: { a: { type: 'parallel', states: { r1: { type: 'final' }, r2: {} } } },
    });
    expect(refusal(m)).toBe("compileMachine: state 'pf.a': parallel states are not supported");
  });

  it('exit actions that would run when the machine finishes', () => {
    const onFinal = createMachine({
      id: 'x',
      initial: 'a',
      states: { a: { type: 'final', exit: () => {} } },
    });
    expect(refusal(onFinal)).toBe(
      "compileMachine: state 'x.a': exit actions on a final state are not supported",
    );
    const onRoot = createMachine({ id: 'y', initial: 'a', exit: () => {}, states: { a: {} } });
    expect(refusal(onRoot)).toBe(
      "compileMachine: state 'y': exit actions on the machine are not supported",
    );
  });

  it('wildcard events', () => {
    const m = createMachine({ id: 'w', initial: 'a', states: { a: { on: { '*': 'b' } }, b: {} } });
    expect(refusal(m)).toBe("compileMachine: state 'w.a': wildcard event '*' is not supported");
  });

  it('eventless transitions on the initial states', () => {
    const m = createMachine({ id: 'e', initial: 'a', states: { a: { always: 'b' }, b: {} } });
    expect(refusal(m)).toBe(
      "compileMachine: 'e': eventless transitions on the initial state 'e.a' are not supported",
    );
  });

  it('a spawn inside an assign throws when it runs (it cannot be seen when compiling)', () => {
    const m = setup({ actors: { child: createMachine({}) } }).createMachine({
      id: 'sa',
      initial: 'a',
      context: {},
      states: { a: { on: { GO: { actions: assign(({ spawn }) => ({ ref: spawn('child') })) } } } },
    });
    expect(refusal(m)).toBe('compiled');
  });
});

describe('every machine the pipeline runs compiles', () => {
  it('coordinator of every pipeline kind, stage, sharded module', () => {
    const kinds: PipelineKind[] = [
      'none',
      'base',
      'sparseDist',
      'fusedSparseDist',
      'semiSync',
      'eval',
      'prefetchSparseDist',
    ];
    for (const kind of kinds) expect(refusal(coordinatorMachineFor(kind)), kind).toBe('compiled');
    expect(refusal(stageMachine)).toBe('compiled');
    expect(refusal(shardedModuleBatchMachine)).toBe('compiled');
  });
});
