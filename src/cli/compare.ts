/**
 * `sparsepipe compare`: every pipeline kind on the simulated cluster with one cost model
 * (src/cli/compare-kinds.ts): per kind the steady-state iteration time, its own lower
 * bound, which stream bounds it and the speed-up over `base`; `--json FILE` writes
 * `{ pipelines: { <kind>: { iterationMs, boundMs, boundBy, … } }, … }`, `--svg FILE` a bar
 * chart. Deterministic (virtual time).
 *
 * @example
 * await runCompare(['--ranks', '2', '--cost', 'copy=1,dist=4,lookup=3,fwd=2,bwd=3,opt=2'], io);
 */
import { EMB_LOOKUP_STREAMS, type EmbLookupStream } from '../pipeline/options.ts';
import {
  CostSpecError,
  parseCostOverrides,
  type CostOverrideKey,
} from '../runtime/sim/cost-model.ts';
import { checkWritableFile, writeFileAtomic } from './atomic-write.ts';
import { UsageError, type CliIo } from './cli-io.ts';
import {
  comparePipelines,
  zeroStageCosts,
  type CompareReport,
  type StageCosts,
} from './compare-kinds.ts';
import { enumFlag, intFlag, parseFlags, switchFlag, textFlag, type FlagSpecs } from './flags.ts';

export const COMPARE_USAGE = `usage: sparsepipe compare [--ranks N] [--cost copy=MS,dist=MS,lookup=MS,fwd=MS,bwd=MS,opt=MS[,fill=MS]]
                          [--batches N] [--emb-lookup-stream data-dist|new|current] [--json FILE] [--svg FILE]
  Runs every pipeline kind (none, base, sparse-dist, fused-sparse-dist, semi-sync) on the simulated
  cluster with fixed stage costs and prints, per kind, the steady-state iteration time, the kind's
  own lower bound, the stream that bounds it and the speed-up over base (docs/pipelines.md).
  --ranks N              simulated ranks (default 2)
  --cost …               stage costs in ms per iteration: copy, dist (input dist), lookup (embedding
                         lookup), outputDist, fwd, bwd, opt (default copy=1,dist=4,lookup=3,fwd=2,bwd=3,opt=2);
                         fill=MS: cached tables, one batch's cache fill (docs/cached-embeddings.md) —
                         the others pay it before the lookup, and prefetch joins the comparison
  --batches N            batches per rank (default 24; the steady state is the second half)
  --emb-lookup-stream S  stream of the fused / semi-sync look-ahead lookup (default data-dist)
  --json FILE            write { pipelines: { <kind>: { iterationMs, boundMs, boundBy } }, … }
  --svg FILE             write a bar chart of iteration time and bound per kind`;

const FLAGS: FlagSpecs = {
  '--ranks': intFlag(1, 1024),
  '--cost': textFlag('a cost spec like copy=1,dist=4,lookup=3,fwd=2,bwd=3,opt=2'),
  '--batches': intFlag(4, 100000),
  '--emb-lookup-stream': enumFlag(EMB_LOOKUP_STREAMS),
  '--json': textFlag('a file name'),
  '--svg': textFlag('a file name'),
  '--help': switchFlag(),
};

const DEFAULT_COST = 'copy=1,dist=4,lookup=3,fwd=2,bwd=3,opt=2';

/** `--cost` → stage costs; only the stages the comparison models are accepted. */
export function compareCosts(spec: string): StageCosts {
  let o: ReturnType<typeof parseCostOverrides>;
  try {
    o = parseCostOverrides(spec);
  } catch (e) {
    if (e instanceof CostSpecError) throw new UsageError(e.message);
    throw e;
  }
  const stage: Partial<Record<CostOverrideKey, keyof StageCosts>> = {
    copy: 'copy',
    dist: 'dist',
    lookup: 'lookup',
    outputDist: 'outputDist',
    forward: 'fwd',
    backward: 'bwd',
    optimizer: 'opt',
    cacheFill: 'fill',
  };
  const c = zeroStageCosts();
  for (const [key, value] of Object.entries(o) as Array<[CostOverrideKey, number]>) {
    if (key === 'distSplits' || key === 'distData') {
      c.dist += value;
      continue;
    }
    const name = stage[key];
    if (!name)
      throw new UsageError(
        `--cost: ${key} is not a stage of the comparison (stages: copy, dist, lookup, outputDist, fwd, bwd, opt, fill)`,
      );
    c[name] = value;
  }
  return c;
}

