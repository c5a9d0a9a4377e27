/**
 * Faults the simulated cluster can inject (docs/design.md "Reliability"), as plain data passed to
 * `simulateCluster({ faults: [...] })`, and the errors injected faults raise.
 *
 * | kind | what happens | what the run shows |
 * |---|---|---|
 * | `slowRank` | the rank's device ops take `multiplier`× longer and its collectives transfer `multiplier`× slower | every batch trains; the cluster runs at the slow rank's pace |
 * | `delayCollective` | the rank arrives `extraMs` late at its collectives (all, or only the `index`-th of a channel) | every batch trains, later |
 * | `dropCollective` | the rank's `index`-th collective on `channel` never arrives | peers reject with `CollectiveTimeoutError` naming the rank; the rank itself with {@link DroppedCollectiveError} |
 * | `dataloaderStall` | before yielding batch `atBatch` the rank's dataloader sleeps `ms` virtual ms | every batch trains, `ms` later |
 * | `dataloaderError` | the rank's dataloader throws instead of yielding batch `atBatch` | the rank's `progress` rejects with `DataloaderError` naming batch `atBatch`; peers time out naming the rank |
 * | `crash` | at virtual time `atMs` the rank dies: both of its channels fail and its loop stops | the rank ends with {@link RankCrashedError}; peers reject with `PeerFailedError` naming it |
 * | `nonFiniteGrad` | the loss of batch `atBatch` is multiplied by `value` (default `Infinity`) on the rank | with `gradScaling: true` that step is skipped on every rank (`optimizer.skipped`) and the scale halves; without it the parameters become NaN |
 *
 * Batch indices count the batches the rank fetched from its dataloader, from 0. Collective
 * indices count the rank's calls on one channel (`default`: output dist, backward, gradient
 * all-reduce; `dist`: input dist), from 0.
 *
 * @example
 * const faults: Fault[] = [
 *   { kind: 'slowRank', rank: 1, multiplier: 3 },
 *   { kind: 'dataloaderStall', rank: 0, atBatch: 4, ms: 50 },
 *   { kind: 'crash', rank: 2, atMs: 120, reason: 'OOM' },
 * ];
 * const result = await simulateCluster({ worldSize: 4, batches: 10, globalBatchSize: 32, faults });
 */
import type { Rank } from '../protocol/index.ts';
import { CostModel, type CostOverrides } from '../runtime/sim/cost-model.ts';

/**
 * Which process-group channel of a rank: the default stream's or the input dist's.
 *
 * @example
 * const f: DropCollectiveFault = { kind: 'dropCollective', rank: 1, index: 0, channel: 'dist' };
 */
export type CollectiveChannel = 'default' | 'dist';

/**
 * Every device op of `rank` takes `multiplier`× longer, and so do its collective transfers.
 *
 * @example
 * const slow: SlowRankFault = { kind: 'slowRank', rank: 3, multiplier: 2 };
 */
export interface SlowRankFault {
  kind: 'slowRank';
  rank: Rank;
  /** > 0; 3 means three times slower. */
  multiplier: number;
}

/**
 * `rank` arrives `extraMs` late at its collectives: every one, or only the `index`-th on `channel`.
 *
 * @example
 * const late: DelayCollectiveFault = { kind: 'delayCollective', rank: 0, extraMs: 20, index: 5 };
 */
export interface DelayCollectiveFault {
  kind: 'delayCollective';
  rank: Rank;
  extraMs: number;
  /** Only this call (0-based, per channel); omitted: every collective on both channels. */
  index?: number;
  /** With `index`: the channel it counts on (default `default`). */
  channel?: CollectiveChannel;
}

/**
 * The `index`-th collective of `rank` on `channel` never arrives (and nothing later on that channel).
 *
 * @example
 * const drop: DropCollectiveFault = { kind: 'dropCollective', rank: 1, index: 4 };
 */
export interface DropCollectiveFault {
  kind: 'dropCollective';
  rank: Rank;
  index: number;
  /** Default `default`. */
  channel?: CollectiveChannel;
}

/**
 * The dataloader of `rank` sleeps `ms` virtual ms before yielding batch `atBatch`.
 *
 * @example
 * const stall: DataloaderStallFault = { kind: 'dataloaderStall', rank: 0, atBatch: 4, ms: 50 };
 */
export interface DataloaderStallFault {
  kind: 'dataloaderStall';
  rank: Rank;
  atBatch: number;
  ms: number;
}

