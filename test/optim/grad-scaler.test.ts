import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SGD } from '../../src/optim/dense-optimizer.ts';
import { GradScaler, hasNonFinite } from '../../src/optim/grad-scaler.ts';
import { useWasm } from '../modules/dense/use-wasm.ts';

describe('hasNonFinite', () => {
  it('finds inf, -inf and NaN anywhere, and nothing in finite arrays', () => {
    expect(hasNonFinite([])).toBe(false);
    expect(hasNonFinite([Float32Array.of(1, -2, 3e38), new Float32Array(0)])).toBe(false);
    expect(hasNonFinite([Float32Array.of(1), Float32Array.of(0, Infinity)])).toBe(true);
    expect(hasNonFinite([Float32Array.of(-Infinity)])).toBe(true);
    expect(hasNonFinite([Float32Array.of(NaN, 1)])).toBe(true);
    fc.assert(
      fc.property(
        fc.array(fc.float({ noDefaultInfinity: true, noNaN: true })),
        (xs) => !hasNonFinite([Float32Array.from(xs)]),
      ),
    );
  });
});

describe('GradScaler', () => {
  beforeAll(useWasm);

  it('has torch defaults', () => {
    const s = new GradScaler();
    expect([s.scale, s.growthFactor, s.backoffFactor, s.growthInterval, s.enabled]).toEqual([
      65536,
      2,
      0.5,
      2000,
      true,
    ]);
  });

  it('backs off on inf/NaN and grows after growthInterval consecutive clean steps', () => {
    const s = new GradScaler({ initScale: 8, growthInterval: 3 });
    expect(s.update(false)).toEqual({ skipped: false, scale: 8, change: 'none' });
    expect(s.update(false).change).toBe('none');
    expect(s.update(true)).toEqual({ skipped: true, scale: 4, change: 'backedOff' }); // resets the count
    expect(s.update(false).scale).toBe(4);
    expect(s.update(false).scale).toBe(4);
    expect(s.update(false)).toEqual({ skipped: false, scale: 8, change: 'grew' });
    expect(s.growthTracker).toBe(0);
  });

  it('an injected inf skips the optimizer step, halves the scale and clears the gradients', async () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const opt = new SGD([['w', w]], { lr: 1 });
    const scaler = new GradScaler({ initScale: 1024 });
    const bad = tf.tensor1d([Infinity, 1]);
    opt.accumulate({ w: bad });
    const r = await scaler.stepAndUpdate(opt);
    expect(r).toEqual({ skipped: true, scale: 512, change: 'backedOff' });
    expect(Array.from(w.dataSync())).toEqual([1, 2]);
    expect(opt.hasGradients).toBe(false);
    expect(opt.stepCount).toBe(0);

    // a clean step: gradients of a loss scaled by 512 are unscaled before the update
    const g = tf.tensor1d([512, 1024]);
    opt.accumulate({ w: g });
    const ok = await scaler.stepAndUpdate(opt, 0.5);
    expect(ok.skipped).toBe(false);
    expect(Array.from(w.dataSync())).toEqual([0.5, 1]);
    tf.dispose([bad, g]);
    opt.dispose();
    w.dispose();
  });

  it('disabled: scale 1, never skips', async () => {
    const w = tf.variable(tf.tensor1d([1]));
    const opt = new SGD([['w', w]], { lr: 1 });
    const scaler = new GradScaler({ enabled: false });
    expect(scaler.scale).toBe(1);
    const g = tf.tensor1d([0.25]);
    opt.accumulate({ w: g });
    expect((await scaler.stepAndUpdate(opt)).skipped).toBe(false);
    expect(w.dataSync()[0]).toBe(0.75);
    tf.dispose([g]);
    opt.dispose();
    w.dispose();
  });

  it('exports and imports its state, validating it', () => {
    const a = new GradScaler({ initScale: 16, growthInterval: 5 });
    a.update(false);
    a.update(true);
    a.update(false);
    const state = a.exportState();
    expect(state).toEqual({
      scale: 8,
      growthFactor: 2,
      backoffFactor: 0.5,
      growthInterval: 5,
      growthTracker: 1,
      enabled: true,
    });
    const b = GradScaler.fromState(state);
    for (const found of [false, false, false, true, false, false, false, false, false])
      expect(b.update(found)).toEqual(a.update(found));
    expect(() => b.importState({ ...state, scale: -1 })).toThrow(
      /scale must be a finite number > 0, got -1/,
    );
    expect(() => new GradScaler({ growthInterval: 0 })).toThrow(
      /growthInterval must be an integer >= 1, got 0/,
    );
    expect(b.exportState()).toEqual(a.exportState());
  });
});
