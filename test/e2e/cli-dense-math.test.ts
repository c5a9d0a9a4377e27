/**
 * `--dense-math` through the CLI: for each engine, the sim, threads and mpi backends give
 * the same parameter digest (mpi skipped where Open MPI is absent), a repeated run gives the
 * same digest, and `--json` / the report say which engine ran (library, threads).
 */
import { describe, expect, it } from 'vitest';
import { mpiAvailability } from '../../src/runtime/collectives/mpi/index.ts';
import { runCli, trainSummary, withTmp } from '../cli/run-cli.ts';
import { blasSkipReason } from '../runtime/dense-math/blas-available.ts';

// global batch 256 on 2 ranks: the small DLRM's layers (128 × 13 × 32, …) reach OpenBLAS
const RUN = ['--ranks', '2', '--batch-size', '256', '--held-out-examples', '64', '--batches', '4'];
const mpi = mpiAvailability();
if (!mpi.available) console.log(`MPI dense-math test skipped: ${mpi.reason}`);
const skip = blasSkipReason();

describe('sparsepipe train --dense-math', () => {
  for (const engine of ['blas', 'wasm'] as const) {
    it.skipIf(engine === 'blas' && skip !== null)(
      `${engine}: sim == sim again == threads${mpi.available ? ' == mpi' : ''} (same paramsDigest), and the summary names the engine${engine === 'blas' && skip ? ` — SKIPPED: ${skip}` : ''}`,
      async () => {
        await withTmp(async (dir) => {
          const args = [...RUN, '--dense-math', engine];
          const sim = await trainSummary(dir, 'sim', args);
          const again = await trainSummary(dir, 'again', args);
          const threads = await trainSummary(dir, 'threads', [...args, '--backend', 'threads']);
          expect(sim.denseMath.engine).toBe(engine);
          expect(threads.denseMath.engine).toBe(engine);
          if (engine === 'blas') {
            expect(sim.denseMath).toMatchObject({ requested: 'blas', threads: 1 });
            expect(sim.denseMath.library).toMatch(/^OpenBLAS /);
          }
          expect(again.paramsDigest).toBe(sim.paramsDigest);
          expect(threads.paramsDigest).toBe(sim.paramsDigest);
          if (mpi.available) {
            const viaMpi = await trainSummary(dir, 'mpi', [...args, '--backend', 'mpi']);
            expect(viaMpi.denseMath.engine).toBe(engine);
            expect(viaMpi.paramsDigest).toBe(sim.paramsDigest);
          }
        });
      },
    );
  }

  it.skipIf(skip !== null)('the report says which engine ran; bad values are refused', async () => {
    const ok = await runCli(['train', ...RUN, '--blas-threads', '2']);
    expect(ok.code).toBe(0);
    expect(ok.out.join('\n')).toMatch(
      /dense math {2}blas: OpenBLAS \S+ \(\S+\), 2 threads per rank \(--dense-math auto\)/,
    );
    const bad = await runCli(['train', '--dense-math', 'fast']);
    expect(bad.code).toBe(2);
    expect(bad.err.join('\n')).toMatch(/--dense-math/);
    const cpu = await runCli([
      'train',
      '--device',
      'cpu',
      '--backend',
      'threads',
      '--dense-math',
      'blas',
    ]);
    expect(cpu.code).toBe(2);
    expect(cpu.err.join('\n')).toMatch(/--dense-math blas .* needs --device wasm/);
  });
});
