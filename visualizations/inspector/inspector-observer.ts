/**
 * An XState `inspect` observer that turns `@xstate.snapshot` inspection events of the
 * pipeline's machines into the same `actor.state` events the pipeline emits on `events$`,
 * so the inspector can highlight states of any actor system it is given through the
 * `inspect` option (yours included).
 *
 * Actor names follow the pipeline's: `coordinator`, `<stage>Stage` (from the stage
 * machine's `context.stage`), `module:<name>` with `batch` (from the sharded-module
 * machine's context); any other machine is named by its id. The rank comes from
 * `context.rank` (0 when absent). Only changes of state value are reported.
 *
 * Feed the inspector either this or the pipeline's `events$` for states, not both, or
 * every state change shows twice in the log.
 *
 * @example
 * const observer = inspectorObserver({ clock: device.clock });
 * const pipeline = new TrainPipelineSparseDist({ model, optimizer, device, inspect: observer });
 * await startInspector({ feed: merge(observer.events$, spansOnly$), controls: pipeline, host: '127.0.0.1' });
 */
import { Subject, type Observable } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import type { Clock, PipelineEvent } from '../../src/protocol/index.ts';

export interface InspectorObserver extends Observer<InspectionEvent> {
  /** `actor.state` events derived from the inspection stream. */
  readonly events$: Observable<PipelineEvent>;
}

export interface InspectorObserverOptions {
  /** Stamps `t` (default: `performance.now()`). Pass the device clock for virtual time. */
  clock?: Pick<Clock, 'now'>;
  /** Override how a machine actor is named (default: the pipeline's naming). */
  nameActor?: (
    machineId: string,
    context: Record<string, unknown>,
  ) => { actor: string; batch?: number } | null;
}

/** `{ progressing: 'forward' }` → `progressing.forward`; parallel regions joined by `,`. */
export function stateValueName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}.${stateValueName(v)}`)
      .join(',');
  }
  return String(value);
}

/**
 * The pipeline's actor naming for a machine snapshot.
 *
 * @example
 * pipelineActorName('stage', { stage: 'copy' }); // { actor: 'copyStage' }
 */
export function pipelineActorName(
  machineId: string,
  context: Record<string, unknown>,
): { actor: string; batch?: number } {
  if (machineId === 'stage' && typeof context.stage === 'string')
    return { actor: `${context.stage}Stage` };
  if (machineId === 'shardedModule' && typeof context.module === 'string') {
    return {
      actor: `module:${context.module}`,
      ...(typeof context.batch === 'number' ? { batch: context.batch } : {}),
    };
  }
  return { actor: machineId };
}

interface MachineSnapshotLike {
  value?: unknown;
  context?: unknown;
  machine?: { id?: unknown };
}

/**
 * Creates the observer; pass it as `inspect` to `createActor` or a pipeline.
 *
 * @example
 * const observer = inspectorObserver();
 * observer.events$.subscribe((e) => console.log(e.actor, e.to));
 */
export function inspectorObserver(options: InspectorObserverOptions = {}): InspectorObserver {
  const subject = new Subject<PipelineEvent>();
  const last = new Map<string, string>();
  const now = (): number => (options.clock ? options.clock.now() : performance.now());
  const nameActor = options.nameActor ?? pipelineActorName;
  return {
    events$: subject.asObservable(),
    next(event: InspectionEvent): void {
      if (event.type !== '@xstate.snapshot') return;
      const snapshot = event.snapshot as MachineSnapshotLike;
      const machineId = snapshot.machine?.id;
      if (typeof machineId !== 'string' || snapshot.value === undefined) return;
      const context = (snapshot.context ?? {}) as Record<string, unknown>;
      const named = nameActor(machineId, context);
      if (!named) return;
      const to = stateValueName(snapshot.value);
      const session = (event.actorRef as { sessionId?: string }).sessionId ?? named.actor;
      const from = last.get(session);
      if (from === to) return;
      last.set(session, to);
      subject.next({
        type: 'actor.state',
        rank: typeof context.rank === 'number' ? context.rank : 0,
        t: now(),
        actor: named.actor,
        from: from ?? '',
        to,
        ...(named.batch === undefined ? {} : { batch: named.batch }),
      });
    },
    error(): void {},
    complete(): void {
      subject.complete();
    },
  };
}
