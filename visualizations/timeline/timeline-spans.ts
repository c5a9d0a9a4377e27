/**
 * Pairs the span events of an event log (`copy.start/end`, `dist.start` / `dist.splits` /
 * `dist.end`, `forward`, `backward`, `optimizer`, and the look-ahead `lookup`) into spans per rank and stream, and finds
 * the iteration boundaries (each `forward.start`). Pure: same events in, same timeline out.
 *
 * A dist span is split in two at `dist.splits`: the splits exchange (`distSplits`) and the
 * data exchange (`distData`); without a `dist.splits` the whole dist is one `distData` span.
 * A span whose end has not been seen yet (a run still going) is `open` and ends at the
 * last event's time.
 *
 * @example
 * const tl = timelineSpans(recorder.events);
 * tl.spans.filter((s) => s.lane === 'forward').map((s) => [s.batch, s.start, s.end]);
 */
import type { PipelineEvent, Rank, StreamName } from '../../src/protocol/index.ts';

/** What a span did; each lane belongs to one stream. */
export type TimelineLane =
  | 'copy'
  | 'distSplits'
  | 'distData'
  | 'forward'
  | 'backward'
  | 'optimizer'
  | 'lookup'
  | 'prefetch'
  // A staged pipeline's stages, one lane per stream they run on.
  | 'stageMemcpy'
  | 'stageDataDist'
  | 'stageDefault';

export const LANE_STREAM: Record<TimelineLane, StreamName> = {
  copy: 'memcpy',
  distSplits: 'dataDist',
  distData: 'dataDist',
  forward: 'default',
  backward: 'default',
  optimizer: 'default',
  // A look-ahead lookup's span takes the stream its events name (embLookup, dataDist or default).
  lookup: 'embLookup',
  prefetch: 'prefetch',
  stageMemcpy: 'memcpy',
  stageDataDist: 'dataDist',
  // stages on other streams are drawn here too, with their own stream in the tooltip
  stageDefault: 'default',
};

export interface TimelineSpan {
  rank: Rank;
  stream: StreamName;
  lane: TimelineLane;
  batch: number;
  module?: string;
  /** ms (virtual on sim). */
  start: number;
  end: number;
  /** True when the end event has not been seen (end = the log's last time). */
  open: boolean;
}

/** A point event worth marking on the timeline (optimizer steps, skips, pipeline points). */
export interface TimelinePoint {
  rank: Rank;
  type: PipelineEvent['type'];
  t: number;
  batch?: number;
}

/** An iteration boundary: the start of the forward of `batch` on `rank`. */
export interface IterationMark {
  rank: Rank;
  batch: number;
  t: number;
}

export interface Timeline {
  /** In the order their start events happened. */
  spans: TimelineSpan[];
  points: TimelinePoint[];
  iterations: IterationMark[];
  /** Ranks that appear in the log, ascending. */
  ranks: Rank[];
  /** Earliest and latest event time (0, 0 for an empty log). */
  start: number;
  end: number;
  /** End events with no matching start (reported, not drawn). */
  unmatched: PipelineEvent[];
}

const MARKED_POINTS = new Set<PipelineEvent['type']>([
  'optimizer.step',
  'optimizer.skipped',
  'optimizer.zeroGrad',
  'pipeline.connect',
  'pipeline.drain',
  'pipeline.exhausted',
  'pipeline.failed',
]);

type SimpleKind = 'copy' | 'forward' | 'backward' | 'optimizer' | 'lookup' | 'prefetch';
const SIMPLE: Record<string, { kind: SimpleKind; edge: 'start' | 'end' }> = {
  'copy.start': { kind: 'copy', edge: 'start' },
  'copy.end': { kind: 'copy', edge: 'end' },
  'forward.start': { kind: 'forward', edge: 'start' },
  'forward.end': { kind: 'forward', edge: 'end' },
  'backward.start': { kind: 'backward', edge: 'start' },
  'backward.end': { kind: 'backward', edge: 'end' },
  'optimizer.start': { kind: 'optimizer', edge: 'start' },
  'optimizer.end': { kind: 'optimizer', edge: 'end' },
  'lookup.start': { kind: 'lookup', edge: 'start' },
  'lookup.end': { kind: 'lookup', edge: 'end' },
  'prefetch.start': { kind: 'prefetch', edge: 'start' },
  'prefetch.end': { kind: 'prefetch', edge: 'end' },
};

