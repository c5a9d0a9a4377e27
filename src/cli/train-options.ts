/**
 * The options of `sparsepipe train` (docs/design.md "Contracts"): their flags, defaults and validation.
 * {@link parseTrainArgs} turns argv into a complete {@link TrainOptions} or throws a
 * {@link UsageError} whose message names the flag and the value given.
 *
 * @example
 * const options = parseTrainArgs(['--ranks', '2', '--batches', '8']);
 * if (options !== 'help') options.batchSize; // 256 (the global batch, split evenly across ranks)
 */
import {
  GRAD_ACCUM_SCHEDULES,
  type GradAccumSchedule,
} from '../../machines/accumulation-schedule.ts';
import {
  CostSpecError,
  parseCostOverrides,
  type CostOverrides,
} from '../runtime/sim/cost-model.ts';
import type { EmbeddingCacheConfig } from '../modules/embedding-cache/cache-config.ts';
import { UsageError } from './cli-io.ts';
import type { PipelineKind } from '../../machines/coordinator-types.ts';
import { EMB_LOOKUP_STREAMS, type EmbLookupStream } from '../pipeline/options.ts';
import {
  enumFlag,
  intFlag,
  optionalFlag,
  parseFlags,
  positiveNumberFlag,
  switchFlag,
  textFlag,
  type FlagSpecs,
} from './flags.ts';

export const BACKENDS = ['sim', 'threads', 'mpi'] as const;
export const DEVICES = ['sim', 'wasm', 'cpu', 'gpu'] as const;
export const PIPELINES = [
  'none',
  'base',
  'sparse-dist',
  'fused-sparse-dist',
  'semi-sync',
  'prefetch',
] as const;
export const OPTIMIZERS = ['sgd', 'adagrad'] as const;
export const MODEL_SIZES = ['small', 'reference'] as const;
export const INTERPRETERS = ['xstate', 'compiled'] as const;
export const CACHE_POLICIES = ['lru', 'lfu'] as const;
export const DENSE_MATH = ['auto', 'blas', 'wasm'] as const;

export type Backend = (typeof BACKENDS)[number];
export type DeviceChoice = (typeof DEVICES)[number];
export type PipelineChoice = (typeof PIPELINES)[number];

/** The pipeline kind of each `--pipeline` choice. */
export const PIPELINE_KIND: Readonly<Record<PipelineChoice, PipelineKind>> = {
  none: 'none',
  base: 'base',
  'sparse-dist': 'sparseDist',
  'fused-sparse-dist': 'fusedSparseDist',
  'semi-sync': 'semiSync',
  prefetch: 'prefetchSparseDist',
};

export type OptimizerChoice = (typeof OPTIMIZERS)[number];
export type ModelSize = (typeof MODEL_SIZES)[number];
export type InterpreterChoice = (typeof INTERPRETERS)[number];
export type DenseMathFlag = (typeof DENSE_MATH)[number];

/**
 * Default number of batches: the default run (small DLRM, 4 simulated ranks, global batch
 * 256, wasm math) takes about 10 s of wall time on the 2-core development machine (measured
 * with `time npx sparsepipe train`: 9.9 s real while the machine was shared, ~6 s idle).
 */
export const DEFAULT_BATCHES = 64;
/**
 * The learning rate a model size trains well with when `--lr` is not given. Why the
 * reference model needs a smaller one: Adagrad's accumulator starts at 0, so its first
 * step moves every weight by `lr · sign(g)`, whatever the gradient's size; through the
 * reference model's 512-wide layers that shifts each pre-activation by up to
 * `lr × fan-in × |x|`. With 0.05 the reference run's loss went 0.709 → 280 at batch 1;
 * 0.02 → 8.4, 0.01 → 1.10, 0.005 → 0.97 at batch 2, 0.002 → no rise above the first loss
 * and the best AUC of the spike-free rates (command: `sparsepipe train --model-size
 * reference --batches 12 --ranks 2 --lr X --held-out-examples 1024`). The small model's
 * 32-wide layers take 0.05 without a spike.
 */
export const DEFAULT_LR: Readonly<Record<ModelSize, number>> = { small: 0.05, reference: 0.002 };

/** Held-out examples evaluated after training (synthetic data). */
export const DEFAULT_HELD_OUT_EXAMPLES = 4096;
/** Port of a bare `--inspect`: 0, any free port (the URL is printed). */
export const DEFAULT_INSPECT_PORT = 0;

