/**
 * Schedule assertions over an event log (one rank's, or the merged log of a simulated
 * cluster): happens-before between events, overlap of two spans, the steady-state
 * iteration time and the bound a pipeline can reach under a cost model.
 *
 * Every check returns a {@link ScheduleCheck} — `{ ok, message }` — whose message reads as
 * a sentence naming the events, ranks, batches and virtual times involved, so a failing
 * test says what went wrong. Use {@link assertSchedule} to throw it, or
 * `expect(check.ok, check.message).toBe(true)` in vitest.
 *
 * When a matcher names no rank, the check runs on every rank in the log and fails on the
 * first rank where it does not hold.
 *
 * @example
 * const { log } = await simulateCluster({ worldSize: 2, batches: 8, globalBatchSize: 32, costModel });
 * assertSchedule(happensBefore(log, { type: 'copy.end', batch: 3 }, { type: 'dist.start', batch: 3 }));
 * assertSchedule(overlaps(log, { span: 'copy', batch: 4 }, { span: 'forward', batch: 2 }));
 * steadyStateIterationMs(log) <= boundFor(costModel).ms * 1.01; // true
 */
import type { PipelineEvent, PipelineEventType, Rank, SpanKind } from '../protocol/index.ts';
import type { CostModel } from '../runtime/sim/cost-model.ts';

/**
 * Selects events: `type` always, the other fields when given.
 *
 * @example
 * const m: EventMatcher = { type: 'dist.start', batch: 3, rank: 1 };
 */
export interface EventMatcher {
  type: PipelineEventType;
  batch?: number;
  rank?: Rank;
  module?: string;
}

/**
 * Selects a span (`<span>.start` … `<span>.end`) of one batch. Several modules' spans of one batch are merged.
 *
 * @example
 * const s: SpanMatcher = { span: 'copy', batch: 4 };
 */
export interface SpanMatcher {
  span: SpanKind;
  batch: number;
  rank?: Rank;
  module?: string;
}

/**
 * Outcome of a schedule check.
 *
 * @example
 * const c: ScheduleCheck = happensBefore(log, a, b); expect(c.ok, c.message).toBe(true);
 */
export interface ScheduleCheck {
  ok: boolean;
  /** What was checked and, on failure, what happened instead. */
  message: string;
}

/**
 * An event log, or anything that carries one (a `simulateCluster` result).
 *
 * @example
 * steadyStateIterationMs(result); steadyStateIterationMs(result.log); // the same
 */
export type LogSource = readonly PipelineEvent[] | { readonly log: readonly PipelineEvent[] };

/**
 * A schedule check failed; the message is the check's.
 *
 * @example
 * try { assertSchedule(check); } catch (e) { if (e instanceof ScheduleAssertionError) console.error(e.message); }
 */
export class ScheduleAssertionError extends Error {
  override readonly name = 'ScheduleAssertionError';
}

/**
 * Throw a {@link ScheduleAssertionError} with the check's message when it failed.
 *
 * @example
 * assertSchedule(happensBefore(log, { type: 'forward.end', batch: 0 }, { type: 'backward.start', batch: 0 }));
 */
export function assertSchedule(check: ScheduleCheck): void {
  if (!check.ok) throw new ScheduleAssertionError(check.message);
}

/**
 * `a` happens before `b`: every event matching `a` comes before the first event matching
 * `b` in the log (and so at the same virtual time or earlier). Fails when either matches no
 * event.
 *
 * @example
 * happensBefore(log, { type: 'dist.end', batch: 3 }, { type: 'forward.start', batch: 3 });
 * // { ok: false, message: 'rank 1: expected dist.end (batch 3) before forward.start (batch 3), but forward.start was event #51 at t=14 ms and the last dist.end event #57 at t=15 ms' }
 */
export function happensBefore(source: LogSource, a: EventMatcher, b: EventMatcher): ScheduleCheck {
  const log = logOf(source);
  return perRank(log, [a.rank, b.rank], (rank) => {
    const where = rank === undefined ? '' : `rank ${rank}: `;
    const as = indicesOf(log, { ...a, rank: a.rank ?? rank });
    const bs = indicesOf(log, { ...b, rank: b.rank ?? rank });
    const what = `${describeMatcher(a)} before ${describeMatcher(b)}`;
    if (as.length === 0)
      return fail(`${where}expected ${what}, but no event matches ${describeMatcher(a)}`);
    if (bs.length === 0)
      return fail(`${where}expected ${what}, but no event matches ${describeMatcher(b)}`);
    const lastA = as[as.length - 1];
    const firstB = bs[0];
    if (lastA < firstB) {
      return pass(
        `${where}${describeMatcher(a)} (t=${fmt(log[lastA].t)} ms) happens before ${describeMatcher(b)} (t=${fmt(log[firstB].t)} ms)`,
      );
    }
    return fail(
      `${where}expected ${what}, but ${b.type} was event #${firstB} at t=${fmt(log[firstB].t)} ms ` +
        `and the last ${a.type} event #${lastA} at t=${fmt(log[lastA].t)} ms`,
    );
  });
}

