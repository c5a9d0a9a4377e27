/**
 * A statechart run from a transition table compiled out of an XState machine: the same
 * states, transitions, guards, actions and `.provide()`d implementations, as actor logic for
 * XState's own `createActor` (mailbox, system, subscriptions and inspection events stay
 * XState's). The pipeline's actors take several events per iteration on every rank, and
 * XState's general interpreter recomputes exit / entry sets, state values and tag sets for
 * each; here they are computed once per (transition, active state) and reused.
 *
 * It is an opt-in accelerator (`interpreter: 'compiled'`); XState's interpreter is the
 * default. It is fail-closed: it runs exactly the subset `machines/` uses — nested compound
 * states, named and inline guards, `always`, `reenter`, `#id` targets, entry / exit /
 * transition actions, `assign`, top-level final states — and `compileMachine` throws, naming
 * the state and the construct, for anything else: parallel or history states, delayed
 * transitions (`after`), `invoke`, `spawnChild` and other built-in actions, guard
 * combinators, `tags`, `meta`, `output`, `onDone`, final states below the top level, exit
 * actions that would run when the machine finishes, wildcard events, eventless transitions
 * on the initial states. Its snapshots carry `matches`, `can`, `hasTag`, `getMeta` and
 * `toJSON` as own properties like XState's, so the error snapshot XState's actor makes by
 * spreading the last snapshot (an action threw) still answers them.
 *
 * It reads XState internals (`machine.implementations`, `StateNode.transitions`, the shape
 * of `assign` actions and guard combinators, `config.context`): `xstate` is pinned to the
 * exact version below, {@link checkXStateInternals} refuses a machine whose internals have
 * another shape, and test/actors/xstate-internals.test.ts fails loudly if they change.
 * test/actors/compiled-machine.test.ts drives every pipeline machine through both
 * interpreters with random event sequences over its whole vocabulary (throwing actions
 * included) and requires the same states, contexts, statuses and effects in the same
 * order; test/actors/interpreters-agree.test.ts requires the same event log and parameters
 * from a whole simulated run.
 *
 * @example
 * const actor = createActor(compileMachine(stageMachine.provide({ actions })), { input: { rank: 0, stage: 'copy' } });
 * actor.start();
 * actor.send({ type: 'SUBMIT', job: { batch: 0, inputReady: true } });
 * actor.getSnapshot().value; // 'busy'
 */
import {
  matchesState,
  type ActorLogic,
  type ActorScope,
  type AnyStateMachine,
  type EventObject,
  type InspectionEvent,
  type Observer,
  type Snapshot,
  type StateValue,
} from 'xstate';
import type { Clock } from '../src/protocol/index.ts';

type Context = Record<string, unknown>;
type AnyEvent = EventObject & Record<string, unknown>;
type Scope = ActorScope<CompiledSnapshot, AnyEvent>;

/** The snapshot of a compiled actor: the parts of a machine snapshot the pipeline and its tests read. */
export type CompiledSnapshot = Snapshot<undefined> & {
  value: StateValue;
  context: Context;
  /** The active atomic state (internal). */
  readonly _atom: Node;
  /** The machine it was compiled from (as on a machine snapshot). */
  readonly machine: AnyStateMachine;
  readonly tags: ReadonlySet<string>;
  readonly children: Readonly<Record<string, never>>;
  readonly historyValue: Readonly<Record<string, never>>;
  matches(value: StateValue): boolean;
  hasTag(tag: string): boolean;
  /** Whether `event` would be taken now (guards evaluated, nothing run). */
  can(event: EventObject): boolean;
  getMeta(): Record<string, unknown>;
  toJSON(): Record<string, unknown>;
};

interface Node {
  readonly id: string;
  readonly key: string;
  readonly parent: Node | null;
  readonly type: string;
  readonly entry: Action[];
  readonly exit: Action[];
  readonly on: Map<string, Transition[]>;
  readonly always: Transition[] | null;
  /** Compound states: the child entered by default. */
  initialChild: Node | null;
  /** Self, then each ancestor up to the root. */
  chain: Node[];
  /** The state value while this (atomic) state is active. */
  value: StateValue;
}

