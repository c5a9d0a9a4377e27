import { describe, expect, it } from 'vitest';
import { OpLog } from '../../src/runtime/op-log.ts';
import { CostModel } from '../../src/runtime/sim/cost-model.ts';
import { SimDevice } from '../../src/runtime/sim/sim-device.ts';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';

/** A small three-stage pipeline on two ranks sharing one log. */
async function scenario(coalesce = false): Promise<string> {
  const scheduler = new SimScheduler({ coalesce });
  const log = new OpLog();
  const costModel = new CostModel({
    overrides: { copy: 1.5, distSplits: 0.5, distData: 2, forward: 3, backward: 2.25 },
  });
  const devices = [0, 1].map((rank) => new SimDevice({ rank, scheduler, costModel, opLog: log }));
  await Promise.all(
    devices.map(async (d) => {
      for (let b = 0; b < 4; b++) {
        const copied = d.run('memcpy', { kind: 'copy', label: `copy b${b}` }, () => ({ b }));
        d.waitStream('dataDist', 'memcpy');
        void d.run('dataDist', { kind: 'distSplits', label: `splits b${b}` }, async () => {
          await scheduler.sleep(0.25 * (d.rank + 1));
        });
        const data = d.run('dataDist', { kind: 'distData', label: `data b${b}` }, () => b);
        d.waitStream('default', 'dataDist');
        void d.run('default', { kind: 'forward', label: `fwd b${b}` }, () => b, {
          uses: [await copied],
        });
        void d.run('default', { kind: 'backward', label: `bwd b${b}` }, () => b, { after: [data] });
      }
      await d.synchronize();
    }),
  );
  return JSON.stringify(log);
}

describe('op log', () => {
  it('the same scenario run twice gives a byte-identical JSON log', async () => {
    const a = await scenario();
    const b = await scenario();
    expect(a).toBe(b);
    const entries = JSON.parse(a) as { phase: string; rank: number }[];
    expect(entries).toHaveLength(2 * 4 * 5 * 2);
    expect(Object.keys(entries[0])).toEqual([
      't',
      'rank',
      'stream',
      'seq',
      'phase',
      'kind',
      'label',
    ]);
  });

  it('is byte-identical across runs with a coalescing scheduler too', async () => {
    expect(await scenario(true)).toBe(await scenario(true));
  });

  it('listeners see entries; keep=false keeps none', async () => {
    const log = new OpLog(false);
    const seen: string[] = [];
    const stop = log.subscribe((e) => seen.push(`${e.phase}:${e.label}@${e.t}`));
    const d = new SimDevice({
      scheduler: new SimScheduler(),
      costModel: new CostModel({ overrides: { copy: 1 } }),
      opLog: log,
    });
    await d.run('memcpy', { kind: 'copy', label: 'c' }, () => 0);
    stop();
    await d.run('memcpy', { kind: 'copy', label: 'd' }, () => 0);
    expect(seen).toEqual(['start:c@0', 'end:c@1']);
    expect(log.entries).toEqual([]);
  });
});
