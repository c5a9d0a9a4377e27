import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CombinedOptimizer, type StepOptimizer } from '../../src/optim/combined-optimizer.ts';
import { SGD } from '../../src/optim/dense-optimizer.ts';
import { GradScaler } from '../../src/optim/grad-scaler.ts';
import { useWasm } from '../modules/dense/use-wasm.ts';

/** A sparse optimizer stand-in that logs its calls. */
class FakeSparse implements StepOptimizer {
  calls: string[] = [];
  state = { rows: 3 };
  constructor(
    private readonly log: string[],
    private readonly name: string,
    public nonFinite = false,
  ) {}
  zeroGrad(): void {
    this.log.push(`${this.name}.zeroGrad`);
  }
  async step(scale: number): Promise<void> {
    this.log.push(`${this.name}.step(${scale})`);
  }
  hasNonFiniteGrads(): boolean {
    return this.nonFinite;
  }
  exportState(): { rows: number } {
    return { ...this.state };
  }
  importState(s: { rows: number }): void {
    this.state = { ...s };
  }
}

describe('CombinedOptimizer', () => {
  beforeAll(useWasm);

  it('zeroes and steps every part in order, with the same scale', async () => {
    const log: string[] = [];
    const w = tf.variable(tf.tensor1d([1]));
    const dense = new SGD([['w', w]], { lr: 1 });
    const combined = new CombinedOptimizer({
      dense,
      sparse: { ebc: new FakeSparse(log, 'ebc'), ec: new FakeSparse(log, 'ec') },
    });
    expect(combined.names).toEqual(['dense', 'sparse.ebc', 'sparse.ec']);
    const g = tf.tensor1d([2]);
    dense.accumulate({ w: g });
    await combined.step(0.25);
    expect(w.dataSync()[0]).toBe(0.5);
    await combined.zeroGrad();
    expect(log).toEqual(['ebc.step(0.25)', 'ec.step(0.25)', 'ebc.zeroGrad', 'ec.zeroGrad']);
    g.dispose();
    dense.dispose();
    w.dispose();
  });

  it('a GradScaler skips every part when any sparse part reports inf/NaN', async () => {
    const log: string[] = [];
    const w = tf.variable(tf.tensor1d([1]));
    const dense = new SGD([['w', w]], { lr: 1 });
    const sparse = new FakeSparse(log, 'ebc', true);
    const combined = new CombinedOptimizer({ dense, sparse: [sparse] });
    const g = tf.tensor1d([2]);
    dense.accumulate({ w: g });
    const scaler = new GradScaler({ initScale: 4 });
    expect(await scaler.stepAndUpdate(combined)).toEqual({
      skipped: true,
      scale: 2,
      change: 'backedOff',
    });
    expect(w.dataSync()[0]).toBe(1);
    expect(log).toEqual(['ebc.zeroGrad']);
    g.dispose();
    dense.dispose();
    w.dispose();
  });

  it('exports and imports every part by name', () => {
    const w = tf.variable(tf.tensor1d([1]));
    const dense = new SGD([['w', w]], { lr: 0.1 });
    const sparse = new FakeSparse([], 'ebc');
    const combined = new CombinedOptimizer({ dense, sparse: { ebc: sparse } });
    const state = combined.exportState();
    expect(Object.keys(state)).toEqual(['dense', 'sparse.ebc']);
    sparse.state = { rows: 0 };
    combined.importState(state);
    expect(sparse.state).toEqual({ rows: 3 });
    expect(() => combined.importState({ ...state, 'sparse.other': {} })).toThrow(
      /part 'sparse.other' that this optimizer does not/,
    );
    expect(() => combined.importState({ dense: state.dense })).toThrow(
      /no entry for part 'sparse.ebc'/,
    );
    expect(() => new CombinedOptimizer({ sparse: { bad: {} as StepOptimizer } })).toThrow(
      /'bad' must have step\(scale\) and zeroGrad\(\)/,
    );
    dense.dispose();
    w.dispose();
  });
});
