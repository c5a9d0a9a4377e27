import { describe, expect, it } from 'vitest';
import { CostModel } from '../../src/runtime/sim/cost-model.ts';
import {
  StreamHazardError,
  describeHazard,
  type StreamHazard,
} from '../../src/runtime/sim/hazard-checker.ts';
import { SimDevice } from '../../src/runtime/sim/sim-device.ts';
import { SimScheduler } from '../../src/runtime/sim/sim-scheduler.ts';

const costs = new CostModel({ overrides: { copy: 2, forward: 3 } });

function copyBatch(device: SimDevice) {
  return device.run('memcpy', { kind: 'copy', label: 'copy b0' }, () => ({ batch: 0 }));
}

describe('stream-hazard checker', () => {
  it('reports a value used on another stream without a wait', async () => {
    const seen: StreamHazard[] = [];
    const scheduler = new SimScheduler();
    const device = new SimDevice({
      rank: 3,
      scheduler,
      costModel: costs,
      onHazard: (h) => seen.push(h),
    });
    const batch = await copyBatch(device);
    await device.run('default', { kind: 'forward', label: 'fwd b0' }, () => 1, { uses: [batch] });
    expect(device.hazards).toEqual([
      {
        value: 'copy b0',
        producer: { stream: 'memcpy', seq: 0, label: 'copy b0' },
        consumer: { stream: 'default', seq: 0, label: 'fwd b0' },
        t: 2,
        rank: 3,
      },
    ]);
    expect(seen).toEqual(device.hazards);
    expect(describeHazard(device.hazards[0])).toMatch(
      /"copy b0" produced on memcpy#0 used on default#0 \("fwd b0"\)/,
    );
  });

  it('host-side awaiting does not count as a stream wait', async () => {
    const device = new SimDevice({ scheduler: new SimScheduler(), costModel: costs });
    const batch = await copyBatch(device);
    await device.synchronize('memcpy');
    await device.run('default', { kind: 'forward' }, () => 1, [batch]);
    expect(device.hazards).toHaveLength(1);
  });

  it('a correct waitStream is not reported', async () => {
    const device = new SimDevice({ scheduler: new SimScheduler(), costModel: costs });
    const pending = copyBatch(device);
    device.waitStream('default', 'memcpy');
    const batch = await pending;
    device.recordStream(batch, 'default');
    await device.run('default', { kind: 'forward' }, () => 1, { uses: [batch] });
    expect(device.hazards).toEqual([]);
    expect([...device.streamsUsing(batch)]).toEqual(['default']);
  });

  it('an event recorded before the producer op does not cover it', async () => {
    const device = new SimDevice({ scheduler: new SimScheduler(), costModel: costs });
    const early = device.record('memcpy');
    const batch = await copyBatch(device);
    device.wait('default', early);
    await device.run('default', { kind: 'forward' }, () => 1, { uses: [batch] });
    expect(device.hazards).toHaveLength(1);
  });

  it('waits are transitive: default waited on dataDist, which waited on memcpy', async () => {
    const device = new SimDevice({ scheduler: new SimScheduler(), costModel: costs });
    const pending = copyBatch(device);
    device.waitStream('dataDist', 'memcpy');
    device.waitStream('default', 'dataDist');
    await device.run('default', { kind: 'forward' }, () => 1, { uses: [await pending] });
    expect(device.hazards).toEqual([]);
  });

  it('same-stream use is never a hazard', async () => {
    const device = new SimDevice({ scheduler: new SimScheduler(), costModel: costs });
    const batch = await copyBatch(device);
    await device.run('memcpy', { kind: 'copy' }, () => 1, { uses: [batch] });
    expect(device.hazards).toEqual([]);
  });

  it("mode 'throw' refuses to issue the op", async () => {
    const device = new SimDevice({
      scheduler: new SimScheduler(),
      costModel: costs,
      hazards: 'throw',
    });
    const batch = await copyBatch(device);
    expect(() =>
      device.run('default', { kind: 'forward', label: 'fwd b0' }, () => 1, { uses: [batch] }),
    ).toThrow(StreamHazardError);
    expect(device.issuedOps('default')).toBe(0);
  });

  it("mode 'off' checks nothing", async () => {
    const device = new SimDevice({
      scheduler: new SimScheduler(),
      costModel: costs,
      hazards: 'off',
    });
    const batch = await copyBatch(device);
    await device.run('default', { kind: 'forward' }, () => 1, { uses: [batch] });
    expect(device.hazards).toEqual([]);
  });
});
