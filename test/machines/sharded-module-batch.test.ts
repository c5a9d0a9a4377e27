/**
 * One sharded module on one batch: the two-phase input dist, then compute + output dist,
 * then done (its backward runs in the batch's backward op, outside the actor); any failure
 * ends in `failed` with the error.
 */
import { describe, expect, it } from 'vitest';
import { createActor, waitFor } from 'xstate';
import { effect } from '../../actors/effect.ts';
import {
  shardedModuleBatchMachine,
  type ModuleBatchEvent,
  type ModuleBatchInput,
} from '../../machines/sharded-module-batch.ts';
import { PureDriver, valuePath } from './pure-driver.ts';
import { TRAINING_BATCH_WALK } from './state-walks.ts';

const input: ModuleBatchInput = { rank: 0, module: 'sparse_arch.ebc', batch: 5 };
type PromiseSlot = 'inputDist' | 'awaitData';

/**
 * A module actor with fake slots: promise slots resolve (or reject per `fail`), the
 * compute callback hands its `sendBack` to the test so the test says when the lookup and
 * the output dist finish.
 */
function fakeModule(fail: Partial<Record<PromiseSlot, unknown>> = {}) {
  const calls: Array<{ slot: string; input: ModuleBatchInput }> = [];
  const compute: { sendBack?: (e: ModuleBatchEvent) => void } = {};
  const slot = (name: PromiseSlot) =>
    effect(name, async (ids: ModuleBatchInput) => {
      calls.push({ slot: name, input: ids });
      if (name in fail) throw fail[name];
    });
  const machine = shardedModuleBatchMachine.provide({
    actions: {
      inputDist: slot('inputDist'),
      awaitData: slot('awaitData'),
      computeAndOutputDist: ({ self }, ids: ModuleBatchInput) => {
        calls.push({ slot: 'computeAndOutputDist', input: ids });
        compute.sendBack = (e) => self.send(e);
      },
    },
  });
  const actor = createActor(machine, { input });
  const states: string[] = [];
  actor.subscribe((s) => {
    const v = valuePath(s.value);
    if (states.at(-1) !== v) states.push(v);
  });
  actor.start();
  return { actor, calls, compute, states };
}

describe('sharded module, per batch', () => {
  it('goes through every state in order and ends done', async () => {
    const { actor, calls, compute, states } = fakeModule();
    expect(actor.getSnapshot().value).toBe('awaitingBatch');
    actor.send({ type: 'START' });
    await waitFor(actor, (s) => s.value === 'ready');
    actor.send({ type: 'COMPUTE' });
    expect(actor.getSnapshot().value).toEqual({ computeAndOutputDist: 'computing' });
    compute.sendBack!({ type: 'OUTPUT_DIST' });
    expect(actor.getSnapshot().value).toEqual({ computeAndOutputDist: 'outputDist' });
    compute.sendBack!({ type: 'COMPUTED' });
    const end = actor.getSnapshot();
    expect(end).toMatchObject({ value: 'done', status: 'active' }); // done with this batch, reusable for a later one
    expect(states).toEqual(['awaitingBatch', ...TRAINING_BATCH_WALK]);
    expect(calls.map((c) => c.slot)).toEqual(['inputDist', 'awaitData', 'computeAndOutputDist']);
    for (const c of calls) expect(c.input).toEqual(input);
  });

  it('COMPUTED without OUTPUT_DIST (nothing to send) still ends done', async () => {
    const { actor, compute, states } = fakeModule();
    actor.send({ type: 'START' });
    await waitFor(actor, (s) => s.value === 'ready');
    actor.send({ type: 'COMPUTE' });
    compute.sendBack!({ type: 'COMPUTED' });
    expect(actor.getSnapshot()).toMatchObject({ value: 'done', status: 'active' });
    expect(states.slice(-2)).toEqual(['computeAndOutputDist.computing', 'done']);
  });

  it('a done actor takes a later batch: START with its index runs the whole dist again on it', async () => {
    const { actor, calls, compute } = fakeModule();
    actor.send({ type: 'START' });
    await waitFor(actor, (s) => s.value === 'ready');
    actor.send({ type: 'COMPUTE' });
    compute.sendBack!({ type: 'COMPUTED' });
    expect(actor.getSnapshot().value).toBe('done');
    calls.length = 0;
    actor.send({ type: 'START', batch: 9 });
    await waitFor(actor, (s) => s.value === 'ready');
    expect(actor.getSnapshot().context).toMatchObject({ batch: 9, error: undefined });
    expect(calls.map((c) => c.slot)).toEqual(['inputDist', 'awaitData']);
    for (const c of calls) expect(c.input).toEqual({ ...input, batch: 9 });
  });

  for (const slot of ['inputDist', 'awaitData'] as const) {
    it(`an error in ${slot} ends in failed with the error`, async () => {
      const error = new Error(`${slot}: rank 1 did not answer within 100 ms`);
      const { actor } = fakeModule({ [slot]: error });
      actor.send({ type: 'START' });
      const end = await waitFor(actor, (s) => s.status === 'done');
      expect(end.value).toBe('failed');
      expect(end.context.error).toBe(error);
    });
  }

  it('COMPUTE_FAILED from the compute actor ends in failed with its error', async () => {
    const { actor, compute } = fakeModule();
    actor.send({ type: 'START' });
    await waitFor(actor, (s) => s.value === 'ready');
    actor.send({ type: 'COMPUTE' });
    compute.sendBack!({ type: 'OUTPUT_DIST' });
    const error = new Error('lookup: id 900 out of range for table t0 (rows 100)');
    compute.sendBack!({ type: 'COMPUTE_FAILED', error });
    expect(actor.getSnapshot()).toMatchObject({ value: 'failed', status: 'done' });
    expect(actor.getSnapshot().context.error).toBe(error);
  });

  it('events out of order are ignored (pure transition): COMPUTE before the data, COMPUTED before COMPUTE', () => {
    const d = new PureDriver(shardedModuleBatchMachine, input, () => undefined);
    d.send({ type: 'COMPUTE' });
    expect(d.value).toBe('awaitingBatch');
    d.send({ type: 'START' }).send({ type: 'COMPUTE' });
    expect(d.value).toBe('distInFlight.waitingForSplits');
    d.resolve('inputDist').send({ type: 'COMPUTE' });
    expect(d.value).toBe('distInFlight.dataInFlight');
    d.resolve('awaitData');
    expect(d.value).toBe('ready');
    d.send({ type: 'COMPUTED' }).send({ type: 'OUTPUT_DIST' });
    expect(d.value).toBe('ready');
    d.send({ type: 'COMPUTE' });
    expect(d.value).toBe('computeAndOutputDist.computing');
    expect(d.spawned.map((c) => c.src)).toEqual(['inputDist', 'awaitData', 'computeAndOutputDist']);
  });
});