interface Transition {
  readonly source: Node;
  readonly target: Node | null;
  readonly reenter: boolean;
  readonly guard: ((context: Context, event: AnyEvent) => boolean) | null;
  readonly actions: Action[];
  /** Per active atomic state: the actions to run in order and the atomic state it leads to. */
  readonly steps: Map<Node, Step>;
}

interface Step {
  actions: Action[];
  atom: Node;
}

type Action =
  | { kind: 'assign'; assignment: unknown }
  | {
      kind: 'custom';
      type: string;
      exec: (args: unknown, params: unknown) => void;
      params: unknown;
    };

const NO_TAGS: ReadonlySet<string> = new Set();
const NO_CHILDREN = Object.freeze({});

function matches(this: CompiledSnapshot, value: StateValue): boolean {
  return matchesState(value, this.value);
}
function hasTag(): boolean {
  return false; // tags are refused when compiling
}
function getMeta(): Record<string, unknown> {
  return {}; // meta is refused when compiling
}
/** What XState's machine snapshot serializes: its data, tags as an array. */
function toJSON(this: CompiledSnapshot) {
  return {
    status: this.status,
    output: this.output,
    error: this.error,
    context: this.context,
    value: this.value,
    children: this.children,
    historyValue: this.historyValue,
    tags: [],
  };
}

/**
 * Compile a (provided) machine into actor logic with the same behaviour.
 *
 * @example
 * createActor(compileMachine(coordinatorMachine.provide({ actions })), { input }).start();
 */
