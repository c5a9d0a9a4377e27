/**
 * Test support for driving machines with XState's pure `transition()`: effects (named entry
 * actions) are only returned there, never run, so a test completes them by sending
 * `<effect>.done` / `<effect>.error` itself.
 *
 * @example
 * const ids = effectNamesOf(coordinatorMachine);      // { connect: 'connect', … }
 * transition(coordinatorMachine, snap, effectDone(ids.connect));
 */
import type { AnyEventObject, AnyStateMachine, AnyStateNode } from 'xstate';
import { COORDINATOR_EFFECTS } from '../../machines/coordinator-types.ts';

/** Every state node of a machine (root excluded), depth first, with its dotted path. */
export function allStateNodes(machine: AnyStateMachine): AnyStateNode[] {
  const nodes: AnyStateNode[] = [];
  const walk = (node: AnyStateNode): void => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      nodes.push(child);
      walk(child);
    }
  };
  walk(machine.root);
  return nodes;
}

/** Dotted path of a state node below the root, e.g. `progressing.zeroGrad`. */
export function statePath(node: AnyStateNode): string {
  return node.path.join('.');
}

/** Every effect of the pipeline's machines (named entry actions answered by `<name>.done` / `<name>.error`). */
export const EFFECTS: ReadonlySet<string> = new Set([
  ...COORDINATOR_EFFECTS,
  'awaitInput',
  'work',
  'inputDist',
  'awaitData',
  'computeAndOutputDist',
  'backward',
]);

/**
 * The effects a machine runs on entering its states, keyed by name (the id a test answers
 * with is the name itself; each effect is entered from one state only — a duplicate is
 * reported).
 */
export function effectNamesOf(machine: AnyStateMachine): Record<string, string> {
  const ids: Record<string, string> = {};
  const where: Record<string, string> = {};
  for (const node of allStateNodes(machine)) {
    for (const action of node.entry as Array<{ type?: unknown }>) {
      const type = typeof action === 'object' && action !== null ? action.type : action;
      if (typeof type !== 'string' || !EFFECTS.has(type)) continue;
      if (where[type] !== undefined)
        throw new Error(
          `effect '${type}' is entered from two states (${where[type]} and ${statePath(node)})`,
        );
      where[type] = statePath(node);
      ids[type] = type;
    }
  }
  return ids;
}

/** The event an effect sends when its work is done with `output`. */
export function effectDone(id: string, output?: unknown): AnyEventObject {
  return { type: `${id}.done`, output };
}

/** The event an effect sends when its work failed with `error` (refused its input: `recoverable`). */
export function effectError(id: string, error: unknown, recoverable = false): AnyEventObject {
  return recoverable ? { type: `${id}.error`, error, recoverable } : { type: `${id}.error`, error };
}

/** An effect started by a pure transition (an entered state's named action). */
export interface StartedEffect {
  id: string;
  src: string;
  input: unknown;
}

/** The effects a pure transition asked to run, in order, with their params as `input`. */
export function startedEffects(
  actions: ReadonlyArray<{ type: string; params?: unknown }>,
): StartedEffect[] {
  return actions
    .filter((a) => EFFECTS.has(a.type))
    .map((a) => ({ id: a.type, src: a.type, input: a.params }));
}
