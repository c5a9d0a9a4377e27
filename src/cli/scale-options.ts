/**
 * Flags shared by `sparsepipe simulate` and `sparsepipe plan`: the world, the topology, the
 * model, the pipeline kind (any the harness runs), batches, fixed costs, the interpreter
 * and the JSON output. Parsed before anything heavy is loaded; topology and plan files are
 * read here so a bad file fails fast, naming the file and the field.
 *
 * @example
 * const o = await parseScaleArgs(['--ranks', '64', '--topology', 'dgx-a100'], 'simulate');
 */
import { readFile } from 'node:fs/promises';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import {
  SCALE_MODEL_NAMES,
  checkScaleModel,
  scaleModel,
  type ScaleModelName,
  type ScaleModelSpec,
} from '../modules/scale/model-spec.ts';
import { PLAN_STRATEGIES, type PlanStrategy } from '../modules/scale/plan-candidates.ts';
import { parseRanks, type ScalePlan, type TablePlacement } from '../modules/scale/scale-plan.ts';
import {
  CostSpecError,
  parseCostOverrides,
  type CostOverrides,
} from '../runtime/sim/cost-model.ts';
import {
  TOPOLOGY_PRESETS,
  TOPOLOGY_PRESET_NAMES,
  TopologyError,
  parseTopologyJson,
  type Topology,
} from '../runtime/sim/topology.ts';
import { UsageError } from './cli-io.ts';
import { enumFlag, intFlag, parseFlags, switchFlag, textFlag, type FlagSpecs } from './flags.ts';
import { checkWritableFile } from './atomic-write.ts';