export function compileMachine(
  machine: AnyStateMachine,
): ActorLogic<CompiledSnapshot, AnyEvent, unknown> {
  checkXStateInternals(machine);
  const impl = machine.implementations as {
    actions: Record<string, unknown>;
    guards: Record<string, unknown>;
  };
  const nodes = new Map<unknown, Node>();

  const toAction = (a: unknown, where: string): Action => {
    if (typeof a === 'string') return custom(a, undefined);
    if (typeof a === 'function') {
      const inline = a as ((args: unknown, params: unknown) => void) & {
        type?: string;
        assignment?: unknown;
      };
      if (inline.type === 'xstate.assign') return { kind: 'assign', assignment: inline.assignment };
      if (typeof inline.type === 'string' && inline.type.startsWith('xstate.')) {
        throw new Error(
          `compileMachine: ${where}: built-in action '${inline.type}' is not supported`,
        );
      }
      return {
        kind: 'custom',
        type: inline.name || '(anonymous)',
        exec: inline,
        params: undefined,
      };
    }
    const o = a as { type: string; params?: unknown };
    return custom(o.type, o.params);

    function custom(type: string, params: unknown): Action {
      const exec = impl.actions[type] as ((args: unknown, params: unknown) => void) & {
        type?: string;
        assignment?: unknown;
      };
      if (exec === undefined)
        throw new Error(`compileMachine: ${where}: action '${type}' has no implementation`);
      if (exec.type === 'xstate.assign') return { kind: 'assign', assignment: exec.assignment };
      if (typeof exec.type === 'string' && exec.type.startsWith('xstate.')) {
        throw new Error(
          `compileMachine: ${where}: built-in action '${exec.type}' is not supported`,
        );
      }
      return { kind: 'custom', type, exec, params };
    }
  };

  const toGuard = (g: unknown, where: string): Transition['guard'] => {
    if (g === undefined) return null;
    const type =
      typeof g === 'string' ? g : typeof g === 'function' ? null : (g as { type: string }).type;
    const params =
      typeof g === 'object' && g !== null ? (g as { params?: unknown }).params : undefined;
    const fn = (type === null ? g : impl.guards[type]) as
      | ((args: unknown, params: unknown) => boolean)
      | undefined;
    if (typeof fn !== 'function')
      throw new Error(`compileMachine: ${where}: guard '${String(type)}' has no implementation`);
    if ((fn as { check?: unknown }).check !== undefined)
      throw new Error(`compileMachine: ${where}: built-in guard combinators are not supported`);
    return (context, event) =>
      fn({ context, event }, typeof params === 'function' ? params({ context, event }) : params);
  };

  type SN = AnyStateMachine['root'];
  const build = (sn: SN, parent: Node | null): Node => {
    const refuse = (construct: string): never => {
      throw new Error(`compileMachine: state '${sn.id}': ${construct} not supported`);
    };
    if (sn.type === 'parallel' || sn.type === 'history') refuse(`${sn.type} states are`);
    if (sn.after.length > 0) refuse('delayed transitions are');
    if (sn.invoke.length > 0) refuse('invoke is');
    if (sn.tags.length > 0) refuse('tags are');
    if (sn.meta !== undefined) refuse('meta is');
    if (sn.output !== undefined) refuse('output is');
    if (sn.config.onDone !== undefined) refuse('onDone is');
    if (sn.type === 'final' && parent !== null && parent.parent !== null)
      refuse('a final state below the top level is');
    // XState runs these when the machine reaches a top-level final state; this does not.
    if (sn.exit.length > 0 && (sn.type === 'final' || parent === null))
      refuse(`exit actions on ${parent === null ? 'the machine' : 'a final state'} are`);
    const node: Node = {
      id: sn.id,
      key: sn.key,
      parent,
      type: sn.type,
      entry: sn.entry.map((a: unknown) => toAction(a, `entry of '${sn.id}'`)),
      exit: sn.exit.map((a: unknown) => toAction(a, `exit of '${sn.id}'`)),
      on: new Map(),
      always: null,
      initialChild: null,
      chain: [],
      value: '',
    };
    node.chain = parent ? [node, ...parent.chain] : [node];
    nodes.set(sn, node);
    for (const child of Object.values(sn.states) as SN[]) build(child, node);
    return node;
  };
  const root = build(machine.root, null);
  const nodeOf = (sn: unknown, where: string): Node => {
    const node = nodes.get(sn);
    if (!node) throw new Error(`compileMachine: ${where}: a state outside the machine`);
    return node;
  };

  const toTransition = (
    t: {
      source: unknown;
      target?: readonly unknown[];
      reenter: boolean;
      guard?: unknown;
      actions: readonly unknown[];
      eventType: string;
    },
    where: string,
  ): Transition => {
    if (t.target && t.target.length > 1)
      throw new Error(`compileMachine: ${where}: multiple targets are not supported`);
    if (t.target && t.target[0] === t.source && !t.reenter)
      throw new Error(`compileMachine: ${where}: a self-target without reenter is not supported`);
    return {
      source: nodeOf(t.source, where),
      target: t.target && t.target.length === 1 ? nodeOf(t.target[0], where) : null,
      reenter: t.reenter,
      guard: toGuard(t.guard, where),
      actions: t.actions.map((a) => toAction(a, where)),
      steps: new Map(),
    };
  };
  for (const [sn, node] of nodes) {
    const s = sn as SN;
    for (const [eventType, list] of s.transitions as Map<
      string,
      Array<Parameters<typeof toTransition>[0]>
    >) {
      if (eventType.includes('*'))
        throw new Error(
          `compileMachine: state '${s.id}': wildcard event '${eventType}' is not supported`,
        );
      if (eventType.startsWith('xstate.'))
        throw new Error(
          `compileMachine: state '${s.id}': the built-in event '${eventType}' is not supported`,
        );
      (node.on as Map<string, Transition[]>).set(
        eventType,
        list.map((t) => toTransition(t, `'${eventType}' in '${s.id}'`)),
      );
    }
    if (s.always)
      (node as { always: Transition[] | null }).always = s.always.map(
        (t: Parameters<typeof toTransition>[0]) => toTransition(t, `always in '${s.id}'`),
      );
    if (s.type === 'compound') {
      const target = s.initial.target as unknown[];
      node.initialChild = nodeOf(target[0], `initial of '${s.id}'`);
    }
  }
  for (const node of nodes.values())
    if (node.initialChild === null) node.value = stateValueOf(node);
  {
    let n: Node | null = root;
    while (n) {
      if (n.always)
        throw new Error(
          `compileMachine: '${machine.id}': eventless transitions on the initial state '${n.id}' are not supported`,
        );
      n = n.initialChild;
    }
  }

  const enterDown = (from: Node, entry: Action[]): Node => {
    let n = from;
    entry.push(...n.entry);
    while (n.initialChild) {
      n = n.initialChild;
      entry.push(...n.entry);
    }
    return n;
  };

  /** The actions and the next atomic state of `t` taken while `atom` is active. */
  const stepOf = (t: Transition, atom: Node): Step => {
    let step = t.steps.get(atom);
    if (step) return step;
    const actions: Action[] = [];
    if (t.target === null) {
      step = { actions: t.actions, atom };
    } else {
      const target = t.target;
      const domain = domainOf(t, target);
      for (const n of atom.chain) {
        if (n === domain) break;
        actions.push(...n.exit);
      }
      actions.push(...t.actions);
      const path: Node[] = [];
      for (const n of target.chain) {
        if (n === domain) break;
        path.unshift(n);
      }
      for (const n of path.slice(0, -1)) actions.push(...n.entry);
      const next = enterDown(target, actions);
      step = { actions, atom: next };
    }
    t.steps.set(atom, step);
    return step;
  };

  const select = (atom: Node, context: Context, event: AnyEvent): Transition | null => {
    for (const n of atom.chain) {
      const list = n.on.get(event.type);
      if (!list) continue;
      for (const t of list) if (t.guard === null || t.guard(context, event)) return t;
    }
    return null;
  };

  const selectAlways = (atom: Node, context: Context, event: AnyEvent): Transition | null => {
    for (const n of atom.chain) {
      if (!n.always) continue;
      for (const t of n.always) if (t.guard === null || t.guard(context, event)) return t;
    }
    return null;
  };

  const run = (actions: Action[], context: Context, event: AnyEvent, scope: Scope): Context => {
    let ctx = context;
    for (const a of actions) {
      if (a.kind === 'assign') {
        ctx = assignContext(a.assignment, ctx, event, scope);
      } else {
        const params =
          typeof a.params === 'function'
            ? (a.params as (args: unknown) => unknown)({ context: ctx, event })
            : a.params;
        a.exec({ context: ctx, event, self: scope.self, system: scope.system }, params);
      }
    }
    return ctx;
  };

  /**
   * As XState's: whether `event` selects a transition from the snapshot's state (guards
   * evaluated, nothing run) that is not forbidden (a target or actions) — whatever the
   * status, so an error snapshot answers from the state it was in.
   */
  function can(this: CompiledSnapshot, event: EventObject): boolean {
    const t = select(this._atom, this.context, event as AnyEvent);
    return t !== null && (t.target !== null || t.actions.length > 0);
  }

  // Every field and method an own property, in XState's order: a spread keeps them all.
  const snapshot = (
    status: 'active' | 'done' | 'stopped',
    atom: Node,
    context: Context,
  ): CompiledSnapshot => ({
    status,
    output: undefined,
    error: undefined,
    machine,
    context,
    _atom: atom,
    value: atom.value,
    tags: NO_TAGS,
    children: NO_CHILDREN,
    historyValue: NO_CHILDREN,
    matches,
    hasTag,
    can,
    getMeta,
    toJSON,
  });

  const settle = (
    atom: Node,
    context: Context,
    event: AnyEvent,
    scope: Scope,
  ): CompiledSnapshot => {
    let a = atom;
    let ctx = context;
    for (let guard = 0; ; guard++) {
      if (a.type === 'final' && a.parent === root) return snapshot('done', a, ctx);
      const t = selectAlways(a, ctx, event);
      if (t === null) return snapshot('active', a, ctx);
      if (guard > 1000)
        throw new Error(
          `compileMachine: '${machine.id}' took more than 1000 eventless transitions in a row`,
        );
      const step = stepOf(t, a);
      ctx = run(step.actions, ctx, event, scope);
      a = step.atom;
    }
  };

  const initialEntry: Action[] = [];
  const initialAtom = enterDown(root, initialEntry);
  /** The init event (it carries the input) of initial snapshots whose entry actions are still to run. */
  const initEvents = new WeakMap<object, AnyEvent>();

  return {
    config: machine,
    transition(snap, event, scope) {
      if (event.type === 'xstate.stop') return snapshot('stopped', snap._atom, snap.context);
      if (snap.status !== 'active') return snap;
      const t = select(snap._atom, snap.context, event as AnyEvent);
      if (t === null) return snap;
      const step = stepOf(t, snap._atom);
      const ctx = run(step.actions, snap.context, event as AnyEvent, scope);
      // Nothing changed and no eventless transition to look for: XState answers the same snapshot.
      if (
        step.atom === snap._atom &&
        ctx === snap.context &&
        t.target === null &&
        !snap._atom.chain.some(hasAlways)
      )
        return snap;
      return settle(step.atom, ctx, event as AnyEvent, scope);
    },
    getInitialSnapshot(scope, input) {
      const ctxConfig = machine.config.context as unknown;
      const context = (
        typeof ctxConfig === 'function'
          ? ctxConfig({ input, self: scope.self, spawn: noSpawn })
          : (ctxConfig ?? {})
      ) as Context;
      const s = snapshot('active', initialAtom, context);
      if (initialEntry.length > 0) initEvents.set(s, { type: 'xstate.init', input } as AnyEvent);
      return s;
    },
    start(snap, scope) {
      // Entry actions of the initial states run when the actor starts (as XState defers them).
      const initEvent = initEvents.get(snap);
      if (initEvent) run(initialEntry, snap.context, initEvent, scope);
    },
    getPersistedSnapshot(snap) {
      return {
        status: snap.status,
        value: snap.value,
        context: snap.context,
        output: undefined,
        error: snap.error,
      } as never;
    },
  };
}

