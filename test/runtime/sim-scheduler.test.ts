import { describe, expect, it } from 'vitest';
import { createActor, setup } from 'xstate';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';

describe('SimScheduler', () => {
  it('fires timers in (time, creation) order and sets now() to each timer time', async () => {
    const s = new SimScheduler();
    const seen: string[] = [];
    s.setTimeout(() => seen.push(`b@${s.now()}`), 10);
    s.setTimeout(() => seen.push(`a@${s.now()}`), 5);
    s.setTimeout(() => seen.push(`c@${s.now()}`), 10);
    s.setTimeout(() => seen.push(`d@${s.now()}`), 0);
    await s.runUntilIdle();
    expect(seen).toEqual(['d@0', 'a@5', 'b@10', 'c@10']);
    expect(s.now()).toBe(10);
  });

  it('advances by itself: awaiting a virtual sleep needs no pumping', async () => {
    const s = new SimScheduler();
    await s.sleep(25);
    expect(s.now()).toBe(25);
    await Promise.all([s.sleep(3), s.sleep(7)]);
    expect(s.now()).toBe(32);
  });

  it('lets a microtask chain settle before advancing', async () => {
    const s = new SimScheduler();
    const order: string[] = [];
    s.setTimeout(() => order.push(`late@${s.now()}`), 1);
    // a long promise chain that schedules a timer at t=0 only at its end
    let p = Promise.resolve();
    for (let i = 0; i < 50; i++) p = p.then(() => undefined);
    void p.then(() => s.setTimeout(() => order.push(`chain@${s.now()}`), 0));
    await s.runUntilIdle();
    expect(order).toEqual(['chain@0', 'late@1']);
  });

  it('clearTimeout cancels; unknown ids are ignored', async () => {
    const s = new SimScheduler();
    const seen: number[] = [];
    const id = s.setTimeout(() => seen.push(1), 5);
    s.setTimeout(() => seen.push(2), 6);
    s.clearTimeout(id);
    s.clearTimeout(12345);
    s.clearTimeout(undefined);
    await s.runUntilIdle();
    expect(seen).toEqual([2]);
    expect(s.pendingTimers).toBe(0);
  });

  it('an Infinity timeout never fires and does not keep it busy', async () => {
    const s = new SimScheduler();
    let fired = false;
    s.setTimeout(() => (fired = true), Infinity);
    await s.runUntilIdle();
    expect(fired).toBe(false);
    expect(s.now()).toBe(0);
  });

  it('hold stops time until the held promise settles', async () => {
    const s = new SimScheduler();
    let release!: (v: string) => void;
    const real = new Promise<string>((r) => (release = r));
    const held = s.hold(real);
    const slept = s.sleep(10).then(() => s.now());
    // give the driver many turns: time must not move while held
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(s.now()).toBe(0);
    expect(s.pendingHolds).toBe(1);
    release('data');
    expect(await held).toBe('data');
    expect(await slept).toBe(10);
  });

  it('hold passes rejections through and still releases time', async () => {
    const s = new SimScheduler();
    await expect(s.hold(Promise.reject(new Error('io failed')))).rejects.toThrow('io failed');
    await s.sleep(4);
    expect(s.now()).toBe(4);
  });

  it('manual mode: advanceTo fires due timers and stops at the target', async () => {
    const s = new SimScheduler({ autoAdvance: false });
    const seen: number[] = [];
    s.setTimeout(() => seen.push(s.now()), 5);
    s.setTimeout(() => seen.push(s.now()), 10);
    s.setTimeout(() => seen.push(s.now()), 15);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    await s.advanceTo(10);
    expect(seen).toEqual([5, 10]);
    expect(s.now()).toBe(10);
    await s.advanceTo(12);
    expect(s.now()).toBe(12);
    await s.runUntilIdle();
    expect(seen).toEqual([5, 10, 15]);
  });

  it('a throwing timer rejects runUntilIdle and reaches onError', async () => {
    const errors: unknown[] = [];
    const s = new SimScheduler({ autoAdvance: false, onError: (e) => errors.push(e) });
    s.setTimeout(() => {
      throw new Error('boom');
    }, 1);
    await expect(s.runUntilIdle()).rejects.toThrow('boom');
    expect(errors).toHaveLength(1);
  });

  it('drives an XState actor: a delayed transition fires at the right virtual time', async () => {
    const s = new SimScheduler();
    const machine = setup({}).createMachine({
      initial: 'waiting',
      states: { waiting: { after: { 1500: 'done' } }, done: { type: 'final' } },
    });
    const actor = createActor(machine, { clock: s }).start();
    const doneAt = await new Promise<number>((resolve) => {
      actor.subscribe((snap) => {
        if (snap.value === 'done') resolve(s.now());
      });
    });
    expect(doneAt).toBe(1500);
  });

  it('coalesce: same-instant timers fire in one turn, still in creation order', async () => {
    const s = new SimScheduler({ coalesce: true });
    const seen: string[] = [];
    s.setTimeout(() => {
      seen.push('a');
      void Promise.resolve().then(() => seen.push('a-continuation'));
    }, 5);
    s.setTimeout(() => seen.push('b'), 5);
    s.setTimeout(() => seen.push('c'), 6);
    await s.runUntilIdle();
    expect(seen).toEqual(['a', 'b', 'a-continuation', 'c']);
  });

  it('is deterministic: same program, same times', async () => {
    async function program(): Promise<string> {
      const s = new SimScheduler();
      const log: string[] = [];
      const worker = async (name: string, steps: number[]) => {
        for (const d of steps) {
          await s.sleep(d);
          log.push(`${name}@${s.now()}`);
        }
      };
      await Promise.all([worker('a', [3, 3, 0, 1]), worker('b', [2, 4, 1]), worker('c', [6, 0])]);
      return log.join(',');
    }
    expect(await program()).toBe(await program());
  });
});
