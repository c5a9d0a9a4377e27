import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Device, OpCost, StreamName, StreamTagged } from '../../src/protocol/index.ts';
import { Batch, KeyedJaggedTensor } from '../../src/tensors/index.ts';
import { batchArb } from './arbitraries.ts';

/** A device that records what it was asked to do and runs ops immediately. */
function recordingDevice() {
  const runs: Array<{ stream: StreamName; cost: OpCost }> = [];
  const recorded: Array<{ value: StreamTagged; stream: StreamName }> = [];
  const device = {
    kind: 'sim',
    rank: 0,
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
    run: async <T>(stream: StreamName, cost: OpCost, fn: () => T | Promise<T>) => {
      runs.push({ stream, cost });
      return fn();
    },
    record: () => ({ stream: 'default', seq: -1, done: Promise.resolve() }),
    wait: () => {},
    waitStream: () => {},
    recordStream: (value: StreamTagged, stream: StreamName) => recorded.push({ value, stream }),
    synchronize: async () => {},
  } satisfies Device;
  return { device, runs, recorded };
}

const small = () =>
  new Batch({
    dense: Float32Array.from([1, 2, 3, 4, 5, 6]),
    denseDim: 2,
    sparse: new KeyedJaggedTensor({
      keys: ['a'],
      values: Int32Array.from([7, 8]),
      lengths: Int32Array.from([1, 0, 1]),
    }),
    labels: Float32Array.from([0, 1, 0]),
  });

describe('Batch', () => {
  it('to() issues one copy op of byteSize bytes and resolves with a deep copy', async () => {
    const { device, runs } = recordingDevice();
    const b = small();
    const copy = await b.to(device, 'memcpy', 'copy batch 4');
    expect(runs).toEqual([
      { stream: 'memcpy', cost: { kind: 'copy', bytes: b.byteSize(), label: 'copy batch 4' } },
    ]);
    expect(b.byteSize()).toBe(6 * 4 + 3 * 4 + (2 + 3) * 4);
    expect(copy).toBeInstanceOf(Batch);
    expect(copy).not.toBe(b);
    expect(copy.dense).not.toBe(b.dense);
    expect(copy.sparse.values).not.toBe(b.sparse.values);
    expect(copy.equals(b)).toBe(true);
    expect(copy.producer).toBeUndefined();
  });

  it('recordStream hands the batch to the device', () => {
    const { device, recorded } = recordingDevice();
    const b = small();
    b.recordStream(device, 'default');
    expect(recorded).toEqual([{ value: b, stream: 'default' }]);
  });

  it('sliceSamples takes dense rows, labels and sparse rows', () => {
    const s = small().sliceSamples(1, 3);
    expect(s.batchSize).toBe(2);
    expect(Array.from(s.dense)).toEqual([3, 4, 5, 6]);
    expect(Array.from(s.labels)).toEqual([1, 0]);
    expect(Array.from(s.sparse.values)).toEqual([8]);
    expect(() => small().sliceSamples(2, 4)).toThrow(
      'sliceSamples(2, 4) is not a valid range of the 3 samples',
    );
  });

  it('Batch.from turns plain batch data into a Batch', () => {
    const b = small();
    const plain = {
      dense: b.dense,
      denseDim: 2,
      labels: b.labels,
      batchSize: 3,
      sparse: { keys: ['a'], values: b.sparse.values, lengths: b.sparse.lengths },
    };
    const made = Batch.from(plain);
    expect(made).toBeInstanceOf(Batch);
    expect(made.sparse).toBeInstanceOf(KeyedJaggedTensor);
    expect(made.equals(b)).toBe(true);
    expect(Batch.from(b)).toBe(b);
  });

  it('sliceSamples then concatSamples round-trips (property)', () => {
    const arb = batchArb().chain((batch) =>
      fc.array(fc.integer({ min: 0, max: batch.batchSize }), { maxLength: 3 }).map((cuts) => ({
        batch,
        bounds: [0, ...cuts.sort((a, b) => a - b), batch.batchSize],
      })),
    );
    fc.assert(
      fc.property(arb, ({ batch, bounds }) => {
        const parts = bounds.slice(1).map((end, i) => batch.sliceSamples(bounds[i], end));
        expect(Batch.concatSamples(parts).equals(batch)).toBe(true);
      }),
    );
  });
});
