/**
 * Real ranks through the CLI: `--backend threads` (worker threads) and `--backend mpi`
 * (mpirun processes; skipped where Open MPI is absent) train exactly like the simulated
 * cluster — the same parameter digest — and resume from a checkpoint written by the sim
 * backend.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mpiAvailability } from '../../src/runtime/collectives/mpi/index.ts';
import { trainSummary, withTmp } from '../cli/run-cli.ts';

const RUN = [
  '--ranks',
  '2',
  '--batch-size',
  '32',
  '--held-out-examples',
  '64',
  '--grad-accum',
  '2',
];
const mpi = mpiAvailability();
if (!mpi.available) console.log(`MPI CLI test skipped: ${mpi.reason}`);

describe('sparsepipe train on real ranks', () => {
  it('--backend threads equals --backend sim, and resumes a sim checkpoint mid-window', async () => {
    await withTmp(async (dir) => {
      const sim = await trainSummary(dir, 'sim', [...RUN, '--batches', '7']);
      const threads = await trainSummary(dir, 'threads', [
        ...RUN,
        '--batches',
        '7',
        '--backend',
        'threads',
      ]);
      expect(threads.paramsDigest).toBe(sim.paramsDigest);
      expect(threads.losses).toEqual(sim.losses);
      expect(threads.iterationClock).toBe('wall');
      const ck = join(dir, 'ck');
      await trainSummary(dir, 'first', [...RUN, '--batches', '3', '--checkpoint-out', ck]);
      const resumed = await trainSummary(dir, 'resumed', [
        ...RUN,
        '--batches',
        '7',
        '--backend',
        'threads',
        '--resume',
        ck,
      ]);
      expect(resumed.paramsDigest).toBe(sim.paramsDigest);
    });
  });

  it.skipIf(!mpi.available)('--backend mpi equals --backend sim', async () => {
    await withTmp(async (dir) => {
      const sim = await trainSummary(dir, 'sim', [...RUN, '--batches', '5']);
      const viaMpi = await trainSummary(dir, 'mpi', [...RUN, '--batches', '5', '--backend', 'mpi']);
      expect(viaMpi.paramsDigest).toBe(sim.paramsDigest);
      expect(viaMpi.heldOutLoss).toBe(sim.heldOutLoss);
    });
  });
});
