/**
 * Numbers the report and the JSON summary derive from a run: the steady-state iteration
 * time and how busy each stream was.
 *
 * @example
 * medianSecondHalf([NaN, 5, 4, 3, 3]); // 3
 * streamBusyFraction(events); // { memcpy: 0.2, dataDist: 0.4, default: 0.9 }
 */
import {
  SPAN_STREAM,
  type PipelineEvent,
  type SpanKind,
  type StreamName,
} from '../protocol/index.ts';

/**
 * Median of the finite values in the second half of `values` (null when there are none):
 * the steady-state iteration time, leaving out the pipeline's fill.
 *
 * @example
 * medianSecondHalf([NaN, 9, 1, 2, 4]); // 2 (the median of the second half [1, 2, 4])
 */
export function medianSecondHalf(values: ArrayLike<number>): number | null {
  const half = Array.from(values)
    .slice(Math.floor(values.length / 2))
    .filter((v) => Number.isFinite(v));
  if (half.length === 0) return null;
  const sorted = [...half].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Busy fraction per stream. */
export type StreamBusy = Record<StreamName, number>;

const STREAMS: readonly StreamName[] = ['memcpy', 'dataDist', 'default', 'embLookup', 'prefetch'];

/**
 * Fraction of the time from the first span start to the last span end during which each
 * stream ran a span (`copy` on memcpy, `dist` on dataDist, `forward` / `backward` /
 * `optimizer` on default; overlapping spans of one stream count once). Events of several
 * ranks give the mean over ranks.
 *
 * @example
 * streamBusyFraction(rank0Events).default; // 0.93
 */
export function streamBusyFraction(events: readonly PipelineEvent[]): StreamBusy {
  const byRank = new Map<number, PipelineEvent[]>();
  for (const e of events) {
    let list = byRank.get(e.rank);
    if (!list) {
      list = [];
      byRank.set(e.rank, list);
    }
    list.push(e);
  }
  const total: StreamBusy = { memcpy: 0, dataDist: 0, default: 0, embLookup: 0, prefetch: 0 };
  if (byRank.size === 0) return total;
  for (const list of byRank.values()) {
    const one = rankBusy(list);
    for (const s of STREAMS) total[s] += one[s] / byRank.size;
  }
  return total;
}

function rankBusy(events: readonly PipelineEvent[]): StreamBusy {
  const open = new Map<string, number>();
  const intervals: Record<StreamName, Array<[number, number]>> = {
    memcpy: [],
    dataDist: [],
    default: [],
    embLookup: [],
    prefetch: [],
  };
  let first = Infinity;
  let last = -Infinity;
  for (const e of events) {
    const dot = e.type.lastIndexOf('.');
    const kind = e.type.slice(0, dot) as SpanKind;
    const edge = e.type.slice(dot + 1);
    if (!(kind in SPAN_STREAM) || (edge !== 'start' && edge !== 'end')) continue;
    const key = `${kind}|${e.batch ?? ''}|${e.module ?? ''}`;
    if (edge === 'start') {
      open.set(key, e.t);
      first = Math.min(first, e.t);
    } else {
      const start = open.get(key);
      if (start === undefined) continue;
      open.delete(key);
      intervals[spanStream(e, kind)].push([start, e.t]);
      last = Math.max(last, e.t);
    }
  }
  const span = last - first;
  const out: StreamBusy = { memcpy: 0, dataDist: 0, default: 0, embLookup: 0, prefetch: 0 };
  if (!(span > 0)) return out;
  for (const s of STREAMS) out[s] = unionLength(intervals[s]) / span;
  return out;
}

function unionLength(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [a, b] of sorted) {
    if (a > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) curEnd = b;
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

/** The stream a span ran on: its own `stream` field (lookups), else its kind's stream. */
function spanStream(e: PipelineEvent, kind: SpanKind): StreamName {
  return e.type === 'lookup.end' ? e.stream : SPAN_STREAM[kind];
}
