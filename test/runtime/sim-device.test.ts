import { describe, expect, it } from 'vitest';
import { CostModel } from '../../src/runtime/sim/cost-model.ts';
import { SimDevice } from '../../src/runtime/sim/sim-device.ts';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';

const costs = new CostModel({
  overrides: { copy: 2, forward: 3, backward: 4, distSplits: 1, distData: 5 },
});

function setupDevice() {
  const scheduler = new SimScheduler();
  const device = new SimDevice({ rank: 0, scheduler, costModel: costs });
  return { scheduler, device };
}

describe('SimDevice streams', () => {
  it('ops on two streams issued together overlap: finish at max, not sum', async () => {
    const { scheduler, device } = setupDevice();
    const copy = device.run('memcpy', { kind: 'copy' }, () => scheduler.now());
    const fwd = device.run('default', { kind: 'forward' }, () => scheduler.now());
    expect(await copy).toBe(0);
    expect(await fwd).toBe(0);
    await device.synchronize();
    expect(scheduler.now()).toBe(3);
  });

  it('ops on one stream run FIFO: finish at the sum', async () => {
    const { scheduler, device } = setupDevice();
    const starts: number[] = [];
    const a = device.run('default', { kind: 'forward' }, () => starts.push(scheduler.now()));
    const b = device.run('default', { kind: 'backward' }, () => starts.push(scheduler.now()));
    await Promise.all([a, b]);
    expect(starts).toEqual([0, 3]);
    expect(scheduler.now()).toBe(7);
  });

  it('record + wait orders an op after another stream', async () => {
    const { scheduler, device } = setupDevice();
    void device.run('memcpy', { kind: 'copy' }, () => undefined);
    device.wait('default', device.record('memcpy'));
    const start = await device.run('default', { kind: 'forward' }, () => scheduler.now());
    expect(start).toBe(2);
    expect(scheduler.now()).toBe(5);
  });

  it('a wait only affects ops issued after it', async () => {
    const { scheduler, device } = setupDevice();
    void device.run('memcpy', { kind: 'copy' }, () => undefined);
    const early = device.run('default', { kind: 'forward' }, () => scheduler.now());
    device.waitStream('default', 'memcpy');
    const late = device.run('default', { kind: 'backward' }, () => scheduler.now());
    expect(await early).toBe(0);
    expect(await late).toBe(3); // after fwd (3) which is after copy (2)
  });

  it('waitStream covers ops issued before it, not after', async () => {
    const { scheduler, device } = setupDevice();
    void device.run('memcpy', { kind: 'copy' }, () => undefined); // 0..2
    device.waitStream('dataDist', 'memcpy');
    void device.run('memcpy', { kind: 'copy' }, () => undefined); // 2..4, not waited for
    const start = await device.run('dataDist', { kind: 'distSplits' }, () => scheduler.now());
    expect(start).toBe(2);
  });

  it('waits are transitive through recorded events', async () => {
    const { scheduler, device } = setupDevice();
    void device.run('memcpy', { kind: 'copy' }, () => undefined); // 0..2
    device.waitStream('dataDist', 'memcpy');
    void device.run('dataDist', { kind: 'distSplits' }, () => undefined); // 2..3
    device.waitStream('default', 'dataDist');
    const start = await device.run('default', { kind: 'forward' }, () => scheduler.now());
    expect(start).toBe(3);
  });

  it('an `after` promise delays the start', async () => {
    const { scheduler, device } = setupDevice();
    const gate = scheduler.sleep(10);
    const start = await device.run('default', { kind: 'forward' }, () => scheduler.now(), {
      after: [gate],
    });
    expect(start).toBe(10);
    expect(scheduler.now()).toBe(13);
  });

  it('an async fn awaiting a virtual timer extends the op', async () => {
    const { scheduler, device } = setupDevice();
    const r = device.run('dataDist', { kind: 'distData' }, async () => {
      await scheduler.sleep(7); // e.g. a collective
      return scheduler.now();
    });
    const next = device.run('dataDist', { kind: 'distSplits' }, () => scheduler.now());
    expect(await r).toBe(7);
    expect(await next).toBe(12); // 7 + distData 5
  });

  it('a throwing op rejects at once and the stream stays usable', async () => {
    const { scheduler, device } = setupDevice();
    const bad = device.run('default', { kind: 'forward', label: 'bad' }, () => {
      throw new Error('kernel failed');
    });
    const ev = device.record('default');
    const good = device.run('default', { kind: 'forward', label: 'good' }, () => scheduler.now());
    await expect(bad).rejects.toThrow('kernel failed');
    expect(await good).toBe(0); // the failed op charged no time
    await ev.done;
    expect(device.opLog?.entries.map((e) => `${e.label}:${e.phase}@${e.t}`)).toEqual([
      'bad:start@0',
      'bad:fail@0',
      'good:start@0',
      'good:end@3',
    ]);
  });

  it('a rejected `after` promise fails the op and the stream moves on', async () => {
    const { device } = setupDevice();
    const failed = device.run('memcpy', { kind: 'copy' }, () => 1, {
      after: [Promise.reject(new Error('upstream'))],
    });
    await expect(failed).rejects.toThrow('upstream');
    expect(await device.run('memcpy', { kind: 'copy' }, () => 2)).toBe(2);
  });

  it('events report the last covered sequence number and resolve when reached', async () => {
    const { scheduler, device } = setupDevice();
    expect(device.record('memcpy').seq).toBe(-1);
    void device.run('memcpy', { kind: 'copy' }, () => undefined);
    void device.run('memcpy', { kind: 'copy' }, () => undefined);
    const ev = device.record('memcpy');
    expect(ev.seq).toBe(1);
    await ev.done;
    expect(scheduler.now()).toBe(4);
  });

  it('tags object results with their producer without enumerable mutation', async () => {
    const { device } = setupDevice();
    const plain = await device.run('memcpy', { kind: 'copy', label: 'copy b0' }, () => ({ x: 1 }));
    expect(device.producerOf(plain)).toEqual({ stream: 'memcpy', seq: 0, label: 'copy b0' });
    expect((plain as { producer?: unknown }).producer).toEqual({
      stream: 'memcpy',
      seq: 0,
      label: 'copy b0',
    });
    expect(Object.keys(plain)).toEqual(['x']);
    const frozen = await device.run('default', { kind: 'forward' }, () => Object.freeze({ y: 2 }));
    expect(device.producerOf(frozen)).toEqual({ stream: 'default', seq: 0 });
    expect(device.producerOf(42)).toBeUndefined();
  });

  it('rejects an unknown stream name clearly', () => {
    const { device } = setupDevice();
    expect(() => device.run('gpu0' as never, { kind: 'copy' }, () => 1)).toThrow(
      /unknown stream "gpu0"/,
    );
  });

  it('several devices share one scheduler', async () => {
    const scheduler = new SimScheduler();
    const d0 = new SimDevice({ rank: 0, scheduler, costModel: costs });
    const d1 = new SimDevice({
      rank: 1,
      scheduler,
      costModel: new CostModel({ overrides: { forward: 10 } }),
    });
    await Promise.all([
      d0.run('default', { kind: 'forward' }, () => 0),
      d1.run('default', { kind: 'forward' }, () => 0),
    ]);
    expect(scheduler.now()).toBe(10);
  });
});
