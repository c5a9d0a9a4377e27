import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { OpLog } from '../../src/runtime/op-log.ts';
import { BackendUnavailableError, initBackend } from '../../src/runtime/tfjs-backend.ts';
import { TfjsDevice } from '../../src/runtime/tfjs-device.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('TfjsDevice (logical streams on the wall clock)', () => {
  it('runs ops FIFO per stream and honours waits', async () => {
    const device = new TfjsDevice({ opLog: new OpLog() });
    const order: string[] = [];
    const slowCopy = deferred();
    const copy = device.run('memcpy', { kind: 'copy', label: 'copy' }, async () => {
      await slowCopy.promise;
      order.push('copy');
      return { copied: true };
    });
    device.waitStream('default', 'memcpy');
    const fwd = device.run('default', { kind: 'forward', label: 'fwd' }, () => order.push('fwd'));
    const other = device.run('dataDist', { kind: 'distSplits', label: 'splits' }, () =>
      order.push('splits'),
    );
    await other;
    expect(order).toEqual(['splits']);
    slowCopy.resolve();
    await Promise.all([copy, fwd]);
    expect(order).toEqual(['splits', 'copy', 'fwd']);
    expect(device.producerOf(await copy)).toEqual({ stream: 'memcpy', seq: 0, label: 'copy' });
    expect(device.opLog?.entries.filter((e) => e.phase === 'end').map((e) => e.label)).toEqual([
      'splits',
      'copy',
      'fwd',
    ]);
  });

  it('an after promise gates the start; the hazard checker works the same', async () => {
    const device = new TfjsDevice();
    const gate = deferred();
    let started = false;
    const op = device.run('default', { kind: 'forward' }, () => (started = true), {
      after: [gate.promise],
    });
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(false);
    gate.resolve();
    await op;
    const value = await device.run('memcpy', { kind: 'copy', label: 'copy b1' }, () => ({}));
    await device.run('default', { kind: 'forward' }, () => 0, { uses: [value] });
    expect(device.hazards.map((h) => h.value)).toEqual(['copy b1']);
    expect(device.kind).toBe('tfjs');
    expect(device.opLog).toBeUndefined();
  });
});

describe('initBackend', () => {
  it('activates wasm by default and cpu on request', async () => {
    expect(await initBackend()).toBe('wasm');
    expect(tf.add(tf.tensor1d([1, 2]), 1).dataSync()).toEqual(Float32Array.from([2, 3]));
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('gpu without @tensorflow/tfjs-node-gpu fails telling what to install', async () => {
    const attempt = initBackend('gpu');
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initBackend('gpu')).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu/);
  });

  it('rejects an unknown backend name', async () => {
    await expect(initBackend('webgpu' as never)).rejects.toThrow(/unknown backend "webgpu"/);
  });
});