/** Everything a `sparsepipe train` run uses (every field filled). */
export interface TrainOptions {
  model: 'dlrm';
  modelSize: ModelSize;
  /** `'synthetic'` or the path of a Criteo TSV file. */
  data: string;
  skipBadRows: boolean;
  ranks: number;
  backend: Backend;
  device: DeviceChoice;
  /** Matrix products of the wasm backend: OpenBLAS (`auto` when installed, `blas`) or tfjs's own. */
  denseMath: DenseMathFlag;
  /** OpenBLAS threads per rank (process-wide under `--backend threads`: docs/dense-math.md). */
  blasThreads: number;
  pipeline: PipelineChoice;
  /** Batches in all (a resumed run continues until this many have been trained). */
  batches: number;
  /** Global batch size, split evenly across ranks. */
  batchSize: number;
  gradAccum: number;
  gradAccumSchedule: GradAccumSchedule;
  optimizer: OptimizerChoice;
  lr: number;
  seed: number;
  /** `--cost` as given ('' when absent) and parsed. */
  cost: string;
  costOverrides: CostOverrides;
  /**
   * Held-out examples evaluated after training. Synthetic data: that many from the log's
   * held-out stream. A Criteo file: its last `min(heldOutExamples, rows / 10)` rows, which
   * are then not trained on.
   */
  heldOutExamples: number;
  /** `--table-rows`: rows of every embedding table (null: the model size's). */
  tableRows: number | null;
  /** `--embedding-dim`: dim of every embedding table (null: the model size's). */
  embeddingDim: number | null;
  checkpointOut: string | null;
  resume: string | null;
  trace: string | null;
  /** JSON array of every event (what `sparsepipe inspect FILE` replays). */
  traceEvents: string | null;
  json: string | null;
  /** `--report DIR`: write the report (`report.txt`) and the loss curve (`loss.svg`) there. */
  report: string | null;
  /** Inspector port, or null without `--inspect`. */
  inspect: number | null;
  /**
   * `--inspect-wait`: the run starts paused until the page's resume or step. Implies
   * `--inspect` (whose inspector keeps serving after the end until SIGINT (Ctrl-C) or SIGTERM).
   */
  inspectWait: boolean;
  /** The actors' statechart interpreter: XState's own (default) or the compiled opt-in. */
  interpreter: InterpreterChoice;
  /**
   * `--cache-rows N` / `--cache-fraction F` (+ `--cache-policy`, `--cache-dir`): every table
   * in a slow tier behind a row cache of that size (docs/cached-embeddings.md); null: uncached.
   */
  cache: EmbeddingCacheConfig | null;
  /** Fused sparse-dist / semi-sync: the look-ahead lookup's stream (docs/pipelines.md). */
  embLookupStream: EmbLookupStream;
  /** Semi-sync: the first batch trained semi-synchronously. */
  startBatch: number;
  /** Semi-sync: TorchRec's stash_gradients. */
  stashGradients: boolean;
  /** Train nothing: evaluate the `--resume` checkpoint on the held-out data (eval pipeline). */
  evalOnly: boolean;
}

/**
 * Upper limits of the size flags (docs/reliability.md "Size limits"): each refuses, with
 * the flag named, what could only fail later (an array too long for a typed array, hours
 * of work by a typo). What must also fit in memory is checked by src/cli/memory-estimate.ts.
 */
export const MAX_BATCHES = 1_000_000_000;
export const MAX_BATCH_SIZE = 16_777_216;
export const MAX_GRAD_ACCUM = 65_536;
export const MAX_HELD_OUT_EXAMPLES = 1_000_000;
export const MAX_CACHE_ROWS = 2_147_483_647;
export const MAX_TABLE_ROWS = 2_147_483_647;
export const MAX_SEED = 4_294_967_295;

export const TRAIN_FLAGS: FlagSpecs = {
  '--model': enumFlag(['dlrm'] as const),
  '--model-size': enumFlag(MODEL_SIZES),
  '--data': textFlag('"synthetic" or the path of a Criteo TSV file'),
  '--skip-bad-rows': switchFlag(),
  '--ranks': intFlag(1, 1024),
  '--backend': enumFlag(BACKENDS),
  '--device': enumFlag(DEVICES),
  '--dense-math': enumFlag(DENSE_MATH),
  '--blas-threads': intFlag(1, 256),
  '--pipeline': enumFlag(PIPELINES),
  '--batches': intFlag(1, MAX_BATCHES),
  '--batch-size': intFlag(1, MAX_BATCH_SIZE),
  '--grad-accum': intFlag(1, MAX_GRAD_ACCUM),
  '--grad-accum-schedule': enumFlag(GRAD_ACCUM_SCHEDULES),
  '--optimizer': enumFlag(OPTIMIZERS),
  '--lr': positiveNumberFlag(),
  '--seed': intFlag(0, MAX_SEED),
  '--cost': textFlag('a cost spec like copy=2,dist=5,fwd=3,bwd=4,opt=1'),
  '--held-out-examples': intFlag(0, MAX_HELD_OUT_EXAMPLES),
  '--table-rows': intFlag(1, MAX_TABLE_ROWS),
  '--embedding-dim': intFlag(1, 4096),
  '--checkpoint-out': textFlag('a directory'),
  '--resume': textFlag('a checkpoint directory'),
  '--trace': textFlag('a file name (FILE.json)'),
  '--trace-events': textFlag('a file name (FILE.json)'),
  '--json': textFlag('a file name'),
  '--report': textFlag('a directory'),
  '--inspect': optionalFlag(intFlag(0, 65535), DEFAULT_INSPECT_PORT),
  '--inspect-wait': switchFlag(),
  '--interpreter': enumFlag(INTERPRETERS),
  '--cache-rows': intFlag(1, MAX_CACHE_ROWS),
  '--cache-fraction': positiveNumberFlag(),
  '--cache-policy': enumFlag(CACHE_POLICIES),
  '--cache-dir': textFlag('a directory for the slow tier files'),
  '--emb-lookup-stream': enumFlag(EMB_LOOKUP_STREAMS),
  '--start-batch': intFlag(0, MAX_BATCHES),
  '--stash-gradients': switchFlag(),
  '--eval-only': switchFlag(),
  '--help': switchFlag(),
};

