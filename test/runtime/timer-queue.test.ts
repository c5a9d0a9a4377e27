import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimerQueue, type TimerEntry } from '../../src/runtime/sim/timer-queue.ts';

type Step = { op: 'push'; time: number } | { op: 'cancel'; pick: number } | { op: 'pop' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('push' as const),
      time: fc.integer({ min: 0, max: 20 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('pop' as const) }), weight: 1 },
);

describe('TimerQueue', () => {
  it('pops live timers in (time, creation) order through cancellations and rebuilds', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 600 }), (steps) => {
        const q = new TimerQueue();
        let live: TimerEntry[] = [];
        let seq = 0;
        const earliest = (): TimerEntry | undefined =>
          live.reduce<TimerEntry | undefined>(
            (best, e) =>
              !best || e.time < best.time || (e.time === best.time && e.seq < best.seq) ? e : best,
            undefined,
          );
        for (const s of steps) {
          if (s.op === 'push') {
            const e: TimerEntry = { time: s.time, seq: seq++, fn: () => {}, cancelled: false };
            q.push(e);
            live.push(e);
          } else if (s.op === 'cancel') {
            if (live.length === 0) continue;
            const e = live[s.pick % live.length];
            q.cancel(e);
            live = live.filter((x) => x !== e);
          } else {
            const want = earliest();
            expect(q.pop()).toBe(want);
            live = live.filter((x) => x !== want);
          }
          expect(q.size).toBe(live.length);
        }
        while (live.length > 0) {
          const want = earliest();
          expect(q.pop()).toBe(want);
          live = live.filter((x) => x !== want);
        }
        expect(q.pop()).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the order when most timers are cancelled (the heap is rebuilt)', () => {
    const q = new TimerQueue();
    const entries = Array.from(
      { length: 300 },
      (_, i): TimerEntry => ({ time: (i * 37) % 50, seq: i, fn: () => {}, cancelled: false }),
    );
    for (const e of entries) q.push(e);
    for (const e of entries) if (e.seq % 4 !== 0) q.cancel(e);
    const want = entries
      .filter((e) => e.seq % 4 === 0)
      .sort((a, b) => a.time - b.time || a.seq - b.seq);
    expect(q.size).toBe(want.length);
    expect(Array.from({ length: want.length }, () => q.pop())).toEqual(want);
  });

  it("releases a cancelled timer's callback at once", () => {
    const q = new TimerQueue();
    const fn = (): void => {};
    const e: TimerEntry = { time: 1, seq: 0, fn, cancelled: false };
    q.push(e);
    q.cancel(e);
    expect(e.fn).not.toBe(fn);
    expect(q.size).toBe(0);
  });
});
