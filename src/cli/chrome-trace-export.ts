/**
 * Chrome trace-event JSON of a run's events (docs/design.md "Trace"): uses `toChromeTrace`
 * from `src/trace/chrome-trace.ts` when that module exists, else the minimal exporter
 * below — one process per rank, one thread per stream, spans as complete (`X`) events,
 * point events as instant (`i`) events on the rank's `default` thread, `args.batch` where
 * the event has one, in time order.
 *
 * @example
 * await writeFileAtomic('trace.json', await chromeTraceJson(events));
 */
import { SPAN_STREAM, STREAM_NAMES, type PipelineEvent, type SpanKind } from '../protocol/index.ts';
import { importOptional } from './optional-module.ts';
import { moduleUrl } from '../runtime/module-url.ts';

interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  s?: 't';
  args?: Record<string, unknown>;
}

/**
 * The trace as a JSON string.
 *
 * @example
 * const json = await chromeTraceJson(events);
 */
export async function chromeTraceJson(events: readonly PipelineEvent[]): Promise<string> {
  const mod = await importOptional(moduleUrl('../trace/chrome-trace.ts', import.meta.url));
  const shared = mod?.toChromeTrace;
  if (typeof shared === 'function') {
    const trace = (shared as (e: readonly PipelineEvent[]) => unknown)(events);
    return typeof trace === 'string' ? trace : JSON.stringify(trace);
  }
  return JSON.stringify(minimalChromeTrace(events));
}

/**
 * The fallback exporter (see the module doc).
 *
 * @example
 * minimalChromeTrace(events).traceEvents.length;
 */
export function minimalChromeTrace(events: readonly PipelineEvent[]): {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
} {
  const tid = (stream: string): number =>
    STREAM_NAMES.indexOf(stream as (typeof STREAM_NAMES)[number]) + 1;
  const out: TraceEvent[] = [];
  const ranks = [...new Set(events.map((e) => e.rank))].sort((a, b) => a - b);
  for (const rank of ranks) {
    out.push({ name: 'process_name', ph: 'M', pid: rank, tid: 0, args: { name: `rank ${rank}` } });
    for (const s of STREAM_NAMES)
      out.push({ name: 'thread_name', ph: 'M', pid: rank, tid: tid(s), args: { name: s } });
  }
  const timed: TraceEvent[] = [];
  const open = new Map<string, PipelineEvent>();
  for (const e of events) {
    const dot = e.type.lastIndexOf('.');
    const kind = e.type.slice(0, dot);
    const edge = e.type.slice(dot + 1);
    const args: Record<string, unknown> = {};
    if (e.batch !== undefined) args.batch = e.batch;
    if (e.module !== undefined) args.module = e.module;
    if (kind in SPAN_STREAM && (edge === 'start' || edge === 'end')) {
      const key = `${e.rank}|${kind}|${e.batch ?? ''}|${e.module ?? ''}`;
      if (edge === 'start') open.set(key, e);
      else {
        const start = open.get(key);
        if (!start) continue;
        open.delete(key);
        const name = e.module ? `${kind} ${e.module}` : kind;
        timed.push({
          name,
          ph: 'X',
          pid: e.rank,
          tid: tid(SPAN_STREAM[kind as SpanKind]),
          ts: start.t * 1000,
          dur: (e.t - start.t) * 1000,
          args,
        });
      }
      continue;
    }
    const { type, rank, t, batch, module, ...rest } = e as PipelineEvent & Record<string, unknown>;
    void batch;
    void module;
    const stream = type === 'dist.splits' ? 'dataDist' : 'default';
    timed.push({
      name: type,
      ph: 'i',
      s: 't',
      pid: rank,
      tid: tid(stream),
      ts: t * 1000,
      args: { ...args, ...rest },
    });
  }
  timed.sort((a, b) => a.ts! - b.ts!);
  return { traceEvents: [...out, ...timed], displayTimeUnit: 'ms' };
}