/**
 * Parse and validate `sparsepipe train`'s arguments (without the `train` word). Returns
 * `'help'` for `--help`.
 *
 * @example
 * parseTrainArgs(['--grad-accum', '0']); // throws UsageError: --grad-accum must be an integer ≥ 1, got "0"
 */
export function parseTrainArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): TrainOptions | 'help' {
  const { values, positionals } = parseFlags(argv, TRAIN_FLAGS, 'train');
  if (values['--help']) return 'help';
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[0])} for \`sparsepipe train\` (options start with --)`,
    );
  const get = <T>(flag: string, fallback: T): T =>
    flag in values ? (values[flag] as T) : fallback;

  const backend = get<Backend>('--backend', 'sim');
  const device = get<DeviceChoice>('--device', backend === 'sim' ? 'sim' : 'wasm');
  // Started by an external `mpirun`, every process is one rank: the world size is the default.
  const mpiWorld = backend === 'mpi' ? Number(env.OMPI_COMM_WORLD_SIZE) : NaN;
  const ranks = get('--ranks', Number.isInteger(mpiWorld) && mpiWorld > 0 ? mpiWorld : 4);
  const batchSize = get('--batch-size', 256);
  const cost = get('--cost', '');
  const data = get('--data', 'synthetic');
  const skipBadRows = get('--skip-bad-rows', false);
  const inspectWait = get('--inspect-wait', false);
  const options: TrainOptions = {
    model: get('--model', 'dlrm'),
    modelSize: get('--model-size', 'small'),
    data,
    skipBadRows,
    ranks,
    backend,
    device,
    denseMath: get('--dense-math', 'auto'),
    blasThreads: get('--blas-threads', 1),
    pipeline: get('--pipeline', 'sparse-dist'),
    batches: get('--batches', DEFAULT_BATCHES),
    batchSize,
    gradAccum: get('--grad-accum', 1),
    gradAccumSchedule: get('--grad-accum-schedule', 'exact'),
    optimizer: get('--optimizer', 'adagrad'),
    lr: get('--lr', DEFAULT_LR[get<ModelSize>('--model-size', 'small')]),
    seed: get('--seed', 1),
    cost,
    costOverrides: parseCost(cost),
    heldOutExamples: get('--held-out-examples', DEFAULT_HELD_OUT_EXAMPLES),
    tableRows: get<number | null>('--table-rows', null),
    embeddingDim: get<number | null>('--embedding-dim', null),
    checkpointOut: get<string | null>('--checkpoint-out', null),
    resume: get<string | null>('--resume', null),
    trace: get<string | null>('--trace', null),
    traceEvents: get<string | null>('--trace-events', null),
    json: get<string | null>('--json', null),
    report: get<string | null>('--report', null),
    inspect: get<number | null>('--inspect', inspectWait ? DEFAULT_INSPECT_PORT : null),
    inspectWait,
    interpreter: get<InterpreterChoice>('--interpreter', 'xstate'),
    cache: cacheOptions(values),
    embLookupStream: get<EmbLookupStream>('--emb-lookup-stream', 'data-dist'),
    startBatch: get('--start-batch', 0),
    stashGradients: get('--stash-gradients', false),
    evalOnly: get('--eval-only', false),
  };
  checkCombinations(options, values);
  return options;
}

