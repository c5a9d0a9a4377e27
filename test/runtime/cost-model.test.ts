import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COST_OVERRIDE_KEYS,
  CostModel,
  CostSpecError,
  formatCostOverrides,
  parseCostOverrides,
  type CostOverrides,
} from '../../src/runtime/sim/cost-model.ts';

describe('CostModel', () => {
  const m = new CostModel({
    latencyMs: 0.5,
    copyBytesPerMs: 100,
    flopsPerMs: 1000,
    alphaMs: 2,
    betaBytesPerMs: 50,
  });

  it('uses the formula for each kind', () => {
    expect(m.duration({ kind: 'copy', bytes: 200 })).toBe(2.5);
    expect(m.duration({ kind: 'forward', flops: 3000 })).toBe(3);
    expect(m.duration({ kind: 'backward', flops: 500 })).toBe(0.5);
    expect(m.duration({ kind: 'optimizer' })).toBe(0);
    expect(m.duration({ kind: 'other', flops: 1000 })).toBe(1);
    // device-side communication ops add nothing: the process group charges the transfer
    for (const kind of ['dist', 'distSplits', 'distData', 'outputDist', 'collective'] as const) {
      expect(m.duration({ kind, bytes: 100 })).toBe(0);
    }
    expect(m.collectiveMs(100)).toBe(4);
    expect(m.collectiveMs(0)).toBe(2);
  });

  it('fixed overrides win; a dist override is split in half between the two phases', () => {
    const o = m.withOverrides({ copy: 7, dist: 5, forward: 3, collective: 0 });
    expect(o.duration({ kind: 'copy', bytes: 1e9 })).toBe(7);
    expect(o.duration({ kind: 'forward', flops: 1e9 })).toBe(3);
    expect(o.duration({ kind: 'dist' })).toBe(5);
    expect(o.duration({ kind: 'distSplits', bytes: 1e6 })).toBe(2.5);
    expect(o.duration({ kind: 'distData', bytes: 1e6 })).toBe(2.5);
    expect(o.collectiveMs(1e9)).toBe(0);
    const explicit = o.withOverrides({ distSplits: 1 });
    expect(explicit.duration({ kind: 'distSplits' })).toBe(1);
    expect(explicit.duration({ kind: 'distData' })).toBe(2.5);
  });

  it('zero() costs nothing', () => {
    const z = CostModel.zero();
    for (const kind of ['copy', 'forward', 'distData', 'collective'] as const)
      expect(z.duration({ kind, bytes: 1e9, flops: 1e9 })).toBe(0);
  });

  it('rejects bad parameters with their name', () => {
    expect(() => new CostModel({ flopsPerMs: 0 })).toThrow(/flopsPerMs/);
    expect(() => new CostModel({ latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => new CostModel({ overrides: { fwd: 1 } as CostOverrides })).toThrow(
      /unknown override "fwd"/,
    );
  });
});

describe('parseCostOverrides / formatCostOverrides', () => {
  it('parses the CLI form with aliases', () => {
    expect(parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1')).toEqual({
      copy: 2,
      dist: 5,
      forward: 3,
      backward: 4,
      optimizer: 1,
    });
    expect(parseCostOverrides(' distSplits = 0.5 , collective=0 ')).toEqual({
      distSplits: 0.5,
      collective: 0,
    });
    expect(parseCostOverrides('')).toEqual({});
  });

  it('names what is wrong', () => {
    expect(() => parseCostOverrides('fwd=3,speed=9')).toThrow(CostSpecError);
    expect(() => parseCostOverrides('fwd=3,speed=9')).toThrow(/unknown key "speed"/);
    expect(() => parseCostOverrides('fwd')).toThrow(/"fwd" is not key=ms/);
    expect(() => parseCostOverrides('fwd=-1')).toThrow(/value of "fwd"/);
    expect(() => parseCostOverrides('fwd=abc')).toThrow(/value of "fwd"/);
    expect(() => parseCostOverrides('fwd=')).toThrow(/value of "fwd"/);
    expect(() => parseCostOverrides('fwd=1,forward=2')).toThrow(/given twice/);
  });

  it('formats with aliases in a fixed order', () => {
    expect(formatCostOverrides({ optimizer: 1, forward: 3, copy: 2 })).toBe('copy=2,fwd=3,opt=1');
    expect(formatCostOverrides({})).toBe('');
  });

  it('format then parse is the identity', () => {
    const overrides = fc.record(
      Object.fromEntries(
        COST_OVERRIDE_KEYS.map((k) => [k, fc.double({ min: 0, max: 1e6, noNaN: true })]),
      ) as Record<(typeof COST_OVERRIDE_KEYS)[number], fc.Arbitrary<number>>,
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(overrides, (o) => {
        expect(parseCostOverrides(formatCostOverrides(o))).toEqual(o);
      }),
    );
  });
});
