/**
 * Whole-model parity: the reference DLRM (8 tables × 100k × 16, MLPs 512-256-16 /
 * 512-256-1, batch 512, SGD) trained 20 steps with its matMuls on OpenBLAS and on tfjs's
 * stock wasm kernels agrees to ≤ 1e-5 relative (L2) in every parameter tensor; and two
 * OpenBLAS runs with the same options are bitwise equal.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../src/runtime/tfjs-backend.ts';
import { blasKernelCalls } from '../../../src/runtime/dense-math/blas-kernels.ts';
import { initDenseMath } from '../../../src/runtime/dense-math/dense-math.ts';
import type { DenseMathChoice } from '../../../src/protocol/index.ts';
import { referenceDlrmConfig } from '../../../src/models/dlrm-config.ts';
import { SyntheticClickLog } from '../../../src/data/synthetic.ts';
import { allParams, buildCluster } from '../../pipeline/fixtures.ts';
import { blasSkipReason } from './blas-available.ts';

const skip = blasSkipReason();
const STEPS = 20;
const BATCH = 512;

async function train(choice: DenseMathChoice): Promise<{
  params: Record<string, Float32Array>;
  initial: Record<string, Float32Array>;
  losses: number[];
  blasCalls: number;
}> {
  expect(initDenseMath(choice).engine).toBe(choice);
  const config = referenceDlrmConfig();
  const { ranks } = buildCluster('sparseDist', 1, config);
  const [rank] = ranks;
  const initial = allParams(rank);
  const data = new SyntheticClickLog({
    seed: 5,
    denseDim: config.denseIn,
    features: config.tables.flatMap((t) => t.features.map((key) => ({ key, rows: t.rows }))),
  });
  const before = blasKernelCalls();
  const losses: number[] = [];
  for await (const out of rank.pipeline.run(data.batches(BATCH, { count: STEPS })))
    losses.push(out.loss);
  const after = blasKernelCalls();
  const blasCalls =
    after.BatchMatMul.blas -
    before.BatchMatMul.blas +
    after._FusedMatMul.blas -
    before._FusedMatMul.blas;
  const params = allParams(rank);
  rank.pipeline.dispose();
  rank.dense.dispose();
  rank.model.dispose();
  return { params, initial, losses, blasCalls };
}

function relL2(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
}

describe.skipIf(skip !== null)(
  `reference DLRM, blas vs wasm${skip ? ` — SKIPPED: ${skip}` : ''}`,
  () => {
    beforeAll(async () => {
      tf.env().set('IS_TEST', true);
      await initBackend('wasm', { denseMath: 'blas' });
    });

    it(`${STEPS} steps agree to 1e-5 relative in every parameter; blas is deterministic`, async () => {
      const blas = await train('blas');
      const wasm = await train('wasm');
      expect(blas.losses).toHaveLength(STEPS);
      expect(blas.blasCalls).toBeGreaterThanOrEqual(STEPS * 6); // every layer's forward at least
      expect(wasm.blasCalls).toBe(0);
      const names = Object.keys(wasm.params);
      expect(Object.keys(blas.params)).toEqual(names);
      expect(names.length).toBe(12 + 8);
      const report: string[] = [];
      for (const name of names) {
        // not vacuous: training moved every parameter tensor
        expect(relL2(wasm.params[name], wasm.initial[name]), `${name} trained`).toBeGreaterThan(
          1e-7,
        );
        const rel = relL2(blas.params[name], wasm.params[name]);
        report.push(`${name} ${rel.toExponential(2)}`);
        expect(rel, name).toBeLessThanOrEqual(1e-5);
      }
      console.log(
        `blas vs wasm, relative L2 per parameter after ${STEPS} steps:\n  ${report.join('\n  ')}`,
      );
      for (let i = 0; i < STEPS; i++)
        expect(Math.abs(blas.losses[i] - wasm.losses[i])).toBeLessThan(1e-5);

      const again = await train('blas');
      expect(again.losses).toEqual(blas.losses);
      for (const name of names)
        expect(
          Buffer.from(again.params[name].buffer).equals(Buffer.from(blas.params[name].buffer)),
          name,
        ).toBe(true);
    });
  },
);
