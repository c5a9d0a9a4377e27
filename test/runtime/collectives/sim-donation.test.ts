/**
 * Donated sends on the sim backend (`CollectiveOptions.donate`): at world 1 the all-to-all
 * returns the sent array itself — no copy, counted — and without
 * `donate` never does; at world 2 a donated early arrival is not copied, and every rank
 * still receives exactly what the non-donated exchange gives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSimProcessGroups,
  simDonation,
} from '../../../src/runtime/collectives/sim-process-group.ts';
import { SimScheduler } from '../../../src/runtime/sim/sim-scheduler.ts';

afterEach(() => {
  simDonation.enabled = true;
});

function groups(worldSize: number) {
  const scheduler = new SimScheduler();
  return { scheduler, groups: createSimProcessGroups({ worldSize, scheduler }) };
}

describe('sim allToAllV with donated data', () => {
  it('world 1: the result is the sent array itself, counted', async () => {
    const [pg] = groups(1).groups;
    const data = Float32Array.of(1.5, -2, 3);
    const before = simDonation.aliased;
    const got = await pg.allToAllV(data, Int32Array.of(3), Int32Array.of(3), { donate: true });
    expect(got).toBe(data);
    expect(simDonation.aliased).toBe(before + 1);
  });

  it('world 1: donated data with wrong counts is refused as without donate', async () => {
    const [pg] = groups(1).groups;
    const data = Int32Array.of(7, 8, 9, 10);
    await expect(
      pg.allToAllV(data, Int32Array.of(2), Int32Array.of(2), { donate: true }),
    ).rejects.toThrow('sendCounts sum to 2 but data has 4 elements');
  });

  it('world 1 without donate (or with donation switched off): a copy', async () => {
    const [pg] = groups(1).groups;
    const data = Float32Array.of(1, 2);
    const plain = await pg.allToAllV(data, Int32Array.of(2), Int32Array.of(2));
    expect(plain).not.toBe(data);
    expect(plain.buffer).not.toBe(data.buffer);
    expect([...plain]).toEqual([1, 2]);
    simDonation.enabled = false;
    const before = simDonation.aliased;
    const off = await pg.allToAllV(data, Int32Array.of(2), Int32Array.of(2), { donate: true });
    expect(off.buffer).not.toBe(data.buffer);
    expect([...off]).toEqual([1, 2]);
    expect(simDonation.aliased).toBe(before);
  });

  it('world 2: donated and plain exchanges deliver the same values, never the sent arrays', async () => {
    const run = async (donate: boolean) => {
      const { scheduler, groups: pgs } = groups(2);
      const sends = [Float32Array.of(1, 2, 3), Float32Array.of(10, 20, 30, 40)];
      const counts = [Int32Array.of(1, 2), Int32Array.of(3, 1)];
      const recv = [Int32Array.of(1, 3), Int32Array.of(2, 1)];
      const got = await Promise.all(
        pgs.map(async (pg) => {
          // rank 1 arrives late: rank 0's donated data waits in the slot uncopied
          if (pg.rank === 1) await scheduler.sleep(3);
          return pg.allToAllV(sends[pg.rank], counts[pg.rank], recv[pg.rank], { donate });
        }),
      );
      got.forEach((g, r) => expect(g.buffer).not.toBe(sends[r].buffer));
      return got.map((g) => [...g]);
    };
    const donated = await run(true);
    expect(donated).toEqual(await run(false));
    expect(donated).toEqual([
      [1, 10, 20, 30],
      [2, 3, 40],
    ]);
  });
});
