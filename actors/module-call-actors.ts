/**
 * The sharded-module actors of a rank: one actor per module call per in-flight batch,
 * running `shardedModuleBatchMachine` with implementations that call the module's
 * `inputDist` / `computeAndOutputDist` / `backward` and emit `dist.*` events.
 *
 * @example
 * const actors = new ModuleCallActors(rank, bus, clock, (batch, key) => lookup(batch, key));
 * actors.start(ctx, call);     // START → … → ready
 * await call.ready.promise;
 */
import { createActor, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate';
import type { Clock, Rank } from '../src/protocol/index.ts';
import { shardedModuleBatchMachine, type ModuleBatchInput } from '../machines/sharded-module-batch.ts';
import type { EventBus } from '../src/trace/event-bus.ts';
import type { BatchContext, ModuleCall } from './batch-context.ts';
import { reportStates } from './actor-state-events.ts';
import { effect } from './effect.ts';

export type CallLookup = (batch: number, key: string) => ModuleCall;

export class ModuleCallActors {
  private readonly machine;

  constructor(
    private readonly rank: Rank,
    private readonly bus: EventBus,
    private readonly clock: Clock,
    lookup: CallLookup,
    private readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
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
          await call.data!.wait();
          emit({ type: 'dist.end', batch: input.batch, module: call.key });
        }),
        computeAndOutputDist: ({ self }, input: ModuleBatchInput) => {
          const call = lookup(input.batch, input.module);
          call.module.computeAndOutputDist(call.moduleContext, new OutputDistHook(self)).then(
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
        backward: effect('backward', async (input: ModuleBatchInput) => {
          const call = lookup(input.batch, input.module);
          try {
            await call.module.backward(call.moduleContext, call.grad!);
            call.backwardDone.resolve();
          } catch (e) {
            call.backwardDone.reject(e);
            throw e;
          }
        }),
      },
    });
  }

  /**
   * Create and start the call's actor, then START its input dist. Resolves `call.ready` when
   * data arrived. The actor is made in a microtask: callers run inside another actor's action
   * (the dist stage's work), where XState wants no actor created.
   */
  start(ctx: BatchContext, call: ModuleCall): void {
    queueMicrotask(() => this.launch(ctx, call));
  }

  private launch(ctx: BatchContext, call: ModuleCall): void {
    const actor = createActor(this.machine, {
      input: { rank: this.rank, module: call.key, batch: ctx.index },
      clock: this.clock,
      inspect: this.inspect,
      id: `rank${this.rank}.${call.key}.b${ctx.index}`,
    });
    call.actor = actor;
    // Per-batch actors report their states only while someone listens (they are short-lived
    // and many: building the events nobody reads is most of their cost in long runs).
    const stopReporting = this.bus.observed
      ? reportStates(actor, `module:${call.key}`, this.bus, { batch: ctx.index, module: call.key })
      : () => {};
    actor.subscribe(
      (s) => {
        if (s.value === 'ready' || s.value === 'computed' || (typeof s.value === 'object' && 'computeAndOutputDist' in s.value)) {
          call.ready.resolve();
        }
        if (s.value === 'failed') {
          const error = s.context.error ?? new Error(`sharded module '${call.key}' failed on batch ${ctx.index}`);
          call.ready.reject(error);
          call.computed.reject(error);
          call.backwardDone.reject(error);
        }
        if (s.status === 'done') stopReporting();
      },
      (e) => call.ready.reject(e),
    );
    actor.start();
    actor.send({ type: 'START' });
  }

  static send(call: ModuleCall, type: 'COMPUTE' | 'BACKWARD' | 'RELEASE'): void {
    (call.actor as AnyActorRef | null)?.send({ type });
  }
}

/** The compute hooks of one module call: tells its actor when the output dist starts. */
class OutputDistHook {
  constructor(private readonly actor: AnyActorRef) {}

  onOutputDist(): void {
    this.actor.send({ type: 'OUTPUT_DIST' });
  }
}