/**
 * Virtual-time interval of a span: the first start to the last end.
 *
 * @example
 * const { start, end } = spanInterval(log, { span: 'forward', batch: 2, rank: 0 }) as SpanInterval;
 */
export interface SpanInterval {
  start: number;
  end: number;
}

/**
 * The interval of the span `m` (earliest matching `.start` to latest matching `.end`), or
 * a message saying which half is missing.
 *
 * @example
 * spanInterval(log, { span: 'forward', batch: 2, rank: 0 }); // { start: 12, end: 15 }
 */
export function spanInterval(source: LogSource, m: SpanMatcher): SpanInterval | string {
  const log = logOf(source);
  const starts = indicesOf(log, {
    type: `${m.span}.start` as PipelineEventType,
    batch: m.batch,
    rank: m.rank,
    module: m.module,
  });
  const ends = indicesOf(log, {
    type: `${m.span}.end` as PipelineEventType,
    batch: m.batch,
    rank: m.rank,
    module: m.module,
  });
  if (starts.length === 0) return `no ${m.span}.start event for ${describeSpan(m)}`;
  if (ends.length === 0) return `no ${m.span}.end event for ${describeSpan(m)}`;
  return {
    start: Math.min(...starts.map((i) => log[i].t)),
    end: Math.max(...ends.map((i) => log[i].t)),
  };
}

/**
 * The spans `a` and `b` overlap in virtual time (for a positive duration) — e.g. the copy of
 * batch i+2 runs while batch i computes.
 *
 * @example
 * overlaps(log, { span: 'copy', batch: 4 }, { span: 'forward', batch: 2 });
 * // { ok: true, message: 'rank 0: copy (batch 4) [16, 18] ms and forward (batch 2) [17, 20] ms overlap by 1 ms (and on 1 more rank)' }
 */
export function overlaps(source: LogSource, a: SpanMatcher, b: SpanMatcher): ScheduleCheck {
  const log = logOf(source);
  return perRank(log, [a.rank, b.rank], (rank) => {
    const where = rank === undefined ? '' : `rank ${rank}: `;
    const ia = spanInterval(log, { ...a, rank: a.rank ?? rank });
    const ib = spanInterval(log, { ...b, rank: b.rank ?? rank });
    if (typeof ia === 'string')
      return fail(
        `${where}expected ${describeSpan(a)} to overlap ${describeSpan(b)}, but there is ${ia}`,
      );
    if (typeof ib === 'string')
      return fail(
        `${where}expected ${describeSpan(a)} to overlap ${describeSpan(b)}, but there is ${ib}`,
      );
    const shared = Math.min(ia.end, ib.end) - Math.max(ia.start, ib.start);
    const text = `${describeSpan(a)} [${fmt(ia.start)}, ${fmt(ia.end)}] ms and ${describeSpan(b)} [${fmt(ib.start)}, ${fmt(ib.end)}] ms`;
    if (shared > 0) return pass(`${where}${text} overlap by ${fmt(shared)} ms`);
    return fail(
      `${where}expected ${text} to overlap, but they ${shared === 0 ? 'only touch' : `are ${fmt(-shared)} ms apart`}`,
    );
  });
}

/**
 * Median time between the ends of consecutive iterations over the second half of the run
 * (docs/design.md "Contracts" `iterationMs`), in the log's ms (virtual on the sim). An iteration ends with the
 * last of its batch's `forward.end` / `backward.end` / `optimizer.end`. With several ranks
 * in the log, the slowest rank's value; NaN with fewer than 2 iterations.
 *
 * @example
 * steadyStateIterationMs(result);          // e.g. 8
 * steadyStateIterationMs(log, { rank: 1 });
 */
