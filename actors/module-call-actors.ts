/**
 * The sharded-module actors of a rank: one actor per module call per in-flight batch,
 * running `shardedModuleBatchMachine` with implementations that call the module's
 * `inputDist` / `computeAndOutputDist` and emit `dist.*` events.
 *
 * An actor that finished its batch (`done`) goes back to a pool per module and takes a
 * later batch (`START` with its index): a rank keeps as many actors per module as batches
 * are in flight (≤ 3) instead of creating, starting and stopping one per batch. A failed
 * actor is not reused.
 *
 * @example
 * const actors = new ModuleCallActors(rank, bus, (batch, key) => lookup(batch, key), { clock });
 * actors.start(ctx, call);     // START → … → ready
 * await call.ready.promise;
 */
import { createActor, type Actor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import type { ComputeHooks, Rank, StreamName } from '../src/protocol/index.ts';
import {
  shardedModuleBatchMachine,
  type ModuleBatchInput,
} from '../machines/sharded-module-batch.ts';
import type { EventBus } from '../src/trace/event-bus.ts';
import type { BatchContext, ModuleCall } from './batch-context.ts';
import { reportStates } from './actor-state-events.ts';
import { effect } from './effect.ts';
import { liveLogic, type LiveActorOptions } from './compiled-machine.ts';

export type CallLookup = (batch: number, key: string) => ModuleCall;

type ModuleActor = Actor<ReturnType<typeof shardedModuleBatchMachine.provide>>;

export class ModuleCallActors {
  private readonly machine;
  /** What the actors run: XState's interpreter (default), or the compiled machine when opted in. */
  private readonly logic;
  /** Actors whose batch is done, per module key. */
  private readonly idle = new Map<string, ModuleActor[]>();
  /** The call each busy actor is working on. */
  private readonly current = new Map<ModuleActor, ModuleCall>();
  private created = 0;

  constructor(
    private readonly rank: Rank,
    private readonly bus: EventBus,
    lookup: CallLookup,
    private readonly options: LiveActorOptions,
  ) {
    const emit = bus.emit.bind(bus);
    this.machine = shardedModuleBatchMachine.provide({
      actions: {
        inputDist: effect('inputDist', async (input: ModuleBatchInput) => {
          const call = lookup(input.batch, input.module);
          emit({ type: 'dist.start', batch: input.batch, module: call.key });
          call.splits = call.module.inputDist(call.moduleContext, call.input);
          call.data = await call.splits.wait();
          emit({ type: 'dist.splits', batch: input.batch, module: call.key });
        }),
        awaitData: effect('awaitData', async (input: ModuleBatchInput) => {
          const call = lookup(input.batch, input.module);
          if (!call.data) throw new Error(`internal: '${call.key}' awaits data before its splits`);
          await call.data.wait();
          emit({ type: 'dist.end', batch: input.batch, module: call.key });
        }),
        computeAndOutputDist: ({ self }, input: ModuleBatchInput) => {
          const call = lookup(input.batch, input.module);
          const hooks = new OutputDistHook(self, call.computeStream ?? 'default');
          call.module.computeAndOutputDist(call.moduleContext, hooks).then(
            (out) => {
              call.computed.resolve(out);
              self.send({ type: 'COMPUTED' });
            },
            (error: unknown) => {
              call.computed.reject(error);
              self.send({ type: 'COMPUTE_FAILED', error });
            },
          );
        },
      },
    });
    this.logic = liveLogic(this.machine, options);
  }

  /**
   * Take an idle actor of the call's module (or create one) and START its input dist on the
   * call's batch. Resolves `call.ready` when data arrived. Done in a microtask: callers run
   * inside another actor's action (the dist stage's work), where XState wants no actor
   * created or sent to.
   */
  start(ctx: BatchContext, call: ModuleCall): void {
    queueMicrotask(() => this.launch(ctx, call));
  }

  private launch(ctx: BatchContext, call: ModuleCall): void {
    const actor = this.idle.get(call.key)?.pop() ?? this.create(call.key);
    this.current.set(actor, call);
    call.actor = actor;
    actor.send({ type: 'START', batch: ctx.index });
  }

  /** Stop every actor (the pipeline is disposed). */
  stop(): void {
    for (const pool of this.idle.values()) for (const a of pool) a.stop();
    for (const a of this.current.keys()) a.stop();
    this.idle.clear();
    this.current.clear();
  }

  private create(key: string): ModuleActor {
    const slot = this.created++;
    const actor = createActor(this.logic, {
      input: { rank: this.rank, module: key, batch: -1 },
      clock: this.options.clock,
      inspect: this.options.inspect,
      id: `rank${this.rank}.${key}.slot${slot}`,
    });
    reportStates(actor, `module:${key}`, this.bus, (s) => ({
      batch: s.context.batch,
      module: key,
    }));
    actor.subscribe(
      (s) => this.onSnapshot(actor, key, s),
      (e) => {
        this.current.get(actor)?.ready.reject(e);
        this.options.onError?.(`module:${key}`, e);
      },
    );
    actor.start();
    return actor;
  }

  private onSnapshot(
    actor: ModuleActor,
    key: string,
    s: SnapshotFrom<typeof shardedModuleBatchMachine>,
  ): void {
    const call = this.current.get(actor);
    if (!call) return;
    const v = s.value;
    if (v === 'ready' || (typeof v === 'object' && 'computeAndOutputDist' in v))
      call.ready.resolve();
    else if (v === 'done') {
      // The batch is finished: the actor waits in the pool for a later one.
      this.current.delete(actor);
      let pool = this.idle.get(key);
      if (!pool) {
        pool = [];
        this.idle.set(key, pool);
      }
      pool.push(actor);
    } else if (v === 'failed') {
      this.current.delete(actor);
      const error =
        s.context.error ?? new Error(`sharded module '${key}' failed on batch ${s.context.batch}`);
      call.ready.reject(error);
      call.computed.reject(error);
    }
  }

  static send(call: ModuleCall, type: 'COMPUTE'): void {
    (call.actor as AnyActorRef | null)?.send({ type });
  }
}

/** The compute hooks of one module call: tells its actor when the output dist starts. */
class OutputDistHook implements ComputeHooks {
  constructor(
    private readonly actor: AnyActorRef,
    readonly stream: StreamName,
  ) {}

  onOutputDist(): void {
    this.actor.send({ type: 'OUTPUT_DIST' });
  }
}
