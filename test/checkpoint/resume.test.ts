/**
 * Resume through the CLI (docs/design.md "Reliability"): training 30 batches straight equals training 10,
 * checkpointing in the middle of an accumulation window (A = 4), and resuming to 30 — the
 * same parameter digest and the same per-batch losses. A damaged or mismatched checkpoint
 * is refused with one line, and nothing is written or overwritten.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, trainSummary, withTmp } from '../cli/run-cli.ts';

const RUN = [
  '--ranks',
  '2',
  '--batch-size',
  '32',
  '--held-out-examples',
  '64',
  '--grad-accum',
  '4',
  '--optimizer',
  'adagrad',
];

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort())
    out[f] = (await readFile(join(dir, f))).toString('base64');
  return out;
}

describe('checkpoint and resume', () => {
  it('30 straight == 10 (mid-window) + resume to 21 (mid-window, checkpoint replaced in place) + resume to 30', async () => {
    await withTmp(async (dir) => {
      const ck = join(dir, 'ck');
      const straight = await trainSummary(dir, 'straight', [...RUN, '--batches', '30']);
      const first = await trainSummary(dir, 'first', [
        ...RUN,
        '--batches',
        '10',
        '--checkpoint-out',
        ck,
      ]);
      expect(first.checkpoint.pendingMicroBatches).toBe(2); // batches 8 and 9 wait in the buffers
      const second = await trainSummary(dir, 'second', [
        ...RUN,
        '--batches',
        '21',
        '--resume',
        ck,
        '--checkpoint-out',
        ck,
      ]);
      expect(second.checkpoint.pendingMicroBatches).toBe(1);
      const third = await trainSummary(dir, 'third', [
        ...RUN,
        '--batches',
        '30',
        '--resume',
        ck,
        '--pipeline',
        'base',
      ]);
      expect(third.batchesTrained).toBe(30);
      expect(third.firstBatch).toBe(21);
      expect([...first.losses, ...second.losses, ...third.losses]).toEqual(straight.losses);
      expect(third.paramsDigest).toBe(straight.paramsDigest);
      expect(third.heldOutLoss).toBe(straight.heldOutLoss);
    });
  });

  it('a checkpoint at a window boundary resumes identically too', async () => {
    await withTmp(async (dir) => {
      const ck = join(dir, 'ck');
      const straight = await trainSummary(dir, 'straight', [...RUN, '--batches', '14']);
      const first = await trainSummary(dir, 'first', [
        ...RUN,
        '--batches',
        '8',
        '--checkpoint-out',
        ck,
      ]);
      expect(first.checkpoint.pendingMicroBatches).toBe(0);
      const rest = await trainSummary(dir, 'rest', [...RUN, '--batches', '14', '--resume', ck]);
      expect(rest.paramsDigest).toBe(straight.paramsDigest);
    });
  });

  it('refuses mismatched options, a corrupt file and too few --batches, overwriting nothing', async () => {
    await withTmp(async (dir) => {
      const ck = join(dir, 'ck');
      await trainSummary(dir, 'first', [...RUN, '--batches', '6', '--checkpoint-out', ck]);
      const before = await snapshot(ck);
      const json = join(dir, 'resumed.json');
      const attempt = (args: string[]) =>
        runCli(['train', ...args, '--resume', ck, '--checkpoint-out', ck, '--json', json]);

      const ranks = await attempt([
        ...RUN.map((a, i) => (RUN[i - 1] === '--ranks' ? '4' : a)),
        '--batches',
        '12',
      ]);
      expect(ranks.code).toBe(1);
      expect(ranks.err).toEqual([
        `sparsepipe: --resume ${ck}: options differ from the checkpoint's: --ranks is 4, the checkpoint has 2`,
      ]);

      const two = await attempt([
        ...RUN.map((a, i) =>
          RUN[i - 1] === '--batch-size' ? '64' : RUN[i - 1] === '--lr' ? '0.1' : a,
        ),
        '--lr',
        '0.1',
        '--batches',
        '12',
      ]);
      expect(two.err).toEqual([
        `sparsepipe: --resume ${ck}: options differ from the checkpoint's: --batch-size is 64, the checkpoint has 32; --lr is 0.1, the checkpoint has 0.05`,
      ]);

      const size = await attempt([...RUN, '--model-size', 'reference', '--batches', '12']);
      expect(size.err).toEqual([
        `sparsepipe: --resume ${ck}: options differ from the checkpoint's: --model-size is "reference", the checkpoint has "small"; --lr is 0.002, the checkpoint has 0.05; model configuration.bottom[0] is 512, the checkpoint has 32`,
      ]);

      const few = await attempt([...RUN, '--batches', '4']);
      expect(few.err).toEqual([
        `sparsepipe: --resume ${ck}: the checkpoint has already trained 6 batches, more than --batches 4`,
      ]);

      const binName = (await readdir(ck)).find((n) => n.startsWith('rank-0-'))!;
      const bin = join(ck, binName);
      const bytes = await readFile(bin);
      bytes[bytes.length - 1] ^= 1;
      await writeFile(bin, bytes);
      const corrupt = await attempt([...RUN, '--batches', '12']);
      expect(corrupt.code).toBe(1);
      expect(corrupt.err).toEqual([
        `sparsepipe: --resume ${ck}: ${binName} is corrupt: its sha256 does not match the manifest`,
      ]);

      bytes[bytes.length - 1] ^= 1;
      await writeFile(bin, bytes);
      expect(await snapshot(ck)).toEqual(before);
      expect((await readdir(dir)).sort()).toEqual(['ck', 'first.json']);
    });
  });
});
