/**
 * Reports people read: the loss curve as a sparkline in the report (a spike cannot hide
 * behind first / last / min), an SVG plot with --report DIR, simulated time labelled as
 * such with a line on the cost model, and per-size learning-rate defaults.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lossPlotSvg } from '../../src/cli/loss-plot-svg.ts';
import { costModelNote } from '../../src/cli/report.ts';
import { bucketMeans, sparkline } from '../../src/cli/sparkline.ts';
import { parseTrainArgs, type TrainOptions } from '../../src/cli/train-options.ts';
import { runCli, TINY, withTmp } from './run-cli.ts';

describe('sparkline', () => {
  it('draws a spike as one tall block among low ones', () => {
    expect(sparkline([0.7, 280, 1.7, 0.8, 0.6])).toBe('▁█▁▁▁');
    expect(sparkline([4, 3, 2, 1])).toBe('█▆▃▁');
    expect(sparkline([0.5, 0.5])).toBe('▁▁');
    expect(sparkline([])).toBe('');
  });

  it('averages long curves into at most `width` buckets', () => {
    expect(bucketMeans([1, 2, 3, 4], 2)).toEqual([1.5, 3.5]);
    expect(sparkline(Array.from({ length: 1000 }, (_, i) => i)).length).toBe(60);
  });
});

describe('lossPlotSvg', () => {
  it('plots every batch, the held-out level and the worst point', () => {
    const svg = lossPlotSvg({
      losses: [0.709, 280.149, 1.687, 0.784],
      firstBatch: 10,
      heldOutLoss: 0.56,
      title: 'a & b',
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const points = /<polyline [^>]*points="([^"]+)"/.exec(svg)?.[1].split(' ');
    expect(points).toHaveLength(4);
    expect(svg).toContain('max 280 at batch 11');
    expect(svg).toContain('held-out 0.560');
    expect(svg).toContain('a &amp; b');
  });
});

describe('report', () => {
  it('says what simulated time is based on', () => {
    expect(costModelNote('copy=2,dist=5')).toBe(
      'fixed stage times from --cost copy=2,dist=5 (ms per op)',
    );
    expect(costModelNote('')).toMatch(/^default cost model: a nominal accelerator \(copies /);
  });

  it('prints the curve and labels simulated time; --report DIR writes report.txt and loss.svg', async () => {
    await withTmp(async (dir) => {
      const out = join(dir, 'report');
      const run = await runCli(['train', ...TINY, '--batches', '6', '--report', out]);
      expect(run.code, run.err.join('\n')).toBe(0);
      const text = run.out.join('\n');
      expect(text).toMatch(
        /\n {2}curve {7}[▁▂▃▄▅▆▇█]{6} {2}\(6 batches; max \d\.\d{4} at batch \d\)\n/,
      );
      expect(text).toMatch(/iteration \d+\.\d{3} simulated ms \(median of the second half\)/);
      expect(text).toMatch(/\n {2}sim cost {4}default cost model: /);
      const report = await readFile(join(out, 'report.txt'), 'utf8');
      expect(report).toContain('  curve       ');
      const svg = await readFile(join(out, 'loss.svg'), 'utf8');
      expect(/<polyline [^>]*points="([^"]+)"/.exec(svg)?.[1].split(' ')).toHaveLength(6);
    });
  });
});

describe('learning-rate defaults per model size', () => {
  const lr = (argv: string[]) => (parseTrainArgs(argv) as TrainOptions).lr;
  it('small 0.05, reference 0.002 (no first-step spike), --lr wins', () => {
    expect(lr([])).toBe(0.05);
    expect(lr(['--model-size', 'reference'])).toBe(0.002);
    expect(lr(['--model-size', 'reference', '--lr', '0.03'])).toBe(0.03);
  });
});