function hasAlways(node: Node): boolean {
  return node.always !== null;
}

function assignContext(
  assignment: unknown,
  context: Context,
  event: AnyEvent,
  scope: Scope,
): Context {
  const args = { context, event, spawn: noSpawn, self: scope.self, system: scope.system };
  let partial: Context;
  if (typeof assignment === 'function') {
    partial = (assignment as (a: unknown, p: unknown) => Context)(args, undefined);
  } else {
    partial = {};
    for (const [key, v] of Object.entries(assignment as Context)) {
      partial[key] =
        typeof v === 'function' ? (v as (a: unknown, p: unknown) => unknown)(args, undefined) : v;
    }
  }
  return Object.assign({}, context, partial);
}

function noSpawn(): never {
  throw new Error('compileMachine: spawn is not supported');
}

/**
 * The transition's domain (XState's): the source itself when the target is a proper
 * descendant of it (and the source is not re-entered); otherwise the nearest proper
 * ancestor of the target that is also a proper ancestor of the source.
 */
function domainOf(t: Transition, target: Node): Node {
  if (!t.reenter && target !== t.source && target.chain.includes(t.source)) return t.source;
  for (const a of target.chain.slice(1)) if (a !== t.source && t.source.chain.includes(a)) return a;
  return target.chain[target.chain.length - 1];
}