/**
 * Builds the timeline of an event log (events of any number of ranks, in the order they
 * happened).
 *
 * @example
 * const { spans, iterations } = timelineSpans(events);
 */
export function timelineSpans(events: readonly PipelineEvent[]): Timeline {
  const spans: TimelineSpan[] = [];
  const points: TimelinePoint[] = [];
  const iterations: IterationMark[] = [];
  const unmatched: PipelineEvent[] = [];
  const ranks = new Set<Rank>();
  /** Open spans by `rank|lane|batch|module`, FIFO when a key repeats. */
  const open = new Map<string, TimelineSpan[]>();
  let start = Infinity;
  let end = -Infinity;

  const keyOf = (
    rank: Rank,
    lane: TimelineLane,
    batch: number,
    module: string | undefined,
  ): string => `${rank}|${lane}|${batch}|${module ?? ''}`;
  const begin = (e: PipelineEvent, lane: TimelineLane, batch: number): void => {
    const span: TimelineSpan = {
      rank: e.rank,
      stream: e.type === 'lookup.start' || e.type === 'stage.start' ? e.stream : LANE_STREAM[lane],
      lane,
      batch,
      ...(e.module === undefined ? {} : { module: e.module }),
      start: e.t,
      end: e.t,
      open: true,
    };
    spans.push(span);
    const key = keyOf(e.rank, lane, batch, e.module);
    const list = open.get(key);
    if (list) list.push(span);
    else open.set(key, [span]);
  };
  const finish = (
    e: PipelineEvent,
    lane: TimelineLane,
    batch: number,
  ): TimelineSpan | undefined => {
    const key = keyOf(e.rank, lane, batch, e.module);
    const span = open.get(key)?.shift();
    if (!span) return undefined;
    if (open.get(key)?.length === 0) open.delete(key);
    span.end = e.t;
    span.open = false;
    return span;
  };

  for (const e of events) {
    ranks.add(e.rank);
    start = Math.min(start, e.t);
    end = Math.max(end, e.t);
    const simple = SIMPLE[e.type];
    if (simple && e.batch !== undefined) {
      if (simple.edge === 'start') {
        begin(e, simple.kind, e.batch);
        if (simple.kind === 'forward') iterations.push({ rank: e.rank, batch: e.batch, t: e.t });
      } else if (!finish(e, simple.kind, e.batch)) {
        unmatched.push(e);
      }
      continue;
    }
    if ((e.type === 'stage.start' || e.type === 'stage.end') && e.batch !== undefined) {
      const lane: TimelineLane =
        e.stream === 'memcpy'
          ? 'stageMemcpy'
          : e.stream === 'dataDist'
            ? 'stageDataDist'
            : 'stageDefault';
      if (e.type === 'stage.start') begin(e, lane, e.batch);
      else if (!finish(e, lane, e.batch)) unmatched.push(e);
      continue;
    }
    if (e.type === 'dist.start') {
      begin(e, 'distSplits', e.batch);
    } else if (e.type === 'dist.splits') {
      if (finish(e, 'distSplits', e.batch)) begin(e, 'distData', e.batch);
      else unmatched.push(e);
    } else if (e.type === 'dist.end') {
      if (!finish(e, 'distData', e.batch)) {
        // No splits phase seen: the whole dist is one data span.
        const splits = finish(e, 'distSplits', e.batch);
        if (splits) splits.lane = 'distData';
        else unmatched.push(e);
      }
    } else if (MARKED_POINTS.has(e.type)) {
      points.push({
        rank: e.rank,
        type: e.type,
        t: e.t,
        ...(e.batch === undefined ? {} : { batch: e.batch }),
      });
    }
  }
  if (!Number.isFinite(start)) {
    start = 0;
    end = 0;
  }
  for (const s of spans) if (s.open) s.end = end;
  return {
    spans,
    points,
    iterations,
    ranks: [...ranks].sort((a, b) => a - b),
    start,
    end,
    unmatched,
  };
}
