/**
 * Turns an XState v5 machine definition into a plain graph for drawing: nested states,
 * transitions labelled with their event and named guard, invoked actors and entry effects
 * inside their state.
 *
 * Read by walking `machine.root` (the state nodes), not by running the machine, so any
 * machine built with `setup(...).createMachine(...)` can be charted without providing its
 * actors. Labels:
 *
 * | transition                          | label                    |
 * |-------------------------------------|--------------------------|
 * | `on: { PROGRESS: { guard: 'isPaused' } }` | `PROGRESS [isPaused]` |
 * | `always: { guard: 'hasQueuedJob' }` | `always [hasQueuedJob]`  |
 * | invoke `onDone` / `onError`         | `done: forward` / `error: forward` |
 * | entry effect's `forward.done` / `.error` | `done: forward` / `error: forward` |
 * | compound state `onDone`             | `done` (from the final child) |
 * | `after: { 500: … }`                 | `after 500ms`            |
 *
 * Transitions without a target (action-only, like `PAUSE / pause`) are listed inside their
 * state as `internal` lines rather than drawn as self-loops.
 *
 * @example
 * const graph = machineGraph(coordinatorMachine);
 * graph.edges.find((e) => e.label === 'always [isPaused]'); // gate → paused
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export type ChartStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

/** One state (or the machine itself, at the root) of a chart. */
export interface ChartState {
  /** Dotted path below the machine (`progressing.forward`); `''` for the machine's root. */
  path: string;
  /** The state's own key (the machine id at the root). */
  key: string;
  type: ChartStateType;
  /** True for the initial child of a compound state. */
  initial: boolean;
  /** What the state does: its entry effects (`forward`, `awaitBatch`) and any invoked actors. */
  invokes: string[];
  /** Transitions without a target, as labels (`PAUSE / pause`). */
  internal: string[];
  /** Children in definition order. */
  children: ChartState[];
}

export type ChartEdgeKind = 'event' | 'always' | 'done' | 'error' | 'after';

/** One drawn transition from one state to one target. */
export interface ChartEdge {
  /** Stable id: `<source>-><target>#<n>` where n counts edges of the same source. */
  id: string;
  source: string;
  target: string;
  kind: ChartEdgeKind;
  /** The event part of the label (`PROGRESS`, `always`, `done: forward`). */
  event: string;
  /** Named guard in display form (`isPaused`, `!isPaused`, `a && b`), if any. */
  guard?: string;
  actions: string[];
  /** `event [guard]`. */
  label: string;
}

/** A machine as a tree of states plus the transitions between them. */
export interface MachineGraph {
  machineId: string;
  root: ChartState;
  edges: ChartEdge[];
}

/**
 * Builds the chart graph of `machine`.
 *
 * @example
 * const { root, edges } = machineGraph(stageMachine);
 * root.children.map((s) => s.key); // ['idle', 'awaitingBatch', 'busy', 'failed']
 */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const edges: ChartEdge[] = [];
  const root = walk(machine.root, false, edges);
  return { machineId: machine.id, root, edges };
}

/** Dotted path of a state node below its machine (`''` for the root). */
export function statePath(node: AnyStateNode): string {
  return node.path.join('.');
}

function walk(node: AnyStateNode, isInitial: boolean, edges: ChartEdge[]): ChartState {
  const path = statePath(node);
  const invokes = [...node.invoke.map((inv) => sourceName(inv.src)), ...entryEffects(node)];
  const internal: string[] = [];
  let n = 0;
  const addTransition = (eventType: string, t: TransitionLike): void => {
    const event = eventLabel(eventType, node);
    const guard = t.guard === undefined ? undefined : guardName(t.guard);
    const actions = (t.actions ?? []).map(actionName);
    const label = guard === undefined ? event.text : `${event.text} [${guard}]`;
    const targets = t.target ?? [];
    if (targets.length === 0) {
      internal.push(actions.length > 0 ? `${label} / ${actions.join(', ')}` : label);
      return;
    }
    for (const target of targets) {
      const targetPath = statePath(target);
      edges.push({
        id: `${path}->${targetPath}#${n++}`,
        source: path,
        target: targetPath,
        kind: event.kind,
        event: event.text,
        ...(guard === undefined ? {} : { guard }),
        actions,
        label,
      });
    }
  };
  for (const [eventType, list] of node.transitions) {
    for (const t of list) addTransition(eventType, t as TransitionLike);
  }
  for (const t of node.always ?? []) addTransition('', t as TransitionLike);

  const initialKeys = new Set((node.initial?.target ?? []).map((s: AnyStateNode) => s.key));
  const children = Object.values(node.states as Record<string, AnyStateNode>).map((child) =>
    walk(child, node.type === 'compound' && initialKeys.has(child.key), edges),
  );
  return {
    path,
    key: path === '' ? node.machine.id : node.key,
    type: node.type as ChartStateType,
    initial: isInitial,
    invokes,
    internal,
    children,
  };
}