export function steadyStateIterationMs(source: LogSource, options: { rank?: Rank } = {}): number {
  const log = logOf(source);
  const ranks = options.rank === undefined ? ranksOf(log) : [options.rank];
  // one pass over the log for every rank (large worlds have long logs)
  const endsByRank = new Map<Rank, Map<number, number>>(ranks.map((r) => [r, new Map()]));
  for (const e of log) {
    if (e.batch === undefined) continue;
    if (e.type !== 'forward.end' && e.type !== 'backward.end' && e.type !== 'optimizer.end')
      continue;
    const ends = endsByRank.get(e.rank);
    if (ends) ends.set(e.batch, Math.max(ends.get(e.batch) ?? -Infinity, e.t));
  }
  let worst = NaN;
  for (const [, ends] of endsByRank) {
    const times = [...ends.entries()].sort((x, y) => x[0] - y[0]).map(([, t]) => t);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    if (gaps.length === 0) continue;
    const second = gaps.slice(Math.floor(gaps.length / 2)).sort((x, y) => x - y);
    const median =
      second.length % 2 === 1
        ? second[(second.length - 1) / 2]
        : (second[second.length / 2 - 1] + second[second.length / 2]) / 2;
    if (!(median <= worst)) worst = median;
  }
  return worst;
}

/**
 * The best steady-state iteration time a pipeline can reach under a cost model.
 *
 * @example
 * const b: IterationBound = boundFor(costModel); console.log(b.describe());
 */
export interface IterationBound {
  /** The bound, ms. */
  ms: number;
  kind: 'sparseDist' | 'base' | 'none';
  copyMs: number;
  distMs: number;
  /** forward + backward + optimizer. */
  computeMs: number;
  /** Which stage sets the bound. */
  limitedBy: 'copy' | 'dist' | 'compute' | 'serial';
  /** e.g. `max(copy 2, dist 5, fwd+bwd+opt 8) = 8 ms`. */
  describe(): string;
}

/**
 * The iteration-time bound of a cost model's fixed stage costs: `max(copy, dist,
 * fwd+bwd+opt)` for `sparseDist` (three overlapped stages), `max(copy, dist+fwd+bwd+opt)`
 * for `base` (dist runs inside the iteration), the sum for `none`. `dist` is the `dist`
 * override or `distSplits + distData`. Missing stage costs count 0; a model without any
 * stage override throws (its durations depend on bytes and flops, not known here).
 *
 * @example
 * boundFor(new CostModel({ overrides: parseCostOverrides('copy=2,dist=5,fwd=3,bwd=4,opt=1') })).ms; // 8
 */
export function boundFor(
  costModel: CostModel,
  kind: IterationBound['kind'] = 'sparseDist',
): IterationBound {
  const o = costModel.overrides;
  const stages = [
    'copy',
    'dist',
    'distSplits',
    'distData',
    'forward',
    'backward',
    'optimizer',
  ] as const;
  if (!stages.some((k) => o[k] !== undefined)) {
    throw new RangeError(
      `boundFor: the cost model has no fixed stage costs (give overrides such as copy=2,dist=5,fwd=3,bwd=4,opt=1); got ${JSON.stringify(o)}`,
    );
  }
  const copyMs = o.copy ?? 0;
  const distMs =
    o.distSplits !== undefined || o.distData !== undefined
      ? (o.distSplits ?? (o.dist ?? 0) / 2) + (o.distData ?? (o.dist ?? 0) / 2)
      : (o.dist ?? 0);
  const computeMs = (o.forward ?? 0) + (o.backward ?? 0) + (o.optimizer ?? 0);
  let ms: number;
  let limitedBy: IterationBound['limitedBy'];
  let formula: string;
  if (kind === 'sparseDist') {
    ms = Math.max(copyMs, distMs, computeMs);
    limitedBy = ms === computeMs ? 'compute' : ms === distMs ? 'dist' : 'copy';
    formula = `max(copy ${copyMs}, dist ${distMs}, fwd+bwd+opt ${computeMs})`;
  } else if (kind === 'base') {
    ms = Math.max(copyMs, distMs + computeMs);
    limitedBy = ms === copyMs && copyMs > distMs + computeMs ? 'copy' : 'serial';
    formula = `max(copy ${copyMs}, dist+fwd+bwd+opt ${distMs + computeMs})`;
  } else {
    ms = copyMs + distMs + computeMs;
    limitedBy = 'serial';
    formula = `copy ${copyMs} + dist ${distMs} + fwd+bwd+opt ${computeMs}`;
  }
  return {
    ms,
    kind,
    copyMs,
    distMs,
    computeMs,
    limitedBy,
    describe: () => `${kind}: ${formula} = ${ms} ms`,
  };
}

