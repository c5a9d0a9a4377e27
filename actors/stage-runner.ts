/**
 * Runs the stage actors (copy / dist / compute, and prefetch for the prefetch pipeline) of a rank. A job is two functions:
 * `awaitInput` (what the stage waits for: a fetched batch, a finished copy; leave it out when
 * the input is already there) and `work` (the ops it issues on its stream, awaited). `submit`
 * resolves with the work's result.
 *
 * @example
 * const stages = new StageRunner(0, bus, { clock }, BASE_STAGES);
 * const onDevice = await stages.submit('copy', 3, () => batch.to(device, 'memcpy'));
 */
import { createActor, type Actor } from 'xstate';
import type { Rank } from '../src/protocol/index.ts';
import { stageMachine, type StageJobInput, type StageName } from '../machines/stage.ts';
import type { EventBus } from '../src/trace/event-bus.ts';
import { deferred, type Deferred } from './deferred.ts';
import { reportStates } from './actor-state-events.ts';
import { effect } from './effect.ts';
import { compileMachine, liveLogic, type LiveActorOptions } from './compiled-machine.ts';

interface StageWork {
  awaitInput?: () => Promise<unknown>;
  work: () => Promise<unknown>;
  done: Deferred<unknown>;
}

const liveStageMachine = stageMachine.provide({
  actions: {
    awaitInput: effect('awaitInput', async ({ job }: StageJobInput) => {
      const w = job.payload as StageWork;
      try {
        await w.awaitInput?.();
      } catch (e) {
        w.done.reject(e);
        throw e;
      }
    }),
    work: effect('work', async ({ job }: StageJobInput) => {
      const w = job.payload as StageWork;
      try {
        w.done.resolve(await w.work());
      } catch (e) {
        w.done.reject(e);
        throw e;
      }
    }),
  },
});

/** Compiled once, on first use by a pipeline that opts in to the compiled interpreter. */
let compiledStageMachine: ReturnType<typeof compileMachine> | undefined;
const compiledStage = () => (compiledStageMachine ??= compileMachine(liveStageMachine));

export type StageRunnerOptions = LiveActorOptions;

/** The stages every pipeline has; the prefetch pipeline adds `prefetch`. */
export const BASE_STAGES: readonly StageName[] = ['copy', 'dist', 'compute'];

export class StageRunner<N extends string = StageName> {
  readonly actors: Partial<Record<N, Actor<typeof liveStageMachine>>> = {};
  private readonly unsubscribers: Array<() => void> = [];

  constructor(rank: Rank, bus: EventBus, options: StageRunnerOptions, stages: readonly N[]) {
    const make = (stage: N) => {
      const actor = createActor(liveLogic(liveStageMachine, options, compiledStage), {
        input: { rank, stage },
        clock: options.clock,
        inspect: options.inspect,
        id: `rank${rank}.${stage}Stage`,
      });
      this.unsubscribers.push(reportStates(actor, `${stage}Stage`, bus));
      const sub = actor.subscribe({ error: (e) => options.onError?.(`${stage}Stage`, e) });
      this.unsubscribers.push(() => sub.unsubscribe());
      actor.start();
      return actor;
    };
    for (const stage of stages) this.actors[stage] = make(stage);
  }

  /** Queue a job on `stage`: `awaitInput` (left out when the input is already there), then `work`. */
  submit<T>(
    stage: N,
    batch: number,
    work: () => Promise<T>,
    awaitInput?: () => Promise<unknown>,
  ): Promise<T> {
    const actor = this.actors[stage];
    if (!actor) throw new Error(`internal: this pipeline has no '${stage}' stage`);
    if (actor.getSnapshot().value === 'failed') actor.send({ type: 'RESET' });
    const done = deferred<unknown>();
    const payload: StageWork = { awaitInput, work, done };
    actor.send({ type: 'SUBMIT', job: { batch, payload, inputReady: awaitInput === undefined } });
    return done.promise as Promise<T>;
  }

  stop(): void {
    for (const u of this.unsubscribers) u();
    for (const a of Object.values<Actor<typeof liveStageMachine> | undefined>(this.actors))
      a?.stop();
  }
}
