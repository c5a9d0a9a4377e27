/**
 * A rank reading its data file in wall-clock time must not let virtual time run: with
 * `heldBatches(…, scheduler.hold)` a collective's 30,000-virtual-ms timeout cannot fire
 * while a pull is still waiting on real I/O (here a real 50 ms timer stands in for the disk).
 */
import { describe, expect, it } from 'vitest';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';
import { heldBatches } from '../../src/cli/rank-data.ts';

async function* slowReader(): AsyncGenerator<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50)); // wall-clock I/O
    yield i;
  }
}

async function pullAll(source: AsyncIterable<number>, scheduler: SimScheduler) {
  let timedOutAt: number | null = null;
  scheduler.setTimeout(() => (timedOutAt = scheduler.now()), 30_000); // another rank's collective timeout
  const seen: Array<{ value: number; t: number; timedOut: boolean }> = [];
  for await (const value of source)
    seen.push({ value, t: scheduler.now(), timedOut: timedOutAt !== null });
  return seen;
}

describe('heldBatches', () => {
  it('freezes virtual time while a pull waits on real I/O', async () => {
    const scheduler = new SimScheduler();
    const seen = await pullAll(
      heldBatches(slowReader(), (p) => scheduler.hold(p)),
      scheduler,
    );
    expect(seen).toEqual([
      { value: 0, t: 0, timedOut: false },
      { value: 1, t: 0, timedOut: false },
      { value: 2, t: 0, timedOut: false },
    ]);
  });

  it('without it, the timeout fires while the first pull is still reading (the old flake)', async () => {
    const scheduler = new SimScheduler();
    const seen = await pullAll(slowReader(), scheduler);
    expect(seen[0]).toEqual({ value: 0, t: 30_000, timedOut: true });
  });

  it('closes the source when the consumer stops early, also held', async () => {
    const scheduler = new SimScheduler();
    let closed = false;
    async function* source() {
      try {
        yield 1;
        yield 2;
      } finally {
        closed = true;
      }
    }
    for await (const v of heldBatches(source(), (p) => scheduler.hold(p))) if (v === 1) break;
    expect(closed).toBe(true);
  });
});
