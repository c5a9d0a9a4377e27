/**
 * The event vocabulary of `pipeline.events$`, the Chrome trace and the inspector (docs/design.md "Events").
 *
 * Every event carries `{ type, rank, t }` and, where it has one, `batch` and `module`.
 * `t` is in milliseconds: virtual on the sim backend, wall-clock otherwise.
 *
 * Spans come in pairs (`*.start` / `*.end`, with `dist.splits` between `dist.start` and
 * `dist.end`); everything else is a point event.
 *
 * @example
 * events$.pipe(filter(isSpanEvent)).subscribe((e) => console.log(e.type, e.batch, e.t));
 */
import type { BatchIndex, Rank, StreamName } from './ids.ts';

interface EventBase {
  rank: Rank;
  /** Milliseconds; virtual time on the sim backend. */
  t: number;
  batch?: BatchIndex;
  module?: string;
}

/** Names of the span kinds; each has a `.start` and `.end` event. */
export const SPAN_KINDS = [
  'copy',
  'dist',
  'forward',
  'backward',
  'optimizer',
  'lookup',
  'prefetch',
] as const;
export type SpanKind = (typeof SPAN_KINDS)[number];

/** The stream each span kind runs on (used by the trace and timeline). */
export const SPAN_STREAM: Record<SpanKind | 'distSplits' | 'distData', StreamName> = {
  copy: 'memcpy',
  dist: 'dataDist',
  distSplits: 'dataDist',
  distData: 'dataDist',
  forward: 'default',
  backward: 'default',
  optimizer: 'default',
  // The usual stream of a look-ahead lookup; its events name the stream it ran on.
  lookup: 'embLookup',
  // The prefetch pipeline's cache fill of batch i+1.
  prefetch: 'prefetch',
};

export type SpanEvent =
  | (EventBase & { type: 'copy.start' | 'copy.end'; batch: BatchIndex })
  | (EventBase & { type: 'dist.start' | 'dist.end'; batch: BatchIndex; module?: string })
  | (EventBase & { type: 'dist.splits'; batch: BatchIndex; module?: string })
  | (EventBase & { type: 'forward.start' | 'forward.end'; batch: BatchIndex })
  | (EventBase & { type: 'backward.start' | 'backward.end'; batch: BatchIndex })
  | (EventBase & { type: 'optimizer.start' | 'optimizer.end'; batch: BatchIndex })
  /** A look-ahead embedding lookup + output dist (fused sparse-dist, semi-sync) on `stream`. */
  | (EventBase & { type: 'lookup.start' | 'lookup.end'; batch: BatchIndex; stream: StreamName })
  /** The prefetch pipeline's fill of a batch's cached rows (on the `prefetch` stream). */
  | (EventBase & { type: 'prefetch.start' | 'prefetch.end'; batch: BatchIndex })
  /** A staged pipeline's user stage `stage` running on `stream`. */
  | (EventBase & {
      type: 'stage.start' | 'stage.end';
      batch: BatchIndex;
      stage: string;
      stream: StreamName;
    });

export type PointEvent =
  | (EventBase & { type: 'batch.fetched'; batch: BatchIndex })
  | (EventBase & { type: 'optimizer.zeroGrad'; batch?: BatchIndex })
  | (EventBase & { type: 'optimizer.step'; batch?: BatchIndex; microBatches: number })
  | (EventBase & { type: 'optimizer.skipped'; batch?: BatchIndex; scale: number })
  | (EventBase & { type: 'pipeline.connect' })
  | (EventBase & { type: 'pipeline.sync'; pipeline: string })
  | (EventBase & { type: 'pipeline.drain'; batch?: BatchIndex })
  | (EventBase & { type: 'pipeline.exhausted'; batchesTrained: number })
  | (EventBase & { type: 'pipeline.failed'; error: string; batch?: BatchIndex })
  | (EventBase & { type: 'pipeline.detach' | 'pipeline.attach'; batchesInFlight: number })
  | (EventBase & { type: 'module.notPipelined'; module: string; reason: string })
  /** A postproc module (`module`) runs ahead on the dist stage, so `feeds` is pipelined. */
  | (EventBase & { type: 'module.postprocPipelined'; module: string; feeds: string })
  | (EventBase & {
      type: 'cache.fill';
      batch: BatchIndex;
      module: string;
      /** Rows found in the fast tier / loaded from the slow tier / evicted / written back. */
      hits: number;
      misses: number;
      evictions: number;
      writeBacks: number;
    })
  | (EventBase & { type: 'actor.state'; actor: string; from: string; to: string });

/** Anything that can appear on `events$`. */
export type PipelineEvent = SpanEvent | PointEvent;
export type PipelineEventType = PipelineEvent['type'];

/** The event with type `T` (works for span members whose `type` is a union). */
export type EventOfType<T extends PipelineEventType> = PipelineEvent extends infer E
  ? E extends { type: infer U }
    ? T extends U
      ? E & { type: T }
      : never
    : never
  : never;

/** True for `*.start`, `*.end` and `dist.splits`. */
export function isSpanEvent(e: PipelineEvent): e is SpanEvent {
  return e.type.endsWith('.start') || e.type.endsWith('.end') || e.type === 'dist.splits';
}

/** Distributes `Omit` over a union so each member keeps its own fields. */
export type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** An event as emitted by a producer, before the bus stamps `rank` and `t`. */
export type PipelineEventInput = DistributiveOmit<PipelineEvent, 'rank' | 't'>;
