/**
 * `npm run bench`: every benchmark in sequence, each in its own process (its own heap; P7
 * with `--expose-gc`), then `bench/results/summary.md`: one line per docs/design.md "Performance targets" target and
 * every bench's table. `--quick` runs the short versions (a few minutes instead of ~20-30).
 *
 * Run: npm run bench [-- --quick] [-- --only p1,p2] [-- --summary-only]  (`--only` replaces
 * those benches' rows and sections of summary.md and keeps the rest; `--summary-only`
 * rebuilds summary.md from the JSON results already in bench/results)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.ts';
import { mergeSummary } from './lib/summary-merge.ts';
import { machine, markdownTable, RESULTS_DIR, isQuick, type Headline } from './lib/report.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const quick = isQuick();
const onlyArg = process.argv.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? (onlyArg.includes('=')
      ? onlyArg.split('=')[1]
      : process.argv[process.argv.indexOf(onlyArg) + 1]
    ).split(',')
  : null;

interface Bench {
  id: string;
  file: string;
  result: string;
  node?: string[];
}
const benches: Bench[] = [
  { id: 'p1', file: 'bench/p1-schedule-efficiency.ts', result: 'p1-schedule-efficiency' },
  { id: 'p1-kinds', file: 'bench/p1-every-kind.ts', result: 'p1-every-kind' },
  { id: 'p2', file: 'bench/p2-vs-direct-port.ts', result: 'p2-vs-direct-port' },
  { id: 'p6', file: 'bench/p6-sim-speed.ts', result: 'p6-sim-speed' },
  { id: 'p7', file: 'bench/p7-memory.ts', result: 'p7-memory', node: ['--expose-gc'] },
  { id: 'p3', file: 'bench/p3-actor-vs-direct.ts', result: 'p3-actor-vs-direct' },
  { id: 'p4', file: 'bench/p4-threads-scaling.ts', result: 'p4-threads-scaling' },
  { id: 'p5', file: 'bench/p5-vs-pytorch.ts', result: 'p5-vs-pytorch' },
  { id: 'scale', file: 'bench/scale-4096.ts', result: 'scale-4096' },
];

const started = Date.now();
const outcomes: Array<{ id: string; ok: boolean; seconds: number; error?: string }> = [];
const summaryOnly = process.argv.includes('--summary-only');
for (const b of benches) {
  if (summaryOnly || (only && !only.includes(b.id))) continue;
  const args = [...(b.node ?? []), '--import', 'tsx', b.file, ...(quick ? ['--quick'] : [])];
  console.error(`▶ ${b.id}: node ${args.join(' ')}`);
  const r = await runChild(process.execPath, args, { timeoutMs: 3_600_000, cwd: ROOT });
  const table = r.stdout
    .split('\n')
    .filter((l) => !/^=+$|^Hi, looks like|tfjs-node/.test(l))
    .join('\n');
  console.log(`${table.trim()}\n`);
  const ok = r.code === 0 && !r.timedOut;
  if (!ok)
    console.error(
      `✗ ${b.id} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}):\n${r.stderr.trim().split('\n').slice(-8).join('\n')}`,
    );
  outcomes.push({
    id: b.id,
    ok,
    seconds: Math.round(r.wallMs / 1000),
    error: ok ? undefined : r.stderr.trim().split('\n').pop(),
  });
}

// ── summary.md ─────────────────────────────────────────────────────────────────────────
const headlines: Headline[] = [];
const sections: string[] = [];
for (const b of benches) {
  const file = join(RESULTS_DIR, `${b.result}.json`);
  if (!existsSync(file)) continue;
  const j = JSON.parse(readFileSync(file, 'utf8')) as {
    headlines?: Headline[];
    markdown: string;
    date: string;
  };
  headlines.push(...(j.headlines ?? []));
  sections.push(`${j.markdown.trim()}\n\n_measured ${j.date}_\n`);
}
const m = machine();
const summary = [
  '# sparsepipe benchmarks (docs/design.md "Performance targets")',
  '',
  `\`npm run bench${quick ? ' -- --quick' : ''}\` — ${m.cpu}, ${m.cores} cores, Node ${m.node}${summaryOnly ? '' : `, load average at the end ${m.loadavg.join(' / ')}; ${Math.round((Date.now() - started) / 1000)} s`}. Each section below says when it was measured.`,
  '',
  markdownTable(
    ['#', 'what', 'target', 'measured', 'met'],
    headlines.map((h) => [
      h.id,
      h.what,
      h.target,
      h.result,
      h.met === null ? '—' : h.met ? '✓' : '✗',
    ]),
  ),
  '',
  ...outcomes.filter((o) => !o.ok).map((o) => `- ✗ ${o.id} did not finish: ${o.error ?? ''}`),
  '',
  ...sections,
].join('\n');
// a partial run (--only) replaces its own rows and sections and keeps the others
const summaryPath = join(RESULTS_DIR, 'summary.md');
writeFileSync(
  summaryPath,
  only && existsSync(summaryPath)
    ? mergeSummary(readFileSync(summaryPath, 'utf8'), summary)
    : summary,
);
console.log(
  summary
    .split('\n')
    .slice(0, headlines.length + 6)
    .join('\n'),
);
console.error(`wrote ${join(RESULTS_DIR, 'summary.md')}`);
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