function stateValueOf(atom: Node): StateValue {
  const keys = atom.chain
    .slice(0, -1)
    .reverse()
    .map((n) => n.key);
  let value: StateValue = keys[keys.length - 1];
  for (let i = keys.length - 2; i >= 0; i--) value = { [keys[i]]: value };
  return value;
}

/** Which statechart interpreter the pipeline's live actors run (the machines are the same). */
export type Interpreter = 'compiled' | 'xstate';

/** How a rank's live actors are created: their clock, an inspection observer, the interpreter. */
export interface LiveActorOptions {
  clock: Clock;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Default `'xstate'`; `'compiled'` opts in to the compiled form (ignored when inspected). */
  interpreter?: Interpreter;
  /** Told when an actor stops with an error (a throwing action): its id and the error. */
  onError?: (actor: string, error: unknown) => void;
}

/**
 * The logic a live actor runs: XState's own interpreter (the default), or the compiled form
 * when `interpreter: 'compiled'` is asked for and no inspection observer is attached
 * (inspection tools read machine snapshots and microsteps, which only XState produces).
 * Typed as the machine: the compiled snapshot carries what the pipeline reads of a machine
 * snapshot (`value`, `context`, `status`, `matches`, `can`, `machine`).
 *
 * @example
 * const actor = createActor(liveLogic(stageMachine.provide({ actions }), { interpreter: 'compiled' }), { input });
 */
