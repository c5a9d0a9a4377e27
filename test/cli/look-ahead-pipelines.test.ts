/**
 * The newer pipelines from the command line: `--pipeline fused-sparse-dist` trains the same
 * parameters as `sparse-dist`; `--eval-only --resume DIR` evaluates a checkpoint on the
 * held-out data through the eval pipeline (the same held-out loss and AUC the training run
 * reported for it) and trains nothing; bad combinations are refused with one clear line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, TINY, withTmp, readSummary } from './run-cli.ts';

describe('sparsepipe train: newer pipelines', () => {
  it('fused-sparse-dist trains like sparse-dist; --eval-only re-evaluates its checkpoint', async () => {
    await withTmp(async (dir) => {
      const run = async (pipeline: string, extra: string[]) => {
        const json = join(dir, `${pipeline}-${extra.length}.json`);
        const r = await runCli([
          'train',
          ...TINY,
          '--batches',
          '5',
          '--pipeline',
          pipeline,
          '--json',
          json,
          ...extra,
        ]);
        expect(r.err).toEqual([]);
        expect(r.code).toBe(0);
        return readSummary(json);
      };
      const ckpt = join(dir, 'ckpt');
      const fused = await run('fused-sparse-dist', ['--checkpoint-out', ckpt]);
      const sparse = await run('sparse-dist', []);
      expect(fused.paramsDigest).toBe(sparse.paramsDigest);
      expect(fused.losses).toEqual(sparse.losses);

      const json = join(dir, 'eval.json');
      const r = await runCli(['train', ...TINY, '--eval-only', '--resume', ckpt, '--json', json]);
      expect(r.code).toBe(0);
      const evaluated = await readSummary(json);
      expect(evaluated.losses).toEqual([]);
      expect(evaluated.paramsDigest).toBe(fused.paramsDigest);
      expect(evaluated.heldOutLoss).toBe(fused.heldOutLoss);
      expect(evaluated.auc).toBe(fused.auc);
    });
  });

  it('refuses flags that do not fit the pipeline', async () => {
    const r = await runCli(['train', ...TINY, '--start-batch', '3']);
    expect(r.code).not.toBe(0);
    expect(r.err.join('\n')).toMatch(/--start-batch applies to --pipeline semi-sync/);
    const e = await runCli(['train', ...TINY, '--eval-only']);
    expect(e.err.join('\n')).toMatch(
      /--eval-only evaluates a checkpoint: give it with --resume DIR/,
    );
  });
});
