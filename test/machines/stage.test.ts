/**
 * The stage machine (copy / dist / compute): jobs run one at a time in FIFO order, each
 * waiting for its input then working; a failure parks the stage in `failed` until RESET.
 */
import { describe, expect, it } from 'vitest';
import { createActor, waitFor } from 'xstate';
import { effect } from '../../actors/effect.ts';
import { stageMachine, type StageInput, type StageJobInput } from '../../machines/stage.ts';
import { PureDriver, valuePath } from './pure-driver.ts';

const input: StageInput = { rank: 1, stage: 'copy' };
const submit = (batch: number) =>
  ({ type: 'SUBMIT', job: { batch, payload: { tag: `b${batch}` } } }) as const;

/** A stage whose `awaitInput`/`work` record `<slot>:<batch>`; `failOn` rejects one of them. */
function recordedStage(failOn?: { slot: 'awaitInput' | 'work'; batch: number; error: unknown }) {
  const calls: string[] = [];
  const jobInputs: StageJobInput[] = [];
  const fake = (slot: 'awaitInput' | 'work') =>
    effect(slot, async (job: StageJobInput) => {
      calls.push(`${slot}:${job.job.batch}`);
      jobInputs.push(job);
      if (failOn && failOn.slot === slot && failOn.batch === job.job.batch) throw failOn.error;
    });
  const actor = createActor(
    stageMachine.provide({ actions: { awaitInput: fake('awaitInput'), work: fake('work') } }),
    { input },
  );
  const states: string[] = [];
  actor.subscribe((s) => {
    const v = valuePath(s.value);
    if (states.at(-1) !== v) states.push(v);
  });
  actor.start();
  return { actor, calls, jobInputs, states };
}

const idleAndEmpty = (s: { value: unknown; context: { queue: unknown[] } }) =>
  s.value === 'idle' && s.context.queue.length === 0;

describe('stage machine', () => {
  it('runs jobs FIFO, one at a time: awaitInput then work, job after job', async () => {
    const { actor, calls, jobInputs, states } = recordedStage();
    actor.send(submit(0));
    actor.send(submit(1));
    actor.send(submit(2));
    expect(actor.getSnapshot().context.queue.map((j) => j.batch)).toEqual([0, 1, 2]);
    const end = await waitFor(actor, (s) => idleAndEmpty(s) && s.context.jobsDone === 3);
    expect(calls).toEqual([
      'awaitInput:0',
      'work:0',
      'awaitInput:1',
      'work:1',
      'awaitInput:2',
      'work:2',
    ]);
    expect(jobInputs[0]).toEqual({
      rank: 1,
      stage: 'copy',
      job: { batch: 0, payload: { tag: 'b0' } },
    });
    expect(end.context.error).toBeUndefined();
    // idle → awaitingBatch → busy, then straight on to the next job's awaitingBatch, then idle.
    expect(states).toEqual([
      'idle',
      'awaitingBatch',
      'busy',
      'awaitingBatch',
      'busy',
      'awaitingBatch',
      'busy',
      'idle',
    ]);
    actor.stop();
  });

  it('a job whose input is already there skips awaitingBatch; the next one without waits again', async () => {
    const { actor, calls, states } = recordedStage();
    actor.send({ type: 'SUBMIT', job: { batch: 0, inputReady: true } });
    actor.send(submit(1));
    await waitFor(actor, (s) => idleAndEmpty(s) && s.context.jobsDone === 2);
    expect(calls).toEqual(['work:0', 'awaitInput:1', 'work:1']);
    expect(states).toEqual(['idle', 'busy', 'awaitingBatch', 'busy', 'idle']);
    actor.stop();
  });

  it('a job submitted while busy waits for the one in progress (pure transition)', () => {
    const d = new PureDriver(stageMachine, input, () => undefined); // children left running
    d.send(submit(7));
    expect(d.value).toBe('awaitingBatch');
    d.send(submit(8));
    expect(d.snapshot.context.queue.map((j) => j.batch)).toEqual([7, 8]);
    d.resolve('awaitInput');
    expect(d.value).toBe('busy');
    expect(d.spawned.at(-1)).toMatchObject({ src: 'work', input: { job: { batch: 7 } } });
    d.resolve('work');
    // Work done with a job queued: on to that job, no pass through idle.
    expect(d.trace.slice(-2)).toEqual(['busy', 'awaitingBatch']);
    expect(d.snapshot.context).toMatchObject({ jobsDone: 1, queue: [{ batch: 8 }] });
    expect(d.spawned.at(-1)).toMatchObject({ src: 'awaitInput', input: { job: { batch: 8 } } });
  });

  for (const slot of ['awaitInput', 'work'] as const) {
    it(`an error in ${slot} → failed with the error; RESET clears the queue and the stage runs again`, async () => {
      const error = new Error(`${slot} of batch 1 failed on stream memcpy`);
      const { actor, calls } = recordedStage({ slot, batch: 1, error });
      actor.send(submit(0));
      actor.send(submit(1));
      actor.send(submit(2));
      const failed = await waitFor(actor, (s) => s.value === 'failed');
      expect(failed.context.error).toBe(error);
      expect(failed.context.jobsDone).toBe(1);
      expect(calls).not.toContain('awaitInput:2');
      actor.send(submit(3)); // queued, not run, while failed
      expect(actor.getSnapshot().value).toBe('failed');
      actor.send({ type: 'RESET' });
      const reset = actor.getSnapshot();
      expect(reset.value).toBe('idle');
      expect(reset.context).toMatchObject({ queue: [], error: undefined, jobsDone: 1 });
      actor.send(submit(4));
      await waitFor(actor, (s) => idleAndEmpty(s) && s.context.jobsDone === 2);
      expect(calls.slice(-2)).toEqual(['awaitInput:4', 'work:4']);
      expect(calls).not.toContain('awaitInput:3');
      actor.stop();
    });
  }

  it('RESET outside failed is ignored', () => {
    const d = new PureDriver(stageMachine, input, () => undefined);
    d.send(submit(0)).send({ type: 'RESET' });
    expect(d.value).toBe('awaitingBatch');
    expect(d.snapshot.context.queue).toHaveLength(1);
  });
});
