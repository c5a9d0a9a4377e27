/**
 * Chrome trace-event JSON from a pipeline event log (opens in Perfetto and chrome://tracing).
 *
 * - one process per rank (`pid` = rank, named `rank N` by an `M` metadata event);
 * - one thread per stream (`memcpy`, `dataDist`, `default`) plus a `host` thread for point
 *   events; spans that overlap on one stream (two sharded modules distributing at once) go
 *   to extra threads of that stream (`dataDist #2`) so begin/end pairs always nest;
 * - spans as `B`/`E` pairs (`copy`, `dist splits`, `dist data`, `forward`, `backward`,
 *   `optimizer`); a dist without `dist.splits` is one `dist` span;
 * - point events (`batch.fetched`, `optimizer.step`, `actor.state`, `pipeline.*`, …) as
 *   thread-scoped `i` instant events on the `host` thread;
 * - `args.batch` on every event that has a batch, `args.module` where there is one;
 * - after the metadata, events in the order they happened (`ts` in µs = `t` · 1000).
 *   Spans still open at the end of the log are closed at the last event's time with
 *   `args.unfinished: true`.
 *
 * @example
 * writeFileSync('trace.json', JSON.stringify(toChromeTrace(recorder.events)));
 */
import type { PipelineEvent, Rank, StreamName } from '../protocol/index.ts';

export type ChromeTracePhase = 'B' | 'E' | 'i' | 'M';

export interface ChromeTraceEvent {
  name: string;
  ph: ChromeTracePhase;
  pid: number;
  tid: number;
  /** Microseconds. */
  ts: number;
  cat?: string;
  /** Instant-event scope: `t` = thread. */
  s?: 't';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ms';
}

/** Thread ids: 0 host, then one per stream; extra lanes of a stream at tid + 10·k. */
export const TRACE_THREADS: Readonly<Record<'host' | StreamName, number>> = {
  host: 0,
  memcpy: 1,
  dataDist: 2,
  default: 3,
  embLookup: 4,
  prefetch: 5,
};

type SpanName =
  | 'copy'
  | 'dist splits'
  | 'dist data'
  | 'dist'
  | 'forward'
  | 'backward'
  | 'optimizer'
  | 'lookup'
  | 'prefetch';

const SIMPLE_SPANS: Record<string, { name: SpanName; stream: StreamName; edge: 'B' | 'E' }> = {
  'copy.start': { name: 'copy', stream: 'memcpy', edge: 'B' },
  'copy.end': { name: 'copy', stream: 'memcpy', edge: 'E' },
  'forward.start': { name: 'forward', stream: 'default', edge: 'B' },
  'forward.end': { name: 'forward', stream: 'default', edge: 'E' },
  'backward.start': { name: 'backward', stream: 'default', edge: 'B' },
  'backward.end': { name: 'backward', stream: 'default', edge: 'E' },
  'optimizer.start': { name: 'optimizer', stream: 'default', edge: 'B' },
  'optimizer.end': { name: 'optimizer', stream: 'default', edge: 'E' },
  // The stream here is a default: a lookup's events name the stream it ran on.
  'lookup.start': { name: 'lookup', stream: 'embLookup', edge: 'B' },
  'lookup.end': { name: 'lookup', stream: 'embLookup', edge: 'E' },
  'prefetch.start': { name: 'prefetch', stream: 'prefetch', edge: 'B' },
  'prefetch.end': { name: 'prefetch', stream: 'prefetch', edge: 'E' },
};

interface OpenSpan {
  rank: Rank;
  stream: StreamName;
  /** Lane within the stream, assigned when the span begins. */
  lane: number;
  name: SpanName;
  /** Index of the `B` event in the output (a dist is renamed `dist` when no splits came). */
  beginIndex: number;
  beginEvent: PipelineEvent;
}

const us = (t: number): number => Math.round(t * 1000 * 1000) / 1000;

/**
 * Converts an event log (any number of ranks, in the order the events happened).
 *
 * @example
 * const trace = toChromeTrace(events);
 * trace.traceEvents.filter((e) => e.ph === 'M'); // process and thread names
 */