interface TransitionLike {
  target?: readonly AnyStateNode[];
  guard?: unknown;
  actions?: readonly unknown[];
}

function eventLabel(eventType: string, node: AnyStateNode): { kind: ChartEdgeKind; text: string } {
  if (eventType === '') return { kind: 'always', text: 'always' };
  for (const [prefix, kind] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
  ] as const) {
    if (eventType.startsWith(prefix)) {
      const id = eventType.slice(prefix.length);
      const inv = node.invoke.find((i) => i.id === id);
      return { kind, text: `${kind}: ${inv ? sourceName(inv.src) : id}` };
    }
  }
  // An effect's answers: `forward.done` / `forward.error` for an entry effect `forward` of this
  // state or of a state containing it (the effect runs while the whole parent is active).
  for (const kind of ['done', 'error'] as const) {
    const suffix = `.${kind}`;
    if (
      eventType.endsWith(suffix) &&
      entryEffectsInScope(node).includes(eventType.slice(0, -suffix.length))
    ) {
      return { kind, text: `${kind}: ${eventType.slice(0, -suffix.length)}` };
    }
  }
  if (eventType.startsWith('xstate.done.state.')) return { kind: 'done', text: 'done' };
  if (eventType.startsWith('xstate.after.')) {
    const delay = eventType.slice('xstate.after.'.length).split('.')[0];
    return { kind: 'after', text: /^\d+$/.test(delay) ? `after ${delay}ms` : `after ${delay}` };
  }
  return { kind: 'event', text: eventType };
}

function entryEffectsInScope(node: AnyStateNode): string[] {
  const names: string[] = [];
  for (let n: AnyStateNode | undefined = node; n; n = n.parent) names.push(...entryEffects(n));
  return names;
}

/**
 * Named entry actions that are effects: the machine's own action implementations that are
 * not built-in actions (`assign`, `raise`, …, which carry an `xstate.*` type). They start
 * the state's work, like an invoke, and are drawn the same way.
 */
function entryEffects(node: AnyStateNode): string[] {
  const implementations = (node.machine.implementations?.actions ?? {}) as Record<string, unknown>;
  const names: string[] = [];
  for (const action of node.entry as unknown[]) {
    const name = typeof action === 'string' ? action : (action as { type?: unknown } | null)?.type;
    if (typeof name !== 'string') continue;
    const impl = implementations[name];
    const builtIn = (impl as { type?: unknown } | undefined)?.type;
    if (
      typeof impl === 'function' &&
      !(typeof builtIn === 'string' && builtIn.startsWith('xstate.'))
    )
      names.push(name);
  }
  return names;
}

function sourceName(src: unknown): string {
  if (typeof src === 'string') return src;
  const id = (src as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : 'inline';
}

/** `'isPaused'`, `{ type: 'isPaused' }`, `not('a')` → `!a`, `and([...])` → `a && b`, inline → `inline`. */
export function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { check?: { name?: string }; guards?: unknown[]; name?: string };
    const inner = (g.guards ?? []).map(guardName);
    switch (g.check?.name) {
      case 'checkNot':
        return `!${wrap(inner[0] ?? 'inline')}`;
      case 'checkAnd':
        return inner.map(wrap).join(' && ');
      case 'checkOr':
        return inner.map(wrap).join(' || ');
      default:
        return g.name && g.name !== 'guard' ? g.name : 'inline';
    }
  }
  if (
    guard &&
    typeof guard === 'object' &&
    typeof (guard as { type?: unknown }).type === 'string'
  ) {
    return (guard as { type: string }).type;
  }
  return 'inline';
}

function wrap(name: string): string {
  return /[ &|]/.test(name) ? `(${name})` : name;
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (
    action &&
    typeof action === 'object' &&
    typeof (action as { type?: unknown }).type === 'string'
  ) {
    return (action as { type: string }).type;
  }
  if (typeof action === 'function') {
    const type = (action as { type?: unknown }).type;
    if (typeof type === 'string') return type.replace(/^xstate\./, '');
    return action.name || 'inline';
  }
  return 'inline';
}

/**
 * Every state path of a graph, depth first (handy for highlighting and tests).
 *
 * @example
 * allStatePaths(machineGraph(stageMachine)); // ['', 'idle', 'awaitingBatch', 'busy', 'failed']
 */
export function allStatePaths(graph: MachineGraph): string[] {
  const out: string[] = [];
  const visit = (s: ChartState): void => {
    out.push(s.path);
    s.children.forEach(visit);
  };
  visit(graph.root);
  return out;
}
