/**
 * `sparsepipe compare`: every kind runs on the simulated cluster and lands on its own bound;
 * with a long lookup and a long all-to-all the look-ahead kinds beat sparse-dist (TorchRec's
 * claim), the JSON has the documented shape, the SVG is written, bad costs are refused.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, withTmp } from './run-cli.ts';

const KINDS = ['none', 'base', 'sparse-dist', 'fused-sparse-dist', 'semi-sync'];

describe('sparsepipe compare', () => {
  it('reports every kind at its bound, and the look-ahead kinds ahead where the lookup is long', async () => {
    await withTmp(async (dir) => {
      const json = join(dir, 'compare.json');
      const svg = join(dir, 'compare.svg');
      const cost = 'copy=1,dist=4,lookup=3,fwd=2,bwd=3,opt=2';
      const run = await runCli([
        'compare',
        '--ranks',
        '2',
        '--cost',
        cost,
        '--json',
        json,
        '--svg',
        svg,
      ]);
      expect(run.code).toBe(0);
      expect(run.out.join('\n')).toMatch(/fused-sparse-dist\s+7\.000\s+7\.000/);
      const r = JSON.parse(await readFile(json, 'utf8'));
      expect(Object.keys(r.pipelines)).toEqual(KINDS);
      for (const k of KINDS) {
        const p = r.pipelines[k];
        expect(typeof p.boundBy).toBe('string');
        expect(p.iterationMs / p.boundMs).toBeLessThanOrEqual(1.01);
        expect(p.iterationMs).toBeGreaterThanOrEqual(p.boundMs * 0.999);
      }
      const it = (k: string) => r.pipelines[k].iterationMs;
      expect(it('fused-sparse-dist')).toBeLessThan(it('sparse-dist'));
      expect(it('semi-sync')).toBeLessThan(it('sparse-dist'));
      expect(it('sparse-dist')).toBeLessThan(it('base'));
      expect(await readFile(svg, 'utf8')).toMatch(/^<svg[\s\S]*semi-sync[\s\S]*<\/svg>\n$/);
    });
  });

  it('with a cache fill cost, prefetch joins and hides the fill the others pay before their lookup', async () => {
    await withTmp(async (dir) => {
      const json = join(dir, 'compare.json');
      const cost = 'copy=1,dist=4,lookup=3,fwd=2,bwd=3,opt=2,fill=3';
      const run = await runCli(['compare', '--ranks', '2', '--cost', cost, '--json', json]);
      expect(run.code).toBe(0);
      const r = JSON.parse(await readFile(json, 'utf8'));
      expect(Object.keys(r.pipelines)).toEqual([...KINDS, 'prefetch']);
      for (const k of [...KINDS, 'prefetch']) {
        const p = r.pipelines[k];
        expect(p.iterationMs / p.boundMs, k).toBeLessThanOrEqual(1.01);
      }
      // sparse-dist pays fill + lookup + fwd + bwd + opt = 13; prefetch fills ahead: 10
      expect(r.pipelines['sparse-dist'].iterationMs).toBeCloseTo(13, 3);
      expect(r.pipelines.prefetch.iterationMs).toBeCloseTo(10, 3);
    });
  });

  it('refuses a cost that is not a stage of the comparison', async () => {
    const run = await runCli(['compare', '--cost', 'collective=2']);
    expect(run.code).toBe(2);
    expect(run.err).toEqual([
      'sparsepipe: --cost: collective is not a stage of the comparison (stages: copy, dist, lookup, outputDist, fwd, bwd, opt, fill)',
    ]);
  });
});
