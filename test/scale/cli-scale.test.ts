/**
 * `sparsepipe simulate` and `sparsepipe plan` end to end (in-process): deterministic JSON,
 * every pipeline kind of the harness, the plan report's fields, and bad input refused with
 * the file and field named.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, withTmp } from '../cli/run-cli.ts';
import { PIPELINE_CLASSES as HARNESS_PIPELINES } from '../../src/pipeline/look-ahead-pipelines.ts';

const SMALL = [
  '--ranks',
  '16',
  '--model-size',
  'small',
  '--topology',
  'dgx-a100',
  '--batches',
  '6',
];

describe('sparsepipe simulate', () => {
  it('gives the same JSON twice, with the promised fields', async () => {
    await withTmp(async (dir) => {
      const a = await runCli(['simulate', ...SMALL, '--json', join(dir, 'a.json')]);
      const b = await runCli(['simulate', ...SMALL, '--json', join(dir, 'b.json')]);
      expect(a.code, a.err.join('\n')).toBe(0);
      expect(b.code).toBe(0);
      const textA = await readFile(join(dir, 'a.json'), 'utf8');
      expect(textA).toBe(await readFile(join(dir, 'b.json'), 'utf8'));
      const r = JSON.parse(textA);
      for (const k of [
        'iterationMs',
        'examplesPerSecond',
        'boundBy',
        'memoryPerRankBytes',
        'stages',
      ])
        expect(r).toHaveProperty(k);
      expect(r.worldSize).toBe(16);
      expect(r.hosts).toBe(2);
      expect(Math.abs(r.examplesPerSecond / ((64 * 16 * 1000) / r.iterationMs) - 1)).toBeLessThan(
        1e-5,
      );
    });
  });

  it('runs every pipeline kind the harness runs; without overlap the iteration is longer', async () => {
    const times: Record<string, number> = {};
    for (const kind of Object.keys(HARNESS_PIPELINES)) {
      const cliName = kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      const r = await runCli(['simulate', ...SMALL, '--pipeline', cliName]);
      expect(r.code, r.err.join('\n')).toBe(0);
      times[kind] = JSON.parse(r.out.join('\n')).iterationMs;
    }
    expect(times.none).toBeGreaterThan(times.sparseDist);
    expect(times.base).toBeGreaterThan(times.sparseDist);
  });

  it('fixed --cost values win over the priced ones', async () => {
    const r = await runCli(['simulate', ...SMALL, '--cost', 'copy=2,fwd=3,bwd=4,opt=1,dist=0.5']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out.join('\n'));
    expect(j.iterationMs).toBeGreaterThanOrEqual(8);
  });

  it('refuses a bad topology file naming the file and the field, and writes nothing', async () => {
    await withTmp(async (dir) => {
      const topo = join(dir, 'topo.json');
      await writeFile(topo, JSON.stringify({ interHostGBps: 0 }));
      const r = await runCli([
        'simulate',
        ...SMALL.filter((_, i) => i < 4),
        '--topology',
        topo,
        '--json',
        join(dir, 'out.json'),
      ]);
      expect(r.code).toBe(2);
      expect(r.err.join('\n')).toContain(
        `${topo}: field "interHostGBps" must be a number > 0, got 0`,
      );
      await expect(readFile(join(dir, 'out.json'))).rejects.toThrow();
    });
  });

  it('refuses an unknown pipeline kind, listing the kinds', async () => {
    const r = await runCli(['simulate', ...SMALL, '--pipeline', 'warp']);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain(
      '--pipeline must be one of none, base, sparse-dist, fused-sparse-dist',
    );
  });

  it('refuses a world that does not fill whole hosts', async () => {
    const r = await runCli([
      'simulate',
      '--ranks',
      '12',
      '--topology',
      'dgx-a100',
      '--model-size',
      'small',
    ]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('world size 12 does not fill whole hosts of 8 ranks');
  });

  it('refuses a plan file naming the table at fault', async () => {
    await withTmp(async (dir) => {
      const plan = join(dir, 'plan.json');
      const tables = Array.from({ length: 8 }, (_, t) => ({
        table: `t${t}`,
        sharding: 'TW',
        ranks: [t],
      }));
      tables[2] = { table: 't2', sharding: 'TWRW', ranks: [0, 9] };
      await writeFile(plan, JSON.stringify({ worldSize: 16, ranksPerHost: 8, tables }));
      const r = await runCli(['simulate', ...SMALL, '--plan', plan]);
      expect(r.code).toBe(1);
      expect(r.err.join('\n')).toContain(
        "table 't2': TWRW ranks must be the 8 ranks of one host, got 0,9",
      );
    });
  });
});

describe('sparsepipe plan', () => {
  it('ranks candidates analytically, simulates the best, and reports winner, runner-up, why and shards', async () => {
    await withTmp(async (dir) => {
      const file = join(dir, 'plan.json');
      const r = await runCli(['plan', ...SMALL, '--json', file]);
      expect(r.code, r.err.join('\n')).toBe(0);
      const j = JSON.parse(await readFile(file, 'utf8'));
      expect(j.candidates.map((c: { analyticRank: number }) => c.analyticRank)).toEqual(
        j.candidates.map((_: unknown, i: number) => i + 1),
      );
      const simulated = j.candidates.filter((c: { simulated?: unknown }) => c.simulated);
      expect(simulated).toHaveLength(3);
      expect(j.winner.simulatedRank).toBe(1);
      expect(j.runnerUp.simulatedRank).toBe(2);
      expect(j.winner.simulated.iterationMs).toBeLessThanOrEqual(j.runnerUp.simulated.iterationMs);
      expect(j.why).toContain('bound by');
      expect(j.rankingChange).toMatch(/simulated schedule (kept|changed)/);
      // every shard of the winner, in TorchRec's terms
      const shards = j.shards.reduce((a: number, s: { shards: number }) => a + s.shards, 0);
      expect(shards).toBeGreaterThanOrEqual(8);
      for (const s of j.shards)
        for (const k of [
          'table',
          'sharding',
          'ranks',
          'fwdCompute',
          'fwdComms',
          'bwdCompute',
          'bwdComms',
        ])
          expect(s).toHaveProperty(k);
      expect(r.out.join('\n')).toContain(`winner: ${j.winner.name}`);
    });
  });
});