export function toChromeTrace(events: readonly PipelineEvent[]): ChromeTrace {
  const body: ChromeTraceEvent[] = [];
  const threads = new Map<string, { pid: number; tid: number; name: string }>();
  const ranks = new Set<Rank>();
  const open = new Map<string, OpenSpan[]>();
  /** Per rank+stream: which lanes are busy. */
  const busyLanes = new Map<string, boolean[]>();
  let lastT = 0;

  const useThread = (rank: Rank, stream: StreamName | 'host', lane: number): number => {
    const tid = TRACE_THREADS[stream] + 10 * lane;
    const key = `${rank}|${tid}`;
    if (!threads.has(key))
      threads.set(key, { pid: rank, tid, name: lane === 0 ? stream : `${stream} #${lane + 1}` });
    return tid;
  };
  const argsOf = (e: PipelineEvent): Record<string, unknown> => ({
    ...(e.batch === undefined ? {} : { batch: e.batch }),
    ...(e.module === undefined ? {} : { module: e.module }),
  });
  const beginSpan = (e: PipelineEvent, name: SpanName, stream: StreamName, key: string): void => {
    const laneKey = `${e.rank}|${stream}`;
    const lanes = busyLanes.get(laneKey) ?? [];
    busyLanes.set(laneKey, lanes);
    let lane = lanes.findIndex((busy) => !busy);
    if (lane < 0) lane = lanes.length;
    lanes[lane] = true;
    const list = open.get(key) ?? [];
    list.push({ rank: e.rank, stream, lane, name, beginIndex: body.length, beginEvent: e });
    open.set(key, list);
    body.push({
      name,
      cat: 'span',
      ph: 'B',
      pid: e.rank,
      tid: useThread(e.rank, stream, lane),
      ts: us(e.t),
      args: argsOf(e),
    });
  };
  const endSpan = (
    e: PipelineEvent,
    key: string,
    extraArgs: Record<string, unknown> = {},
  ): OpenSpan | undefined => {
    const list = open.get(key);
    const span = list?.shift();
    if (!list || !span) return undefined;
    if (list.length === 0) open.delete(key);
    const lanes = busyLanes.get(`${span.rank}|${span.stream}`);
    if (lanes) lanes[span.lane] = false;
    body.push({
      name: span.name,
      cat: 'span',
      ph: 'E',
      pid: span.rank,
      tid: useThread(span.rank, span.stream, span.lane),
      ts: us(e.t),
      args: { ...argsOf(e), ...extraArgs },
    });
    return span;
  };

  for (const e of events) {
    ranks.add(e.rank);
    lastT = Math.max(lastT, e.t);
    const simple = SIMPLE_SPANS[e.type];
    if (simple && e.batch !== undefined) {
      const key = `${e.rank}|${simple.name}|${e.batch}`;
      const stream = e.type === 'lookup.start' ? e.stream : simple.stream;
      if (simple.edge === 'B') beginSpan(e, simple.name, stream, key);
      else if (!endSpan(e, key)) instant(e);
      continue;
    }
    if (e.type === 'dist.start') {
      beginSpan(e, 'dist splits', 'dataDist', distKey(e));
    } else if (e.type === 'dist.splits') {
      const key = distKey(e);
      if (endSpan(e, key)) beginSpan(e, 'dist data', 'dataDist', key);
      else instant(e);
    } else if (e.type === 'dist.end') {
      const key = distKey(e);
      const pending = open.get(key)?.[0];
      if (pending && pending.name === 'dist splits') {
        // No splits phase: the whole dist is one span.
        pending.name = 'dist';
        body[pending.beginIndex].name = 'dist';
      }
      if (!endSpan(e, key)) instant(e);
    } else {
      instant(e);
    }
  }
  // Close what is still running at the end of the log.
  for (const [key, list] of [...open.entries()]) {
    while (list.length > 0) endSpan({ ...list[0].beginEvent, t: lastT }, key, { unfinished: true });
  }

  function instant(e: PipelineEvent): void {
    const { type, rank, t, batch, module, ...rest } = e as PipelineEvent & Record<string, unknown>;
    body.push({
      name: type,
      cat: type === 'actor.state' ? 'state' : 'point',
      ph: 'i',
      s: 't',
      pid: rank,
      tid: useThread(rank, 'host', 0),
      ts: us(t),
      args: {
        ...(batch === undefined ? {} : { batch }),
        ...(module === undefined ? {} : { module }),
        ...rest,
      },
    });
  }

  const meta: ChromeTraceEvent[] = [];
  for (const rank of [...ranks].sort((a, b) => a - b)) {
    meta.push({
      name: 'process_name',
      ph: 'M',
      pid: rank,
      tid: 0,
      ts: 0,
      args: { name: `rank ${rank}` },
    });
    meta.push({
      name: 'process_sort_index',
      ph: 'M',
      pid: rank,
      tid: 0,
      ts: 0,
      args: { sort_index: rank },
    });
  }
  const sortedThreads = [...threads.values()].sort((a, b) => a.pid - b.pid || a.tid - b.tid);
  for (const th of sortedThreads) {
    meta.push({
      name: 'thread_name',
      ph: 'M',
      pid: th.pid,
      tid: th.tid,
      ts: 0,
      args: { name: th.name },
    });
    meta.push({
      name: 'thread_sort_index',
      ph: 'M',
      pid: th.pid,
      tid: th.tid,
      ts: 0,
      args: { sort_index: th.tid },
    });
  }
  return { traceEvents: [...meta, ...body], displayTimeUnit: 'ms' };
}

function distKey(e: PipelineEvent): string {
  return `${e.rank}|dist|${e.batch ?? ''}|${e.module ?? ''}`;
}