function cacheOptions(given: Record<string, unknown>): EmbeddingCacheConfig | null {
  const rows = given['--cache-rows'] as number | undefined;
  const fraction = given['--cache-fraction'] as number | undefined;
  if (rows !== undefined && fraction !== undefined)
    throw new UsageError('--cache-rows and --cache-fraction both size the cache: give one');
  if (fraction !== undefined && fraction > 1)
    throw new UsageError(`--cache-fraction must be in (0, 1], got "${fraction}"`);
  if (rows === undefined && fraction === undefined) {
    for (const f of ['--cache-policy', '--cache-dir'])
      if (f in given)
        throw new UsageError(`${f} needs a cache: give --cache-rows N or --cache-fraction F`);
    return null;
  }
  const dir = given['--cache-dir'] as string | undefined;
  return {
    ...(rows !== undefined ? { rows } : { fraction }),
    policy: (given['--cache-policy'] as EmbeddingCacheConfig['policy']) ?? 'lru',
    slowTier: dir !== undefined ? { kind: 'file', dir } : { kind: 'memory' },
  };
}

function parseCost(spec: string): CostOverrides {
  try {
    return parseCostOverrides(spec);
  } catch (e) {
    if (e instanceof CostSpecError) throw new UsageError(e.message);
    throw e;
  }
}

function checkCombinations(o: TrainOptions, given: Record<string, unknown>): void {
  const lookAhead = o.pipeline === 'fused-sparse-dist' || o.pipeline === 'semi-sync';
  if ('--emb-lookup-stream' in given && !lookAhead)
    throw new UsageError(
      `--emb-lookup-stream applies to --pipeline fused-sparse-dist or semi-sync, got --pipeline ${o.pipeline}`,
    );
  for (const flag of ['--start-batch', '--stash-gradients'] as const)
    if (flag in given && o.pipeline !== 'semi-sync')
      throw new UsageError(`${flag} applies to --pipeline semi-sync, got --pipeline ${o.pipeline}`);
  if (o.pipeline === 'semi-sync' && o.gradAccum !== 1)
    throw new UsageError(
      `--pipeline semi-sync steps after every batch: --grad-accum must be 1, got ${o.gradAccum}`,
    );
  if (o.evalOnly && o.resume === null)
    throw new UsageError('--eval-only evaluates a checkpoint: give it with --resume DIR');
  if (o.evalOnly && (o.data !== 'synthetic' || o.heldOutExamples === 0))
    throw new UsageError(
      '--eval-only evaluates on the held-out stream of synthetic data: it needs --data synthetic and --held-out-examples > 0',
    );
  if (o.evalOnly && o.checkpointOut !== null)
    throw new UsageError(
      '--eval-only trains nothing: --checkpoint-out would write the same checkpoint',
    );
  if (o.batchSize % o.ranks !== 0) {
    throw new UsageError(
      `--batch-size ${o.batchSize} is not divisible by --ranks ${o.ranks} (it is the global batch, split evenly across ranks)`,
    );
  }
  if (o.backend !== 'sim' && o.device === 'sim') {
    throw new UsageError(
      `--device sim needs --backend sim (--backend ${o.backend} runs real ranks: choose --device wasm, cpu or gpu)`,
    );
  }
  if (o.denseMath === 'blas' && (o.device === 'cpu' || o.device === 'gpu')) {
    throw new UsageError(
      `--dense-math blas replaces the wasm backend's matMuls and needs --device wasm (or sim), got --device ${o.device}`,
    );
  }
  if (o.cost !== '' && o.device !== 'sim') {
    throw new UsageError(
      `--cost sets simulated op durations and needs --device sim, got --device ${o.device}`,
    );
  }
  if (o.inspectWait && o.backend !== 'sim') {
    throw new UsageError(
      `--inspect-wait needs --backend sim (the inspector follows in-process ranks; --backend ${o.backend} runs them elsewhere)`,
    );
  }
  if (o.inspect !== null && o.backend !== 'sim') {
    throw new UsageError(
      `--inspect needs --backend sim (the inspector follows in-process ranks; --backend ${o.backend} runs them elsewhere — record with --trace-events and replay with \`sparsepipe inspect FILE\`)`,
    );
  }
  if (o.skipBadRows && o.data === 'synthetic')
    throw new UsageError(
      '--skip-bad-rows applies to a Criteo TSV file given with --data FILE.tsv, not to synthetic data',
    );
  if (o.heldOutExamples > 0 && o.heldOutExamples < o.ranks) {
    throw new UsageError(
      `--held-out-examples ${o.heldOutExamples} must be 0 or at least --ranks ${o.ranks}`,
    );
  }
  const paths = (
    ['--checkpoint-out', '--resume', '--trace', '--trace-events', '--json'] as const
  ).filter((f) => f in given);
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const a = given[paths[i]];
      const b = given[paths[j]];
      const bothDirs =
        new Set([paths[i], paths[j]]).has('--resume') &&
        new Set([paths[i], paths[j]]).has('--checkpoint-out');
      if (a === b && !bothDirs)
        throw new UsageError(`${paths[i]} and ${paths[j]} name the same path ${JSON.stringify(a)}`);
    }
  }
}
