/**
 * Test support for driving machines with XState's pure `transition()`: invoked actors do not
 * run there, so a test completes them by sending `xstate.done.actor.<id>` /
 * `xstate.error.actor.<id>` itself. The machines give their invokes no explicit `id`, so the
 * ids are the ones XState generates; this file reads them from the machine definition.
 *
 * @example
 * const ids = invokeIdsBySrc(coordinatorMachine);      // { connect: '0.coordinator.connecting', … }
 * transition(coordinatorMachine, snap, actorDone(ids.connect));
 */
import type { AnyEventObject, AnyStateMachine, AnyStateNode } from 'xstate';

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

/**
 * The generated invoke id of every invoked actor, keyed by its `src` (each src is invoked
 * from one state only in these machines; a duplicate is reported).
 */
export function invokeIdsBySrc(machine: AnyStateMachine): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const node of allStateNodes(machine)) {
    for (const invoke of node.invoke) {
      const src = typeof invoke.src === 'string' ? invoke.src : String(invoke.src);
      if (ids[src] !== undefined) {
        throw new Error(`actor '${src}' is invoked from two states (${ids[src]} and ${invoke.id}): ids are ambiguous`);
      }
      ids[src] = invoke.id;
    }
  }
  return ids;
}

/** The event XState raises when invoked actor `id` resolves with `output`. */
export function actorDone(id: string, output?: unknown): AnyEventObject {
  return { type: `xstate.done.actor.${id}`, output, actorId: id };
}

/** The event XState raises when invoked actor `id` rejects with `error`. */
export function actorError(id: string, error: unknown): AnyEventObject {
  return { type: `xstate.error.actor.${id}`, error, actorId: id };
}

/** A spawned child as it appears in the actions returned by pure `transition()`. */
export interface SpawnedChild {
  id: string;
  src: string;
  input: unknown;
}

/** The children a pure transition asked to spawn (invokes entered), in order. */
export function spawnedChildren(actions: ReadonlyArray<{ type: string; params?: unknown }>): SpawnedChild[] {
  return actions
    .filter((a) => a.type === 'xstate.spawnChild')
    .map((a) => {
      const p = a.params as { id: string; src: unknown; input?: unknown };
      return { id: p.id, src: typeof p.src === 'string' ? p.src : String(p.src), input: p.input };
    });
}
