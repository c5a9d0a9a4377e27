/**
 * Regenerates the committed state charts: `visualizations/generated/<machine>.svg` for
 * every machine of the pipeline (coordinator, stage, shardedModule).
 *
 * Run it as `npx sparsepipe charts` (the CLI calls {@link runChartsCommand}) or directly:
 * `npx tsx visualizations/charts/generate.ts [--out DIR] [--check]`.
 *
 * @example
 * const written = await generateCharts('visualizations/generated');
 * // ['visualizations/generated/coordinator.svg', …]
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { coordinatorActorName, coordinatorMachineFor } from '../../machines/pipeline-kinds.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { stageMachine } from '../../machines/stage.ts';
import { shardedModuleBatchMachine } from '../../machines/sharded-module-batch.ts';
import { machineGraph } from './machine-graph.ts';
import { renderMachineSvg } from './render-svg.ts';
import { packageRoot } from '../../src/runtime/module-url.ts';

/** The machines that get a chart, by chart name (the machine's id). */
export const CHART_MACHINES: Readonly<Record<string, AnyStateMachine>> = {
  // The coordinator as the sparse-dist, base and no-pipeline kinds run it (with `detached`).
  coordinator: coordinatorMachineFor('sparseDist'),
  [coordinatorActorName('fusedSparseDist')]: coordinatorMachineFor('fusedSparseDist'),
  [coordinatorActorName('semiSync')]: coordinatorMachineFor('semiSync'),
  [coordinatorActorName('eval')]: coordinatorMachineFor('eval'),
  [coordinatorActorName('prefetchSparseDist')]: coordinatorMachineFor('prefetchSparseDist'),
  stage: stageMachine,
  shardedModule: shardedModuleBatchMachine,
};

/** The charts the inspector shows by default: the coordinator as sparse-dist / base / none run it, the stages, the modules. */
export const INSPECTOR_CHARTS: Readonly<Record<string, AnyStateMachine>> = {
  coordinator: CHART_MACHINES.coordinator,
  stage: CHART_MACHINES.stage,
  shardedModule: CHART_MACHINES.shardedModule,
};

/**
 * The inspector's charts for runs of these pipeline kinds: the default ones plus the
 * coordinator chart of each other kind (named like its coordinator actor, see
 * `coordinatorActorName`).
 *
 * @example
 * Object.keys(inspectorChartsFor(['fusedSparseDist'])); // [..., 'coordinator-fused-sparse-dist']
 */
export function inspectorChartsFor(
  kinds: readonly PipelineKind[],
): Readonly<Record<string, AnyStateMachine>> {
  const charts: Record<string, AnyStateMachine> = { ...INSPECTOR_CHARTS };
  for (const kind of kinds) {
    const name = coordinatorActorName(kind);
    const machine = CHART_MACHINES[name];
    if (machine) charts[name] = machine;
  }
  return charts;
}

/** Where the committed charts live. */
export const GENERATED_DIR = join(packageRoot(import.meta.url), 'visualizations/generated');

/**
 * Renders the chart of one machine by name.
 *
 * @example
 * const svg = await renderChart('stage');
 */
export async function renderChart(name: string): Promise<string> {
  const machine = CHART_MACHINES[name];
  if (!machine) {
    throw new Error(
      `no chart named '${name}': known charts are ${Object.keys(CHART_MACHINES).join(', ')}`,
    );
  }
  return renderMachineSvg(machineGraph(machine));
}

/**
 * Renders every chart; resolves with `{ name, svg }` in a fixed order.
 *
 * @example
 * for (const { name, svg } of await renderAllCharts()) console.log(name, svg.length);
 */
export async function renderAllCharts(): Promise<Array<{ name: string; svg: string }>> {
  const out: Array<{ name: string; svg: string }> = [];
  for (const name of Object.keys(CHART_MACHINES)) out.push({ name, svg: await renderChart(name) });
  return out;
}

/**
 * Writes `<outDir>/<machine>.svg` for every machine; resolves with the files written.
 *
 * @example
 * await generateCharts(GENERATED_DIR);
 */
export async function generateCharts(outDir: string = GENERATED_DIR): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const { name, svg } of await renderAllCharts()) {
    const file = join(outDir, `${name}.svg`);
    writeFileSync(file, svg);
    written.push(file);
  }
  return written;
}

/**
 * Names of the charts whose file in `dir` is missing or differs from a fresh render.
 *
 * @example
 * const stale = await staleCharts(GENERATED_DIR); // [] when up to date
 */
export async function staleCharts(dir: string = GENERATED_DIR): Promise<string[]> {
  const stale: string[] = [];
  for (const { name, svg } of await renderAllCharts()) {
    const file = join(dir, `${name}.svg`);
    if (!existsSync(file) || readFileSync(file, 'utf8') !== svg) stale.push(name);
  }
  return stale;
}

const USAGE = `usage: sparsepipe charts [--out DIR] [--check]
  Regenerates the state charts (one SVG per machine) into DIR (default visualizations/generated).
  The timelines and reference trace there are made by \`npx tsx bench/reference-timelines.ts\`.
  --check   write nothing; exit 1 when a chart in DIR is missing or out of date`;

/**
 * The `sparsepipe charts` command. Resolves with the process exit code.
 *
 * @example
 * process.exitCode = await runChartsCommand(process.argv.slice(3));
 */
export async function runChartsCommand(
  argv: readonly string[],
  io: { log: (line: string) => void; error: (line: string) => void } = console,
): Promise<number> {
  let outDir = GENERATED_DIR;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') {
      const dir = argv[++i];
      if (!dir) {
        io.error('sparsepipe charts: --out needs a directory');
        return 2;
      }
      outDir = dir;
    } else if (arg === '--check') {
      check = true;
    } else if (arg === '--help' || arg === '-h') {
      io.log(USAGE);
      return 0;
    } else {
      io.error(`sparsepipe charts: unknown argument '${arg}'\n${USAGE}`);
      return 2;
    }
  }
  if (check) {
    const stale = await staleCharts(outDir);
    if (stale.length > 0) {
      io.error(
        `sparsepipe charts: out of date in ${outDir}: ${stale.join(', ')} (run \`npx sparsepipe charts\`)`,
      );
      return 1;
    }
    io.log(
      `sparsepipe charts: ${Object.keys(CHART_MACHINES).length} charts up to date in ${outDir}`,
    );
    return 0;
  }
  const written = await generateCharts(outDir);
  for (const file of written) io.log(`wrote ${file}`);
  const others = readdirSync(outDir)
    .filter((name) => !written.some((w) => basename(w) === name))
    .sort();
  if (others.length > 0)
    io.log(
      `not regenerated by charts (state charts only): ${others.join(', ')}` +
        ' — timelines and traces come from `npx tsx bench/reference-timelines.ts`',
    );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runChartsCommand(process.argv.slice(2));
}