/**
 * The steady-state iteration time is within `tolerance` (default 1%) of the bound.
 *
 * @example
 * assertSchedule(withinBound(result, costModel)); // 'steady-state iteration 8 ms ≤ 1.01 × bound (sparseDist: max(copy 2, dist 5, fwd+bwd+opt 8) = 8 ms)'
 */
export function withinBound(
  source: LogSource,
  costModel: CostModel,
  options: { kind?: IterationBound['kind']; tolerance?: number } = {},
): ScheduleCheck {
  const bound = boundFor(costModel, options.kind);
  const tolerance = options.tolerance ?? 0.01;
  const ms = steadyStateIterationMs(source);
  const limit = bound.ms * (1 + tolerance);
  if (Number.isNaN(ms))
    return fail(
      `no steady-state iteration time: the log holds fewer than 2 iterations of any rank`,
    );
  const text = `steady-state iteration ${fmt(ms)} ms`;
  const rule = `${1 + tolerance} × bound (${bound.describe()})`;
  if (ms <= limit) return pass(`${text} ≤ ${rule}`);
  return fail(
    `${text} exceeds ${rule} = ${fmt(limit)} ms by ${((ms / bound.ms - 1) * 100).toFixed(1)}% over the bound`,
  );
}

/**
 * Events matching `m`, in log order.
 *
 * @example
 * eventsMatching(log, { type: 'optimizer.skipped', rank: 0 }).map((e) => e.batch);
 */
export function eventsMatching(source: LogSource, m: Partial<EventMatcher>): PipelineEvent[] {
  const log = logOf(source);
  return log.filter((e) => matches(e, m));
}

/**
 * `copy.end (batch 3, rank 1)`.
 *
 * @example
 * describeMatcher({ type: 'dist.start', batch: 2 }); // 'dist.start (batch 2)'
 */
export function describeMatcher(m: Partial<EventMatcher>): string {
  const parts = [
    m.batch !== undefined ? `batch ${m.batch}` : '',
    m.rank !== undefined ? `rank ${m.rank}` : '',
    m.module ? `module ${m.module}` : '',
  ].filter(Boolean);
  return `${m.type ?? 'any event'}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function describeSpan(m: SpanMatcher): string {
  return describeMatcher({
    type: m.span as PipelineEventType,
    batch: m.batch,
    rank: m.rank,
    module: m.module,
  });
}

function matches(e: PipelineEvent, m: Partial<EventMatcher>): boolean {
  return (
    (m.type === undefined || e.type === m.type) &&
    (m.batch === undefined || e.batch === m.batch) &&
    (m.rank === undefined || e.rank === m.rank) &&
    (m.module === undefined || e.module === m.module)
  );
}

function indicesOf(log: readonly PipelineEvent[], m: Partial<EventMatcher>): number[] {
  const out: number[] = [];
  log.forEach((e, i) => {
    if (matches(e, m)) out.push(i);
  });
  return out;
}

function logOf(source: LogSource): readonly PipelineEvent[] {
  return Array.isArray(source)
    ? (source as readonly PipelineEvent[])
    : (source as { log: readonly PipelineEvent[] }).log;
}

function ranksOf(log: readonly PipelineEvent[]): Rank[] {
  return [...new Set(log.map((e) => e.rank))].sort((x, y) => x - y);
}

/** Run `check` once per rank of the log when no matcher names a rank; the first failure wins. */
function perRank(
  log: readonly PipelineEvent[],
  named: Array<Rank | undefined>,
  check: (rank: Rank | undefined) => ScheduleCheck,
): ScheduleCheck {
  if (named.some((r) => r !== undefined)) return check(undefined);
  const ranks = ranksOf(log);
  if (ranks.length === 0) return fail('the event log is empty');
  const checks = ranks.map(check);
  const failed = checks.find((c) => !c.ok);
  if (failed) return failed;
  const more = ranks.length - 1;
  return pass(
    `${checks[0].message}${more > 0 ? ` (and on ${more} more rank${more > 1 ? 's' : ''})` : ''}`,
  );
}

/**
 * A time for messages: at most 3 decimals (the sub-µs residues of flop-timed ops hide).
 *
 * @example
 * formatMs(39.00000245759999); // '39'
 */
export function formatMs(ms: number): string {
  return String(Number(ms.toFixed(3)));
}

const fmt = formatMs;

function pass(message: string): ScheduleCheck {
  return { ok: true, message };
}

function fail(message: string): ScheduleCheck {
  return { ok: false, message };
}
