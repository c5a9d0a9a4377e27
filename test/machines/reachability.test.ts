/**
 * Every state node of every machine is reachable: `@xstate/graph`'s `getShortestPaths`
 * explores each machine from its initial state with its own events plus the
 * `<effect>.done` / `<effect>.error` answers of its effects, and
 * every state node of the definition must show up on some path. Transient states (only
 * `always` transitions out) never rest in a snapshot, so each path is replayed with
 * `getMicrosteps` to see the states it passes through as well.
 */
import { getShortestPaths, type StatePath } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import {
  getMicrosteps,
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type StateValue,
} from 'xstate';
import { coordinatorMachine } from '../../machines/coordinator.ts';
import type { CoordinatorContext } from '../../machines/coordinator-types.ts';
import { shardedModuleBatchMachine } from '../../machines/sharded-module-batch.ts';
import { stageMachine } from '../../machines/stage.ts';
import {
  effectDone,
  effectError,
  allStateNodes,
  effectNamesOf,
  statePath,
} from './effect-events.ts';
import { valuePath } from './pure-driver.ts';
import { COORDINATOR_REQUESTS } from './coordinator-events.ts';

type AnyPath = StatePath<AnyMachineSnapshot, AnyEventObject>;

/** `a.b.c` → `a`, `a.b`, `a.b.c` (a value path is inside each of its ancestors). */
function withAncestors(path: string): string[] {
  const parts = path.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

/** Every state the paths rest in or pass through. */
function statesOnPaths(machine: AnyStateMachine, paths: AnyPath[]): Set<string> {
  const seen = new Set<string>();
  const add = (value: StateValue) => withAncestors(valuePath(value)).forEach((p) => seen.add(p));
  for (const path of paths) {
    path.steps.forEach((step, i) => {
      add(step.state.value);
      if (i === 0) return; // the xstate.init step
      for (const [s] of getMicrosteps(
        machine,
        path.steps[i - 1].state as never,
        step.event as never,
      )) {
        add((s as { value: StateValue }).value);
      }
    });
  }
  return seen;
}

function expectEveryStateReached(machine: AnyStateMachine, paths: AnyPath[]): void {
  const reached = statesOnPaths(machine, paths);
  const missing = allStateNodes(machine)
    .map(statePath)
    .filter((p) => !reached.has(p));
  expect(missing, `state nodes of '${machine.id}' reached by no path`).toEqual([]);
}

/** Done and error events for every effect of `machine` (outputs per effect). */
function effectAnswers(
  machine: AnyStateMachine,
  outputs: Record<string, unknown[]> = {},
): AnyEventObject[] {
  return Object.entries(effectNamesOf(machine)).flatMap(([src, id]) => [
    ...(outputs[src] ?? [undefined]).map((output) => effectDone(id, output)),
    effectError(id, new Error(`${src} failed`)),
  ]);
}

const explore = (machine: AnyStateMachine, options: Record<string, unknown>) =>
  getShortestPaths(machine, { limit: 20_000, ...options } as never) as unknown as AnyPath[];

describe('every state is reachable (@xstate/graph shortest paths)', () => {
  it('coordinator', () => {
    const ids = effectNamesOf(coordinatorMachine);
    const rejected = new Error('bad batch');
    const events: AnyEventObject[] = [
      ...COORDINATOR_REQUESTS,
      ...effectAnswers(coordinatorMachine, {
        awaitBatch: [
          { batch: 0, isLast: false },
          { batch: null, isLast: true },
        ],
        backward: [{ loss: 1 }],
        complete: [{ loss: 1 }],
      }),
      effectError(ids.connect, rejected, true),
      effectError(ids.awaitBatch, rejected, true),
    ];
    const paths = explore(coordinatorMachine, {
      input: { rank: 0, kind: 'sparseDist', gradAccum: 1, gradAccumSchedule: 'exact' },
      events,
      // What the guards read (training: eval reaches `completing`), and the kind of the last
      // answer (so `ready` after an output is a state of its own); counters (calls,
      // resultSeq, …) would make the graph infinite.
      serializeState: (s: AnyMachineSnapshot) => {
        const c = s.context as CoordinatorContext;
        return JSON.stringify([
          s.value,
          c.connected,
          c.paused,
          c.stepTokens > 0,
          c.syncRequired,
          c.current === null,
          c.lastResult?.kind,
          c.training,
        ]);
      },
    });
    expectEveryStateReached(coordinatorMachine, paths);
    // A path to `exhausted` goes through draining after the source ran dry.
    const toExhausted = paths.find((p) => p.state.value === 'exhausted')!;
    expect(toExhausted.steps.map((s) => s.event.type)).toContain(`${ids.drain}.done`);
  });

  it('stage', () => {
    const paths = explore(stageMachine, {
      input: { rank: 0, stage: 'dist' },
      events: [
        { type: 'SUBMIT', job: { batch: 0 } },
        { type: 'RESET' },
        ...effectAnswers(stageMachine),
      ],
      serializeState: (s: AnyMachineSnapshot) =>
        JSON.stringify([s.value, Math.min((s.context as { queue: unknown[] }).queue.length, 2)]),
    });
    expectEveryStateReached(stageMachine, paths);
  });

  it('sharded module (per batch)', () => {
    const paths = explore(shardedModuleBatchMachine, {
      input: { rank: 0, module: 'sparse', batch: 0 },
      events: [
        { type: 'START' },
        { type: 'COMPUTE' },
        { type: 'OUTPUT_DIST' },
        { type: 'COMPUTED' },
        { type: 'COMPUTE_FAILED', error: new Error('lookup failed') },
        ...effectAnswers(shardedModuleBatchMachine),
      ],
      serializeState: (s: AnyMachineSnapshot) => JSON.stringify(s.value),
    });
    expectEveryStateReached(shardedModuleBatchMachine, paths);
  });
});