/** `sparseDist` ↔ `sparse-dist`. */
export function kebab(kind: string): string {
  return kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * The pipeline kind named `text` (CLI or library spelling) among `kinds` — the kinds the
 * pipeline module offers, passed in once it is loaded (so `--help` and bad flags load no
 * heavy package).
 *
 * @example
 * pipelineKind('fused-sparse-dist', Object.keys(PIPELINE_CLASSES)); // 'fusedSparseDist'
 */
export function pipelineKind(text: string, kinds: readonly string[]): PipelineKind {
  for (const kind of kinds) if (kebab(kind) === text || kind === text) return kind as PipelineKind;
  throw new UsageError(
    `--pipeline must be one of ${kinds.map(kebab).join(', ')}, got ${JSON.stringify(text)}`,
  );
}

export interface ScaleOptions {
  ranks: number;
  ranksPerHost: number | undefined;
  topology: Topology;
  model: ScaleModelSpec;
  /** The kind as given; checked by {@link pipelineKind} once the pipelines are loaded. */
  pipeline: string;
  /** A strategy, `auto`, or a plan read from a file. */
  plan: PlanStrategy | 'auto' | ScalePlan;
  batches: number;
  overrides: CostOverrides;
  interpreter: 'compiled' | 'xstate';
  json: string | null;
  /** `plan`: how many of the analytic best to simulate. */
  simulateTop: number;
}

const SPECS: FlagSpecs = {
  '--ranks': intFlag(1),
  '--ranks-per-host': intFlag(1),
  '--topology': textFlag(`a preset (${TOPOLOGY_PRESET_NAMES.join(', ')}) or a FILE.json`),
  '--model-size': textFlag(`${SCALE_MODEL_NAMES.join('|')} or a FILE.json`),
  '--pipeline': textFlag('a pipeline kind'),
  '--plan': textFlag(`${PLAN_STRATEGIES.join('|')}|auto or a FILE.json`),
  '--batches': intFlag(6),
  '--cost': textFlag('a cost spec like copy=2,fwd=3'),
  '--interpreter': enumFlag(['compiled', 'xstate'] as const),
  '--json': textFlag('a file name'),
  '--simulate-top': intFlag(1),
  '--help': switchFlag(),
};

async function readJsonFile(path: string, what: string): Promise<{ text: string }> {
  try {
    return { text: await readFile(path, 'utf8') };
  } catch (e) {
    throw new UsageError(
      `${what} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
}

async function loadTopology(arg: string): Promise<Topology> {
  if (TOPOLOGY_PRESETS[arg]) return TOPOLOGY_PRESETS[arg];
  if (!arg.endsWith('.json'))
    throw new UsageError(
      `--topology: unknown preset "${arg}" (known: ${TOPOLOGY_PRESET_NAMES.join(', ')}; or a FILE.json)`,
    );
  const { text } = await readJsonFile(arg, '--topology');
  try {
    return parseTopologyJson(text, arg);
  } catch (e) {
    if (e instanceof TopologyError) throw new UsageError(`--topology ${e.message}`);
    throw e;
  }
}

async function loadModel(arg: string): Promise<ScaleModelSpec> {
  if ((SCALE_MODEL_NAMES as readonly string[]).includes(arg))
    return scaleModel(arg as ScaleModelName);
  if (!arg.endsWith('.json'))
    throw new UsageError(
      `--model-size must be ${SCALE_MODEL_NAMES.join(', ')} or a FILE.json, got ${JSON.stringify(arg)}`,
    );
  const { text } = await readJsonFile(arg, '--model-size');
  try {
    const raw = JSON.parse(text) as ScaleModelSpec;
    return checkScaleModel(
      { ...raw, name: raw.name ?? arg, description: raw.description ?? arg },
      arg,
    );
  } catch (e) {
    throw new UsageError(`--model-size ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function loadPlan(arg: string): Promise<ScaleOptions['plan']> {
  if (arg === 'auto' || (PLAN_STRATEGIES as readonly string[]).includes(arg))
    return arg as PlanStrategy | 'auto';
  if (!arg.endsWith('.json'))
    throw new UsageError(
      `--plan must be auto, ${PLAN_STRATEGIES.join(', ')} or a FILE.json, got ${JSON.stringify(arg)}`,
    );
  const { text } = await readJsonFile(arg, '--plan');
  try {
    const raw = JSON.parse(text) as {
      worldSize: number;
      ranksPerHost: number;
      tables: Array<Omit<TablePlacement, 'ranks'> & { ranks: string | number[] }>;
    };
    if (!Array.isArray(raw.tables)) throw new Error('field "tables" must be an array');
    return {
      worldSize: raw.worldSize,
      ranksPerHost: raw.ranksPerHost,
      tables: raw.tables.map((t, i) => {
        if (typeof t.ranks !== 'string' && !Array.isArray(t.ranks))
          throw new Error(`tables[${i}].ranks must be a list of ranks or a string like "0-7"`);
        return { ...t, ranks: typeof t.ranks === 'string' ? parseRanks(t.ranks) : t.ranks };
      }),
    };
  } catch (e) {
    throw new UsageError(`--plan ${arg}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Parse the flags of `command`; `'help'` for `--help`.
 *
 * @example
 * await parseScaleArgs(['--pipeline', 'base'], 'plan');
 */
export async function parseScaleArgs(
  argv: readonly string[],
  command: 'simulate' | 'plan',
): Promise<ScaleOptions | 'help'> {
  const { values, positionals } = parseFlags([...argv], SPECS, command);
  if (values['--help']) return 'help';
  if (positionals.length > 0)
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positionals[0])}`);
  const get = <T>(flag: string, fallback: T): T =>
    flag in values ? (values[flag] as T) : fallback;
  let overrides: CostOverrides;
  try {
    overrides = parseCostOverrides(get('--cost', ''));
  } catch (e) {
    if (e instanceof CostSpecError) throw new UsageError(e.message);
    throw e;
  }
  const json = get<string | null>('--json', null);
  if (json !== null) {
    const problem = await checkWritableFile(json, '--json');
    if (problem) throw new UsageError(problem);
  }
  return {
    ranks: get('--ranks', 64),
    ranksPerHost: get<number | undefined>('--ranks-per-host', undefined),
    topology: await loadTopology(get('--topology', 'torchrec-default')),
    model: await loadModel(get('--model-size', 'medium')),
    pipeline: get('--pipeline', 'sparse-dist'),
    plan: await loadPlan(get('--plan', 'auto')),
    batches: get('--batches', 20),
    overrides,
    interpreter: get('--interpreter', 'compiled'),
    json,
    simulateTop: get('--simulate-top', 3),
  };
}