export function liveLogic<TMachine extends AnyStateMachine>(
  machine: TMachine,
  options: { inspect?: unknown; interpreter?: Interpreter },
  compiled?: () => ActorLogic<CompiledSnapshot, AnyEvent, unknown>,
): TMachine {
  if (options.interpreter !== 'compiled' || options.inspect !== undefined) return machine;
  return (compiled?.() ?? compileMachine(machine)) as unknown as TMachine;
}

/** The exact `xstate` version whose internals the compiler was checked against (package.json pins it). */
export const CHECKED_XSTATE_VERSION = '5.33.3';

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/**
 * Refuse a machine whose XState internals lack the shape the compiler reads: its
 * implementations (`actions`, `guards`), and on every state node `transitions` (a Map of
 * arrays of `{ source, target?, reenter, guard?, actions, eventType }`), `entry`, `exit`,
 * `after`, `invoke`, `tags` (arrays), `always` (absent or an array), `initial.target` of a
 * compound state, `states`, `config`. Throws one error listing every difference.
 *
 * @example
 * checkXStateInternals(stageMachine); // passes on the pinned xstate; throws if its internals moved
 */
export function checkXStateInternals(machine: AnyStateMachine): void {
  const problems: string[] = [];
  const impl: unknown = machine.implementations;
  if (!isRecord(impl) || !isRecord(impl.actions) || !isRecord(impl.guards))
    problems.push('machine.implementations has no actions / guards records');
  if (!isRecord(machine.config)) problems.push('machine.config is missing');
  const walk = (node: unknown, path: string): void => {
    if (!isRecord(node)) {
      problems.push(`state '${path}' is not an object`);
      return;
    }
    for (const key of ['entry', 'exit', 'after', 'invoke', 'tags'])
      if (!Array.isArray(node[key])) problems.push(`state '${path}'.${key} is not an array`);
    if (node.always !== undefined && !Array.isArray(node.always))
      problems.push(`state '${path}'.always is neither absent nor an array`);
    if (!isRecord(node.config)) problems.push(`state '${path}'.config is missing`);
    if (node.type === 'compound') {
      const initial = node.initial;
      if (!isRecord(initial) || !Array.isArray(initial.target))
        problems.push(`state '${path}'.initial.target is not an array`);
    }
    if (!(node.transitions instanceof Map)) {
      problems.push(`state '${path}'.transitions is not a Map`);
    } else {
      for (const [eventType, list] of node.transitions) {
        const ok =
          Array.isArray(list) &&
          list.every(
            (t: unknown) =>
              isRecord(t) &&
              'source' in t &&
              typeof t.reenter === 'boolean' &&
              Array.isArray(t.actions) &&
              t.eventType === eventType &&
              (t.target === undefined || Array.isArray(t.target)),
          );
        if (!ok) problems.push(`state '${path}'.transitions['${String(eventType)}'] changed shape`);
      }
    }
    if (!isRecord(node.states)) problems.push(`state '${path}'.states is missing`);
    else for (const [key, child] of Object.entries(node.states)) walk(child, `${path}.${key}`);
  };
  walk(machine.root, machine.id);
  if (problems.length > 0)
    throw new Error(
      `compileMachine: XState's internals are not those of xstate ${CHECKED_XSTATE_VERSION}, which the compiler was checked against (${problems.join('; ')}); run interpreter: 'xstate'`,
    );
}
