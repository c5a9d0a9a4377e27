/**
 * Scale: `sparsepipe simulate` of the production-size model (512 tables × 10–60 M rows,
 * shapes only) on 4,096 ranks (512 hosts × 8) of dgx-a100, 20 iterations, sparse-dist
 * pipeline on the compiled interpreter — run twice, each in its own process, with the
 * compiled command (bin/sparsepipe.js). Reports wall
 * time, CPU time (user + system of the child: robust to other load on the machine), peak
 * RSS, and whether the two runs wrote byte-identical JSON. Goals on this machine: < 60 s,
 * < 4 GB.
 *
 * Run: npx tsx bench/scale-4096.ts [--quick]   (--quick: 512 ranks)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from './lib/child.ts';
import { fmt, isQuick, writeReport } from './lib/report.ts';

const quick = isQuick();
const ranks = quick ? 512 : 4096;
const dir = mkdtempSync(join(tmpdir(), 'sparsepipe-scale-'));
// the compiled command users run (`npm install` builds dist/; `npm run build` refreshes it)
const args = (out: string) => [
  'bin/sparsepipe.js',
  'simulate',
  '--ranks',
  String(ranks),
  '--ranks-per-host',
  '8',
  '--topology',
  'dgx-a100',
  '--model-size',
  'production',
  '--pipeline',
  'sparse-dist',
  '--plan',
  'greedy-mixed',
  '--batches',
  '20',
  '--interpreter',
  'compiled',
  '--json',
  out,
];

interface Run {
  wallS: number;
  cpuS: number;
  rssMB: number;
  json: string;
}

/** One run under /usr/bin/time for the child's CPU time and peak RSS. */
async function run(i: number): Promise<Run> {
  const out = join(dir, `run${i}.json`);
  const r = await runChild(
    '/usr/bin/time',
    ['-f', 'TIME %e %U %S %M', process.execPath, ...args(out)],
    {
      timeoutMs: 30 * 60_000,
    },
  );
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.code !== 0 || !m) throw new Error(`simulate failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return {
    wallS: Number(m[1]),
    cpuS: Number(m[2]) + Number(m[3]),
    rssMB: Number(m[4]) / 1024,
    json: readFileSync(out, 'utf8'),
  };
}

const runs = [await run(1), await run(2)];
rmSync(dir, { recursive: true, force: true });
const identical = runs[0].json === runs[1].json;
const report = JSON.parse(runs[0].json) as {
  iterationMs: number;
  examplesPerSecond: number;
  boundBy: string;
  memoryPerRankBytes: number;
};
const worstWall = Math.max(...runs.map((r) => r.wallS));
const worstCpu = Math.max(...runs.map((r) => r.cpuS));
const worstRss = Math.max(...runs.map((r) => r.rssMB));
writeReport({
  name: 'scale-4096',
  title: `Scale — ${ranks} simulated ranks × 20 iterations of the production-size model (shapes only)`,
  command: `npx tsx bench/scale-4096.ts${quick ? ' --quick' : ''}`,
  columns: [
    'run',
    'wall s',
    'CPU s (user + sys)',
    'peak RSS MB',
    'iteration (virtual ms)',
    'examples/s',
    'bound by',
  ],
  rows: runs.map((r, i) => [
    i + 1,
    fmt(r.wallS, 1),
    fmt(r.cpuS, 1),
    fmt(r.rssMB, 0),
    report.iterationMs,
    report.examplesPerSecond,
    report.boundBy,
  ]),
  summary: {
    'same JSON twice': identical ? 'yes, byte for byte' : 'NO — the runs differ',
    'goal < 60 s': `${worstWall < 60 ? 'met' : 'not met'} on wall (${fmt(worstWall, 1)} s); CPU ${fmt(worstCpu, 1)} s`,
    'goal < 4 GB': `${worstRss < 4096 ? 'met' : 'not met'} (${fmt(worstRss, 0)} MB peak RSS)`,
    'memory per rank (model)': `${(report.memoryPerRankBytes / 1e9).toFixed(2)} GB of 80 GB HBM`,
  },
  notes: [
    `command per run: node ${args('FILE').join(' ')}`,
    'Wall time depends on other load on the machine (2 shared cores); CPU time does not.',
  ],
  data: runs.map(({ json: _json, ...r }) => r),
  headlines: [
    {
      id: 'Scale',
      what: `sim shapes-only production DLRM, ${ranks} ranks × 20 iterations`,
      target: '< 60 s, < 4 GB, same JSON twice',
      result: `${fmt(worstWall, 1)} s wall (${fmt(worstCpu, 1)} s CPU), ${fmt(worstRss, 0)} MB, identical: ${identical}`,
      met: worstWall < 60 && worstRss < 4096 && identical,
    },
  ],
});