export async function runCompare(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, 'compare');
  if (values['--help']) {
    io.out(COMPARE_USAGE);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[0])} for \`sparsepipe compare\``,
    );
  const costs = compareCosts((values['--cost'] as string | undefined) ?? DEFAULT_COST);
  const json = values['--json'] as string | undefined;
  const svg = values['--svg'] as string | undefined;
  for (const [flag, path] of [
    ['--json', json],
    ['--svg', svg],
  ] as const) {
    const problem = path === undefined ? undefined : await checkWritableFile(path, flag);
    if (problem) throw new UsageError(problem);
  }
  const report = await comparePipelines({
    worldSize: (values['--ranks'] as number | undefined) ?? 2,
    costs,
    batches: values['--batches'] as number | undefined,
    embLookupStream: values['--emb-lookup-stream'] as EmbLookupStream | undefined,
  });
  for (const line of compareTable(report)) io.out(line);
  if (json) await writeFileAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  if (svg) await writeFileAtomic(svg, compareSvg(report));
  return 0;
}

/** The report as aligned text lines. */
export function compareTable(r: CompareReport): string[] {
  const c = r.costs;
  const head = `sparsepipe compare — ${r.worldSize} ranks, stage costs (ms) copy=${c.copy} dist=${c.dist} lookup=${c.lookup} outputDist=${c.outputDist} fwd=${c.fwd} bwd=${c.bwd} opt=${c.opt}${c.fill > 0 ? ` fill=${c.fill}` : ''}, lookup stream ${r.embLookupStream}`;
  const rows = Object.entries(r.pipelines).map(([name, k]) => [
    name,
    k.iterationMs.toFixed(3),
    k.boundMs.toFixed(3),
    k.ofBound.toFixed(4),
    k.speedupOverBase === null ? '–' : `${k.speedupOverBase.toFixed(3)}×`,
    k.boundBy,
  ]);
  const cols = ['pipeline', 'iteration ms', 'bound ms', '÷ bound', 'vs base', 'bound by'];
  const widths = cols.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((x, i) => (i === 5 ? x : i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i])))
      .join('  ');
  return [head, line(cols), ...rows.map(line)];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart: per kind, its iteration time (bar) and its bound (tick). */
export function compareSvg(r: CompareReport): string {
  const entries = Object.entries(r.pipelines);
  const max = Math.max(1e-9, ...entries.map(([, k]) => Math.max(k.iterationMs, k.boundMs)));
  const left = 150;
  const width = 760;
  const plot = width - left - 170;
  const rowH = 28;
  const top = 44;
  const height = top + entries.length * rowH + 30;
  const x = (ms: number) => left + (ms / max) * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-weight="bold">${esc(`Steady-state iteration per pipeline kind (${r.worldSize} ranks, virtual ms)`)}</text>`,
    `<text x="12" y="36" fill="#475569">${esc(`copy=${r.costs.copy} dist=${r.costs.dist} lookup=${r.costs.lookup} outputDist=${r.costs.outputDist} fwd=${r.costs.fwd} bwd=${r.costs.bwd} opt=${r.costs.opt}; tick: the kind's bound`)}</text>`,
  ];
  entries.forEach(([name, k], i) => {
    const y = top + i * rowH;
    parts.push(
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(name)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${(x(k.iterationMs) - left).toFixed(1)}" height="16" fill="#0d9488"/>`,
      `<line x1="${x(k.boundMs).toFixed(1)}" y1="${y + 1}" x2="${x(k.boundMs).toFixed(1)}" y2="${y + 23}" stroke="#0f172a" stroke-width="2"/>`,
      `<text x="${(x(Math.max(k.iterationMs, k.boundMs)) + 6).toFixed(1)}" y="${y + 16}" fill="#334155">${esc(`${k.iterationMs.toFixed(2)} ms${k.speedupOverBase === null ? '' : ` · ${k.speedupOverBase.toFixed(2)}× base`}`)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
