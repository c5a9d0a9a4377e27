/**
 * A whole `sparsepipe train` run in-process: the JSON summary's fields exist and are sane,
 * the report is printed, the trace is Chrome trace JSON, outputs are written atomically and
 * not at all when the run fails.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, TINY, withTmp, readSummary } from './run-cli.ts';

describe('sparsepipe train (in-process)', () => {
  it('writes a sane JSON summary, a trace and a report', async () => {
    await withTmp(async (dir) => {
      const json = join(dir, 'run.json');
      const trace = join(dir, 'trace.json');
      const recorded = join(dir, 'events.json');
      const run = await runCli([
        'train',
        ...TINY,
        '--batches',
        '6',
        '--json',
        json,
        '--trace',
        trace,
        '--trace-events',
        recorded,
        '--cost',
        'copy=1,dist=2,fwd=1,bwd=1,opt=0.5',
      ]);
      expect(run.err).toEqual([]);
      expect(run.code).toBe(0);
      const s = await readSummary(json);
      expect(s.batchesTrained).toBe(6);
      expect(s.examples).toBe(6 * 32);
      expect(s.losses).toHaveLength(6);
      for (const l of s.losses) expect(l).toBeGreaterThan(0.3);
      for (const l of s.losses) expect(l).toBeLessThan(1);
      expect(s.finalLoss).toBe(s.losses[5]);
      expect(s.heldOutExamples).toBe(64);
      expect(s.heldOutLoss).toBeGreaterThan(0);
      expect(s.auc).toBeGreaterThanOrEqual(0);
      expect(s.auc).toBeLessThanOrEqual(1);
      expect(s.bayesOptimalLoss).toBeGreaterThan(0);
      expect(s.bayesOptimalLoss).toBeLessThan(s.heldOutLoss!);
      expect(s.wallMs).toBeGreaterThan(0);
      expect(s.simulatedMs).toBeGreaterThan(0);
      expect(s.iterationClock).toBe('virtual');
      // fixed stage costs: steady state is bound by the default stream (fwd+bwd+opt = 2.5 ms)
      expect(s.iterationMs).toBeGreaterThanOrEqual(2.5);
      expect(s.paramsDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(Object.keys(s.params)).toEqual([...Object.keys(s.params)].sort());
      expect(s.params['sparse.t0']).toMatchObject({ shape: [1000, 8] });
      expect(s.params['dense.top.layers.1.bias']).toMatchObject({ shape: [1] });
      for (const p of Object.values(s.params)) {
        expect(Number.isFinite(p.l2) && p.l2 > 0).toBe(true);
        expect(Number.isFinite(p.sum)).toBe(true);
      }
      expect(s.options).toMatchObject({
        ranks: 2,
        batchSize: 32,
        batches: 6,
        pipeline: 'sparse-dist',
        cost: 'copy=1,dist=2,fwd=1,bwd=1,opt=0.5',
      });
      expect(s.streamBusy.default).toBeGreaterThan(0.5);
      expect(run.out[0]).toContain('sparsepipe train: dlrm (small) on synthetic data, 2 ranks');
      expect(run.out.join('\n')).toMatch(/loss +first [\d.]+ +last [\d.]+ +min [\d.]+/);
      expect(run.out.join('\n')).toContain(`sha256 ${s.paramsDigest}`);

      const t = JSON.parse(await readFile(trace, 'utf8')) as {
        traceEvents: Array<{ ph: string; pid: number; ts?: number; args?: { batch?: number } }>;
      };
      const timed = t.traceEvents.filter((e) => e.ph !== 'M');
      expect(timed.length).toBeGreaterThan(0);
      expect(new Set(timed.map((e) => e.pid))).toEqual(new Set([0, 1]));
      expect(timed.some((e) => (e.ph === 'X' || e.ph === 'B') && e.args?.batch === 5)).toBe(true);
      const events = JSON.parse(await readFile(recorded, 'utf8')) as Array<{
        type: string;
        rank: number;
        t: number;
      }>;
      expect(events.filter((e) => e.type === 'backward.end')).toHaveLength(12); // 6 batches × 2 ranks
      expect(events.map((e) => e.t)).toEqual(events.map((e) => e.t).sort((a, b) => a - b));
      expect((await readdir(dir)).sort()).toEqual(['events.json', 'run.json', 'trace.json']); // no temporary files left
    });
  });

  it('writes nothing when the run fails (a malformed Criteo row)', async () => {
    await withTmp(async (dir) => {
      const tsv = join(dir, 'bad.tsv');
      const good = ['1', ...Array(13).fill('3'), ...Array(26).fill('a1b2')].join('\t');
      await writeFile(tsv, `${good}\n${good}\n0\tx\n`);
      const json = join(dir, 'run.json');
      const run = await runCli([
        'train',
        '--ranks',
        '1',
        '--batch-size',
        '2',
        '--batches',
        '4',
        '--data',
        tsv,
        '--json',
        json,
      ]);
      expect(run.code).toBe(1);
      expect(run.err).toHaveLength(1);
      expect(run.err[0]).toMatch(
        /^sparsepipe: .*bad\.tsv:3: expected 40 tab-separated columns \(label, I1-I13, C1-C26\), got 2$/,
      );
      expect(await readdir(dir)).toEqual(['bad.tsv']);
    });
  });

  it('trains on a Criteo TSV file, skipping and counting malformed rows with --skip-bad-rows', async () => {
    await withTmp(async (dir) => {
      const tsv = join(dir, 'day.tsv');
      const row = (label: number, i: number) =>
        [
          String(label),
          ...Array.from({ length: 13 }, (_, j) => String((i * 7 + j) % 11)),
          ...Array.from({ length: 26 }, (_, j) => ((i * 31 + j * 17) % 4096).toString(16)),
        ].join('\t');
      const lines = Array.from({ length: 12 }, (_, i) => row(i % 3 === 0 ? 1 : 0, i));
      lines.splice(5, 0, '1\tnot-a-number');
      await writeFile(tsv, `${lines.join('\n')}\n`);
      const json = join(dir, 'run.json');
      const run = await runCli([
        'train',
        '--ranks',
        '2',
        '--batch-size',
        '4',
        '--batches',
        '10',
        '--data',
        tsv,
        '--skip-bad-rows',
        '--json',
        json,
      ]);
      expect(run.err).toEqual([
        `sparsepipe: warning: --data ${tsv} ran out after 3 batches (--batches 10); the summary counts the 3 trained (batchesTrained)`,
      ]);
      expect(run.code).toBe(0);
      const s = await readSummary(json);
      expect(s.skippedRows).toBe(1);
      expect(s.batchesTrained).toBe(3); // 12 good rows / 4; the file ends before --batches 10
      expect(s.heldOutLoss).toBeNull();
      expect(s.bayesOptimalLoss).toBeNull();
      expect(Object.keys(s.params).filter((n) => n.startsWith('sparse.'))).toHaveLength(26);
    });
  });
});