/**
 * The dataloader of `rank` throws instead of yielding batch `atBatch`.
 *
 * @example
 * const broken: DataloaderErrorFault = { kind: 'dataloaderError', rank: 1, atBatch: 4, message: 'disk gone' };
 */
export interface DataloaderErrorFault {
  kind: 'dataloaderError';
  rank: Rank;
  atBatch: number;
  /** Message of the thrown error (default: names the fault). */
  message?: string;
}

/**
 * `rank` dies at virtual time `atMs`.
 *
 * @example
 * const crash: CrashFault = { kind: 'crash', rank: 2, atMs: 120, reason: 'OOM' };
 */
export interface CrashFault {
  kind: 'crash';
  rank: Rank;
  atMs: number;
  reason?: string;
}

/**
 * The loss of batch `atBatch` on `rank` is multiplied by `value` (inf/NaN gradients).
 *
 * @example
 * const overflow: NonFiniteGradFault = { kind: 'nonFiniteGrad', rank: 0, atBatch: 3 };
 */
export interface NonFiniteGradFault {
  kind: 'nonFiniteGrad';
  rank: Rank;
  atBatch: number;
  /** `Infinity` (default), `-Infinity` or `NaN`. */
  value?: number;
}

/**
 * Any injectable fault (see the module doc for what each does).
 *
 * @example
 * const faults: Fault[] = [{ kind: 'slowRank', rank: 1, multiplier: 3 }, { kind: 'crash', rank: 2, atMs: 40 }];
 */
export type Fault =
  | SlowRankFault
  | DelayCollectiveFault
  | DropCollectiveFault
  | DataloaderStallFault
  | DataloaderErrorFault
  | CrashFault
  | NonFiniteGradFault;

/**
 * The `kind` tag of a fault.
 *
 * @example
 * const kinds: FaultKind[] = ['slowRank', 'crash'];
 */
export type FaultKind = Fault['kind'];

/**
 * When and where a fault took effect (`simulateCluster` result `faults`).
 *
 * @example
 * for (const f of result.faults) console.log(f.description, f.firedAt);
 */
export interface FaultRecord {
  fault: Fault;
  /** Virtual ms when it took effect; undefined if it never did (e.g. the run ended first). */
  firedAt?: number;
  /** One line: what was injected and where. */
  description: string;
}

/**
 * One line naming a fault, e.g. `crash of rank 2 at t=120 ms (OOM)`.
 *
 * @example
 * describeFault({ kind: 'dropCollective', rank: 1, index: 3 }); // 'rank 1 drops its collective #3 on the default channel'
 */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'slowRank':
      return `rank ${f.rank} runs ${f.multiplier}× slower (device ops and collective transfers)`;
    case 'delayCollective':
      return f.index === undefined
        ? `rank ${f.rank} arrives ${f.extraMs} ms late at every collective`
        : `rank ${f.rank} arrives ${f.extraMs} ms late at its collective #${f.index} on the ${f.channel ?? 'default'} channel`;
    case 'dropCollective':
      return `rank ${f.rank} drops its collective #${f.index} on the ${f.channel ?? 'default'} channel`;
    case 'dataloaderStall':
      return `dataloader of rank ${f.rank} stalls ${f.ms} ms before batch ${f.atBatch}`;
    case 'dataloaderError':
      return `dataloader of rank ${f.rank} throws at batch ${f.atBatch}`;
    case 'crash':
      return `crash of rank ${f.rank} at t=${f.atMs} ms${f.reason ? ` (${f.reason})` : ''}`;
    case 'nonFiniteGrad':
      return `loss of batch ${f.atBatch} on rank ${f.rank} multiplied by ${f.value ?? Infinity}`;
  }
}

/**
 * Throws a `RangeError` naming the fault and the field when a fault cannot apply to a cluster
 * of `worldSize` ranks.
 *
 * @example
 * checkFault({ kind: 'crash', rank: 5, atMs: 1 }, 4); // RangeError: faults[…] crash: rank 5 is not in 0..3
 */
