/**
 * Criteo files as a first-class path: the documented held-out split (the file's last
 * min(--held-out-examples, rows/10) rows, never trained on) gives held-out loss and AUC;
 * --table-rows / --embedding-dim size the tables ids are hashed into; a file that ends
 * before --batches says so and the summary counts what was trained; a file without one
 * global batch to train on exits 1 with a message and writes nothing.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSummary, runCli, withTmp } from './run-cli.ts';

const row = (i: number) =>
  [
    String(i % 3 === 0 ? 1 : 0),
    ...Array.from({ length: 13 }, (_, j) => String((i * 7 + j) % 11)),
    ...Array.from({ length: 26 }, (_, j) => ((i * 31 + j * 17) % 4096).toString(16)),
  ].join('\t');

async function criteoFile(dir: string, rows: number, name = 'day.tsv'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${Array.from({ length: rows }, (_, i) => row(i)).join('\n')}\n`);
  return path;
}

const RUN = ['train', '--ranks', '2', '--batch-size', '16'];

describe('sparsepipe train --data FILE.tsv', () => {
  it('holds out the last rows/10 rows and reports held-out loss and AUC', async () => {
    await withTmp(async (dir) => {
      const tsv = await criteoFile(dir, 200);
      const json = join(dir, 'run.json');
      const run = await runCli([...RUN, '--batches', '8', '--data', tsv, '--json', json]);
      expect(run.err).toEqual([]);
      expect(run.code).toBe(0);
      const s = await readSummary(json);
      expect(s.batchesTrained).toBe(8);
      expect(s.heldOutExamples).toBe(20); // min(4096 default, 200 / 10)
      expect(s.heldOutLoss).toBeGreaterThan(0);
      expect(s.auc).toBeGreaterThanOrEqual(0);
      expect(s.auc).toBeLessThanOrEqual(1);
      expect(run.out.join('\n')).toMatch(
        /held-out +loss \d\.\d{4} +AUC \d\.\d{4} +\(20 examples\)/,
      );
    });
  });

  it('--held-out-examples picks fewer held-out rows; 0 holds out none', async () => {
    await withTmp(async (dir) => {
      const tsv = await criteoFile(dir, 200);
      const json = join(dir, 'run.json');
      await runCli([
        ...RUN,
        '--batches',
        '2',
        '--data',
        tsv,
        '--held-out-examples',
        '8',
        '--json',
        json,
      ]);
      expect((await readSummary(json)).heldOutExamples).toBe(8);
      await runCli([
        ...RUN,
        '--batches',
        '2',
        '--data',
        tsv,
        '--held-out-examples',
        '0',
        '--json',
        json,
      ]);
      const none = await readSummary(json);
      expect(none.heldOutLoss).toBeNull();
      expect(none.heldOutExamples).toBe(0);
    });
  });

  it('the held-out rows are not trained on: training on the first 180 rows alone is the same run', async () => {
    await withTmp(async (dir) => {
      const whole = await criteoFile(dir, 200);
      const first = await criteoFile(dir, 180, 'first.tsv');
      const a = join(dir, 'a.json');
      const b = join(dir, 'b.json');
      // --batches 20 asks for more than either file has: the whole file's 180 trainable rows
      // give 11 global batches of 16 (its 200 rows would give 12 if the split were ignored).
      await runCli([...RUN, '--batches', '20', '--data', whole, '--json', a]);
      await runCli([
        ...RUN,
        '--batches',
        '20',
        '--data',
        first,
        '--held-out-examples',
        '0',
        '--json',
        b,
      ]);
      const [sa, sb] = [await readSummary(a), await readSummary(b)];
      expect(sa.batchesTrained).toBe(11);
      expect(sb.batchesTrained).toBe(11);
      expect(sa.paramsDigest).toBe(sb.paramsDigest);
    });
  });

  it('--table-rows and --embedding-dim size every table (ids hashed into the rows)', async () => {
    await withTmp(async (dir) => {
      const tsv = await criteoFile(dir, 100);
      const json = join(dir, 'run.json');
      const run = await runCli([
        ...RUN,
        '--batches',
        '2',
        '--data',
        tsv,
        '--table-rows',
        '64',
        '--embedding-dim',
        '4',
        '--json',
        json,
      ]);
      expect(run.code, run.err.join('\n')).toBe(0);
      const s = await readSummary(json);
      const tables = Object.entries(s.params).filter(([n]) => n.startsWith('sparse.'));
      expect(tables).toHaveLength(26);
      for (const [, p] of tables) expect(p.shape).toEqual([64, 4]);
      expect(s.options.tableRows).toBe(64);
      expect(s.options.embeddingDim).toBe(4);
    });
  });

  it('a file that ends before --batches: a warning, and batchesTrained counts what was trained', async () => {
    await withTmp(async (dir) => {
      const tsv = await criteoFile(dir, 50); // 5 held out, 45 to train: 2 global batches of 16
      const json = join(dir, 'run.json');
      const run = await runCli([...RUN, '--batches', '10', '--data', tsv, '--json', json]);
      expect(run.code).toBe(0);
      expect(run.err).toEqual([
        `sparsepipe: warning: --data ${tsv} ran out after 2 batches (--batches 10); the summary counts the 2 trained (batchesTrained)`,
      ]);
      expect((await readSummary(json)).batchesTrained).toBe(2);
    });
  });

  it('a file shorter than one global batch exits 1 with a message and writes nothing', async () => {
    await withTmp(async (dir) => {
      const tsv = await criteoFile(dir, 10);
      const json = join(dir, 'run.json');
      const run = await runCli([...RUN, '--batches', '4', '--data', tsv, '--json', json]);
      expect(run.code).toBe(1);
      expect(run.err).toEqual([
        `sparsepipe: --data ${tsv}: 10 data rows leave 10 to train on, fewer than one global batch of 16 (--batch-size); no batch could be trained`,
      ]);
      expect(await readdir(dir)).toEqual(['day.tsv']);
    });
  });

  it('no batch trained after skipping malformed rows: exit 1, nothing written', async () => {
    await withTmp(async (dir) => {
      const tsv = join(dir, 'day.tsv');
      const lines = Array.from({ length: 20 }, (_, i) => (i % 2 ? row(i) : '1\tbroken'));
      await writeFile(tsv, `${lines.join('\n')}\n`);
      const json = join(dir, 'run.json');
      const run = await runCli([
        ...RUN,
        '--batches',
        '4',
        '--data',
        tsv,
        '--skip-bad-rows',
        '--held-out-examples',
        '0',
        '--json',
        json,
      ]);
      expect(run.code).toBe(1);
      expect(run.err).toEqual([
        `sparsepipe: --data ${tsv}: no batch could be trained (not one global batch of 16 well-formed rows after skipping 10 malformed rows); nothing written`,
      ]);
      expect(await readdir(dir)).toEqual(['day.tsv']);
    });
  });
});