export function checkFault(f: Fault, worldSize: number, where = 'fault'): void {
  const bad = (field: string, why: string): never => {
    throw new RangeError(`${where} (${f.kind}): ${field} ${why}`);
  };
  if (!Number.isInteger(f.rank) || f.rank < 0 || f.rank >= worldSize)
    bad('rank', `${f.rank} is not in 0..${worldSize - 1}`);
  const nonNegativeInt = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 0) bad(field, `must be an integer ≥ 0, got ${v}`);
  };
  const nonNegative = (field: string, v: number) => {
    if (!Number.isFinite(v) || v < 0) bad(field, `must be a finite number ≥ 0, got ${v}`);
  };
  switch (f.kind) {
    case 'slowRank':
      if (!Number.isFinite(f.multiplier) || f.multiplier <= 0)
        bad('multiplier', `must be a finite number > 0, got ${f.multiplier}`);
      return;
    case 'delayCollective':
      nonNegative('extraMs', f.extraMs);
      if (f.index !== undefined) nonNegativeInt('index', f.index);
      return;
    case 'dropCollective':
      nonNegativeInt('index', f.index);
      return;
    case 'dataloaderStall':
      nonNegativeInt('atBatch', f.atBatch);
      nonNegative('ms', f.ms);
      return;
    case 'dataloaderError':
      nonNegativeInt('atBatch', f.atBatch);
      return;
    case 'crash':
      nonNegative('atMs', f.atMs);
      return;
    case 'nonFiniteGrad':
      nonNegativeInt('atBatch', f.atBatch);
      if (f.value !== undefined && Number.isFinite(f.value))
        bad('value', `must be Infinity, -Infinity or NaN, got ${f.value}`);
      return;
  }
}

/**
 * `model` with every device op `multiplier`× longer: latencies and fixed stage costs
 * multiplied, bandwidth and throughput divided (collective rates are left to the process
 * group's `setDelay`).
 *
 * @example
 * slowedCostModel(new CostModel({ overrides: { forward: 3 } }), 2).duration({ kind: 'forward' }); // 6
 */
export function slowedCostModel(model: CostModel, multiplier: number): CostModel {
  if (!Number.isFinite(multiplier) || multiplier <= 0)
    throw new RangeError(
      `slowedCostModel: multiplier must be a finite number > 0, got ${multiplier}`,
    );
  const o = model.options();
  const overrides: CostOverrides = {};
  for (const [k, v] of Object.entries(o.overrides))
    overrides[k as keyof CostOverrides] = (v as number) * multiplier;
  return new CostModel({
    latencyMs: o.latencyMs * multiplier,
    copyBytesPerMs: o.copyBytesPerMs / multiplier,
    flopsPerMs: o.flopsPerMs / multiplier,
    alphaMs: o.alphaMs,
    betaBytesPerMs: o.betaBytesPerMs,
    overrides,
  });
}

/**
 * Base of the errors injected faults raise; `fault` is the fault that raised it.
 *
 * @example
 * if (error instanceof InjectedFaultError) console.log(describeFault(error.fault));
 */
export class InjectedFaultError extends Error {
  override readonly name: string = 'InjectedFaultError';
  constructor(
    readonly fault: Fault,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Raised on the rank whose collective was dropped, when the group's timeout has passed.
 *
 * @example
 * if (result.ranks[1].error instanceof DroppedCollectiveError) console.log(result.ranks[1].error.message);
 */
export class DroppedCollectiveError extends InjectedFaultError {
  override readonly name = 'DroppedCollectiveError';
  constructor(
    fault: DropCollectiveFault,
    readonly collective: string,
  ) {
    super(
      fault,
      `rank ${fault.rank}: ${collective} on the ${fault.channel ?? 'default'} channel was dropped (injected fault): its peers never received it`,
    );
  }
}

/**
 * The error a crashed rank ends with.
 *
 * @example
 * result.ranks[2].error?.message; // 'rank 2 crashed at t=120 ms (injected fault: OOM)'
 */
export class RankCrashedError extends InjectedFaultError {
  override readonly name = 'RankCrashedError';
  constructor(
    fault: CrashFault,
    readonly atMs: number,
  ) {
    super(
      fault,
      `rank ${fault.rank} crashed at t=${atMs} ms (injected fault${fault.reason ? `: ${fault.reason}` : ''})`,
    );
  }
}

/**
 * What an injected `dataloaderError` throws from the iterator (the pipeline wraps it in a
 * `DataloaderError` naming the batch).
 *
 * @example
 * (err as DataloaderError).cause instanceof InjectedDataloaderError; // true
 */
export class InjectedDataloaderError extends InjectedFaultError {
  override readonly name = 'InjectedDataloaderError';
  constructor(fault: DataloaderErrorFault) {
    super(
      fault,
      fault.message ?? `injected dataloader error at batch ${fault.atBatch} on rank ${fault.rank}`,
    );
  }
}
